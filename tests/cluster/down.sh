#!/usr/bin/env bash
# Stop the local control plane by PID and remove its state (.cluster).
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

# make deploy's port-forward loop (hack/deploy.sh), by its process group.
if [ -f "$state/port-forward.pid" ]; then kill -- "-$(cat "$state/port-forward.pid")" 2>/dev/null || true; fi
# The supervisor before the components, so that it restarts none of them (supervise.sh).
if [ -f "$state/supervise.pid" ]; then
  sup=$(cat "$state/supervise.pid")
  if tr '\0' ' ' <"/proc/$sup/cmdline" 2>/dev/null | grep -q "$cluster_dir/supervise.sh"; then
    kill -TERM "$sup" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$sup" 2>/dev/null || break; sleep 0.25; done
  fi
fi
# The real node first, while the API server can still let the kubelet stop the pods.
bash "$cluster_dir/node-down.sh"
mapfile -t pids < <(cluster_pids)
if [ -x "$BIN/kwokctl" ] && [ -d "$cluster_workdir" ]; then
  # kwokctl stops each component by the PID it recorded and removes the
  # cluster's work directory and kubeconfig context.
  if ! out=$(KWOK_WORKDIR="$kwok_workdir" timeout 60 "$BIN/kwokctl" delete cluster \
    --name "$cluster_name" --kubeconfig "$kubeconfig" 2>&1); then
    printf '%s\n' "$out" | tail -n 20 >&2
    echo "down.sh: kwokctl delete cluster failed; stopping the processes by PID" >&2
  fi
fi
# Whatever kwokctl left behind: TERM, then KILL after 10 s, by PID only.
killed=0
for pid in "${pids[@]}"; do
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then continue; fi
  # Only our binaries: a stale PID file must not hit a reused PID.
  case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in
    "$BIN"/* | "$cluster_workdir"/*) ;;
    *) continue ;;
  esac
  kill -TERM "$pid" 2>/dev/null || true
  killed=$((killed + 1))
  for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
done
# Remove our /tmp/hostpath_pv link (see up.sh) only if it points into .cluster.
if [ -L /tmp/hostpath_pv ] && [ "$(readlink /tmp/hostpath_pv)" = "$state/hostpath_pv" ]; then
  rm -f /tmp/hostpath_pv
fi
rm -rf "$state"
echo "down.sh: ${#pids[@]} recorded processes, $killed outlived kwokctl delete; removed $state" >&2
