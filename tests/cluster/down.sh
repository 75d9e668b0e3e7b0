#!/usr/bin/env bash
# Stop the local control plane by PID and remove its state (.cluster).
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

mapfile -t pids < <(cluster_pids)
if [ -x "$BIN/kwokctl" ] && [ -d "$cluster_workdir" ]; then
  # kwokctl stops each component by the PID it recorded and removes the
  # cluster's work directory and kubeconfig context.
  KWOK_WORKDIR="$kwok_workdir" timeout 60 "$BIN/kwokctl" delete cluster \
    --name "$cluster_name" --kubeconfig "$kubeconfig" >"$state/kwokctl-delete.log" 2>&1 ||
    echo "down.sh: kwokctl delete cluster failed; see $state/kwokctl-delete.log" >&2
fi
# Whatever kwokctl left behind: TERM, then KILL after 10 s, by PID only.
for pid in "${pids[@]}"; do
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then continue; fi
  # Only our binaries: a stale PID file must not hit a reused PID.
  case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in
    "$BIN"/* | "$cluster_workdir"/*) ;;
    *) continue ;;
  esac
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
done
# Remove our /tmp/hostpath_pv link (see up.sh) only if it points into .cluster.
if [ -L /tmp/hostpath_pv ] && [ "$(readlink /tmp/hostpath_pv)" = "$state/hostpath_pv" ]; then
  rm -f /tmp/hostpath_pv
fi
rm -rf "$state"
echo "down.sh: stopped ${#pids[@]} processes; removed $state" >&2
