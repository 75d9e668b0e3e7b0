"""deploy.yml end to end on the local control plane (real kube-apiserver, controllers,
Pod Security admission; KWOK nodes), bridged to a real Paperclip server:

- the health checks of the bootstrap role go to the real server on 127.0.0.1
  (bootstrap_health_url), never to a pod or Service address;
- the bootstrap Job's pod "logs" are the real `auth bootstrap-ceo` output, taken
  from that real server and served by KWOK.

One story, in file order: check mode on a fresh cluster, deploy, idempotence, check and diff mode, rotation with a
schedule, teardown keeping the data."""

import base64
import re
import uuid

import pytest
from kubernetes import client

from kwok_logs import serve_logs, stop_serving_logs
from tests.support.ansible_run import recap, run_playbook
import requests

from tests.support.paperclip import accept_invite, parse_bootstrap_output, sign_up

PUBLIC_HOST = "paperclip.example.test"
PUBLIC_URL = f"https://{PUBLIC_HOST}"
NAMESPACE = f"pc-deploy-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def state():
    return {}


@pytest.fixture(scope="module")
def deploy(kubeconfig, paperclip_server, tmp_path_factory):
    """Run a collection playbook against the cluster for one instance."""
    work = tmp_path_factory.mktemp("deploy")

    def run(playbook="deploy.yml", args=(), **overrides):
        host = {
            "paperclip_namespace": NAMESPACE,
            "paperclip_host": PUBLIC_HOST,
            "bootstrap_health_url": paperclip_server.url,
            "bootstrap_health_timeout": 120,
            "postgres_wait_timeout": 180,
            "paperclip_rollout_timeout": 180,
            **overrides,
        }
        return run_playbook(playbook, {"paperclip-test": host}, work,
                            extra_env={"KUBECONFIG": kubeconfig}, args=args)

    yield run
    stop_serving_logs(NAMESPACE, kubeconfig)


@pytest.fixture(scope="module")
def core(api_client):
    return client.CoreV1Api(api_client)


def _secret(core, name):
    data = core.read_namespaced_secret(name, NAMESPACE).data or {}
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def test_check_mode_on_a_fresh_cluster_creates_nothing(deploy, core):
    rc, output, failures = deploy(args=("--check",))
    assert rc == 0 and not failures, output[-6000:]
    assert recap(output)["paperclip-test"]["changed"] > 0
    assert "would be created" in output
    assert NAMESPACE not in {ns.metadata.name for ns in core.list_namespace().items}


def test_deploy_prints_the_invite_from_the_real_cli(deploy, paperclip_server, kubeconfig, state):
    # The real CLI against the real server: its output is what the Job's pod "prints".
    cli = paperclip_server.bootstrap_ceo(base_url=PUBLIC_URL, expires_hours=72)
    parsed = parse_bootstrap_output(cli.stdout)
    assert parsed["invite_url"], cli.stdout + cli.stderr
    state["invite"] = parsed
    serve_logs(NAMESPACE, "bootstrap-ceo", cli.stdout, kubeconfig)

    rc, output, failures = deploy()
    state["first_output"] = output
    assert rc == 0 and not failures, output[-6000:]
    assert f"Invite URL: {parsed['invite_url']}" in output
    assert f"Expires: {parsed['expires_at']}" in output


def test_every_object_exists_and_is_ready(api_client, core, state):
    apps = client.AppsV1Api(api_client)
    for name in ("paperclip", "paperclip-postgres"):
        sts = apps.read_namespaced_stateful_set(name, NAMESPACE)
        assert sts.status.ready_replicas == 1, name
    for claim in ("paperclip-data", "paperclip-postgres-data"):
        assert core.read_namespaced_persistent_volume_claim(claim, NAMESPACE).status.phase == "Bound"
    for secret in ("paperclip-instance", "paperclip-db", "paperclip-postgres", "paperclip-config", "paperclip-bootstrap-invite"):
        assert core.read_namespaced_secret(secret, NAMESPACE)
    svc = core.read_namespaced_service("paperclip", NAMESPACE)
    assert svc.spec.selector["app.kubernetes.io/component"] == "app"
    ingress = client.NetworkingV1Api(api_client).read_namespaced_ingress("paperclip", NAMESPACE)
    assert ingress.spec.rules[0].host == PUBLIC_HOST
    ns = core.read_namespace(NAMESPACE)
    assert ns.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    jobs = client.BatchV1Api(api_client).list_namespaced_job(NAMESPACE).items
    assert any(j.metadata.name.startswith("paperclip-bootstrap-") and j.status.succeeded for j in jobs)
    assert any(j.metadata.name.startswith("paperclip-create-db-") and j.status.succeeded for j in jobs)
    # Pods were admitted under Pod Security "restricted" (they exist and run).
    pods = core.list_namespaced_pod(NAMESPACE).items
    assert {p.metadata.labels.get("app.kubernetes.io/name") for p in pods} >= {"paperclip", "postgresql"}


def test_secrets_hold_generated_and_stored_values(core, state):
    instance = _secret(core, "paperclip-instance")
    assert set(instance) == {"BETTER_AUTH_SECRET", "PAPERCLIP_SECRETS_MASTER_KEY", "PAPERCLIP_AGENT_JWT_SECRET"}
    assert re.fullmatch(r"[0-9a-f]{64}", instance["PAPERCLIP_SECRETS_MASTER_KEY"])
    assert len(instance["BETTER_AUTH_SECRET"]) == 48
    state["instance"] = instance
    db = _secret(core, "paperclip-db")
    assert db["DATABASE_URL"] == (f"postgres://paperclip:{db['password']}@paperclip-postgres.{NAMESPACE}.svc:5432/paperclip")
    invite = _secret(core, "paperclip-bootstrap-invite")
    assert invite["invite_url"] == state["invite"]["invite_url"]
    assert invite["invite_url"].startswith(PUBLIC_URL + "/invite/pcp_bootstrap_")
    for value in list(instance.values()) + [db["password"]]:
        assert value not in state["first_output"], "a secret value appeared in the play output"


def test_no_literal_secret_in_any_pod(core, state):
    secret_values = set(state["instance"].values())
    for pod in core.list_namespaced_pod(NAMESPACE).items:
        for container in (pod.spec.init_containers or []) + pod.spec.containers:
            for env in container.env or []:
                assert env.value not in secret_values, f"{pod.metadata.name}/{container.name}: {env.name}"
                if env.name in ("DATABASE_URL", "BETTER_AUTH_SECRET", "PAPERCLIP_SECRETS_MASTER_KEY",
                                "PAPERCLIP_AGENT_JWT_SECRET", "POSTGRES_PASSWORD", "PGPASSWORD"):
                    assert env.value_from and env.value_from.secret_key_ref, f"{pod.metadata.name}: {env.name}"


def test_second_run_changes_nothing(deploy, core, state):
    rc, output, failures = deploy()
    assert rc == 0 and not failures, output[-6000:]
    assert recap(output)["paperclip-test"]["changed"] == 0, output[-6000:]
    assert _secret(core, "paperclip-instance") == state["instance"]
    assert f"Invite URL: {state['invite']['invite_url']}" in output


def test_check_and_diff_mode_report_no_change(deploy):
    rc, output, failures = deploy(args=("--check", "--diff"))
    assert rc == 0 and not failures, output[-6000:]
    assert recap(output)["paperclip-test"]["changed"] == 0, output[-6000:]


def test_changed_input_rolls_the_app_without_touching_secrets(deploy, api_client, core, state):
    apps = client.AppsV1Api(api_client)
    before = apps.read_namespaced_stateful_set("paperclip", NAMESPACE).spec.template.metadata.annotations
    rc, output, failures = deploy(paperclip_disable_sign_up=True)
    assert rc == 0 and not failures, output[-6000:]
    assert recap(output)["paperclip-test"]["changed"] >= 1
    after = apps.read_namespaced_stateful_set("paperclip", NAMESPACE).spec.template.metadata.annotations
    assert before["paperclip.kubernetes/config-checksum"] != after["paperclip.kubernetes/config-checksum"]
    assert _secret(core, "paperclip-instance") == state["instance"]


def test_refused_volume_change_is_explained_and_nothing_is_lost(deploy, core):
    # The test StorageClass does not allow expansion: the API refuses, the play explains.
    rc, output, failures = deploy(paperclip_disable_sign_up=True, storage_volume_size="2Gi")
    assert rc != 0
    assert "A claim can only grow" in failures["paperclip-test"], failures
    claim = core.read_namespaced_persistent_volume_claim("paperclip-data", NAMESPACE)
    assert claim.status.phase == "Bound" and claim.spec.resources.requests["storage"] == "1Gi"


def test_forced_rotation_revokes_the_old_invite(deploy, paperclip_server, kubeconfig, core, state):
    old = state["invite"]
    # What the rotation Job's pod prints: a new run of the real CLI, which revokes the old invite.
    cli = paperclip_server.bootstrap_ceo(base_url=PUBLIC_URL, expires_hours=72)
    new = parse_bootstrap_output(cli.stdout)
    assert new["invite_url"] and new["invite_url"] != old["invite_url"]
    serve_logs(NAMESPACE, "bootstrap-ceo", cli.stdout, kubeconfig)
    rc, output, failures = deploy("playbooks/rotate_invite.yml", bootstrap_rotate_force=True,
                                  paperclip_disable_sign_up=True)
    assert rc == 0 and not failures, output[-6000:]
    assert f"Invite URL: {new['invite_url']}" in output
    assert _secret(core, "paperclip-bootstrap-invite")["invite_url"] == new["invite_url"]
    # The old URL stops working on the real server, the new one works.
    assert requests.get(f"{paperclip_server.url}/api/invites/{old['token']}", timeout=10).status_code == 404
    assert requests.get(f"{paperclip_server.url}/api/invites/{new['token']}", timeout=10).status_code == 200
    state["invite"] = new


def test_rotation_without_force_keeps_a_valid_invite(deploy, core, state):
    before = core.read_namespaced_secret("paperclip-bootstrap-invite", NAMESPACE).metadata.resource_version
    rc, output, failures = deploy("playbooks/rotate_invite.yml", paperclip_disable_sign_up=True)
    assert rc == 0 and not failures, output[-6000:]
    assert recap(output)["paperclip-test"]["changed"] == 0, output[-6000:]
    assert f"Invite URL: {state['invite']['invite_url']}" in output
    assert core.read_namespaced_secret("paperclip-bootstrap-invite", NAMESPACE).metadata.resource_version == before


def test_rotation_schedule_installs_a_cronjob(deploy, api_client):
    rc, output, failures = deploy("playbooks/rotate_invite.yml", bootstrap_rotation_schedule="0 */12 * * *",
                                  paperclip_disable_sign_up=True)
    assert rc == 0 and not failures, output[-6000:]
    cron = client.BatchV1Api(api_client).read_namespaced_cron_job("paperclip-bootstrap-rotation", NAMESPACE)
    assert cron.spec.schedule == "0 */12 * * *"
    assert cron.spec.concurrency_policy == "Forbid"
    container = cron.spec.job_template.spec.template.spec.containers[0]
    assert container.command[3:5] == ["auth", "bootstrap-ceo"] and "--force" not in container.command


def test_claimed_instance_is_left_alone(deploy, paperclip_server, api_client, core, state):
    # The first admin signs up and accepts the invite on the real server.
    session = sign_up(paperclip_server.url, "admin@example.test", "Sup3r-Secret-Pass!", "Admin")
    accept_invite(session, state["invite"]["token"])
    batch = client.BatchV1Api(api_client)
    jobs_before = {j.metadata.name for j in batch.list_namespaced_job(NAMESPACE).items}
    rc, output, failures = deploy("playbooks/rotate_invite.yml", bootstrap_rotation_schedule="0 */12 * * *",
                                  paperclip_disable_sign_up=True)
    assert rc == 0 and not failures, output[-6000:]
    assert "is already claimed" in output
    # No new Job, and the rotation CronJob is gone.
    assert {j.metadata.name for j in batch.list_namespaced_job(NAMESPACE).items} <= jobs_before
    assert batch.list_namespaced_cron_job(NAMESPACE).items == []
    rc, output, failures = deploy("playbooks/rotate_invite.yml", paperclip_disable_sign_up=True)
    assert rc == 0 and recap(output)["paperclip-test"]["changed"] == 0, output[-6000:]


def test_teardown_keeps_volumes_and_secrets(deploy, api_client, core):
    rc, output, failures = deploy("playbooks/teardown.yml")
    assert rc == 0 and not failures, output[-6000:]
    apps = client.AppsV1Api(api_client)
    assert apps.list_namespaced_stateful_set(NAMESPACE).items == []
    claims = {c.metadata.name for c in core.list_namespaced_persistent_volume_claim(NAMESPACE).items}
    assert claims >= {"paperclip-data", "paperclip-postgres-data"}
    assert core.read_namespaced_secret("paperclip-instance", NAMESPACE)
    core.delete_namespace(NAMESPACE)
