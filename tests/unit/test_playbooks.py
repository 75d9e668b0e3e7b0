"""Every playbook that talks to the cluster passes the same auth options (paperclip_kubeconfig,
paperclip_kube_context) to kubernetes.core's modules and to this collection's modules and
manifests action: a play that sets only one group would send the other to the default
kubeconfig, a different cluster."""

from pathlib import Path

import pytest
import yaml

PLAYBOOKS = sorted((Path(__file__).resolve().parents[2] / "playbooks").glob("*.yml"))
AUTH = {"kubeconfig": "{{ paperclip_kubeconfig | default(omit) }}",
        "context": "{{ paperclip_kube_context | default(omit) }}"}


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.name)
def test_both_module_groups_get_the_auth_options(path):
    for play in yaml.safe_load(path.read_text()):
        if "hosts" not in play:
            continue
        defaults = play.get("module_defaults") or {}
        assert defaults.get("group/kubernetes.core.k8s") == AUTH, f"{path.name}: {play.get('name')}"
        assert defaults.get("group/paperclip.kubernetes.paperclip") == AUTH, f"{path.name}: {play.get('name')}"
