"""deploy.yml end to end on the local cluster with running pods: the real node
runs the stand-in images built here (tests/cluster/images), so every manifest
of the collection executes for real: the bundled PostgreSQL initializes its
volume, the create-database Job runs psql, the Paperclip pod runs its init
containers and passes its probes, the bootstrap Job runs the CLI inside the
image, and `paperclip_health` goes through the API server's service proxy (no
bootstrap_health_url). A real headless Chromium reaches the instance through
`kubectl port-forward` to the Service, which is also the instance's public URL
here (http://127.0.0.1:<port>).

One story, in file order: check mode on a fresh cluster, deploy, idempotence,
check and diff mode, rotation (forced, unforced, scheduled), the first admin in
the browser, the rotation CronJob on the claimed instance, persistence across pod deletion, memory, a changed input, a
refused volume change, the claimed instance left alone, teardown keeping the data."""

import base64
import json
import re
import time
import uuid

import pytest
import requests
from kubernetes import client

from tests.support import paperclip as pc
from tests.support.ansible_run import recap, run_playbook
from tests.support.browser import claim_invite_and_create_company
from tests.support.cluster import PortForward, stand_in_vars, wait_for

PUBLIC_HOST = "paperclip.example.test"
NAMESPACE = f"pc-deploy-{uuid.uuid4().hex[:6]}"
ADMIN = {"name": "Cluster Admin", "email": "cluster-admin@example.test", "password": "Sup3r-Secret-Pass!"}
COMPANY = "Acme On Kubernetes"
INVITE_RE = re.compile(r"Invite URL: (http\S+?/invite/(pcp_bootstrap_[0-9a-f]+))")


@pytest.fixture(scope="module")
def state():
    return {"local_port": pc.free_port()}


@pytest.fixture(scope="module")
def public_url(state):
    # The browser reaches the instance through a port-forward on this port, so
    # this is the URL Paperclip must consider its own (auth base URL, invites).
    return f"http://127.0.0.1:{state['local_port']}"


@pytest.fixture(scope="module")
def deploy(kubeconfig, images, public_url, state, tmp_path_factory):
    """Run a collection playbook against the cluster for one instance."""
    work = tmp_path_factory.mktemp("deploy")

    def run(playbook="deploy.yml", args=(), **overrides):
        host = {
            "paperclip_namespace": NAMESPACE,
            "paperclip_host": PUBLIC_HOST,
            "paperclip_public_url": public_url,
            # Paperclip rewrites the port of a loopback public URL to the one it listens
            # on, so it must listen on the port the browser uses (the port-forward's).
            "paperclip_port": state["local_port"],
            # No ingress controller here, and an Ingress cannot name 127.0.0.1.
            "paperclip_ingress_enabled": False,
            **stand_in_vars(images),
            "postgres_wait_timeout": 300,
            "paperclip_rollout_timeout": 420,
            "bootstrap_health_timeout": 300,
            **overrides,
        }
        return run_playbook(playbook, {"paperclip-test": host}, work,
                            extra_env={"KUBECONFIG": kubeconfig}, args=args)

    return run


@pytest.fixture(scope="module")
def core(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def forward(kubeconfig, state):
    """A port-forward to the Service on the public URL's port (opened anew per use:
    a port-forward ends when the pod behind it goes away)."""
    port = state["local_port"]
    return lambda: PortForward(kubeconfig, NAMESPACE, "service/paperclip", port, port)


def _secret(core, name):
    data = core.read_namespaced_secret(name, NAMESPACE).data or {}
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def _invite(output: str) -> dict:
    m = INVITE_RE.findall(output)
    assert m, output[-4000:]
    url, token = m[-1]
    return {"invite_url": url, "token": token}


def _job_logs(core, prefix: str) -> list[tuple[str, str]]:
    """(job name, logs) of every finished pod of the Jobs whose name starts with prefix."""
    out = []
    for pod in core.list_namespaced_pod(NAMESPACE).items:
        job = (pod.metadata.labels or {}).get("job-name", "")
        if job.startswith(prefix) and pod.status.phase in ("Succeeded", "Failed"):
            out.append((job, core.read_namespaced_pod_log(pod.metadata.name, NAMESPACE)))
    return out


def _health(url: str) -> dict:
    resp = requests.get(f"{url}/api/health", timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_check_mode_on_a_fresh_cluster_creates_nothing(deploy, core):
    rc, output, failures = deploy(args=("--check",))
    assert rc == 0 and not failures, output[-6000:]
    assert recap(output)["paperclip-test"]["changed"] > 0
    assert "would be created" in output
    assert NAMESPACE not in {ns.metadata.name for ns in core.list_namespace().items}


def test_deploy_runs_every_pod_and_prints_the_invite(deploy, core, public_url, state):
    t0 = time.monotonic()
    rc, output, failures = deploy()
    state["deploy_seconds"] = round(time.monotonic() - t0, 1)
    state["first_output"] = output
    assert rc == 0 and not failures, output[-8000:]
    invite = _invite(output)
    assert invite["invite_url"].startswith(public_url + "/invite/pcp_bootstrap_")
    assert re.search(r"Expires: \d{4}-\d\d-\d\dT", output), output[-3000:]
    state["invite"] = invite
    # The URL came from the CLI inside the image, through the kubelet's logs of the Job's pod.
    logs = [text for _job, text in _job_logs(core, "paperclip-bootstrap-")]
    assert len(logs) == 1, logs
    text = logs[0]
    assert "Created bootstrap CEO invite." in text and f"Invite URL: {invite['invite_url']}" in text, text


def test_every_pod_ran_for_real_and_objects_are_ready(api_client, core, images, state):
    apps = client.AppsV1Api(api_client)
    for name in ("paperclip", "paperclip-postgres"):
        assert apps.read_namespaced_stateful_set(name, NAMESPACE).status.ready_replicas == 1, name
    for claim in ("paperclip-data", "paperclip-postgres-data"):
        assert core.read_namespaced_persistent_volume_claim(claim, NAMESPACE).status.phase == "Bound"
    node = client.CoreV1Api(api_client).read_node
    pods = {p.metadata.name: p for p in core.list_namespaced_pod(NAMESPACE).items}
    app, db = pods["paperclip-0"], pods["paperclip-postgres-0"]
    for pod in (app, db):
        assert "kwok.x-k8s.io/node" not in (node(pod.spec.node_name).metadata.annotations or {})
        status = pod.status.container_statuses[0]
        assert status.ready and status.started and status.state.running, status
        assert status.restart_count == 0, status
    assert app.status.container_statuses[0].image.endswith(images["paperclip-standin"].split("/", 1)[1])
    # Both init containers ran to completion (wait-for-postgres, configure).
    assert [(s.name, s.state.terminated.exit_code) for s in app.status.init_container_statuses] == \
        [("wait-for-postgres", 0), ("configure", 0)]
    jobs = client.BatchV1Api(api_client).list_namespaced_job(NAMESPACE).items
    assert any(j.metadata.name.startswith("paperclip-create-db-") and j.status.succeeded for j in jobs)
    (create_db,) = [text for _job, text in _job_logs(core, "paperclip-create-db-")]
    assert create_db.strip() in ("database paperclip exists", "database paperclip created"), create_db
    ns = core.read_namespace(NAMESPACE)
    assert ns.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_secrets_hold_generated_and_stored_values(core, public_url, state):
    instance = _secret(core, "paperclip-instance")
    assert set(instance) == {"BETTER_AUTH_SECRET", "PAPERCLIP_SECRETS_MASTER_KEY", "PAPERCLIP_AGENT_JWT_SECRET"}
    assert re.fullmatch(r"[0-9a-f]{64}", instance["PAPERCLIP_SECRETS_MASTER_KEY"])
    state["instance"] = instance
    db = _secret(core, "paperclip-db")
    assert db["DATABASE_URL"] == (f"postgres://paperclip:{db['password']}@paperclip-postgres.{NAMESPACE}.svc:5432/paperclip")
    invite = _secret(core, "paperclip-bootstrap-invite")
    assert invite["invite_url"] == state["invite"]["invite_url"]
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


def test_instance_answers_through_a_port_forward(forward, state):
    with forward() as pf:
        body = _health(pf.url)
        assert (body["status"], body["bootstrapStatus"], body["bootstrapInviteActive"]) == \
            ("ok", "bootstrap_pending", True), body
        code, summary = pc.invite_summary(pf.url, state["invite"]["token"])
        assert code == 200, summary


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


def test_forced_rotation_revokes_the_old_invite(deploy, core, forward, state):
    old = state["invite"]
    rc, output, failures = deploy("playbooks/rotate_invite.yml", bootstrap_rotate_force=True)
    assert rc == 0 and not failures, output[-6000:]
    new = _invite(output)
    assert new["token"] != old["token"]
    assert _secret(core, "paperclip-bootstrap-invite")["invite_url"] == new["invite_url"]
    with forward() as pf:  # the old URL stops working on the running instance, the new one works
        assert pc.invite_summary(pf.url, old["token"])[0] == 404
        assert pc.invite_summary(pf.url, new["token"])[0] == 200
    state["invite"] = new


def test_rotation_without_force_keeps_a_valid_invite(deploy, core, state):
    before = core.read_namespaced_secret("paperclip-bootstrap-invite", NAMESPACE).metadata.resource_version
    rc, output, failures = deploy("playbooks/rotate_invite.yml")
    assert rc == 0 and not failures, output[-6000:]
    assert recap(output)["paperclip-test"]["changed"] == 0, output[-6000:]
    assert f"Invite URL: {state['invite']['invite_url']}" in output
    assert core.read_namespaced_secret("paperclip-bootstrap-invite", NAMESPACE).metadata.resource_version == before


def _run_cronjob_now(api_client, core, name: str) -> str:
    """Create a Job from the rotation CronJob (what its schedule does) and return its pod's logs."""
    batch = client.BatchV1Api(api_client)
    cron = batch.read_namespaced_cron_job("paperclip-bootstrap-rotation", NAMESPACE)
    batch.create_namespaced_job(NAMESPACE, client.V1Job(
        metadata=client.V1ObjectMeta(name=name, owner_references=[client.V1OwnerReference(
            api_version="batch/v1", kind="CronJob", name=cron.metadata.name, uid=cron.metadata.uid, controller=True)]),
        spec=cron.spec.job_template.spec))
    job = wait_for(f"Job {name} to finish", lambda: (
        j if (j := batch.read_namespaced_job(name, NAMESPACE)).status.succeeded or j.status.failed else None),
        timeout=180, interval=1)
    assert job.status.succeeded, job.status
    (logs,) = [text for job_name, text in _job_logs(core, name) if job_name == name]
    return logs


def test_rotation_schedule_runs_the_real_cli_in_a_cronjob(deploy, api_client, core, state):
    rc, output, failures = deploy("playbooks/rotate_invite.yml", bootstrap_rotation_schedule="0 */12 * * *")
    assert rc == 0 and not failures, output[-6000:]
    cron = client.BatchV1Api(api_client).read_namespaced_cron_job("paperclip-bootstrap-rotation", NAMESPACE)
    assert cron.spec.schedule == "0 */12 * * *" and cron.spec.concurrency_policy == "Forbid"
    # What the schedule would run, now: the CLI in the image makes a new invite.
    logs = _run_cronjob_now(api_client, core, "paperclip-bootstrap-rotation-manual-1")
    assert "Created bootstrap CEO invite." in logs, logs
    state["invite"] = _invite(logs)


def test_first_admin_claims_the_invite_in_a_real_browser(page, forward, state, artifacts_dir):
    with forward() as pf:
        company = claim_invite_and_create_company(page, state["invite"], ADMIN, COMPANY, artifacts_dir,
                                                  prefix="cluster-")
        body = _health(pf.url)
        assert (body["bootstrapStatus"], body["bootstrapInviteActive"]) == ("ready", False), body
        api = pc.sign_in(pf.url, ADMIN["email"], ADMIN["password"])
        assert [(c["id"], c["name"]) for c in pc.list_companies(api)] == [(company["id"], COMPANY)]
    state["company"] = company


def test_rotation_cronjob_on_the_claimed_instance_creates_nothing(api_client, core, forward):
    # The CronJob's CLI on a claimed instance says so and creates no invite.
    logs = _run_cronjob_now(api_client, core, "paperclip-bootstrap-rotation-manual-2")
    assert "Instance already has an admin user" in logs, logs
    with forward() as pf:
        assert _health(pf.url)["bootstrapInviteActive"] is False


def test_data_survives_deleting_both_pods(api_client, core, forward, state):
    assert state.get("company"), "the browser test did not create the company"
    apps = client.AppsV1Api(api_client)
    before = {p.metadata.name: p.metadata.uid for p in core.list_namespaced_pod(NAMESPACE).items}
    for name in ("paperclip-0", "paperclip-postgres-0"):
        core.delete_namespaced_pod(name, NAMESPACE)

    def both_back() -> bool:
        pods = {p.metadata.name: p.metadata.uid for p in core.list_namespaced_pod(NAMESPACE).items}
        ready = all((apps.read_namespaced_stateful_set(n, NAMESPACE).status.ready_replicas or 0) == 1
                    for n in ("paperclip", "paperclip-postgres"))
        return ready and all(pods.get(n) not in (None, before[n]) for n in ("paperclip-0", "paperclip-postgres-0"))
    wait_for("the StatefulSets to bring both pods back, Ready", both_back, timeout=420, interval=2)
    with forward() as pf:
        assert _health(pf.url)["bootstrapStatus"] == "ready"
        api = pc.sign_in(pf.url, ADMIN["email"], ADMIN["password"])
        assert [c["name"] for c in pc.list_companies(api)] == [COMPANY]
    assert _secret(core, "paperclip-instance") == state["instance"]


def test_memory_of_the_running_paperclip_container(api_client, artifacts_dir, state):
    """The working set the kubelet reports (cAdvisor, cgroup v1 memory) against the
    chosen request and limit. Figures go to artifacts/e2e/memory-cluster.json."""
    core = client.CoreV1Api(api_client)
    pod = core.read_namespaced_pod("paperclip-0", NAMESPACE)
    summary = json.loads(core.connect_get_node_proxy_with_path(pod.spec.node_name, "stats/summary",
                                                               _preload_content=False).data)
    (stats,) = [c for p in summary["pods"] if p["podRef"]["namespace"] == NAMESPACE and p["podRef"]["name"] == "paperclip-0"
                for c in p["containers"] if c["name"] == "paperclip"]
    working_set = stats["memory"]["workingSetBytes"]
    resources = pod.spec.containers[0].resources
    figures = {"working_set_mib": working_set >> 20, "rss_mib": stats["memory"].get("rssBytes", 0) >> 20,
               "request": resources.requests["memory"], "limit": resources.limits["memory"],
               "deploy_seconds": state.get("deploy_seconds")}
    (artifacts_dir / "memory-cluster.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"paperclip container on the real node: {figures}")
    assert 100 << 20 < working_set < 1536 << 20, figures


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


def test_claimed_instance_is_left_alone(deploy, api_client, core):
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
