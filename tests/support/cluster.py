"""Fixtures for tests against the local control plane (a pytest plugin, loaded by
tests/conftest.py for every suite: integration, e2e, molecule's verify).

Run through `bash tests/cluster/with-cluster.sh ...` (make integration/e2e), which
starts the cluster if needed and exports KUBECONFIG. Without a reachable
cluster every test here fails loudly instead of being skipped.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

ROOT = Path(__file__).resolve().parents[2]
# tests/cluster/kwok_logs.py (serve_logs) is importable from the tests.
sys.path.insert(0, str(ROOT / "tests" / "cluster"))


# Never pulled: KWOK fakes the containers.
FAKE_IMAGE = "registry.invalid/paperclip-test:1"
FAIL_ANNOTATION = {"kwok.paperclip.test/fail": "true"}


def job_manifest(name: str, container: str, command=("migrate",), fail: bool = False,
                 owner: dict | None = None) -> client.V1Job:
    """A one-pod Job for KWOK: it completes, or fails with exit code 1 when `fail`;
    `owner` ({"name", "uid"}) makes it a CronJob's Job."""
    owners = [client.V1OwnerReference(api_version="batch/v1", kind="CronJob", name=owner["name"],
                                      uid=owner["uid"], controller=True)] if owner else None
    return client.V1Job(
        metadata=client.V1ObjectMeta(name=name, owner_references=owners),
        spec=client.V1JobSpec(
            backoff_limit=0,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(annotations=FAIL_ANNOTATION if fail else None),
                spec=client.V1PodSpec(
                    restart_policy="Never",
                    containers=[client.V1Container(name=container, image=FAKE_IMAGE, command=list(command))],
                ),
            ),
        ),
    )


@pytest.fixture(scope="session")
def kubeconfig() -> str:
    """Path of the local cluster's kubeconfig; fails if it is not reachable."""
    path = os.environ.get("KUBECONFIG")
    if not path:
        pytest.fail(
            "KUBECONFIG is not set: run the tests through "
            "`bash tests/cluster/with-cluster.sh ...` (make integration)",
            pytrace=False,
        )
    if not Path(path).is_file():
        pytest.fail(f"KUBECONFIG={path} does not exist: is the cluster up (make cluster-up)?", pytrace=False)
    api = config.new_client_from_config(config_file=path)
    try:
        # A short timeout: a dead cluster must fail the session, not hang it.
        version = client.VersionApi(api).get_code(_request_timeout=10)
    except Exception as exc:  # noqa: BLE001 - any failure here means "no cluster"
        pytest.fail(f"cluster at KUBECONFIG={path} is not reachable: {exc}", pytrace=False)
    if not version.git_version:
        pytest.fail(f"cluster at KUBECONFIG={path} answered /version without a version: {version}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def api_client(kubeconfig: str) -> client.ApiClient:
    return config.new_client_from_config(config_file=kubeconfig)


@pytest.fixture
def namespace(api_client: client.ApiClient, request: pytest.FixtureRequest):
    """A fresh namespace for one test, deleted afterwards. Labels can be given
    with @pytest.mark.namespace_labels({...})."""
    core = client.CoreV1Api(api_client)
    marker = request.node.get_closest_marker("namespace_labels")
    labels = dict(marker.args[0]) if marker else {}
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))
    # Pods need the namespace's default ServiceAccount (made by the controller-manager).
    deadline = time.monotonic() + 30
    while True:
        try:
            core.read_namespaced_service_account("default", name)
            break
        except ApiException as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    yield name
    core.delete_namespace(name)


def pytest_configure(config):  # noqa: D103 - pytest hook
    config.addinivalue_line("markers", "namespace_labels(labels): labels for the namespace fixture")
