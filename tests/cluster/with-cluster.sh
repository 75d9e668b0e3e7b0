#!/usr/bin/env bash
# with-cluster.sh COMMAND...: run COMMAND against the local control plane.
# Builds the binaries if needed and starts the cluster unless it is already
# running; a cluster started here is stopped again when this script exits
# (also on SIGINT/SIGTERM, which are passed on to COMMAND first).
# Exports KUBECONFIG and puts the cluster's kubectl first on PATH; exits with
# COMMAND's exit code.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

bash "$cluster_dir/build.sh" >/dev/null
if ! cluster_ready; then
  trap 'bash "$cluster_dir/down.sh"' EXIT
  bash "$cluster_dir/up.sh"
fi
export KUBECONFIG="$kubeconfig" PATH="$BIN:$PATH" KCP_STATE="$state"
# What tests need to know about the real node (tests/integration/test_real_node.py).
export KCP_NODE_NAME KCP_NODE_IP KCP_BRIDGE KCP_CONFINED_CIDR KCP_DNS_IP KCP_SERVICE_CIDR

# Run COMMAND in the background so a signal to this script is handled at once
# (bash defers traps while a foreground child runs); keep its stdin.
"$@" <&0 &
child=$!
trap 'kill -TERM "$child" 2>/dev/null || true' TERM
trap 'kill -INT "$child" 2>/dev/null || true' INT
rc=0
wait "$child" || rc=$?
# wait returns early when a trapped signal arrives; collect the real status.
while kill -0 "$child" 2>/dev/null; do rc=0; wait "$child" || rc=$?; done
exit "$rc"
