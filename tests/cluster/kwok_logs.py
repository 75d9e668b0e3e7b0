"""Choose what `kubectl logs` returns for pods on the local KWOK cluster.

Pods on KWOK nodes never run, so kwok serves their logs from files named by
ClusterLogs / Logs objects (kwok.x-k8s.io/v1alpha1). up.sh starts kwok with
--enable-crds=ClusterLogs,Logs, so kwok watches those objects through the API
and a test can pick the logs at test time, even for pods whose names it does
not know yet (a Job's pod).

The log file is in CRI log format, one `<RFC3339Nano> stdout F <text>` line per
line of text, and lives next to the kubeconfig (.cluster/served-logs/), where
the kwok process on this machine reads it on every request.

    from kwok_logs import serve_logs
    serve_logs("my-ns", "migrate", "migration finished\n", kubeconfig)
"""

from __future__ import annotations

import datetime
import hashlib
import os
from pathlib import Path

from kubernetes import client, config
from kubernetes.client.rest import ApiException

GROUP = "kwok.x-k8s.io"
VERSION = "v1alpha1"


def _api(kubeconfig: str | None) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(config.new_client_from_config(config_file=kubeconfig))


def _kubeconfig(kubeconfig: str | None) -> str:
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if not path:
        raise RuntimeError("no kubeconfig given and KUBECONFIG is not set")
    return path


def _write_log_file(kubeconfig: str, key: str, text: str) -> str:
    """Write text as a CRI-format log file and return its absolute path."""
    directory = Path(kubeconfig).resolve().parent / "served-logs"
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lines = text.splitlines()
    path = directory / f"{key}.log"
    # Write then rename, so kwok never reads a half-written file.
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{now} stdout F {line}\n" for line in lines))
    tmp.replace(path)
    return str(path)


def _object_name(*parts: str) -> str:
    # Stable per target, short enough for a name, lowercase hex only.
    return "paperclip-" + hashlib.sha256("/".join(parts).encode()).hexdigest()[:16]


def _replace(api: client.CustomObjectsApi, plural: str, body: dict, namespace: str | None) -> None:
    """Create the object, replacing an existing one of the same name."""
    name = body["metadata"]["name"]
    try:
        if namespace is None:
            api.delete_cluster_custom_object(GROUP, VERSION, plural, name)
        else:
            api.delete_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    except ApiException as exc:
        if exc.status != 404:
            raise
    if namespace is None:
        api.create_cluster_custom_object(GROUP, VERSION, plural, body)
    else:
        api.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)


def serve_logs(namespace: str, container: str, text: str, kubeconfig: str | None = None) -> str:
    """Make every pod in `namespace` return `text` as the logs of its container
    named `container` (pods existing now or created later). Calling it again
    for the same namespace and container replaces the text. Returns the name of
    the cluster-scoped ClusterLogs object (delete it with stop_serving_logs)."""
    kubeconfig = _kubeconfig(kubeconfig)
    name = _object_name("ns", namespace, container)
    logs_file = _write_log_file(kubeconfig, name, text)
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ClusterLogs",
        "metadata": {"name": name, "labels": {"paperclip.test/logs-namespace": namespace}},
        "spec": {
            "selector": {"matchNamespaces": [namespace]},
            "logs": [{"containers": [container], "logsFile": logs_file}],
        },
    }
    _replace(_api(kubeconfig), "clusterlogs", body, None)
    return name


def serve_pod_logs(namespace: str, pod: str, container: str, text: str, kubeconfig: str | None = None) -> str:
    """Like serve_logs, for one pod by name (a namespaced Logs object named
    after the pod; it takes precedence over ClusterLogs for that pod)."""
    kubeconfig = _kubeconfig(kubeconfig)
    logs_file = _write_log_file(kubeconfig, _object_name("pod", namespace, pod, container), text)
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Logs",
        "metadata": {"name": pod, "namespace": namespace},
        "spec": {"logs": [{"containers": [container], "logsFile": logs_file}]},
    }
    _replace(_api(kubeconfig), "logs", body, namespace)
    return pod


def stop_serving_logs(namespace: str, kubeconfig: str | None = None) -> int:
    """Delete the ClusterLogs objects serve_logs made for `namespace` (they are
    cluster-scoped, so deleting the namespace does not remove them) and their
    log files. Returns how many were deleted."""
    kubeconfig = _kubeconfig(kubeconfig)
    api = _api(kubeconfig)
    found = api.list_cluster_custom_object(
        GROUP, VERSION, "clusterlogs", label_selector=f"paperclip.test/logs-namespace={namespace}"
    )
    for item in found["items"]:
        api.delete_cluster_custom_object(GROUP, VERSION, "clusterlogs", item["metadata"]["name"])
        for log in item["spec"]["logs"]:
            Path(log["logsFile"]).unlink(missing_ok=True)
    return len(found["items"])
