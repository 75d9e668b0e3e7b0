# Shared paths and settings for the local control plane scripts (sourced).
# shellcheck shell=bash disable=SC2034  # sourced: the settings are used by the scripts that source it
cluster_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$cluster_dir/../.." && pwd)
# shellcheck source=tests/cluster/versions.env
. "$cluster_dir/versions.env"
BIN=${KCP_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/paperclip-kubernetes/kcp/$K8S_VERSION-$ETCD_VERSION-$KWOK_VERSION}
# kube-router has its own cache directory, so bumping it rebuilds only itself.
KUBE_ROUTER=${KCP_KUBE_ROUTER:-${XDG_CACHE_HOME:-$HOME/.cache}/paperclip-kubernetes/kube-router/$KUBE_ROUTER_VERSION/kube-router}
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
KCP_KUBELET_PORT=${KCP_KUBELET_PORT:-10250}
# The real node: pods live in network namespaces on our own bridge, with
# addresses inside 198.18.0.0/15 (RFC 2544 benchmarking space, never routed
# off this machine). The node's own address is the bridge's (a kubelet
# refuses a loopback node IP); the API server reaches the kubelet there.
KCP_BRIDGE=${KCP_BRIDGE:-pckcp0}
KCP_NODE_NAME=${KCP_NODE_NAME:-paperclip-node}
KCP_NODE_IP=${KCP_NODE_IP:-198.18.0.1}
KCP_NODE_POD_SUBNET=${KCP_NODE_POD_SUBNET:-198.18.0.0/24}
KCP_CLUSTER_CIDR=${KCP_CLUSTER_CIDR:-198.18.0.0/16}
KCP_SERVICE_CIDR=${KCP_SERVICE_CIDR:-198.19.0.0/16}
KCP_DNS_IP=${KCP_DNS_IP:-198.19.0.10}
# The range every rule and check is written against.
KCP_CONFINED_CIDR=198.18.0.0/15
# Fake pod IPs of the KWOK node (loopback; nothing ever connects to them).
KCP_POD_CIDR=${KCP_POD_CIDR:-127.241.0.0/16}
node_dir=$state/node
containerd_sock=$node_dir/containerd/containerd.sock
# Our iptables chain, in the mangle table (FORWARD) and the nat table (POSTROUTING).
fw_chain=PAPERCLIP-KCP-FWD

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

# ctr against the node's containerd, in the CRI namespace.
node_ctr() { ctr --address "$containerd_sock" --namespace k8s.io "$@"; }
