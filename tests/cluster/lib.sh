# Shared paths and settings for the local control plane scripts (sourced).
# shellcheck shell=bash
cluster_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$cluster_dir/../.." && pwd)
# shellcheck source=tests/cluster/versions.env
. "$cluster_dir/versions.env"
BIN=${KCP_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/paperclip-kubernetes/kcp/$K8S_VERSION-$ETCD_VERSION-$KWOK_VERSION}
state=$root/.cluster
kubeconfig=$state/kubeconfig
cluster_name=paperclip
kwok_workdir=$state/kwok
cluster_workdir=$kwok_workdir/clusters/$cluster_name
# Ports, all on 127.0.0.1; override through the environment if they clash.
KCP_APISERVER_PORT=${KCP_APISERVER_PORT:-6443}
KCP_ETCD_PORT=${KCP_ETCD_PORT:-12379}
KCP_ETCD_PEER_PORT=${KCP_ETCD_PEER_PORT:-12380}
KCP_CONTROLLER_MANAGER_PORT=${KCP_CONTROLLER_MANAGER_PORT:-10257}
KCP_SCHEDULER_PORT=${KCP_SCHEDULER_PORT:-10259}
KCP_KWOK_PORT=${KCP_KWOK_PORT:-10247}
# Service ClusterIPs and fake pod IPs. Nothing ever connects to them.
KCP_SERVICE_CIDR=${KCP_SERVICE_CIDR:-127.240.0.0/16}
KCP_POD_CIDR=${KCP_POD_CIDR:-127.241.0.0/16}

# True when the apiserver behind our kubeconfig answers /readyz.
cluster_ready() {
  [ -f "$kubeconfig" ] && [ -x "$BIN/kubectl" ] &&
    "$BIN/kubectl" --kubeconfig "$kubeconfig" --request-timeout=5s get --raw /readyz >/dev/null 2>&1
}

# PIDs recorded by kwokctl for our components (one per line).
cluster_pids() {
  local f
  for f in "$cluster_workdir"/pids/*.pid; do
    [ -f "$f" ] && tr -d '[:space:]' <"$f" && echo
  done
  return 0
}
