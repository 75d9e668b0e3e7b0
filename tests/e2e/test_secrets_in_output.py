"""No generated or given secret in any output (issue 12), on the real node: deploy,
invite rotation and teardown at -vvv, and a forced failure in each role at -vvv.

The values looked for are read from the live Secrets after the first deploy: the
instance keys, the database password and URL, PostgreSQL's own password, the provider
keys given in the inventory, and the invite token. The invite URL is meant to be
shown once, in the final report (that is how an operator gets it): it may appear
there and nowhere else."""

import base64
import re
import uuid

import pytest
from kubernetes import client

from tests.support.ansible_run import run_playbook
from tests.support.cluster import served_instance_vars

NAMESPACE = f"pc-leak-{uuid.uuid4().hex[:6]}"
PROVIDER_KEYS = {"paperclip_openai_api_key": f"sk-openai-{uuid.uuid4().hex}",
                 "paperclip_anthropic_api_key": f"sk-ant-{uuid.uuid4().hex}"}
REPORT_LINE = re.compile(r'"Invite URL: [^"]+"')


@pytest.fixture(scope="module")
def play(kubeconfig, images, api_client, tmp_path_factory):
    work = tmp_path_factory.mktemp("leak")
    base = {**served_instance_vars(NAMESPACE, 3121, images, "paperclip.leak.test"), **PROVIDER_KEYS}

    def run(playbook="deploy.yml", args=(), ok=True, **overrides):
        rc, output, failures = run_playbook(playbook, {"leak": {**base, **overrides}}, work,
                                            extra_env={"KUBECONFIG": kubeconfig}, args=args)
        # ok: True must pass, False must fail, None either.
        assert ok is not True or (rc == 0 and not failures), output[-6000:]
        assert ok is not False or rc != 0, f"{playbook} {overrides} was expected to fail:\n{output[-3000:]}"
        return output
    run("deploy.yml")
    yield run
    run("playbooks/teardown.yml", ("-e", "paperclip_teardown_purge=true"), ok=None)
    client.CoreV1Api(api_client).delete_namespace(NAMESPACE)


def secret_values(api_client):
    """Every value of every Secret the collection wrote for this instance (8 characters or more)."""
    core = client.CoreV1Api(api_client)
    values = set()
    for s in core.list_namespaced_secret(NAMESPACE, label_selector="app.kubernetes.io/managed-by=paperclip.kubernetes").items:
        for key, value in (s.data or {}).items():
            text = base64.b64decode(value).decode()
            if len(text) >= 8 and key not in ("host", "port", "username", "database", "expires_at", "job", "config.json"):
                values.add(text)
    values |= set(PROVIDER_KEYS.values())
    return values


def invite(api_client):
    data = client.CoreV1Api(api_client).read_namespaced_secret("paperclip-bootstrap-invite", NAMESPACE).data
    return base64.b64decode(data["invite_url"]).decode()


def assert_no_leak(output, values, what):
    # The invite URL is shown once, by design, in the report's "Invite URL:" line.
    rest = REPORT_LINE.sub("", output)
    leaked = sorted(v[:10] + "..." for v in values if v in rest)
    assert not leaked, f"secret values in the output of {what}: {leaked}"


def test_the_values_looked_for_are_real(play, api_client):
    values = secret_values(api_client)
    # Instance keys (3), the database password (PostgreSQL's own is the same) and URL,
    # 2 provider keys, the invite URL.
    assert len(values) >= 8, len(values)
    assert any("/invite/pcp_bootstrap_" in v for v in values)


def test_deploy_at_vvv(play, api_client):
    output = play(args=("-vvv",))
    assert "<127.0.0.1>" in output or "ESTABLISH LOCAL CONNECTION" in output  # really -vvv
    assert_no_leak(output, secret_values(api_client), "deploy.yml -vvv")


def test_rotation_at_vvv_shows_the_new_invite_once(play, api_client):
    before = invite(api_client)
    output = play("playbooks/rotate_invite.yml", ("-vvv", "-e", "bootstrap_rotate_force=true"))
    after = invite(api_client)
    assert after != before
    token = after.rsplit("/", 1)[1]
    assert output.count(token) == 1, f"the new invite token appears {output.count(token)} times"
    assert REPORT_LINE.search(output) and token in REPORT_LINE.search(output).group(0)
    assert_no_leak(output, secret_values(api_client) | {before}, "rotate_invite.yml -vvv")


@pytest.mark.parametrize("role, overrides, message", [
    # postgres: the API refuses to shrink the database's claim.
    ("postgres", {"postgres_storage_size": "512Mi"}, "paperclip-postgres-data"),
    # storage: the same for the app's volume.
    ("storage", {"storage_volume_size": "512Mi"}, "paperclip-data"),
    # paperclip: an image that fails on purpose; the rollout times out with the pod's reasons.
    ("paperclip", {"paperclip_image": "localhost/paperclip-standin-broken:2026.916.1",
                   "paperclip_rollout_timeout": 45}, "paperclip"),
    # bootstrap: the same image runs the CLI in the bootstrap Job, which fails.
    ("bootstrap", {"bootstrap_image": "localhost/paperclip-standin-broken:2026.916.1",
                   "bootstrap_rotate_force": True}, "bootstrap"),
])
def test_a_failure_in_each_role_at_vvv(play, api_client, role, overrides, message):
    values = secret_values(api_client)
    playbook = "playbooks/rotate_invite.yml" if role == "bootstrap" else "deploy.yml"
    output = play(playbook, ("-vvv",), ok=False, **overrides)
    assert f"paperclip.kubernetes.{role} :" in output.split("fatal:")[0].rsplit("TASK [", 1)[1], \
        f"the failure was not in the {role} role:\n{output[-3000:]}"
    assert message in output.split("fatal:", 1)[1][:4000]
    assert_no_leak(output, values, f"a failed {playbook} ({role}) -vvv")
    # Back to the working inventory (a broken app image is rolled back by the next deploy).
    play()


def test_backup_failure_at_vvv(play, api_client):
    values = secret_values(api_client)
    # Before any backup the backup volume does not exist: the restore says so at once.
    output = play("playbooks/restore.yml", ("-vvv", "-e", "restore_confirm=paperclip"), ok=False)
    assert 'persistentvolumeclaim "paperclip-backups" not found' in output, output[-3000:]
    assert_no_leak(output, values, "a restore.yml without a backup volume -vvv")
    play("playbooks/backup.yml")
    output = play("playbooks/restore.yml", ("-vvv", "-e", "restore_confirm=paperclip", "-e", "restore_from=none.dump"),
                  ok=False)
    assert "RESTORE_FAILED no dump 'none.dump'" in output, output[-3000:]
    assert "paperclip.kubernetes.backup :" in output
    assert_no_leak(output, values, "a failed restore.yml -vvv")


def test_teardown_at_vvv(play, api_client):
    values = secret_values(api_client)
    output = play("playbooks/teardown.yml", ("-vvv",))
    assert_no_leak(output, values, "teardown.yml -vvv")
    output = play("playbooks/teardown.yml", ("-vvv", "-e", "paperclip_teardown_purge=true"))
    assert_no_leak(output, values, "teardown.yml -e paperclip_teardown_purge=true -vvv")
