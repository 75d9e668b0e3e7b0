"""NetworkPolicy, enforced (issue 12): with paperclip_network_policy_enabled, only this
instance's pods (the app and the collection's Jobs) reach PostgreSQL, and the app port
accepts only this instance's Jobs and the namespaces the user allows.

The node enforces policies with kube-router's policy controller (tests/cluster/node-up.sh).
Every "blocked" probe has a twin that differs only in its labels or namespace and connects,
and the same probes connect once the option is turned off: a probe that fails for any other
reason (DNS, image, Service) fails the test instead of passing it. The probes only dial
cluster Service addresses (198.19.0.0/16)."""

import uuid

import pytest
from kubernetes import client

from tests.support.ansible_run import recap, run_playbook
from tests.support.cluster import served_instance_vars, wait_for

SUFFIX = uuid.uuid4().hex[:6]
NAMESPACE = f"pc-netpol-{SUFFIX}"
ALLOWED_NS = f"pc-netpol-allowed-{SUFFIX}"
OTHER_NS = f"pc-netpol-other-{SUFFIX}"
PORT = 3117
DB = f"paperclip-postgres.{NAMESPACE}.svc"
APP = f"paperclip.{NAMESPACE}.svc"
# What every pod the collection runs for this instance carries.
OWN_LABELS = {"app.kubernetes.io/instance": "paperclip", "app.kubernetes.io/part-of": "paperclip",
              "app.kubernetes.io/managed-by": "paperclip.kubernetes"}


@pytest.fixture(scope="module")
def play(kubeconfig, images, api_client, tmp_path_factory):
    core = client.CoreV1Api(api_client)
    for ns in (ALLOWED_NS, OTHER_NS):
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    work = tmp_path_factory.mktemp("netpol")
    base = {**served_instance_vars(NAMESPACE, PORT, images, "paperclip.netpol.test"),
            "paperclip_network_policy_ingress_namespaces": [ALLOWED_NS]}

    def run(playbook="deploy.yml", **overrides):
        host = {"netpol": {**base, **overrides}}
        rc, output, failures = run_playbook(playbook, host, work, extra_env={"KUBECONFIG": kubeconfig})
        assert rc == 0 and not failures, output[-6000:]
        return output
    run.image = images["postgres-standin"]
    yield run
    run("playbooks/teardown.yml", paperclip_teardown_purge=True)
    for ns in (NAMESPACE, ALLOWED_NS, OTHER_NS):
        core.delete_namespace(ns)


def probe(api_client, image, namespace, labels, target, port):
    """Run a pod that dials target:port (5 tries over about 5-20 s); return whether it connected."""
    core = client.CoreV1Api(api_client)
    name = f"probe-{uuid.uuid4().hex[:8]}"
    # Restricted Pod Security (the instance namespace enforces it); bash's /dev/tcp dials.
    security = client.V1SecurityContext(run_as_non_root=True, run_as_user=65534, allow_privilege_escalation=False,
                                        capabilities=client.V1Capabilities(drop=["ALL"]),
                                        seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"))
    # A few tries: the policy controller admits a new pod's address a moment after it starts.
    script = (f"getent hosts {target} >/dev/null || exit 3; for i in 1 2 3 4 5; do "
              f"timeout 3 bash -c '</dev/tcp/{target}/{port}' 2>/dev/null && exit 0; sleep 1; done; exit 1")
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1PodSpec(restart_policy="Never", automount_service_account_token=False, containers=[
            client.V1Container(name="probe", image=image, image_pull_policy="Never", command=["bash", "-c", script],
                               security_context=security)]))
    core.create_namespaced_pod(namespace, pod)
    try:
        done = wait_for(f"probe pod {namespace}/{name}",
                        lambda: core.read_namespaced_pod(name, namespace).status.phase in ("Succeeded", "Failed")
                        and core.read_namespaced_pod(name, namespace), timeout=90)
        code = done.status.container_statuses[0].state.terminated.exit_code
    finally:
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    # 3: the name did not resolve; that is not what this test is about.
    assert code != 3, f"{target} did not resolve in {namespace}"
    return code == 0


def policies(api_client):
    return sorted(p.metadata.name for p in client.NetworkingV1Api(api_client).list_namespaced_network_policy(NAMESPACE).items)


def test_deploy_with_policies_on_converges_and_backs_up(play, api_client):
    output = play(paperclip_network_policy_enabled=True)
    assert policies(api_client) == ["paperclip", "paperclip-postgres"]
    # The bootstrap Job reached the app through the app's policy, the app reached the
    # database through the database's (it is Ready), and the invite came back.
    assert "/invite/" in output
    assert recap(play(paperclip_network_policy_enabled=True))["netpol"]["changed"] == 0
    # The backup Job reaches the database too.
    play("playbooks/backup.yml", paperclip_network_policy_enabled=True)


def test_only_the_instance_pods_reach_postgres(play, api_client):
    assert probe(api_client, play.image, NAMESPACE, OWN_LABELS, DB, 5432), "an instance pod could not reach PostgreSQL"
    assert not probe(api_client, play.image, NAMESPACE, {"app": "intruder"}, DB, 5432), \
        "a pod without the instance's labels reached PostgreSQL"
    assert not probe(api_client, play.image, ALLOWED_NS, OWN_LABELS, DB, 5432), \
        "a pod of another namespace (even with the instance's labels) reached PostgreSQL"


def test_the_app_accepts_only_its_jobs_and_the_allowed_namespaces(play, api_client):
    assert probe(api_client, play.image, NAMESPACE, OWN_LABELS, APP, PORT), "an instance pod could not reach the app"
    assert probe(api_client, play.image, ALLOWED_NS, {"app": "ingress"}, APP, PORT), \
        "a pod of the allowed namespace could not reach the app"
    assert not probe(api_client, play.image, OTHER_NS, {"app": "ingress"}, APP, PORT), \
        "a pod of a namespace not allowed reached the app"
    assert not probe(api_client, play.image, NAMESPACE, {"app": "intruder"}, APP, PORT), \
        "a pod of the instance namespace without the instance's labels reached the app"


def test_turning_the_option_off_removes_both_policies_and_opens_the_ports(play, api_client):
    play(paperclip_network_policy_enabled=False)
    assert policies(api_client) == []
    assert probe(api_client, play.image, NAMESPACE, {"app": "intruder"}, DB, 5432)
    assert probe(api_client, play.image, OTHER_NS, {"app": "ingress"}, APP, PORT)
