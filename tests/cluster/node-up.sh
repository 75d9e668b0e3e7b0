#!/usr/bin/env bash
# Join a real node to the local control plane (called by up.sh once the API
# server answers): the pod bridge and its confinement rules, containerd with
# runc and the CNI plugins, the images built here, kubelet, kube-proxy and
# CoreDNS. Everything lives in .cluster/node; node-down.sh undoes it all.
set -euo pipefail
# On failure, show the end of every node log (down.sh removes them).
on_exit() {
  local rc=$?
  [ "$rc" -eq 0 ] && return
  echo "node-up.sh: failed (exit $rc)" >&2
  tail -n 15 "$node_dir"/logs/*.log >&2 2>/dev/null
}
trap on_exit EXIT
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

t0=$(date +%s)
log() { echo "node-up.sh [$(( $(date +%s) - t0 ))s] $*" >&2; }
kubectl() { "$BIN/kubectl" --kubeconfig "$kubeconfig" "$@"; }
pki=$cluster_workdir/pki
mkdir -p "$node_dir"/{pids,logs,cni/net.d,cni/ipam,containerd/certs.d/_default,kubelet,pod-logs}
# IMAGE=<ref> <archive> lines written by up.sh from images/build.sh.
image_ref() { sed -n "s#^IMAGE=\(localhost/$1:[^ ]*\) .*#\1#p" "$state/images.txt"; }
PAUSE_IMAGE=$(image_ref pause-standin)
[ -n "$PAUSE_IMAGE" ] || { echo "node-up.sh: no pause image in $state/images.txt" >&2; exit 1; }

# Start a daemon in its own session, record its PID (setsid does not fork
# here: the background child is not a process group leader).
start() {
  local name=$1; shift
  setsid "$@" >"$node_dir/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$node_dir/pids/$name.pid"
}
# wait_for SECONDS WHAT COMMAND...: poll COMMAND until it succeeds.
wait_for() {
  local secs=$1 what=$2; shift 2
  for _ in $(seq $((secs * 2))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "node-up.sh: timed out after ${secs}s waiting for $what; the node's logs end with:" >&2
  tail -n 15 "$node_dir"/logs/*.log >&2
  return 1
}

# --- network: the bridge, forwarding confined to it -------------------------
log "bridge $KCP_BRIDGE ($KCP_NODE_IP) and confinement rules"
if ! ip link show "$KCP_BRIDGE" >/dev/null 2>&1; then
  ip link add "$KCP_BRIDGE" type bridge
  ip addr add "$KCP_NODE_IP/${KCP_NODE_POD_SUBNET#*/}" dev "$KCP_BRIDGE"
  ip link set "$KCP_BRIDGE" up
fi
# Service traffic between pods is routed through the host (kube-proxy's DNAT),
# so forwarding must be on, and bridged traffic must see iptables. The old
# values are restored by node-down.sh.
saved=$node_dir/sysctl.saved
[ -f "$saved" ] || for k in net/ipv4/ip_forward net/bridge/bridge-nf-call-iptables; do
  echo "$k $(cat "/proc/sys/$k")"
done >"$saved"
# Drop first, then enable forwarding: nothing from the bridge may leave
# through another interface, and nothing is forwarded into it from outside.
# The chain hangs off the mangle table's FORWARD, which the kernel runs before
# the filter table's, so no rule kube-proxy inserts there can come first.
if ! iptables -w -t mangle -S "$fw_chain" >/dev/null 2>&1; then
  iptables -w -t mangle -N "$fw_chain"
  iptables -w -t mangle -A "$fw_chain" -i "$KCP_BRIDGE" -o "$KCP_BRIDGE" -j RETURN
  iptables -w -t mangle -A "$fw_chain" -i "$KCP_BRIDGE" -j DROP
  iptables -w -t mangle -A "$fw_chain" -o "$KCP_BRIDGE" -j DROP
fi
iptables -w -t mangle -C FORWARD -j "$fw_chain" 2>/dev/null || iptables -w -t mangle -I FORWARD 1 -j "$fw_chain"
echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
echo 1 >/proc/sys/net/ipv4/ip_forward

# CNI: one bridge network, no masquerade, and routes only to the confined range
# (pods have no default route).
cat >"$node_dir/cni/net.d/10-paperclip.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "paperclip-kcp",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$KCP_BRIDGE",
      "isGateway": true,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$node_dir/cni/ipam",
        "ranges": [[{"subnet": "$KCP_NODE_POD_SUBNET", "rangeStart": "${KCP_NODE_IP%.*}.10", "gateway": "$KCP_NODE_IP"}]],
        "routes": [{"dst": "$KCP_CONFINED_CIDR"}]
      }
    },
    {"type": "portmap", "snat": false, "capabilities": {"portMappings": true}}
  ]
}
JSON

# --- containerd ---------------------------------------------------------------
# Any pull goes to a closed loopback port and fails at once: images are only
# ever imported (see images/build.sh).
# containerd 1.6 needs a [host] table: without one it ignores the file (logging
# "invalid host tree") and pulls from the real registry.
cat >"$node_dir/containerd/certs.d/_default/hosts.toml" <<'TOML'
# No registry is ever contacted: every pull fails at once on a closed port.
server = "http://127.0.0.1:9"
capabilities = ["pull", "resolve"]
[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
TOML
cat >"$node_dir/containerd/config.toml" <<TOML
version = 2
root = "$node_dir/containerd/root"
state = "$node_dir/containerd/state"
[grpc]
  address = "$containerd_sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This machine refuses negative OOM scores (no CAP_SYS_RESOURCE): without
  # this, runc fails every sandbox writing /proc/self/oom_score_adj.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$node_dir/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$node_dir/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$node_dir/containerd/certs.d"
TOML
log "containerd $(containerd --version | awk '{print $3}')"
start containerd containerd --config "$node_dir/containerd/config.toml"
wait_for 30 "containerd" node_ctr version

# --- images: built here, imported, never pulled --------------------------------
log "importing images"
existing=$(node_ctr images ls -q)
while read -r ref archive; do
  grep -qxF "$ref" <<<"$existing" && continue
  node_ctr images import "$archive" >/dev/null
  # Listed into a variable first: `ctr ... | grep -q` under pipefail fails at
  # random when grep exits early and ctr dies of SIGPIPE.
  listed=$(node_ctr images ls -q)
  grep -qxF "$ref" <<<"$listed" || { echo "node-up.sh: $archive did not register $ref" >&2; exit 1; }
done < <(sed -n 's/^IMAGE=//p' "$state/images.txt")

# --- kubelet -------------------------------------------------------------------
log "kubelet"
cat >"$node_dir/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# These machines have the cgroup v1 hierarchy and no systemd as PID 1.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$containerd_sock
# The API server reaches the kubelet on the bridge address with the admin
# client certificate; anonymous requests are refused.
address: $KCP_NODE_IP
port: $KCP_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
clusterDNS: [$KCP_DNS_IP]
clusterDomain: cluster.local
# Pods never inherit the host's resolvers: names resolve in the cluster only.
resolvConf: ""
podLogsDir: $node_dir/pod-logs
# Imported images cannot be pulled again: never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%}
serializeImagePulls: false
YAML
start kubelet "$BIN/kubelet" --config "$node_dir/kubelet.yaml" --kubeconfig "$kubeconfig" \
  --hostname-override "$KCP_NODE_NAME" --node-ip "$KCP_NODE_IP" \
  --root-dir "$node_dir/kubelet" --cert-dir "$node_dir/kubelet/pki" \
  --node-labels "paperclip.test/node=real" --v 1
wait_for 90 "node $KCP_NODE_NAME Ready" kubectl wait --for=condition=Ready "node/$KCP_NODE_NAME" --timeout=1s

# --- volumes: local PVs on this node (see local_provisioner.py for why) -----------
start local-provisioner "$root/.venv/bin/python" "$cluster_dir/local_provisioner.py" \
  --kubeconfig "$kubeconfig" --root "$state/volumes" --node "$KCP_NODE_NAME"

# --- kube-proxy (iptables) -------------------------------------------------------
log "kube-proxy"
cat >"$node_dir/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $kubeconfig}
hostnameOverride: $KCP_NODE_NAME
mode: iptables
clusterCIDR: $KCP_CLUSTER_CIDR
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# NodePorts only on the bridge address: no route_localnet, nothing on eth0.
nodePortAddresses: [$KCP_NODE_IP/32]
# Leave the host's conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
start kube-proxy "$BIN/kube-proxy" --config "$node_dir/kube-proxy.yaml" --v 1
wait_for 60 "kube-proxy healthz" curl -fsS http://127.0.0.1:10256/healthz
# No address translation for pod traffic leaving by any other interface: our
# rule ends the nat table's POSTROUTING for it before kube-proxy's MASQUERADE.
# kube-proxy inserts its jump at the top once; ours goes above it afterwards
# (kube-proxy only re-adds its jump when it is missing, never reorders).
wait_for 60 "kube-proxy's nat rules" sh -c "iptables -w -t nat -S POSTROUTING | grep -q KUBE-POSTROUTING"
if ! iptables -w -t nat -S "$fw_chain" >/dev/null 2>&1; then
  iptables -w -t nat -N "$fw_chain"
  iptables -w -t nat -A "$fw_chain" -s "$KCP_CONFINED_CIDR" ! -o "$KCP_BRIDGE" -j ACCEPT
fi
while iptables -w -t nat -D POSTROUTING -j "$fw_chain" 2>/dev/null; do :; done
iptables -w -t nat -I POSTROUTING 1 -j "$fw_chain"

# --- NetworkPolicy: kube-router's policy controller only ---------------------------
# The bridge plugin enforces no NetworkPolicy; kube-router's firewall does, with
# iptables and ipsets on the pod traffic the bridge hands to iptables (see
# bridge-nf-call-iptables above). Its router and service proxy stay off
# (kube-proxy serves Services), its health and metrics servers are disabled.
log "kube-router (NetworkPolicy)"
start kube-router "$KUBE_ROUTER" --kubeconfig "$kubeconfig" --hostname-override "$KCP_NODE_NAME" \
  --run-firewall=true --run-router=false --run-service-proxy=false \
  --service-cluster-ip-range "$KCP_SERVICE_CIDR" --health-port 0 --metrics-port 0 --v 1
wait_for 60 "kube-router's policy chains" iptables -w -t filter -S KUBE-ROUTER-FORWARD

# --- CoreDNS, as a pod ------------------------------------------------------------
log "CoreDNS"
COREDNS_IMAGE=$(image_ref coredns) bash "$cluster_dir/coredns.sh"
log "node ready"
