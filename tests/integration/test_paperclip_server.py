"""The real Paperclip server (npm) on a real PostgreSQL, on loopback: the first-admin story.

One PostgreSQL and one server per module (fixtures in tests/conftest.py); the
tests run in file order and share the instance, each step building on the last.
"""

import datetime
import time

import pytest

from tests.support import paperclip as pc

ADMIN = {"email": "admin@example.com", "password": "Sup3r-Secret-Pass!", "name": "Test Admin"}


@pytest.fixture(scope="module")
def story():
    """State handed from one step to the next (tokens)."""
    return {}


def _utc(ts: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_cold_start_health_goes_starting_then_ok(paperclip_install, postgres):
    # Own server on the module's empty database: migrations run, then startup recovery.
    seen = []
    with pc.PaperclipServer(paperclip_install, postgres.dsn, wait=False) as server:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert server.proc.poll() is None, server.log_text()
            try:
                code, body = server.health(timeout=2)
            except pc.requests.RequestException:
                time.sleep(0.05)
                continue
            status = body.get("status") if isinstance(body, dict) else None
            if not seen or seen[-1] != (code, status):
                seen.append((code, status))
            if status == "ok":
                break
            # No sleep: the "starting" window before "ok" lasts only ~0.1 s.
        assert seen and seen[-1] == (200, "ok"), f"never ok; saw {seen}\n{server.log_text()}"
        # Before ok, the only answer is HTTP 200 "starting" (never another status).
        assert set(seen[:-1]) <= {(200, "starting")}, seen
        assert (200, "starting") in seen, f"status 'starting' not observed before 'ok': {seen}"


def test_fresh_instance_is_pending_without_invite(paperclip_server):
    code, body = paperclip_server.health()
    assert code == 200
    assert body["status"] == "ok"
    assert body["deploymentMode"] == "authenticated"
    assert body["deploymentExposure"] == "public"
    assert body["bootstrapStatus"] == "bootstrap_pending"
    assert body["bootstrapInviteActive"] is False


def test_bootstrap_ceo_creates_an_active_invite(paperclip_server, story):
    before = datetime.datetime.now(datetime.timezone.utc)
    proc = paperclip_server.bootstrap_ceo(expires_hours=72)
    assert proc.returncode == 0, proc.stderr
    out = pc.parse_bootstrap_output(proc.stdout)
    assert "Created bootstrap CEO invite." in proc.stdout
    assert out["error"] is None and out["claimed"] is False
    assert out["invite_url"] == f"{paperclip_server.url}/invite/{out['token']}"
    expires = _utc(out["expires_at"])
    assert abs((expires - before).total_seconds() - 72 * 3600) < 300, out["expires_at"]

    code, body = paperclip_server.health()
    assert (code, body["bootstrapStatus"], body["bootstrapInviteActive"]) == (200, "bootstrap_pending", True)
    code, summary = pc.invite_summary(paperclip_server.url, out["token"])
    assert code == 200, summary
    story["first_token"] = out["token"]


def test_second_bootstrap_before_claim_revokes_the_first(paperclip_server, story):
    proc = paperclip_server.bootstrap_ceo(expires_hours=24)
    out = pc.parse_bootstrap_output(proc.stdout)
    assert proc.returncode == 0 and out["token"], proc.stdout + proc.stderr
    assert out["token"] != story["first_token"]
    assert pc.invite_summary(paperclip_server.url, story["first_token"])[0] == 404
    assert pc.invite_summary(paperclip_server.url, out["token"])[0] == 200
    assert paperclip_server.health()[1]["bootstrapInviteActive"] is True
    story["token"] = out["token"]


def test_old_invite_cannot_be_accepted(paperclip_server, story):
    s = pc.sign_up(paperclip_server.url, "late@example.com", ADMIN["password"], "Late User")
    r = s.post(f"{paperclip_server.url}/api/invites/{story['first_token']}/accept",
               json={"requestType": "human"}, timeout=30)
    assert r.status_code == 404, r.text
    assert paperclip_server.health()[1]["bootstrapStatus"] == "bootstrap_pending"


def test_sign_up_and_accept_makes_instance_ready(paperclip_server, story):
    s = pc.sign_up(paperclip_server.url, ADMIN["email"], ADMIN["password"], ADMIN["name"])
    accepted = pc.accept_invite(s, story["token"])
    assert accepted["bootstrapAccepted"] is True
    assert accepted["inviteType"] == "bootstrap_ceo"

    code, body = paperclip_server.health()
    assert (code, body["status"], body["bootstrapStatus"], body["bootstrapInviteActive"]) == \
        (200, "ok", "ready", False)

    company = pc.create_company(s, "Acme Test Co")
    assert company["name"] == "Acme Test Co"
    assert company["id"] in [c["id"] for c in pc.list_companies(s)]
    # The accepted invite is spent.
    assert pc.invite_summary(paperclip_server.url, story["token"])[0] == 404


def test_bootstrap_after_claim_reports_admin_and_creates_nothing(paperclip_server, postgres):
    count = "SELECT count(*) FROM invites"
    before = postgres.psql(count, database="paperclip")
    proc = paperclip_server.bootstrap_ceo()
    out = pc.parse_bootstrap_output(proc.stdout)
    assert proc.returncode == 0
    assert out["claimed"] is True, proc.stdout
    assert "Instance already has an admin user" in proc.stdout
    assert out["invite_url"] is None and "pcp_bootstrap_" not in proc.stdout + proc.stderr
    assert postgres.psql(count, database="paperclip") == before
    code, body = paperclip_server.health()
    assert (code, body["bootstrapStatus"], body["bootstrapInviteActive"]) == (200, "ready", False)


def test_bootstrap_without_config_says_so_and_exits_0(paperclip_server, tmp_path):
    proc = paperclip_server.bootstrap_ceo(config_path=str(tmp_path / "missing.json"))
    assert proc.returncode == 0  # the CLI exits 0 even here: callers must read the output
    assert "No config found" in proc.stdout + proc.stderr
    assert pc.parse_bootstrap_output(proc.stdout + proc.stderr)["invite_url"] is None


def test_database_unreachable_is_503(paperclip_server, postgres):
    postgres.stop()
    try:
        # Poll: under load the first health request right after the stop can take
        # longer than one request timeout while the server's pool notices.
        code, body = paperclip_server.wait_health(lambda c, b: c != 200, timeout=60)
        assert code == 503, body
        # The body also carries version/serverVersion/commit.
        assert (body["status"], body["error"]) == ("unhealthy", "database_unreachable"), body
        proc = paperclip_server.bootstrap_ceo()
        assert proc.returncode == 0
        assert "Could not create bootstrap invite" in proc.stdout + proc.stderr
    finally:
        postgres.start()
    # Recovers once the database is back.
    assert paperclip_server.wait_ok(60)["bootstrapStatus"] == "ready"
