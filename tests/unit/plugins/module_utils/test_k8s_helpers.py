"""k8s_helpers: what a wait loop's requests cost, and which pod events a failure shows.

The retries case runs the real kubernetes client (and urllib3) against a slow HTTP
server on 127.0.0.1 that stands in for the API server: it counts the requests that
arrive; nothing else of the API is needed for a raw GET.
"""

import http.server
import threading
import time

import pytest

from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.paperclip.kubernetes.plugins.module_utils import k8s_helpers

PATH = "/api/v1/namespaces/p/services/http:paperclip:http/proxy/api/health"


class Silent(http.server.ThreadingHTTPServer):
    """Answers the discovery paths (the client asks them when it is made) at once, and any
    other GET only after SECONDS (a pod whose /api/health hangs)."""

    SECONDS = 2
    daemon_threads = True
    block_on_close = False

    def __init__(self):
        self.requests = 0
        super().__init__(("127.0.0.1", 0), SilentHandler)


class SilentHandler(http.server.BaseHTTPRequestHandler):
    DISCOVERY = {
        "/version": b'{"major": "1", "minor": "36", "gitVersion": "v1.36.3"}',
        "/api": b'{"kind": "APIVersions", "versions": ["v1"]}',
        "/apis": b'{"kind": "APIGroupList", "groups": []}',
    }

    def do_GET(self):
        body = self.DISCOVERY.get(self.path)
        if body is None:
            self.server.requests += 1
            time.sleep(self.server.SECONDS)
            body = b""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def silent(tmp_path):
    srv = Silent()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:%d'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n" % srv.server_address[1])
    yield srv, str(kubeconfig)
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def test_without_retries_a_timed_out_get_is_sent_once(silent):
    srv, kubeconfig = silent
    # The client as kubernetes.core makes it: urllib3 sends a GET that timed out 3 more times.
    with pytest.raises(Exception, match="timed out"):
        k8s_helpers.proxy_get(get_api_client(kubeconfig=kubeconfig, context="c"), PATH, 0.3)
    assert srv.requests == 4
    srv.requests = 0
    client = k8s_helpers.without_retries(get_api_client(kubeconfig=kubeconfig, context="c"))
    with pytest.raises(Exception, match="timed out"):
        k8s_helpers.proxy_get(client, PATH, 0.3)
    assert srv.requests == 1


class EventsOf:
    """A client whose one pod has these events (kubernetes.core's get returns their dict)."""

    def __init__(self, events):
        self.events = events

    def resource(self, kind, api_version):
        return kind

    def get(self, resource, **params):
        assert resource == "Event" and params["field_selector"] == "involvedObject.name=paperclip-0"
        return {"items": self.events}


def event(when, kind, reason, message, count=1):
    return {"lastTimestamp": when, "type": kind, "reason": reason, "message": message, "count": count}


def test_events_keep_the_probe_failures_that_a_restart_would_push_out(monkeypatch):
    monkeypatch.setattr(k8s_helpers, "_service_pods",
                        lambda client, namespace, service: ({}, [{"metadata": {"name": "paperclip-0"}}]))
    client = EventsOf([
        event("2026-12-01T10:00:00Z", "Warning", "Unhealthy", "Startup probe failed: connection refused", 24),
        event("2026-12-01T10:05:00Z", "Warning", "Unhealthy", "Readiness probe failed: context deadline exceeded", 9),
        event("2026-12-01T10:06:00Z", "Normal", "Killing", "Stopping container paperclip"),
        event("2026-12-01T10:06:01Z", "Normal", "Pulled", "Container image already present"),
        event("2026-12-01T10:06:02Z", "Normal", "Created", "Container created"),
        event("2026-12-01T10:06:03Z", "Normal", "Started", "Container started"),
        event("2026-12-01T10:06:04Z", "Normal", "Scheduled", "Successfully assigned"),
    ])
    lines = k8s_helpers.service_pod_events(client, "p", "paperclip", limit=4)
    # Both warnings, then the newest Normal events that fit, oldest first.
    assert lines == [
        "paperclip-0: Warning Unhealthy: Startup probe failed: connection refused (x24)",
        "paperclip-0: Warning Unhealthy: Readiness probe failed: context deadline exceeded (x9)",
        "paperclip-0: Normal Started: Container started",
        "paperclip-0: Normal Scheduled: Successfully assigned",
    ]
