#!/usr/bin/env bash
# Debian packages the real node needs: containerd and runc (the runtime), the
# CNI plugins (bridge, host-local, loopback, portmap), iptables and conntrack
# (kube-proxy), ipset (kube-router's policy controller), mmdebstrap (the images' root filesystems). One apt-get update,
# only when something is missing.
set -euo pipefail
need=()
for pair in containerd:containerd runc:runc /usr/lib/cni/bridge:containernetworking-plugins \
            iptables:iptables ipset:ipset conntrack:conntrack mmdebstrap:mmdebstrap curl:curl; do
  bin=${pair%%:*} pkg=${pair#*:}
  if [[ $bin == /* ]]; then [ -x "$bin" ] || need+=("$pkg"); else command -v "$bin" >/dev/null || need+=("$pkg"); fi
done
[ "${#need[@]}" -eq 0 ] && exit 0
echo "install-node-deps.sh: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${need[@]}" >&2
