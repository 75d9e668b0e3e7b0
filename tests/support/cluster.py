"""Fixtures for tests against the local control plane (a pytest plugin, loaded by
tests/conftest.py for every suite: integration, e2e, molecule's verify).

Run through `bash tests/cluster/with-cluster.sh ...` (make integration/e2e), which
starts the cluster if needed and exports KUBECONFIG. Without a reachable
cluster every test here fails loudly instead of being skipped.
"""

from __future__ import annotations

import os
import subprocess
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
# The KWOK node is tainted (tests/cluster/node.yaml): only pods placed there on
# purpose are faked; every other pod runs for real on the real node.
KWOK_NODE_SELECTOR = {"type": "kwok"}
KWOK_TOLERATIONS = [client.V1Toleration(key="kwok.x-k8s.io/node", operator="Exists", effect="NoSchedule")]


def kwok_pod_spec(**fields) -> client.V1PodSpec:
    """A pod spec placed on the KWOK node (its containers are faked, never run)."""
    return client.V1PodSpec(node_selector=KWOK_NODE_SELECTOR, tolerations=KWOK_TOLERATIONS, **fields)


def job_manifest(name: str, container: str, command=("migrate",), fail: bool = False,
                 owner: dict | None = None) -> client.V1Job:
    """A one-pod Job on the KWOK node: it completes, or fails with exit code 1 when `fail`;
    `owner` ({"name", "uid"}) makes it a CronJob's Job."""
    owners = [client.V1OwnerReference(api_version="batch/v1", kind="CronJob", name=owner["name"],
                                      uid=owner["uid"], controller=True)] if owner else None
    return client.V1Job(
        metadata=client.V1ObjectMeta(name=name, owner_references=owners),
        spec=client.V1JobSpec(
            backoff_limit=0,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(annotations=FAIL_ANNOTATION if fail else None),
                spec=kwok_pod_spec(
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


def wait_for(what: str, check, timeout: float = 60, interval: float = 0.5):
    """Poll check() until it returns a truthy value; fail with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def wait_for_namespace_defaults(core: client.CoreV1Api, name: str, timeout: float = 30):
    """Wait for what the controllers add to a new namespace: the default ServiceAccount
    (pods need it) and the kube-root-ca.crt ConfigMap (a snapshot taken before it would
    count it as new)."""
    def present():
        try:
            core.read_namespaced_service_account("default", name)
            core.read_namespaced_config_map("kube-root-ca.crt", name)
            return True
        except ApiException as exc:
            if exc.status != 404:
                raise
            return False
    wait_for(f"the default ServiceAccount and kube-root-ca.crt of namespace {name}", present, timeout=timeout)


def local_images(kubeconfig: str) -> dict[str, str]:
    """The images built here and imported into the real node's containerd, by
    short name ("paperclip-standin", "postgres-standin", "debian-standin", ...),
    read from the `IMAGE=<ref> <archive>` lines up.sh left in .cluster/images.txt."""
    listing = Path(kubeconfig).parent / "images.txt"
    refs = [line.split()[0].removeprefix("IMAGE=") for line in listing.read_text().splitlines()
            if line.startswith("IMAGE=")]
    return {ref.rsplit(":", 1)[0].removeprefix("localhost/"): ref for ref in refs}


def stand_in_vars(images: dict[str, str]) -> dict[str, str]:
    """Inventory variables that make the collection use the stand-in images."""
    return {"paperclip_image": images["paperclip-standin"], "postgres_image": images["postgres-standin"],
            "postgres_client_image": images["postgres-standin"]}


def served_instance_vars(namespace: str, port: int, images: dict[str, str], host: str) -> dict:
    """Inventory variables of an e2e instance on the local cluster that the test
    reaches through a port-forward on 127.0.0.1:`port`: that URL is its public URL,
    and Paperclip must listen on the same port (it rewrites the port of a loopback
    public URL to its own). No ingress: no controller here, and an Ingress cannot
    name 127.0.0.1."""
    return {
        "paperclip_namespace": namespace,
        "paperclip_host": host,
        "paperclip_public_url": f"http://127.0.0.1:{port}",
        "paperclip_port": port,
        "paperclip_ingress_enabled": False,
        **stand_in_vars(images),
        "postgres_wait_timeout": 300,
        "paperclip_rollout_timeout": 420,
        "bootstrap_health_timeout": 300,
    }


@pytest.fixture(scope="session")
def images(kubeconfig: str) -> dict[str, str]:
    """local_images() of the running cluster; fails when up.sh did not start it."""
    if not (Path(kubeconfig).parent / "images.txt").is_file():
        pytest.fail(f"no images.txt next to {kubeconfig}: the cluster was not started by tests/cluster/up.sh",
                    pytrace=False)
    return local_images(kubeconfig)


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
    wait_for_namespace_defaults(core, name)
    yield name
    core.delete_namespace(name)


def pytest_configure(config):  # noqa: D103 - pytest hook
    config.addinivalue_line("markers", "namespace_labels(labels): labels for the namespace fixture")


class PortForward:
    """`kubectl port-forward` to a Service or pod of the local cluster, on
    127.0.0.1:`local_port` (through the API server and the kubelet, never to a
    pod address directly). A context manager; stopped by PID on exit."""

    def __init__(self, kubeconfig: str, namespace: str, target: str, remote_port: int, local_port: int):
        self.argv = ["kubectl", "--kubeconfig", kubeconfig, "-n", namespace, "port-forward", "--address", "127.0.0.1",
                     target, f"{local_port}:{remote_port}"]
        self.url = f"http://127.0.0.1:{local_port}"
        self.proc = None

    def __enter__(self) -> "PortForward":
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     stdin=subprocess.DEVNULL)
        # kubectl prints "Forwarding from 127.0.0.1:<port> -> <port>" once it listens.
        line = self.proc.stdout.readline()
        if not line.startswith("Forwarding from"):
            self.__exit__()
            raise RuntimeError(f"{' '.join(self.argv[3:])} failed: {line}")
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - make sure it is gone
                self.proc.kill()
                self.proc.wait()


def truncate_companies(kubeconfig: str, namespace: str, attempts: int = 5) -> None:
    """The data loss of the restore tests: TRUNCATE companies CASCADE in the bundled
    PostgreSQL (pod paperclip-postgres-0) while the app runs.

    Paperclip's background pollers (chat deliveries, wakeup requests) read tables that the
    CASCADE locks, in their own order, so PostgreSQL can end the TRUNCATE as a deadlock
    (seen in CI: the TRUNCATE waited for an AccessExclusiveLock that a poller's
    AccessShareLock held, and the poller for one the TRUNCATE held). PostgreSQL's advice for
    a deadlock is to run the transaction again; any other failure, or a deadlock every
    time, fails the test with psql's message."""
    argv = ["kubectl", "--kubeconfig", kubeconfig, "-n", namespace, "exec", "paperclip-postgres-0", "--",
            "psql", "-U", "paperclip", "-d", "paperclip", "-v", "ON_ERROR_STOP=1", "-c", "TRUNCATE companies CASCADE"]
    for attempt in range(1, attempts + 1):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode == 0:
            return
        if "deadlock detected" not in proc.stderr:
            break
        time.sleep(1)
    raise AssertionError(f"TRUNCATE companies CASCADE in {namespace} failed (attempt {attempt} of {attempts}, "
                         f"exit {proc.returncode}): {proc.stderr.strip()}")


def instance_secrets(api: client.ApiClient, namespace: str) -> dict:
    """The generated Secrets of the instance `paperclip` in namespace, decoded: name -> key -> bytes
    (the fault and lock tests compare them before and after)."""
    import base64

    return {s.metadata.name: {k: base64.b64decode(v) for k, v in (s.data or {}).items()}
            for s in client.CoreV1Api(api).list_namespaced_secret(namespace).items
            if s.metadata.name in ("paperclip-instance", "paperclip-db", "paperclip-postgres")}
