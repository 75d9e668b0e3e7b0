#!/usr/bin/env bash
# CoreDNS for the real node (called by node-up.sh with COREDNS_IMAGE set): the
# cluster zone only, nothing forwarded upstream.
#
# It runs with hostNetwork on the bridge address, because the API server
# listens on 127.0.0.1 only and a pod in its own network namespace cannot
# reach it. Its API credentials are a ServiceAccount token (TokenRequest) in
# a kubeconfig Secret, limited by RBAC to what the kubernetes plugin reads.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
kubectl() { "$BIN/kubectl" --kubeconfig "$kubeconfig" "$@"; }
: "${COREDNS_IMAGE:?COREDNS_IMAGE is not set}"

kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
  - apiGroups: [""]
    resources: [services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
YAML

# 30 days: a cluster left running (make deploy) keeps its DNS that long.
token=$(kubectl -n kube-system create token coredns --duration=720h)
server=$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
ca=$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
if [ -z "$ca" ]; then
  ca=$(base64 -w0 <"$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')")
fi
# The token goes through stdin, never on a command line.
kubectl -n kube-system create secret generic coredns-kubeconfig --dry-run=client -o yaml \
  --from-file=kubeconfig=/dev/stdin <<KCFG | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$server", certificate-authority-data: "$ca"}}]
users: [{name: coredns, user: {token: "$token"}}]
contexts: [{name: default, context: {cluster: local, user: coredns}}]
current-context: default
KCFG

kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
        bind $KCP_NODE_IP
        errors
        health $KCP_NODE_IP:8080
        ready $KCP_NODE_IP:8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            kubeconfig /var/lib/coredns/kubeconfig default
            pods insecure
        }
        cache 30
    }
    # Every other name: NXDOMAIN here. There is no forward plugin: nothing
    # ever leaves for an upstream resolver.
    .:53 {
        bind $KCP_NODE_IP
        errors
        template ANY ANY {
            rcode NXDOMAIN
        }
    }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      hostNetwork: true
      dnsPolicy: Default
      serviceAccountName: coredns
      automountServiceAccountToken: false
      nodeSelector: {paperclip.test/node: real}
      containers:
        - name: coredns
          image: $COREDNS_IMAGE
          imagePullPolicy: Never
          args: [-conf, /etc/coredns/Corefile]
          # Port 53 on the host network needs NET_BIND_SERVICE, which Kubernetes
          # grants effectively only to uid 0; every other capability is dropped.
          securityContext:
            runAsUser: 0
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
          ports:
            - {name: dns, containerPort: 53, protocol: UDP}
            - {name: dns-tcp, containerPort: 53, protocol: TCP}
          readinessProbe:
            httpGet: {host: $KCP_NODE_IP, path: /ready, port: 8181}
            periodSeconds: 2
          livenessProbe:
            httpGet: {host: $KCP_NODE_IP, path: /health, port: 8080}
            periodSeconds: 10
          resources:
            requests: {cpu: 10m, memory: 32Mi}
            limits: {memory: 128Mi}
          volumeMounts:
            - {name: config, mountPath: /etc/coredns, readOnly: true}
            - {name: kubeconfig, mountPath: /var/lib/coredns, readOnly: true}
      volumes:
        - name: config
          configMap: {name: coredns}
        - name: kubeconfig
          secret: {secretName: coredns-kubeconfig}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  clusterIP: $KCP_DNS_IP
  selector: {k8s-app: kube-dns}
  ports:
    - {name: dns, port: 53, protocol: UDP}
    - {name: dns-tcp, port: 53, protocol: TCP}
YAML
kubectl -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null
