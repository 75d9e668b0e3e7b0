#!/usr/bin/env bash
# make deploy: deploy.yml against the current kube context with $INVENTORY
# (default inventory/example.yml). With no kube context at all (no KUBECONFIG,
# no ~/.kube/config), the embedded default instead: start the local cluster of
# tests/cluster, deploy one instance with the stand-in images built here
# (inventory/local.yml), and serve it on http://127.0.0.1:$PAPERCLIP_LOCAL_PORT
# (default 3100) through kubectl port-forward, so the printed Invite URL opens
# in a browser on this machine. `make cluster-down` stops all of it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
inventory=${INVENTORY:-inventory/example.yml}

# A kube context is configured when KUBECONFIG is set or ~/.kube/config exists;
# then that cluster is used, and a broken config fails there, loudly.
if [ -n "${KUBECONFIG:-}" ] || [ -f "$HOME/.kube/config" ]; then
  exec ansible-playbook -i "$inventory" deploy.yml
fi

echo "deploy: no kube context configured; using the local cluster (tests/cluster)" >&2
bash tests/cluster/up.sh
# shellcheck source=tests/cluster/lib.sh
. tests/cluster/lib.sh
export KUBECONFIG=$kubeconfig
port=${PAPERCLIP_LOCAL_PORT:-3100}
export PAPERCLIP_LOCAL_PORT=$port
ansible-playbook -i inventory/local.yml deploy.yml

# Serve the instance on loopback; restart the forward if the pod is replaced.
pf_pid=$state/port-forward.pid
if [ -f "$pf_pid" ] && kill -0 "$(cat "$pf_pid")" 2>/dev/null; then
  kill -- "-$(cat "$pf_pid")" 2>/dev/null || true
fi
setsid bash -c "while :; do '$BIN/kubectl' --kubeconfig '$kubeconfig' -n paperclip port-forward \
  --address 127.0.0.1 service/paperclip $port:$port; sleep 1; done" >"$state/logs/port-forward.log" 2>&1 </dev/null &
echo $! >"$pf_pid"
for _ in $(seq 30); do curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break; sleep 1; done
curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null || { echo "deploy: port-forward on 127.0.0.1:$port does not answer (log: $state/logs/port-forward.log)" >&2; exit 1; }
echo
echo "Paperclip is served on http://127.0.0.1:$port (kubectl port-forward, PID group $(cat "$pf_pid"))."
echo "Open the Invite URL printed above in a browser on this machine. Stop everything with: make cluster-down"
