"""The README's deploy command on a machine with no kube context: `make deploy`
(hack/deploy.sh) starts the local cluster, deploys one instance with the stand-in
images and serves it on a loopback port, where the printed Invite URL works; then
`make cluster-down` stops it all, the port-forward included. Runs its own cluster:
it fails (instead of stopping someone's cluster) when one is already running."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.paperclip import free_port, invite_summary

ROOT = Path(__file__).resolve().parents[2]


def test_make_deploy_without_a_kube_context_serves_the_invite_locally(tmp_path):
    if (ROOT / ".cluster" / "kubeconfig").exists():
        pytest.fail("a local cluster is running; stop it with `make cluster-down` first", pytrace=False)
    port = free_port()
    # No kube context: an empty HOME (no ~/.kube/config) and no KUBECONFIG; the
    # caches stay where they are, so nothing is built or downloaded again.
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")),
               GOPATH=os.environ.get("GOPATH", str(Path.home() / "go")), PAPERCLIP_LOCAL_PORT=str(port),
               # What the Makefile exports for `make deploy`.
               PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    try:
        proc = subprocess.run(["bash", str(ROOT / "hack" / "deploy.sh")], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=1200, stdin=subprocess.DEVNULL, check=False)
        assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
        assert "no kube context configured; using the local cluster" in proc.stderr
        match = re.search(rf"Invite URL: (http://127\.0\.0\.1:{port}/invite/(pcp_bootstrap_[0-9a-f]+))", proc.stdout)
        assert match, proc.stdout[-3000:]
        health = requests.get(f"http://127.0.0.1:{port}/api/health", timeout=30).json()
        assert (health["status"], health["bootstrapStatus"], health["bootstrapInviteActive"]) == \
            ("ok", "bootstrap_pending", True), health
        assert invite_summary(f"http://127.0.0.1:{port}", match.group(2))[0] == 200
    finally:
        down = subprocess.run(["bash", str(ROOT / "tests" / "cluster" / "down.sh")], capture_output=True, text=True,
                              timeout=300, stdin=subprocess.DEVNULL, check=False)
    assert down.returncode == 0, down.stderr[-3000:]
    left = subprocess.run(["pgrep", "-f", f"port-forward.*{port}:{port}"], capture_output=True, text=True,
                          check=False).stdout
    assert not left, f"the port-forward outlived cluster-down: {left}"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/api/health", timeout=5)
