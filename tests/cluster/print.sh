#!/usr/bin/env bash
# print.sh kubeconfig|kubectl: the kubeconfig path of the local cluster, or
# the kubectl binary (built by build.sh) to use with it.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
case "${1:-}" in
  kubeconfig) echo "$kubeconfig" ;;
  kubectl) echo "$BIN/kubectl" ;;
  *) echo "usage: $0 kubeconfig|kubectl" >&2; exit 2 ;;
esac
