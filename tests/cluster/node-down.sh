#!/usr/bin/env bash
# Stop the real node and undo everything node-up.sh did: pods (and their
# network namespaces), the rules and ipsets of kube-proxy and kube-router,
# kubelet, containerd and its shims, mounts, cgroups, the bridge, our firewall
# chain and the sysctls. Safe to run twice, on a half-started node, and with
# the control plane already gone.
set -uo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
[ -d "$node_dir" ] || ip link show "$KCP_BRIDGE" >/dev/null 2>&1 || exit 0
kubectl() { "$BIN/kubectl" --kubeconfig "$kubeconfig" --request-timeout=10s "$@"; }
pidof_node() { local f=$node_dir/pids/$1.pid; [ -f "$f" ] && tr -d '[:space:]' <"$f"; }

# stop_pid PID: TERM, then KILL after 10 s, only if its command line is one
# of ours (a stale PID file must not hit a reused PID).
stop_pid() {
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  case "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" in
    "$BIN"/* | "$KUBE_ROUTER"* | *"$node_dir"* | *"$containerd_sock"* | *local_provisioner.py*) ;;
    *) return 0 ;;
  esac
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
}

# 1. While kubelet and the API server are up, let the kubelet stop the pods
#    itself: that runs each sandbox's CNI DEL and removes its network namespace.
kubelet_pid=$(pidof_node kubelet)
if [ -n "$kubelet_pid" ] && kill -0 "$kubelet_pid" 2>/dev/null && cluster_ready; then
  kubectl cordon "$KCP_NODE_NAME" >/dev/null 2>&1
  kubectl delete pods --all-namespaces --field-selector "spec.nodeName=$KCP_NODE_NAME" \
    --grace-period=2 --wait=false >/dev/null 2>&1
  for _ in $(seq 60); do
    [ -z "$(kubectl get pods -A --field-selector "spec.nodeName=$KCP_NODE_NAME" -o name 2>/dev/null)" ] && break
    sleep 1
  done
fi

# 2. The volume provisioner, kube-proxy and kubelet; then kube-proxy's own
#    cleanup of its rules.
stop_pid "$(pidof_node local-provisioner)"
stop_pid "$(pidof_node kube-router)"
stop_pid "$(pidof_node kube-proxy)"
stop_pid "$kubelet_pid"
if [ -f "$node_dir/kube-proxy.yaml" ]; then
  "$BIN/kube-proxy" --cleanup --config "$node_dir/kube-proxy.yaml" >"$node_dir/logs/kube-proxy-cleanup.log" 2>&1 || true
fi

# kube-router's chains are KUBE-* and go with the loop below, its ipsets after it.
# (Its own --cleanup-config panics on a kernel without IPVS: it cleans the proxy too.)
# The kubelet's own chains (KUBE-FIREWALL, canaries), which --cleanup leaves:
# no other Kubernetes node runs on these machines, so every KUBE-* chain is ours.
for ipt in iptables ip6tables; do
  for table in filter nat mangle; do
    "$ipt" -w -t "$table" -S 2>/dev/null | awk '$1 == "-A" && $0 ~ / -j KUBE-/ {sub(/^-A /, ""); print}' |
      while read -r rule; do eval "\"$ipt\" -w -t $table -D $rule" 2>/dev/null || true; done
    for chain in $("$ipt" -w -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do
      "$ipt" -w -t "$table" -F "$chain" 2>/dev/null; "$ipt" -w -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
done

# Any ipset kube-router left (its names start KUBE-, or inet6:KUBE-).
for set in $(ipset list -n 2>/dev/null | grep -E '^(inet6:)?KUBE-' || true); do
  ipset destroy "$set" 2>/dev/null || true
done

# 3. Whatever containers remain: runc removes them (also when containerd is gone).
runc_root=$node_dir/containerd/runc/k8s.io
if [ -d "$runc_root" ]; then
  for id in $(runc --root "$runc_root" list -q 2>/dev/null); do
    runc --root "$runc_root" delete --force "$id" >/dev/null 2>&1 || true
  done
fi

# 4. containerd, then any shim of ours that outlived it.
stop_pid "$(pidof_node containerd)"
for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $containerd_sock" || true); do stop_pid "$pid"; done

# 5. Network namespaces of pods that were not stopped cleanly (containerd
#    names them cni-<uuid>; no other CRI runtime runs on these machines).
for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ {print $1}'); do
  ip netns delete "$ns" 2>/dev/null || true
done

# 6. Mounts under the node's directory (secrets, volumes, rootfs, shm), deepest first.
findmnt -rn -o TARGET | grep -F "$node_dir/" | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
done

# 7. The kubelet's cgroups (cgroupfs driver, v1: one tree per controller).
for d in /sys/fs/cgroup/*/kubepods; do
  [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
done

# 8. The bridge, our firewall chain, the sysctls as they were.
ip link delete "$KCP_BRIDGE" 2>/dev/null || true
for hook in mangle:FORWARD nat:POSTROUTING; do
  while iptables -w -t "${hook%:*}" -D "${hook#*:}" -j "$fw_chain" 2>/dev/null; do :; done
  iptables -w -t "${hook%:*}" -F "$fw_chain" 2>/dev/null && iptables -w -t "${hook%:*}" -X "$fw_chain" 2>/dev/null
done
if [ -f "$node_dir/sysctl.saved" ]; then
  while read -r key value; do echo "$value" >"/proc/sys/$key"; done <"$node_dir/sysctl.saved"
fi

# 9. containerd's shim socket directory, if no containerd at all runs any more.
if ! pgrep -x containerd >/dev/null && ! pgrep -f containerd-shim >/dev/null; then
  rm -rf /run/containerd/s
  rmdir /run/containerd 2>/dev/null || true
fi
rm -rf "$node_dir"
exit 0
