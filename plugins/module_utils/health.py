# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""What paperclip_health does: probe /api/health at a URL or through the service proxy, and wait."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from urllib.error import HTTPError

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import open_url

from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import (
    get_api_client,
)
from ansible_collections.paperclip.kubernetes.plugins.module_utils.k8s_helpers import (
    proxy_get,
    service_pod_events,
    service_pod_ports,
    without_retries,
)
from ansible_collections.paperclip.kubernetes.plugins.module_utils.paperclip import (
    evaluate_health,
    health_fields,
    health_url,
    redact,
    no_endpoints,
    pod_proxy_path,
    service_proxy_path,
    truncate,
)

# A single probe never takes longer than this (nor than the time left).
# Paperclip answers /api/health slowly while its database is down: 5 s to over
# 20 s measured with 2026.916.1, and minutes once its connection pool is stuck
# reconnecting (over 11 minutes seen). A probe that gets nothing in this time
# is reported as such and the next one starts.
PROBE_TIMEOUT = 60


class UrlProber:
    """Probes a Paperclip URL directly."""

    def __init__(self, params):
        self.target = health_url(params["url"])
        self.validate_certs = params["validate_certs"] is not False
        self.ca_path = params["ca_path"]
        self.headers = {"Accept": "application/json"}
        if params["host_header"]:
            self.headers["Host"] = params["host_header"]

    def events(self):
        """Nothing to add: a URL says nothing about which pods answer it."""
        return []

    def probe(self, timeout):
        """Returns (http_status, body_text); raises on transport errors."""
        try:
            resp = open_url(
                self.target, method="GET", headers=self.headers, timeout=timeout,
                validate_certs=self.validate_certs, ca_path=self.ca_path,
                follow_redirects="safe",
            )
            return resp.getcode(), to_text(resp.read(), errors="surrogate_or_replace")
        except HTTPError as exc:
            try:
                body = exc.read()
            except Exception:
                body = b""
            return exc.code, to_text(body, errors="surrogate_or_replace")


class ServiceProber:
    """Probes Paperclip through the Kubernetes API server's service proxy."""

    def __init__(self, module):
        params = module.params
        self.target = service_proxy_path(params["namespace"], params["service"], params["port"], params["scheme"])
        self.namespace, self.service = params["namespace"], params["service"]
        self.port, self.scheme = params["port"], params["scheme"]
        # One request per attempt, so that a probe keeps to the time it is given.
        self.client = without_retries(get_api_client(module=module))

    def events(self):
        """The newest events of the pods behind the Service (probe failures, restarts)."""
        return service_pod_events(self.client, self.namespace, self.service)

    def probe(self, timeout, clock=time.monotonic):
        start = clock()
        status, text = proxy_get(self.client, self.target, timeout)
        if not no_endpoints(status, text):
            return status, text
        # No pod is ready (the API server's own 503). Ask the pod itself, to report its
        # answer (Paperclip's 503 "database unreachable", say) instead of the API server's.
        # A healthy pod answer still means "not ready yet": the Service's answer stands.
        for pod, port in service_pod_ports(self.client, self.namespace, self.service, self.port)[:1]:
            left = max(1, timeout - (clock() - start))    # both requests share the probe's time
            pod_status, pod_text = proxy_get(self.client, pod_proxy_path(self.namespace, pod, port, self.scheme), left)
            if pod_status != 200:
                return pod_status, pod_text
        return status, text


def _with_events(msg, prober, result):
    """A failed wait's message with the prober's recent events (also put in result)."""
    events = getattr(prober, "events", list)()
    if not events:
        return msg
    result["events"] = events
    return msg + ". Recent events: {0}".format(" | ".join(redact(e) for e in events))


def run(module, prober, clock=time.monotonic, sleep=time.sleep):
    params = module.params
    wait = params["wait"]
    timeout = max(params["timeout"], 0)
    interval = max(params["interval"], 1)
    start = clock()
    attempts = 0
    answer = None      # the last HTTP answer: (http_status, body_text, verdict)
    error = None       # the transport error of the last probe, if it got no answer
    silent = False     # that error was a read timeout: the request was taken, never answered
    while True:
        attempts += 1
        remaining = timeout - (clock() - start)
        try:
            status, text = prober.probe(max(1, min(PROBE_TIMEOUT, remaining)))
            answer = (status, text, evaluate_health(status, text))
            error = None
        except Exception as exc:  # refused, DNS, TLS, read timeout: no HTTP answer
            error = to_text(exc)
            silent = type(exc).__name__ in ("ReadTimeoutError", "TimeoutError", "timeout")
        if not wait or (error is None and answer[2]["healthy"]):
            break
        left = timeout - (clock() - start)
        if left <= 0:
            break
        # The last pause is shortened so that one probe happens at the deadline.
        sleep(min(interval, left))

    elapsed = round(clock() - start, 3)
    result = dict(changed=False, attempts=attempts, elapsed=elapsed, url=prober.target)
    if answer is None:
        result.update(health_fields(None))
        result.update(http_status=None, body={}, state="unreachable")
    else:
        verdict = answer[2]
        # A Kubernetes Status is the API server's own answer, not Paperclip's.
        result.update(health_fields(None if verdict["state"] == "kubernetes_error" else verdict["body"]))
        result.update(http_status=answer[0], body=verdict["body"] or {}, state=verdict["state"])

    if error is None and (not wait or answer[2]["healthy"]):
        module.exit_json(**result)

    no_answer = "{0} got no HTTP answer: {1}".format(prober.target, redact(error)) if error else None
    if answer is None or not wait:
        # Nothing ever answered (or the single probe did not).
        result["state"] = "unreachable"
        # "Unreachable" would send the reader to the network when the app took the request
        # and sat on it (Paperclip waiting for its database, say).
        msg = "Paperclip health endpoint {0} {1}: {2}".format(
            prober.target, "took the request but did not answer in time" if silent else "is unreachable",
            redact(error))
        if wait:
            msg = "Timed out after {0}s and {1} attempts: {2}".format(elapsed, attempts, msg)
            msg = _with_events(msg, prober, result)
        module.fail_json(msg=msg, **result)

    verdict = answer[2]
    what = "the database is unreachable" if verdict["state"] == "database_unreachable" else "Paperclip is not healthy"
    msg = "Timed out after {0}s and {1} attempts waiting for {2}: {3}. {4}. Last HTTP status {5}, body: {6}".format(
        elapsed, attempts, prober.target, what, verdict["message"], answer[0], truncate(redact(answer[1] or "")))
    if no_answer:
        msg += ". The last probe {0}".format(no_answer)
    module.fail_json(msg=_with_events(msg, prober, result), **result)
