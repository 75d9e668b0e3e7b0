#!/usr/bin/env bash
# Restart the local control plane's controllers when they exit, as a kubelet restarts
# static pods on a real control-plane node. kube-scheduler exits by design when its
# cache sees a pod move between nodes (it happens after an API server outage that cut a
# binding short), and kwokctl's binary runtime restarts nothing.
# Supervised: kube-controller-manager, kube-scheduler, kwok-controller. Not the API
# server or etcd: tests/e2e/test_faults.py stops and starts the API server itself.
# Started by up.sh (its PID in $state/supervise.pid) and stopped by down.sh before
# kwokctl stops the components; each restart is a line in $state/logs/supervise.log and
# updates kwokctl's PID file, so kwokctl delete stops the new process.
set -uo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

components=(kube-controller-manager kube-scheduler kwok-controller)
declare -A argv env cwd
log=$state/logs/supervise.log

pid_of() { tr -d '[:space:]' <"$cluster_workdir/pids/$1.pid"; }

# A process that is gone, or a zombie of ours (a process this loop started and that exited).
dead() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  [ "$(awk '{print $3}' <<<"${stat##*)}")" = Z ]
}

# The command line, environment and directory of each component as kwokctl started it.
for c in "${components[@]}"; do
  pid=$(pid_of "$c")
  argv[$c]=$(tr '\0' '\n' <"/proc/$pid/cmdline" | base64 -w0)
  env[$c]=$(tr '\0' '\n' <"/proc/$pid/environ" | base64 -w0)
  cwd[$c]=$(readlink "/proc/$pid/cwd")
done
echo "$(date -u +%FT%TZ) supervising ${components[*]}" >>"$log"

trap 'exit 0' TERM INT
while sleep 2; do
  for c in "${components[@]}"; do
    pid=$(pid_of "$c")
    dead "$pid" || continue
    wait "$pid" 2>/dev/null
    mapfile -t args < <(base64 -d <<<"${argv[$c]}")
    mapfile -t vars < <(base64 -d <<<"${env[$c]}")
    (cd "${cwd[$c]}" && exec env -i "${vars[@]}" "${args[@]}" >>"$cluster_workdir/logs/$c.log" 2>&1 </dev/null) &
    echo "$!" >"$cluster_workdir/pids/$c.pid"
    echo "$(date -u +%FT%TZ) $c (pid $pid) exited; restarted as pid $!" >>"$log"
  done
done
