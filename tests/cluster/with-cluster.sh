#!/usr/bin/env bash
# with-cluster.sh COMMAND...: run COMMAND against the local control plane.
# Builds the binaries if needed and starts the cluster unless it is already
# running; a cluster started here is stopped again when this script exits.
# Exports KUBECONFIG and puts the cluster's kubectl first on PATH.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

bash "$cluster_dir/build.sh" >/dev/null
if ! cluster_ready; then
  trap 'bash "$cluster_dir/down.sh"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  bash "$cluster_dir/up.sh"
fi
export KUBECONFIG="$kubeconfig" PATH="$BIN:$PATH"
rc=0
"$@" || rc=$?
exit "$rc"
