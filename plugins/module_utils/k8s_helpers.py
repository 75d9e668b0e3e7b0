# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""Thin helpers over kubernetes.core's client (get_api_client) for our modules.

They only read: Jobs, Pods, pod logs and the service proxy.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import (
    CoreException,
)
from ansible_collections.paperclip.kubernetes.plugins.module_utils.paperclip import (
    label_selector,
)

try:
    from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError
except ImportError:
    # AnsibleK8SModule reports the missing kubernetes library; these stand-ins
    # only keep the except clauses below valid.
    class DynamicApiError(Exception):
        pass

    class NotFoundError(DynamicApiError):
        pass


def _to_dict(obj):
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


# Appended to every refusal (HTTP 403): the API's own message names the verb, resource
# and identity; this says where the rights come from.
FORBIDDEN_HINT = ("The identity in this kubeconfig lacks that right: playbooks/rbac.yml creates a deployer "
                  "account with every right the collection uses (README, \"Least privilege\").")


def with_hint(status, message):
    """`message`, with FORBIDDEN_HINT when the API refused the request (HTTP 403)."""
    return "{0} {1}".format(message, FORBIDDEN_HINT) if status == 403 else message


def is_transient(exc):
    """True for errors a restarting or overloaded API server gives (no connection, HTTP 429
    or 5xx): a wait carries on through them until its own deadline."""
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return status == 429 or status >= 500
    return type(exc).__name__ in ("MaxRetryError", "ProtocolError", "NewConnectionError", "ConnectionError",
                                  "ConnectionRefusedError", "ConnectionResetError", "ReadTimeoutError",
                                  "TimeoutError")


def api_error_message(exc):
    """A short text for a DynamicApiError (its summary, else its status)."""
    try:
        return with_hint(exc.status, "HTTP {0}: {1}".format(exc.status, exc.summary()))
    except Exception:
        return str(exc)


def get_job(client, namespace, name):
    """The Job as a dict, or None when it does not exist."""
    jobs = client.resource("Job", "batch/v1")
    try:
        return _to_dict(client.get(jobs, name=name, namespace=namespace))
    except NotFoundError:
        return None
    except DynamicApiError as exc:
        raise CoreException("Could not read Job {0}/{1}: {2}".format(namespace, name, api_error_message(exc)))


def get_cronjob(client, namespace, name):
    cronjobs = client.resource("CronJob", "batch/v1")
    try:
        return _to_dict(client.get(cronjobs, name=name, namespace=namespace))
    except NotFoundError:
        return None
    except DynamicApiError as exc:
        raise CoreException("Could not read CronJob {0}/{1}: {2}".format(namespace, name, api_error_message(exc)))


def list_jobs(client, namespace):
    jobs = client.resource("Job", "batch/v1")
    try:
        return _to_dict(client.get(jobs, namespace=namespace)).get("items") or []
    except DynamicApiError as exc:
        raise CoreException("Could not list Jobs in {0}: {1}".format(namespace, api_error_message(exc)))


def list_pods(client, namespace, label_selector):
    pods = client.resource("Pod", "v1")
    try:
        return _to_dict(client.get(pods, namespace=namespace, label_selector=label_selector)).get("items") or []
    except DynamicApiError as exc:
        raise CoreException("Could not list pods in {0} ({1}): {2}".format(
            namespace, label_selector, api_error_message(exc)))


def _service_pods(client, namespace, service):
    """(the Service's spec, the pods its selector picks). Raises DynamicApiError, CoreException."""
    services = client.resource("Service", "v1")
    spec = _to_dict(client.get(services, name=service, namespace=namespace)).get("spec") or {}
    selector = label_selector(spec.get("selector"))
    return spec, (list_pods(client, namespace, selector) if selector else [])


def service_pod_ports(client, namespace, service, port):
    """[(pod name, container port number)] for the pods behind a Service's port (given by
    name or number), so a caller can reach a pod that is not ready through pods/proxy."""
    try:
        spec, pods = _service_pods(client, namespace, service)
    except DynamicApiError:
        return []
    target = next((p.get("targetPort", p.get("port")) for p in spec.get("ports") or []
                   if str(port) in (p.get("name"), str(p.get("port")))), None)
    found = []
    for pod in pods if target is not None else []:
        number = target
        if not str(target).isdigit():
            number = next((cp.get("containerPort") for c in (pod.get("spec") or {}).get("containers") or []
                           for cp in c.get("ports") or [] if cp.get("name") == target), None)
        if number and (pod.get("status") or {}).get("podIP"):
            found.append((pod["metadata"]["name"], int(number)))
    return found


def service_pod_events(client, namespace, service, limit=5):
    """The newest events of the pods behind a Service, as short lines ("pod: Warning
    Unhealthy: Readiness probe failed: ... (x12)"), oldest first.

    Warnings come before Normal events in the choice: a restarted container's Pulled,
    Created and Started would otherwise push out the probe failures that explain it.
    """
    events = client.resource("Event", "v1")
    try:
        pods = _service_pods(client, namespace, service)[1]
        found = []
        for pod in pods:
            name = pod["metadata"]["name"]
            items = _to_dict(client.get(events, namespace=namespace, field_selector="involvedObject.name={0}".format(name)))
            for e in items.get("items") or []:
                when = e.get("lastTimestamp") or e.get("eventTime") or (e.get("metadata") or {}).get("creationTimestamp") or ""
                found.append((e.get("type") == "Warning", when, "{0}: {1} {2}: {3}{4}".format(
                    name, e.get("type", ""), e.get("reason", ""), (e.get("message") or "").strip(),
                    " (x{0})".format(e["count"]) if (e.get("count") or 1) > 1 else "")))
    except (DynamicApiError, CoreException) as exc:
        return ["(events unavailable: {0})".format(api_error_message(exc) if isinstance(exc, DynamicApiError) else exc)]
    chosen = sorted(found)[-limit:]
    return [line for _warning, _when, line in sorted(chosen, key=lambda event: event[1])]


def read_pod_log(client, namespace, pod, container=None, tail_lines=1000):
    """The text of a pod's log (one container), through the API server."""
    pods = client.resource("Pod", "v1")
    query = [("tailLines", tail_lines)]
    if container:
        query.append(("container", container))
    try:
        response = pods.log.get(name=pod, namespace=namespace, serialize=False, query_params=query)
    except DynamicApiError as exc:
        raise CoreException("Could not read the log of pod {0}/{1}: {2}".format(
            namespace, pod, api_error_message(exc)))
    data = response.data
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)


def without_retries(client):
    """Makes each request of this client one attempt: no hidden urllib3 retries.

    The kubernetes client leaves urllib3's default (3 retries) in place, and a GET that
    reads nothing within its timeout is sent again: a probe with 25 s left could take
    100 s. A caller with a deadline of its own (a wait loop) retries itself instead.
    """
    pool_manager = client.client.client.rest_client.pool_manager
    pool_manager.connection_pool_kw["retries"] = False
    pool_manager.clear()    # pools made before this keep their own retries
    return client


def proxy_get(client, path, timeout):
    """GET an API server path; returns (http_status, body_text).

    Non-2xx answers (the backend's 503, RBAC's 403) are returned, not raised,
    because the caller decides what they mean. Transport errors propagate.
    """
    try:
        response = client.client.request(
            "GET", path, serialize=False, _request_timeout=timeout,
            header_params={"Accept": "application/json, */*"})
    except DynamicApiError as exc:
        body = exc.body
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        return exc.status, body or ""
    data = response.data
    return response.status, data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
