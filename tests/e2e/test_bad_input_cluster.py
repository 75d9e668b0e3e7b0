"""Bad input that only the cluster can reveal, on the local cluster: a namespace or a
StatefulSet that another release manages. deploy.yml must fail before any write, with
a message naming the variable, and leave the namespace as it found it; with
paperclip_namespace_adopt it goes ahead (shown in check mode, which stores nothing).

No pod runs here, so no image is needed. The namespaces are made and deleted by this
module (also when a test fails). The offline twin, with a stand-in API server, is
tests/unit/roles/test_ownership.py."""

import uuid

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.support.ansible_run import run_playbook
from tests.support.cluster import wait_for_namespace_defaults

MANAGED_BY = "app.kubernetes.io/managed-by"
HELM_LABELS = {MANAGED_BY: "Helm"}
HELM_ANNOTATIONS = {"meta.helm.sh/release-name": "other", "meta.helm.sh/release-namespace": "other"}
HELM_NS = f"pc-helm-{uuid.uuid4().hex[:6]}"
STS_NS = f"pc-sts-{uuid.uuid4().hex[:6]}"
HOST = "paperclip-test"


@pytest.fixture(scope="module")
def apis(api_client):
    return {"core": client.CoreV1Api(api_client), "apps": client.AppsV1Api(api_client),
            "batch": client.BatchV1Api(api_client), "net": client.NetworkingV1Api(api_client),
            "policy": client.PolicyV1Api(api_client), "rbac": client.RbacAuthorizationV1Api(api_client)}


@pytest.fixture(scope="module")
def namespaces(apis):
    """HELM_NS: labelled and annotated as a Helm release's. STS_NS: unlabelled, with a
    StatefulSet named like the instance that a Helm release manages (no replicas)."""
    core = apis["core"]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=HELM_NS, labels=HELM_LABELS, annotations=HELM_ANNOTATIONS)))
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=STS_NS)))
        labels = {"app.kubernetes.io/name": "paperclip", "app.kubernetes.io/instance": "paperclip"}
        apis["apps"].create_namespaced_stateful_set(STS_NS, client.V1StatefulSet(
            metadata=client.V1ObjectMeta(name="paperclip", labels={**labels, **HELM_LABELS}, annotations=HELM_ANNOTATIONS),
            spec=client.V1StatefulSetSpec(
                replicas=0, service_name="paperclip", selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    # Never pulled: no replicas.
                    spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="registry.invalid/other:1")])))))
        for name in (HELM_NS, STS_NS):
            wait_for_namespace_defaults(core, name)
        yield
    finally:
        for name in (HELM_NS, STS_NS):
            try:
                core.delete_namespace(name)
            except ApiException as exc:
                if exc.status != 404:
                    raise


@pytest.fixture(scope="module")
def deploy(kubeconfig, tmp_path_factory):
    work = tmp_path_factory.mktemp("bad-input-cluster")

    def run(namespace, args=(), **overrides):
        host = {
            "paperclip_namespace": namespace,
            "paperclip_host": "paperclip.example.test",
            "paperclip_ingress_enabled": False,
            # Should the check ever let the run through, it must not wait long for pods
            # that have no image here.
            "postgres_wait_timeout": 30,
            "paperclip_rollout_timeout": 30,
            "bootstrap_health_timeout": 30,
            **overrides,
        }
        return run_playbook("deploy.yml", {HOST: host}, work, extra_env={"KUBECONFIG": kubeconfig}, args=args)

    return run


def _listers(apis):
    """kind -> list function, for the namespaced kinds the collection writes (and Pods)."""
    core, apps, batch, net = apis["core"], apis["apps"], apis["batch"], apis["net"]
    return {
        "Secret": core.list_namespaced_secret, "ConfigMap": core.list_namespaced_config_map,
        "Service": core.list_namespaced_service, "ServiceAccount": core.list_namespaced_service_account,
        "PersistentVolumeClaim": core.list_namespaced_persistent_volume_claim, "Pod": core.list_namespaced_pod,
        "StatefulSet": apps.list_namespaced_stateful_set, "Deployment": apps.list_namespaced_deployment,
        "Job": batch.list_namespaced_job, "CronJob": batch.list_namespaced_cron_job,
        "Ingress": net.list_namespaced_ingress, "NetworkPolicy": net.list_namespaced_network_policy,
        "PodDisruptionBudget": apis["policy"].list_namespaced_pod_disruption_budget,
        "Role": apis["rbac"].list_namespaced_role, "RoleBinding": apis["rbac"].list_namespaced_role_binding,
    }


def _snapshot(apis, ns):
    """kind -> {name: (labels, annotations, generation)} of every object of those kinds in ns.
    Not the resourceVersion: a controller's status update changes it (the StatefulSet's);
    a write by the collection would change labels (its managed-by) or the generation."""
    return {kind: {o.metadata.name: (o.metadata.labels, o.metadata.annotations, o.metadata.generation)
                   for o in fn(ns).items}
            for kind, fn in _listers(apis).items()}


def _ours(apis, ns):
    """Objects in ns labelled as this collection's."""
    sel = f"{MANAGED_BY}=paperclip.kubernetes"
    return [f"{kind}/{o.metadata.name}" for kind, fn in _listers(apis).items()
            for o in fn(ns, label_selector=sel).items]


def _namespace_meta(apis, ns):
    meta = apis["core"].read_namespace(ns).metadata
    return meta.labels or {}, meta.annotations or {}


def _assert_untouched(apis, ns, before, ns_meta_before):
    assert _ours(apis, ns) == []
    assert _snapshot(apis, ns) == before
    # No Pod Security labels, no managed-by taken over.
    assert _namespace_meta(apis, ns) == ns_meta_before


def test_a_helm_namespace_fails_before_any_write(namespaces, deploy, apis):
    before, meta = _snapshot(apis, HELM_NS), _namespace_meta(apis, HELM_NS)
    rc, output, failures = deploy(HELM_NS)
    assert rc != 0, output[-4000:]
    message = failures.get(HOST, "")
    assert f'paperclip_namespace="{HELM_NS}" belongs to another release' in message, output[-4000:]
    assert '"meta.helm.sh/release-name": "other"' in message and "paperclip_namespace_adopt" in message
    _assert_untouched(apis, HELM_NS, before, meta)


def test_another_releases_statefulset_fails_before_any_write(namespaces, deploy, apis):
    before, meta = _snapshot(apis, STS_NS), _namespace_meta(apis, STS_NS)
    rc, output, failures = deploy(STS_NS)
    assert rc != 0, output[-4000:]
    message = failures.get(HOST, "")
    assert 'paperclip_name="paperclip": the StatefulSet of that name' in message, output[-4000:]
    assert 'managed-by="Helm"' in message
    _assert_untouched(apis, STS_NS, before, meta)
    sts = apis["apps"].read_namespaced_stateful_set("paperclip", STS_NS)
    assert sts.metadata.labels[MANAGED_BY] == "Helm"


def test_adopt_goes_past_the_check(namespaces, deploy, apis):
    before, meta = _snapshot(apis, HELM_NS), _namespace_meta(apis, HELM_NS)
    # Check mode: the whole deploy as server-side dry runs, nothing stored.
    rc, output, failures = deploy(HELM_NS, args=("--check",), paperclip_namespace_adopt=True)
    assert "belongs to another release" not in output and "is not this collection's" not in output
    assert rc == 0 and not failures, output[-6000:]
    # The run went on to the writes (as dry runs): the namespace's labels would change.
    assert "Namespace with Pod Security labels" in output
    _assert_untouched(apis, HELM_NS, before, meta)
