"""Smoke tests of the local control plane (tests/cluster): real apiserver
admission and validation, real controllers, and pods faked by KWOK on its
tainted node (the real node has its own tests in test_real_node.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from kwok_logs import serve_logs, serve_pod_logs, stop_serving_logs
from tests.support.cluster import FAKE_IMAGE, job_manifest, kwok_pod_spec, wait_for

IMAGE = FAKE_IMAGE


def claim_if_bound(core: client.CoreV1Api, namespace: str, name: str):
    """The claim once it is Bound; None while it is missing or pending."""
    try:
        claim = core.read_namespaced_persistent_volume_claim(name, namespace)
    except ApiException as exc:
        if exc.status == 404:  # the StatefulSet controller has not made it yet
            return None
        raise
    return claim if claim.status.phase == "Bound" else None


def message(err: ApiException) -> str:
    """The Status message of an API error."""
    return json.loads(err.body)["message"]


def served_logs(core: client.CoreV1Api, namespace: str, pod: str, container: str, want: str) -> str:
    """The pod's logs, polled for up to 15 s until they equal `want`: kwok
    learns about new ClusterLogs/Logs objects through a watch."""
    deadline = time.monotonic() + 15
    while True:
        try:
            logs = core.read_namespaced_pod_log(pod, namespace, container=container)
        except ApiException as exc:
            logs = f"error {exc.status}: {exc.body}"
        if logs == want or time.monotonic() > deadline:
            return logs
        time.sleep(0.5)


def job_condition(batch: client.BatchV1Api, namespace: str, name: str, kind: str) -> bool:
    job = batch.read_namespaced_job(name, namespace)
    return any(c.type == kind and c.status == "True" for c in job.status.conditions or [])


def test_statefulset_gets_bound_claim_and_ready_pod(api_client, namespace, kubeconfig):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    labels = {"app": "db"}
    apps.create_namespaced_stateful_set(
        namespace,
        client.V1StatefulSet(
            metadata=client.V1ObjectMeta(name="db"),
            spec=client.V1StatefulSetSpec(
                replicas=1,
                service_name="db",
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=kwok_pod_spec(
                        containers=[
                            client.V1Container(
                                name="db",
                                image=IMAGE,
                                volume_mounts=[client.V1VolumeMount(name="data", mount_path="/data")],
                            )
                        ]
                    ),
                ),
                volume_claim_templates=[
                    client.V1PersistentVolumeClaim(
                        metadata=client.V1ObjectMeta(name="data"),
                        spec=client.V1PersistentVolumeClaimSpec(
                            storage_class_name="hostpath",
                            access_modes=["ReadWriteOnce"],
                            resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}),
                        ),
                    )
                ],
            ),
        ),
    )
    pvc = wait_for("claim data-db-0 to be Bound", lambda: claim_if_bound(core, namespace, "data-db-0"))
    assert pvc.spec.storage_class_name == "hostpath"
    pv = core.read_persistent_volume(pvc.spec.volume_name)
    assert pv.spec.capacity["storage"] == "1Gi"
    # The hostPath provisioner made the volume's directory on this machine.
    volume_dir = Path(pv.spec.host_path.path)
    assert volume_dir.is_dir(), volume_dir
    # ... under .cluster/hostpath_pv (up.sh links /tmp/hostpath_pv there).
    assert volume_dir.resolve().parent == (Path(kubeconfig).resolve().parent / "hostpath_pv"), volume_dir.resolve()
    wait_for(
        "statefulset db to have 1 ready replica",
        lambda: apps.read_namespaced_stateful_set("db", namespace).status.ready_replicas == 1,
    )
    pod = core.read_namespaced_pod("db-0", namespace)
    assert pod.status.phase == "Running"
    assert any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


def test_deployment_pods_become_ready(api_client, namespace, kubeconfig):
    apps = client.AppsV1Api(api_client)
    labels = {"app": "web"}
    apps.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1DeploymentSpec(
                replicas=2,
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=kwok_pod_spec(containers=[client.V1Container(name="web", image=IMAGE)]),
                ),
            ),
        ),
    )
    wait_for(
        "deployment web to have 2 available replicas",
        lambda: apps.read_namespaced_deployment("web", namespace).status.available_replicas == 2,
    )
    # Logs chosen for one pod by name (a namespaced Logs object).
    core = client.CoreV1Api(api_client)
    first, second = core.list_namespaced_pod(namespace, label_selector="app=web").items
    serve_pod_logs(namespace, first.metadata.name, "web", "listening on :8080", kubeconfig)
    assert served_logs(core, namespace, first.metadata.name, "web", "listening on :8080\n") == "listening on :8080\n"
    with pytest.raises(ApiException):  # the other pod has no logs configured
        core.read_namespaced_pod_log(second.metadata.name, namespace, container="web")


def test_job_completes_and_serves_configured_logs(api_client, namespace, kubeconfig):
    batch, core = client.BatchV1Api(api_client), client.CoreV1Api(api_client)
    text = "migration 0001 applied\nmigration finished"
    serve_logs(namespace, "migrate", text, kubeconfig)
    try:
        batch.create_namespaced_job(namespace, job_manifest("migrate", "migrate"))
        wait_for("job migrate to complete", lambda: job_condition(batch, namespace, "migrate", "Complete"))
        (pod,) = core.list_namespaced_pod(namespace, label_selector="job-name=migrate").items
        assert pod.status.phase == "Succeeded"
        logs = served_logs(core, namespace, pod.metadata.name, "migrate", text + "\n")
        assert logs == "migration 0001 applied\nmigration finished\n"
    finally:
        assert stop_serving_logs(namespace, kubeconfig) == 1


def test_logs_of_pod_without_configured_logs_is_an_error(api_client, namespace):
    """Documented behaviour: no ClusterLogs/Logs for a pod -> kwok answers with
    an error, which the apiserver passes on (no hang, no empty success)."""
    batch, core = client.BatchV1Api(api_client), client.CoreV1Api(api_client)
    batch.create_namespaced_job(namespace, job_manifest("quiet", "quiet"))
    wait_for("job quiet to complete", lambda: job_condition(batch, namespace, "quiet", "Complete"))
    (pod,) = core.list_namespaced_pod(namespace, label_selector="job-name=quiet").items
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log(pod.metadata.name, namespace, container="quiet", _request_timeout=20)
    assert "no logs found" in message(err.value), err.value.body


def test_job_with_fail_annotation_fails(api_client, namespace):
    batch, core = client.BatchV1Api(api_client), client.CoreV1Api(api_client)
    batch.create_namespaced_job(namespace, job_manifest("broken", "migrate", fail=True))
    wait_for("job broken to fail", lambda: job_condition(batch, namespace, "broken", "Failed"))
    assert not job_condition(batch, namespace, "broken", "Complete")
    (pod,) = core.list_namespaced_pod(namespace, label_selector="job-name=broken").items
    assert pod.status.phase == "Failed"
    assert pod.status.container_statuses[0].state.terminated.exit_code == 1


@pytest.mark.namespace_labels({"pod-security.kubernetes.io/enforce": "restricted"})
def test_restricted_namespace_rejects_privileged_pod(api_client, namespace):
    core = client.CoreV1Api(api_client)
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="priv"),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="priv", image=IMAGE, security_context=client.V1SecurityContext(privileged=True)
                )
            ]
        ),
    )
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod(namespace, pod)
    assert err.value.status == 403
    assert 'violates PodSecurity "restricted:latest"' in message(err.value)
    assert "privileged (container \"priv\" must not set securityContext.privileged=true)" in message(err.value)


def test_server_side_apply_of_invalid_object_is_rejected(api_client, namespace):
    apps = client.AppsV1Api(api_client)
    # The selector does not match the template's labels: invalid.
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bad", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": "one"}},
            "template": {
                "metadata": {"labels": {"app": "other"}},
                "spec": {"containers": [{"name": "c", "image": IMAGE}]},
            },
        },
    }
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment(
            "bad", namespace, body, field_manager="smoke-test", _content_type="application/apply-patch+yaml"
        )
    assert err.value.status == 422
    assert "`selector` does not match template `labels`" in message(err.value)
    # A valid apply through the same path is accepted, so the 422 was about the content.
    body["spec"]["template"]["metadata"]["labels"] = {"app": "one"}
    applied = apps.patch_namespaced_deployment(
        "bad", namespace, body, field_manager="smoke-test", _content_type="application/apply-patch+yaml"
    )
    assert applied.metadata.managed_fields[0].manager == "smoke-test"


def test_job_template_is_immutable(api_client, namespace):
    batch = client.BatchV1Api(api_client)
    batch.create_namespaced_job(namespace, job_manifest("frozen", "migrate"))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "migrate", "image": IMAGE + "-changed"}]}}}}
    with pytest.raises(ApiException) as err:
        batch.patch_namespaced_job("frozen", namespace, patch)
    assert err.value.status == 422
    assert "field is immutable" in message(err.value)
