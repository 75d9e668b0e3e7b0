"""The modules' documentation renders with ansible-doc, and documents the
interface the bootstrap role relies on (option and return names)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
ANSIBLE_DOC = Path(sys.executable).parent / "ansible-doc"

INTERFACE = {
    "paperclip.kubernetes.paperclip_health": (
        {"url", "validate_certs", "ca_path", "host_header", "service", "namespace", "port", "scheme",
         "wait", "timeout", "interval", "kubeconfig", "context"},
        {"status", "bootstrap_status", "bootstrap_invite_active", "deployment_mode", "deployment_exposure",
         "http_status", "body", "attempts", "elapsed"},
    ),
    "paperclip.kubernetes.paperclip_invite": (
        {"namespace", "job", "cronjob", "container", "timeout", "interval", "kubeconfig", "context"},
        {"invite_url", "expires_at", "claimed", "job", "pod"},
    ),
}


@pytest.mark.parametrize("name", sorted(INTERFACE))
def test_ansible_doc(name):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"))
    proc = subprocess.run([str(ANSIBLE_DOC), "-t", "module", "--json", name], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)[name]
    options, returns = INTERFACE[name]
    # kubeconfig/context come from the kubernetes.core.k8s_auth_options fragment.
    assert options <= set(doc["doc"]["options"]), options - set(doc["doc"]["options"])
    assert returns <= set(doc["return"]), returns - set(doc["return"])
    assert doc["examples"].strip()
