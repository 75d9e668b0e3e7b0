#!/usr/bin/env bash
# Start the local cluster: the control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok) on 127.0.0.1 with kwokctl's
# binary runtime and the binaries from build.sh, then a real node (containerd,
# runc, CNI, kubelet, kube-proxy, CoreDNS; node-up.sh) running the images
# built by images/build.sh. State lives in $root/.cluster (git-ignored); the
# kubeconfig is $root/.cluster/kubeconfig. A second run while up is a no-op.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

t0=$(date +%s.%N)
elapsed() { python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$t0"; }

if cluster_ready; then
  echo "up.sh: cluster already running ($kubeconfig)"
  exit 0
fi
bash "$cluster_dir/build.sh" >/dev/null
bash "$cluster_dir/install-node-deps.sh"
images=$(bash "$cluster_dir/images/build.sh")

kwokctl=$BIN/kwokctl
kubectl=$BIN/kubectl
export PATH="$BIN:$PATH" KWOK_WORKDIR="$kwok_workdir"

# Leftovers of a crashed run (processes gone, state still there): clear them.
if [ -d "$cluster_workdir" ]; then
  echo "up.sh: removing stale cluster state in $cluster_workdir" >&2
  bash "$cluster_dir/down.sh" >&2
fi
mkdir -p "$state/logs" "$state/hostpath_pv"
printf '%s\n' "$images" >"$state/images.txt"

# The in-tree hostPath provisioner hard-codes /tmp/hostpath_pv/<uuid>
# (pkg/volume/hostpath/host_path.go); point that at .cluster so volume
# directories live with the rest of the state. Only replace our own link.
pv_link=/tmp/hostpath_pv
if [ -L "$pv_link" ] || [ ! -e "$pv_link" ]; then
  ln -sfn "$state/hostpath_pv" "$pv_link"
else
  echo "up.sh: $pv_link is a real directory; provisioned volumes will be created there" >&2
fi

# KCP_AUDIT=1 (make bench): the API server writes an audit log of every request
# (metadata only, no bodies) to $cluster_workdir/logs/audit.log, so a benchmark can
# count the requests of each client. Off by default: the tests do not need it.
audit_option=
if [ "${KCP_AUDIT:-0}" = 1 ]; then
  cat >"$state/audit-policy.yaml" <<'YAML'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
YAML
  audit_option="kubeAuditPolicy: $state/audit-policy.yaml"
fi

config=$state/kwok.yaml
{
  cat <<YAML
kind: KwokctlConfiguration
apiVersion: config.kwok.x-k8s.io/v1alpha1
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeVersion: $K8S_VERSION
  kubeApiserverPort: $KCP_APISERVER_PORT
  etcdPort: $KCP_ETCD_PORT
  etcdPeerPort: $KCP_ETCD_PEER_PORT
  kubeControllerManagerPort: $KCP_CONTROLLER_MANAGER_PORT
  kubeSchedulerPort: $KCP_SCHEDULER_PORT
  kwokControllerPort: $KCP_KWOK_PORT
  cacheDir: $kwok_workdir/cache
  etcdBinary: $BIN/etcd
  kubeApiserverBinary: $BIN/kube-apiserver
  kubeControllerManagerBinary: $BIN/kube-controller-manager
  kubeSchedulerBinary: $BIN/kube-scheduler
  kubectlBinary: $BIN/kubectl
  kwokControllerBinary: $BIN/kwok
  # kwok serves kubectl logs from ClusterLogs/Logs objects created through the API.
  enableCRDs: [ClusterLogs, Logs]
  $audit_option
componentsPatches:
- name: kube-apiserver
  extraArgs:
  - {key: advertise-address, value: 127.0.0.1}
  # The kubernetes Service endpoint would be 127.0.0.1, which EndpointSlice
  # validation rejects (loopback); do not reconcile it.
  - {key: endpoint-reconciler-type, value: none}
  - {key: service-cluster-ip-range, value: $KCP_SERVICE_CIDR}
  # Reach kubelets by InternalIP only: the real node's bridge address, and
  # kwok's kubelet API on 127.0.0.1. The admin certificate authenticates the
  # API server to the real kubelet (which refuses anonymous requests).
  - {key: kubelet-preferred-address-types, value: InternalIP}
  - {key: kubelet-client-certificate, value: $cluster_workdir/pki/admin.crt}
  - {key: kubelet-client-key, value: $cluster_workdir/pki/admin.key}
- name: kwok-controller
  extraArgs:
  # kwok fakes only the nodes annotated as fake, never the real node or its pods.
  - {key: manage-all-nodes, value: "false"}
  - {key: manage-nodes-with-annotation-selector, value: kwok.x-k8s.io/node=fake}
- name: kube-controller-manager
  extraArgs:
  - {key: enable-hostpath-provisioner, value: "true"}
  - {key: service-cluster-ip-range, value: $KCP_SERVICE_CIDR}
  # One instance, nothing to elect. With leader election it exits when the API
  # server is away longer than its renew deadline (10 s), and nothing here
  # restarts it as a kubelet or systemd would (tests/e2e/test_faults.py).
  - {key: leader-elect, value: "false"}
- name: kube-scheduler
  extraArgs:
  - {key: leader-elect, value: "false"}
---
kind: KwokConfiguration
apiVersion: config.kwok.x-k8s.io/v1alpha1
# kwokctl saves this object without kwok's defaults (nil switches become
# false, parallelism 0 makes kwok exit), so spell the defaults out.
options:
  cidr: $KCP_POD_CIDR
  nodeIP: 127.0.0.1
  enableDebuggingHandlers: true
  enableProfilingHandler: false
  enableContentionProfiling: false
  podPlayStageParallelism: 4
  nodePlayStageParallelism: 4
  nodeLeaseParallelism: 4
  podsOnNodeSyncParallelism: 1
  enablePodsOnNodeSyncListPager: true
  enablePodsOnNodeSyncStreamWatch: false
YAML
  # Passing any Stage drops kwok's defaults, so list them again (extracted
  # from the kwok module by build.sh) followed by our failure stage.
  cat "$BIN/kwok-default-stages.yaml" "$cluster_dir/pod-fail-stage.yaml"
} >"$config"

args=(--name "$cluster_name" --config "$config" --kubeconfig "$kubeconfig" --wait 2m)

# Guard: kwokctl must not download anything (every component is a local binary).
if "$kwokctl" create cluster "${args[@]}" --dry-run >"$state/dry-run.txt" 2>&1; then :; else
  cat "$state/dry-run.txt" >&2; echo "up.sh: kwokctl --dry-run failed" >&2; exit 1
fi
if grep -Eiq 'https?://[^ ]*\.(tar\.gz|tgz|zip)|# Download https?://|(curl|wget) ' "$state/dry-run.txt"; then
  grep -Ei 'https?://' "$state/dry-run.txt" >&2
  echo "up.sh: kwokctl would download something; refusing" >&2
  exit 1
fi

"$kwokctl" create cluster "${args[@]}" >"$state/logs/kwokctl-create.log" 2>&1 || {
  tail -n 40 "$state/logs/kwokctl-create.log" >&2
  echo "up.sh: kwokctl create cluster failed (full log: $state/logs/kwokctl-create.log)" >&2
  bash "$cluster_dir/down.sh" >&2 || true
  exit 1
}
echo "up.sh: control plane ready after $(elapsed)s" >&2
# A kubelet restarts a real control plane's static pods; supervise.sh does it here.
setsid bash "$cluster_dir/supervise.sh" </dev/null >>"$state/logs/supervise.log" 2>&1 &
echo "$!" >"$state/supervise.pid"

"$kubectl" --kubeconfig "$kubeconfig" apply -f "$cluster_dir/node.yaml" -f "$cluster_dir/storageclass.yaml" \
  -f "$cluster_dir/storageclass-hostpath.yaml" >/dev/null
"$kubectl" --kubeconfig "$kubeconfig" wait --for=condition=Ready node/kwok-node-0 --timeout=60s >/dev/null
bash "$cluster_dir/node-up.sh" || {
  echo "up.sh: the real node did not come up (logs: $node_dir/logs)" >&2
  bash "$cluster_dir/down.sh" >&2 || true
  exit 1
}
echo "up.sh: real node $KCP_NODE_NAME ready after $(elapsed)s" >&2
# Pods cannot be created until the default ServiceAccount exists in a namespace.
for _ in $(seq 60); do
  "$kubectl" --kubeconfig "$kubeconfig" -n default get serviceaccount default >/dev/null 2>&1 && break
  sleep 0.5
done
"$kubectl" --kubeconfig "$kubeconfig" -n default get serviceaccount default >/dev/null
echo "up.sh: cluster up in $(elapsed)s; KUBECONFIG=$kubeconfig" >&2
