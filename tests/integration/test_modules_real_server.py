"""paperclip_health (and the invite parser) against a REAL Paperclip server.

One story on one server (tests run in file order): cold start -> ok with the
bootstrap pending -> the real `auth bootstrap-ceo` -> invite active -> sign up
and accept over HTTP -> ready -> PostgreSQL stopped -> database unreachable
-> PostgreSQL back -> ok -> server stopped -> unreachable.
The module runs as users run it: a playbook task (tests/support/run_module.py).
Server and database come from tests/support/paperclip.py, on 127.0.0.1 only.
"""

import threading
import time

import pytest

from ansible_collections.paperclip.kubernetes.plugins.module_utils import paperclip as parser
from tests.support import paperclip as pc
from tests.support.run_module import run_module

HEALTH = "paperclip.kubernetes.paperclip_health"


@pytest.fixture(scope="module")
def story():
    """Shared state between the steps of the story."""
    return {}


@pytest.fixture(scope="module")
def server(paperclip_install, postgres):
    # Not waited for: the first test watches the cold start itself.
    with pc.PaperclipServer(paperclip_install, postgres.dsn, wait=False) as srv:
        yield srv


def health(args, check=False):
    return run_module(HEALTH, args, check=check)


def test_cold_start_waits_until_ok(server):
    """The module starts probing before the server listens and returns only on status ok."""
    seen = []          # what a fast poller saw meanwhile: refused / starting / ok
    done = threading.Event()

    def poll():
        while not done.is_set():
            try:
                code, body = server.health(timeout=2)
                state = body.get("status") if isinstance(body, dict) else "code {0}".format(code)
            except pc.requests.RequestException:
                state = "refused"
            if not seen or seen[-1] != state:
                seen.append(state)
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        res = health({"url": server.url, "timeout": 240, "interval": 1})
    finally:
        done.set()
        poller.join(10)
    print("states seen by the poller:", seen, "module:", res.result.get("attempts"), "attempts")
    r = res.result
    assert not res.failed, r
    assert r["status"] == "ok" and r["http_status"] == 200 and r["state"] == "ok"
    assert r["changed"] is False
    assert r["attempts"] >= 2, "the first probe should have found the server not ready yet"
    assert seen[0] != "ok", seen
    assert seen[-1] == "ok", seen


def test_pending_without_invite(server):
    for check in (False, True):     # read-only: check mode gives the same answer
        r = health({"url": server.url, "wait": False}, check=check).result
        assert not r.get("failed"), r
        assert r["status"] == "ok"
        assert r["bootstrap_status"] == "bootstrap_pending"
        assert r["bootstrap_invite_active"] is False
        assert r["deployment_mode"] == "authenticated" and r["deployment_exposure"] == "public"
        assert r["body"]["bootstrapStatus"] == "bootstrap_pending"
        assert r["changed"] is False


def test_real_bootstrap_ceo_makes_invite_active(server, story):
    proc = server.bootstrap_ceo()
    assert proc.returncode == 0, proc.stderr
    parsed = parser.parse_bootstrap_output(proc.stdout + proc.stderr)
    expected = pc.parse_bootstrap_output(proc.stdout)
    assert parsed["outcome"] == "created", proc.stdout
    assert parsed["invite_url"] == expected["invite_url"]
    assert parsed["invite_url"].startswith(server.url + "/invite/pcp_bootstrap_")
    assert parsed["expires_at"] == expected["expires_at"] and parser.parse_iso8601(parsed["expires_at"])
    story["token"] = expected["token"]

    # The full /api/health URL is accepted too.
    r = health({"url": server.url + "/api/health", "wait": False}).result
    assert not r.get("failed"), r
    assert r["bootstrap_status"] == "bootstrap_pending" and r["bootstrap_invite_active"] is True


def test_accepting_the_invite_makes_it_ready(server, story):
    session = pc.sign_up(server.url, "admin@example.com", "Sup3r-Secret-Pass!", "Test Admin")
    accepted = pc.accept_invite(session, story["token"])
    assert accepted.get("bootstrapAccepted") is True, accepted
    r = health({"url": server.url}).result
    assert not r.get("failed"), r
    assert r["bootstrap_status"] == "ready" and r["bootstrap_invite_active"] is False

    # Now the real CLI says the instance is claimed, and the parser agrees.
    proc = server.bootstrap_ceo()
    assert parser.parse_bootstrap_output(proc.stdout + proc.stderr)["outcome"] == "claimed", proc.stdout


def test_database_stopped_is_reported(server, postgres):
    postgres.stop()
    try:
        one = health({"url": server.url, "wait": False}).result
        assert not one.get("failed"), one            # wait: false fails only when unreachable
        assert one["state"] == "database_unreachable" and one["http_status"] == 503
        assert one["status"] == "unhealthy"

        # Paperclip answers slowly (5 s to over 20 s) while its database is down.
        res = health({"url": server.url, "timeout": 90, "interval": 2})
        r = res.result
        assert r.get("failed"), r
        assert "the database is unreachable" in r["msg"]
        assert "Last HTTP status 503" in r["msg"] and "database_unreachable" in r["msg"]
        assert server.url + "/api/health" in r["msg"]
        assert r["state"] == "database_unreachable" and r["http_status"] == 503
        assert r["attempts"] >= 2 and 88 <= r["elapsed"] <= 100
    finally:
        postgres.start()
    # Back to healthy once the database is back.
    r = health({"url": server.url, "timeout": 120, "interval": 1}).result
    assert not r.get("failed"), r
    assert r["status"] == "ok" and r["bootstrap_status"] == "ready"


def test_server_stopped_is_unreachable(server):
    server.stop()
    r = health({"url": server.url, "wait": False}).result
    assert r.get("failed") and r["state"] == "unreachable" and r["http_status"] is None
    assert "Connection refused" in r["msg"]
    r = health({"url": server.url, "timeout": 3, "interval": 1}).result
    assert r.get("failed") and r["msg"].startswith("Timed out after") and r["attempts"] >= 3
