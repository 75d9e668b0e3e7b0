"""The instance Secret survives every path a real instance meets (issue 12), on the real node:
a collection upgrade that adds a generated key, re-runs, a key deleted by hand, a value
changed by hand, and -vvv output. Server-side apply may remove fields a manager stops
sending (the documented rule for data; for stringData, Kubernetes 1.36 keeps them), so these check
the values themselves after each path, byte for byte."""

import base64
import json
import uuid

import pytest
from kubernetes import client

from tests.support.ansible_run import recap, run_playbook
from tests.support.cluster import stand_in_vars

NAMESPACE = f"pc-secrets-{uuid.uuid4().hex[:6]}"
SECRET = "paperclip-instance"
KEYS = ["BETTER_AUTH_SECRET", "PAPERCLIP_SECRETS_MASTER_KEY", "PAPERCLIP_AGENT_JWT_SECRET"]


@pytest.fixture(scope="module")
def play(kubeconfig, images, api_client, tmp_path_factory):
    work = tmp_path_factory.mktemp("secrets")
    host = {"secrets": {"paperclip_namespace": NAMESPACE, "paperclip_host": "paperclip.secrets.test",
                        "paperclip_ingress_enabled": False, "bootstrap_enabled": False, **stand_in_vars(images)}}

    def run(playbook="deploy.yml", args=(), check=True):
        rc, output, failures = run_playbook(playbook, host, work, extra_env={"KUBECONFIG": kubeconfig}, args=args)
        assert not check or (rc == 0 and not failures), output[-6000:]
        return output
    yield run
    run("playbooks/teardown.yml", ("-e", "paperclip_teardown_purge=true"))
    client.CoreV1Api(api_client).delete_namespace(NAMESPACE)


def secret(api_client):
    return client.CoreV1Api(api_client).read_namespaced_secret(SECRET, NAMESPACE)


def test_a_collection_upgrade_adds_a_key_and_keeps_the_others(play, api_client):
    # An older collection generated two of the three keys (role vars need extra vars to be
    # overridden). Today's StatefulSet reads the third key, so that run's rollout cannot
    # finish: it is cut short, and only the Secret it wrote matters here.
    play(args=("-e", json.dumps({"paperclip__instance_secret_keys": KEYS[:2], "paperclip_rollout_timeout": 5})),
         check=False)
    before = secret(api_client).data
    assert sorted(before) == sorted(KEYS[:2])
    output = play()
    after = secret(api_client).data
    assert sorted(after) == sorted(KEYS)
    assert {k: after[k] for k in KEYS[:2]} == before, "an existing value changed when a key was added"
    assert "WARNING: the instance Secret" in output and "exists without PAPERCLIP_AGENT_JWT_SECRET" in output


def test_three_reruns_leave_the_secret_byte_identical(play, api_client):
    first = secret(api_client)
    for attempt in range(3):
        output = play()
        assert recap(output)["secrets"]["changed"] == 0, f"re-run {attempt + 1}: {output[-3000:]}"
    last = secret(api_client)
    assert last.data == first.data and last.metadata.resource_version == first.metadata.resource_version


def test_a_key_deleted_by_hand_is_regenerated_alone_with_a_warning(play, api_client):
    before = secret(api_client).data
    client.CoreV1Api(api_client).patch_namespaced_secret(
        SECRET, NAMESPACE, {"data": {"PAPERCLIP_AGENT_JWT_SECRET": None}}, field_manager="kubectl-edit")
    assert "PAPERCLIP_AGENT_JWT_SECRET" not in secret(api_client).data
    output = play()
    after = secret(api_client).data
    assert {k: after[k] for k in KEYS[:2]} == {k: before[k] for k in KEYS[:2]}
    assert after["PAPERCLIP_AGENT_JWT_SECRET"] and after["PAPERCLIP_AGENT_JWT_SECRET"] != before["PAPERCLIP_AGENT_JWT_SECRET"]
    assert "exists without PAPERCLIP_AGENT_JWT_SECRET" in output and "what they protected is lost" in output


def test_a_value_changed_by_hand_is_kept_and_reported(play, api_client):
    hand = base64.b64encode(b"changed-by-hand-" + uuid.uuid4().hex.encode()).decode()
    client.CoreV1Api(api_client).patch_namespaced_secret(
        SECRET, NAMESPACE, {"data": {"BETTER_AUTH_SECRET": hand}}, field_manager="kubectl-edit")
    output = play()
    assert secret(api_client).data["BETTER_AUTH_SECRET"] == hand, "a hand-changed value was reverted"
    assert recap(output)["secrets"]["changed"] == 0
    assert "NOTE: BETTER_AUTH_SECRET in" in output and "never reverted" in output


def test_no_secret_value_in_verbose_check_or_diff_output(play, api_client):
    values = [base64.b64decode(v).decode() for v in secret(api_client).data.values()]
    db = client.CoreV1Api(api_client).read_namespaced_secret("paperclip-db", NAMESPACE).data
    values.append(base64.b64decode(db["password"]).decode())
    for args in (("-vvv",), ("--check", "--diff", "-vvv")):
        output = play(args=args)
        leaked = [v[:6] + "..." for v in values if v in output]
        assert not leaked, f"secret values in the output of deploy.yml {' '.join(args)}: {leaked}"


def test_no_secret_value_in_any_live_object_but_secrets(play, api_client):
    """Secrets are referenced, never copied: no value in a container's env value, a Job's
    or CronJob's args, an annotation, a ConfigMap or any other object of the namespace."""
    core, apps, batch = client.CoreV1Api(api_client), client.AppsV1Api(api_client), client.BatchV1Api(api_client)
    values = [base64.b64decode(v).decode() for v in secret(api_client).data.values()]
    db = core.read_namespaced_secret("paperclip-db", NAMESPACE).data
    values += [base64.b64decode(db[k]).decode() for k in ("password", "DATABASE_URL")]
    objects = (core.list_namespaced_pod(NAMESPACE).items + core.list_namespaced_config_map(NAMESPACE).items
               + core.list_namespaced_service(NAMESPACE).items + core.list_namespaced_service_account(NAMESPACE).items
               + core.list_namespaced_persistent_volume_claim(NAMESPACE).items
               + apps.list_namespaced_stateful_set(NAMESPACE).items + batch.list_namespaced_job(NAMESPACE).items
               + batch.list_namespaced_cron_job(NAMESPACE).items)
    assert len(objects) >= 6, [o.metadata.name for o in objects]
    text = json.dumps([api_client.sanitize_for_serialization(o) for o in objects])
    assert "valueFrom" in text  # the app does read its secrets, by reference
    leaked = [v[:6] + "..." for v in values if v in text]
    assert not leaked, f"secret values in live objects: {leaked}"
    # Annotations of the Secrets themselves carry no value either.
    notes = json.dumps([s.metadata.annotations for s in core.list_namespaced_secret(NAMESPACE).items])
    assert not [v for v in values if v in notes]
