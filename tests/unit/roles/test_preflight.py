"""<role>_preflight: a role used on its own checks its inputs at its start (the default),
and with false it leaves that to its caller, as deploy.yml does after checking every role
before any write (tests/unit/roles/test_bad_input.py covers deploy.yml). Offline: the
storage role in render mode, the kubeconfig pointing at a closed port."""

import yaml

from tests.support.ansible_run import run_playbook

# Under the storage role's own lower bound (its cross-field check), yet a valid quantity
# (its argument spec): only the role's checks refuse it.
SMALL = {"storage_volume_size": "100Mi"}


def test_a_role_on_its_own_checks_its_inputs_unless_told_its_caller_did(tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{
        "hosts": "all", "gather_facts": False,
        "tasks": [{"name": "The storage role alone", "ansible.builtin.import_role": {"name": "paperclip.kubernetes.storage"}}],
    }]))
    hosts = {
        "alone": {**SMALL, "storage_render_dir": str(tmp_path / "alone")},
        "after-caller": {**SMALL, "storage_render_dir": str(tmp_path / "after-caller"), "storage_preflight": False},
    }
    rc, output, failures = run_playbook(str(play), hosts, tmp_path)
    assert rc != 0, output
    assert "at least 256Mi" in failures.get("alone", ""), output
    assert not (tmp_path / "alone").exists(), "the role wrote before its checks failed"
    assert "after-caller" not in failures, output
    rendered = [d for f in (tmp_path / "after-caller").glob("*.yaml") for d in yaml.safe_load_all(f.read_text()) if d]
    claims = [d for d in rendered if d["kind"] == "PersistentVolumeClaim"]
    assert claims and claims[0]["spec"]["resources"]["requests"]["storage"] == "100Mi", rendered
