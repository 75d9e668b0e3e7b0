"""paperclip_health's wait loop against a real HTTP server on 127.0.0.1.

The server replays scripted (status, body) answers, the bodies being the real
ones Paperclip returns (see tests/unit/plugins/module_utils/test_paperclip.py).
Time is a fake clock, so the timeouts are exact and nothing sleeps.
"""

import http.server
import shutil
import ssl
import subprocess
import threading

import pytest

from ansible_collections.paperclip.kubernetes.plugins.module_utils import health as mod

PENDING = ('{"status":"ok","deploymentMode":"authenticated","deploymentExposure":"public",'
           '"localAiLoginSupported":false,"commit":null,"bootstrapStatus":"bootstrap_pending",'
           '"bootstrapInviteActive":false}')
STARTING = PENDING.replace('"status":"ok"', '"status":"starting"')
# The real 503 body (tests/fixtures/paperclip/health-db-unreachable.json).
DB_DOWN = '{"status":"unhealthy","version":"2026.916.1","serverVersion":"2026.916.1","commit":null,"error":"database_unreachable"}'


class Script(http.server.ThreadingHTTPServer):
    """Answers GET with the next scripted (code, body); the last one repeats."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def base(self):
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return "{0}://127.0.0.1:{1}".format(scheme, self.server_address[1])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Host")))
        code, body = srv.answers.pop(0) if len(srv.answers) > 1 else srv.answers[0]
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(answers, tls=None):
        srv = Script(answers)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        t.start()
        servers.append((srv, t))
        return srv

    yield start
    for srv, t in servers:
        srv.shutdown()
        srv.server_close()
        t.join(5)


def params(**kw):
    p = dict(url=None, validate_certs=None, ca_path=None, host_header=None, service=None, namespace=None,
             port="http", scheme="http", wait=True, timeout=300, interval=5)
    p.update(kw)
    return p


def run(fakes, clock, **kw):
    module = fakes.FakeModule(params(**kw))
    with pytest.raises((fakes.Exited, fakes.Failed)) as info:
        mod.run(module, mod.UrlProber(module.params), clock=clock, sleep=clock.sleep)
    return isinstance(info.value, fakes.Exited), info.value.result


def test_waits_through_starting_until_ok(fakes, clock, serve):
    srv = serve([(200, STARTING), (200, STARTING), (200, PENDING)])
    ok, res = run(fakes, clock, url=srv.base, interval=3)
    assert ok, res
    assert res["attempts"] == 3 and clock.sleeps == [3, 3] and res["elapsed"] == 6
    assert res["status"] == "ok" and res["bootstrap_status"] == "bootstrap_pending"
    assert res["bootstrap_invite_active"] is False
    assert res["deployment_mode"] == "authenticated" and res["deployment_exposure"] == "public"
    assert res["http_status"] == 200 and res["body"]["bootstrapStatus"] == "bootstrap_pending"
    assert res["changed"] is False and res["url"] == srv.base + "/api/health"
    assert [p for p, _h in srv.requests] == ["/api/health"] * 3


def test_database_unreachable_times_out_with_code_body_and_url(fakes, clock, serve):
    srv = serve([(503, DB_DOWN)])
    ok, res = run(fakes, clock, url=srv.base + "/api/health", timeout=20, interval=5)
    assert not ok
    assert "the database is unreachable" in res["msg"]
    assert "503" in res["msg"] and "database_unreachable" in res["msg"]
    assert srv.base + "/api/health" in res["msg"]
    assert res["state"] == "database_unreachable" and res["http_status"] == 503
    # Probes at t=0,5,10,15,20: it never sleeps past the timeout.
    assert res["attempts"] == 5 and res["elapsed"] == 20


def test_starting_forever_times_out_with_last_body(fakes, clock, serve):
    srv = serve([(200, STARTING)])
    ok, res = run(fakes, clock, url=srv.base, timeout=9, interval=4)
    assert not ok
    assert "Last HTTP status 200" in res["msg"] and '"status":"starting"' in res["msg"]
    assert "still starting" in res["msg"]
    # Probes at t=0, 4, 8 and one at the deadline (t=9).
    assert res["status"] == "starting" and res["attempts"] == 4 and clock.sleeps == [4, 4, 1]


def test_no_wait_returns_what_it_saw(fakes, clock, serve):
    srv = serve([(503, DB_DOWN)])
    ok, res = run(fakes, clock, url=srv.base, wait=False)
    assert ok and res["attempts"] == 1 and clock.sleeps == []
    assert res["state"] == "database_unreachable" and res["http_status"] == 503
    assert res["status"] == "unhealthy"


def test_no_wait_fails_when_nothing_answers(fakes, clock, serve):
    srv = serve([(200, PENDING)])
    url = srv.base
    srv.shutdown()
    srv.server_close()
    ok, res = run(fakes, clock, url=url, wait=False)
    assert not ok and res["state"] == "unreachable" and res["http_status"] is None
    assert "unreachable" in res["msg"] and url in res["msg"]


def test_unreachable_until_timeout(fakes, clock, serve):
    srv = serve([(200, PENDING)])
    url = srv.base
    srv.shutdown()
    srv.server_close()
    ok, res = run(fakes, clock, url=url, timeout=10, interval=5)
    assert not ok and res["attempts"] == 3
    assert res["msg"].startswith("Timed out after 10")
    assert "refused" in res["msg"].lower()


def test_host_header_is_sent_and_403_is_explained(fakes, clock, serve):
    srv = serve([(403, '{"error":"This hostname is not allowed for this Paperclip instance."}')])
    ok, res = run(fakes, clock, url=srv.base, host_header="evil.example", timeout=0)
    assert not ok
    assert srv.requests[0][1] == "evil.example"
    assert res["state"] == "host_not_allowed" and "allowed hostnames" in res["msg"]


def test_html_is_not_health(fakes, clock, serve):
    srv = serve([(200, "<!doctype html><title>Paperclip</title>")])
    ok, res = run(fakes, clock, url=srv.base, timeout=0)
    assert not ok and res["state"] == "not_json" and res["body"] == {} and res["status"] is None
    assert "<!doctype html>" in res["msg"]


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.fail("openssl is needed to make a test certificate (apt-get install -y openssl)")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


def test_tls_verification(fakes, clock, serve, self_signed):
    srv = serve([(200, PENDING)], tls=self_signed)
    ok, res = run(fakes, clock, url=srv.base, wait=False)
    assert not ok and "certificate" in res["msg"].lower()      # verified by default
    ok, res = run(fakes, clock, url=srv.base, wait=False, ca_path=self_signed[0])
    assert ok and res["status"] == "ok"
    ok, res = run(fakes, clock, url=srv.base, wait=False, validate_certs=False)
    assert ok and res["status"] == "ok"


class SlowThenSilent:
    """First a real-shaped 503, then probes that time out (as Paperclip does
    while its database is down: seconds, or minutes once its pool is stuck reconnecting).
    A timed-out probe advances the fake clock by its timeout."""

    target = "http://paperclip.test/api/health"

    def __init__(self, clock):
        self.clock = clock
        self.calls = []

    def probe(self, timeout):
        self.calls.append(timeout)
        if len(self.calls) == 1:
            return 503, DB_DOWN
        self.clock.now += timeout
        raise TimeoutError("timed out")


def test_last_probe_without_answer_keeps_the_database_verdict(fakes, clock):
    module = fakes.FakeModule(params(url="http://paperclip.test", timeout=100, interval=5))
    prober = SlowThenSilent(clock)
    with pytest.raises(fakes.Failed) as info:
        mod.run(module, prober, clock=clock, sleep=clock.sleep)
    res = info.value.result
    assert "the database is unreachable" in res["msg"] and "Last HTTP status 503" in res["msg"]
    assert "got no HTTP answer: timed out" in res["msg"]
    assert res["state"] == "database_unreachable" and res["http_status"] == 503
    # Probes at t=0 (answer), t=5 (60 s, the cap), t=70 (30 s left): never past the timeout.
    assert prober.calls == [mod.PROBE_TIMEOUT, 60, 30] and res["elapsed"] == 100


class ReadTimeoutError(Exception):
    """Named as urllib3's: a read timeout through the service proxy."""


class Silent:
    """Takes every request and never answers (each probe times out)."""

    target = "/api/v1/namespaces/p/services/http:paperclip:http/proxy/api/health"

    def __init__(self, clock):
        self.clock = clock

    def probe(self, timeout):
        self.clock.now += timeout
        raise ReadTimeoutError("HTTPSConnectionPool(host='127.0.0.1', port=6443): Read timed out.")


def test_a_silent_endpoint_is_not_called_unreachable(fakes, clock):
    module = fakes.FakeModule(params(url="http://paperclip.test", timeout=30, interval=5))
    with pytest.raises(fakes.Failed) as info:
        mod.run(module, Silent(clock), clock=clock, sleep=clock.sleep)
    res = info.value.result
    assert res["msg"].startswith("Timed out after 30")
    assert "took the request but did not answer in time: HTTPSConnectionPool" in res["msg"]
    assert "is unreachable" not in res["msg"] and res["state"] == "unreachable"


# The body of the API server's own 503 for a Service without endpoints.
NO_ENDPOINTS = ('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                '"message":"no endpoints available for service \\"paperclip\\"",'
                '"reason":"ServiceUnavailable","code":503}')


class ApiServerAnswers:
    """The API server's own 503 when a Service has no endpoints (seen on the local cluster)."""

    target = "/api/v1/namespaces/p/services/http:paperclip:http/proxy/api/health"

    def probe(self, timeout):
        return 503, NO_ENDPOINTS


def test_api_server_status_is_not_a_paperclip_body(fakes, clock):
    module = fakes.FakeModule(params(service="paperclip", namespace="p", wait=False))
    with pytest.raises(fakes.Exited) as info:
        mod.run(module, ApiServerAnswers(), clock=clock, sleep=clock.sleep)
    res = info.value.result
    assert res["state"] == "kubernetes_error" and res["http_status"] == 503
    assert res["status"] is None and res["bootstrap_status"] is None
    assert res["body"]["reason"] == "ServiceUnavailable"


class DatabaseDownWithEvents:
    """The app answering 503 while its database is down, behind a Service whose pod has events."""

    target = "/api/v1/namespaces/p/services/http:paperclip:http/proxy/api/health"

    def probe(self, timeout):
        return 503, DB_DOWN

    def events(self):
        return ["paperclip-0: Warning Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503 (x7)"]


def test_a_timeout_reports_the_body_and_the_pods_recent_events(fakes, clock):
    module = fakes.FakeModule(params(service="paperclip", namespace="p", timeout=20, interval=5))
    with pytest.raises(fakes.Failed) as info:
        mod.run(module, DatabaseDownWithEvents(), clock=clock, sleep=clock.sleep)
    res = info.value.result
    assert "Last HTTP status 503, body:" in res["msg"] and "the database is unreachable" in res["msg"]
    assert "Recent events: paperclip-0: Warning Unhealthy: Readiness probe failed" in res["msg"]
    assert res["events"] == DatabaseDownWithEvents().events()


def test_the_service_and_the_pod_request_share_one_probe_timeout(clock, monkeypatch):
    """No pod is ready, so the probe asks the pod after the Service: the two requests
    together keep to the probe's timeout (8 s spent on the first leaves 12 of 20)."""
    timeouts = []

    def proxy_get(client, path, timeout):
        timeouts.append((path.split("/")[5], timeout))
        clock.now += 8
        return (503, NO_ENDPOINTS) if "services" in path else (503, DB_DOWN)

    monkeypatch.setattr(mod, "proxy_get", proxy_get)
    monkeypatch.setattr(mod, "service_pod_ports", lambda client, namespace, service, port: [("paperclip-0", 3100)])
    prober = object.__new__(mod.ServiceProber)
    prober.client, prober.namespace, prober.service, prober.port, prober.scheme = None, "p", "paperclip", "http", "http"
    prober.target = "/api/v1/namespaces/p/services/http:paperclip:http/proxy/api/health"
    assert prober.probe(20, clock=clock) == (503, DB_DOWN)
    assert timeouts == [("services", 20), ("pods", 12)]
