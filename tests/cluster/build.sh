#!/usr/bin/env bash
# Build kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
# kubelet, kube-proxy, etcd, kwok/kwokctl and kube-router from the Go module
# proxy into a cache outside the repo, keyed by version. A second run with a
# complete cache returns at once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$here/lib.sh"
K8S=${K8S_VERSION}; ETCD=${ETCD_VERSION}; KWOK=${KWOK_VERSION}
k8s_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)
want=("${k8s_cmds[@]}" etcd kwok kwokctl)

stages=$BIN/kwok-default-stages.yaml

complete() {
  for b in "${want[@]}"; do [ -x "$BIN/$b" ] || return 1; done
  [ -s "$stages" ] && [ -x "$KUBE_ROUTER" ]
}
if complete; then echo "$BIN"; exit 0; fi

command -v go >/dev/null || { echo "build.sh: Go is required (go 1.26+)" >&2; exit 1; }
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
mkdir -p "$BIN"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
t0=$(date +%s)
log() { echo "build.sh [$(( $(date +%s) - t0 ))s] $*" >&2; }

if [ ! -x "$BIN/etcd" ]; then
  log "etcd $ETCD"
  mkdir "$work/etcd"; cd "$work/etcd"
  printf 'module local/etcdbin\n\ngo 1.26.0\n' > go.mod
  # server/go.mod has replace directives, so `go install pkg@v` refuses; a
  # wrapper module that requires it as a tool ignores them.
  go get -tool "go.etcd.io/etcd/server/v3@$ETCD" >&2
  go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$BIN/etcd.tmp" "$BIN/etcd"
fi

if [ ! -x "$BIN/kwok" ] || [ ! -x "$BIN/kwokctl" ]; then
  log "kwok $KWOK"
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK"
fi

missing=()
for c in "${k8s_cmds[@]}"; do [ -x "$BIN/$c" ] || missing+=("$c"); done
if [ "${#missing[@]}" -gt 0 ]; then
  log "kubernetes $K8S"
  mkdir "$work/k8s"; cd "$work/k8s"
  printf 'module local/k8sbins\n\ngo 1.26.0\n\ngodebug default=go1.26\n' > go.mod
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them
  # with ./staging; the published v0.Y.Z of each matches Kubernetes v1.Y.Z.
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S" | python3 -c 'import json,sys;print(json.load(sys.stdin)["GoMod"])')
  sv="v0.${K8S#v1.}"
  while read -r m; do
    go mod edit -replace="$m=$m@$sv"
  done < <(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/.*#\1#p' "$gomod")
  go mod edit -require="k8s.io/kubernetes@$K8S"
  for c in "${k8s_cmds[@]}"; do
    go mod edit -tool="k8s.io/kubernetes/cmd/$c"
  done
  go mod tidy >&2
  minor=$(cut -d. -f2 <<<"$K8S")
  ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$K8S -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  # One `go build` for every missing command: the packages they share are
  # compiled once (about a third less CPU than one build per command).
  log "  ${missing[*]}"
  mkdir "$work/out"
  go build -p 2 -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ld" -o "$work/out/" \
    "${missing[@]/#/k8s.io/kubernetes/cmd/}"
  for c in "${missing[@]}"; do mv "$work/out/$c" "$BIN/$c"; done
fi
if [ ! -s "$stages" ]; then
  # kwokctl's default Stages (what it uses when the config has none), taken
  # from the kwok module of this version; up.sh re-lists them next to our own
  # Stage, because passing any Stage drops the defaults.
  log "kwok default stages"
  kwokdir=$(cd "$work" && go mod download -json "sigs.k8s.io/kwok@$KWOK" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])')
  {
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      echo "---"
      cat "$kwokdir/kustomize/stage/$f"
    done
  } >"$stages.tmp"
  mv "$stages.tmp" "$stages"
fi
if [ ! -x "$KUBE_ROUTER" ]; then
  log "kube-router $KUBE_ROUTER_VERSION"
  mkdir -p "$(dirname "$KUBE_ROUTER")" "$work/kube-router"
  GOBIN="$work/kube-router" go install -trimpath -ldflags "-s -w" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
  mv "$work/kube-router/kube-router" "$KUBE_ROUTER"
fi
complete || { echo "build.sh: incomplete build in $BIN" >&2; exit 1; }
log "done"
echo "$BIN"
