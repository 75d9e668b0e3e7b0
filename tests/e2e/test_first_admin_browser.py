"""First admin, end to end, in a real headless Chromium against a real Paperclip server.

The real `auth bootstrap-ceo` CLI makes the Invite URL; the browser opens it,
creates the first account through the UI (which also accepts the bootstrap
invite), lands in onboarding and creates the first company. Health and the API
confirm the result. One server and database for the module (tests/conftest.py);
the tests run in file order as one story.

Artifacts (git-ignored) in artifacts/e2e/: screenshots and the server's memory.
"""

import json
from urllib.parse import urlsplit

import pytest

from tests.support import paperclip as pc

ADMIN = {"name": "Browser Admin", "email": "browser-admin@example.com", "password": "Sup3r-Secret-Pass!"}
COMPANY = "Acme Browser Co"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def story():
    return {}


@pytest.fixture
def page(browser, paperclip_server):
    """A fresh browser context; records every request so we can assert it stayed on loopback."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    pg = ctx.new_page()
    pg.requests_seen = []
    pg.on("request", lambda r: pg.requests_seen.append(r.url))
    try:
        yield pg
    finally:
        ctx.close()
    foreign = [u for u in pg.requests_seen
               if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).hostname != "127.0.0.1"]
    assert not foreign, f"the UI tried to reach non-loopback hosts: {foreign}"


def _bootstrap(server) -> dict:
    proc = server.bootstrap_ceo(expires_hours=72)
    out = pc.parse_bootstrap_output(proc.stdout)
    assert proc.returncode == 0 and out["invite_url"], proc.stdout + proc.stderr
    return out


def test_rotated_invite_url_stops_working_in_the_browser(paperclip_server, page, story):
    assert paperclip_server.health()[1]["bootstrapStatus"] == "bootstrap_pending"
    old = _bootstrap(paperclip_server)
    new = _bootstrap(paperclip_server)  # rotation before anyone claimed
    assert new["token"] != old["token"]
    page.goto(old["invite_url"])
    page.get_by_text("Invite not available").wait_for()
    assert "expired, revoked, or already used" in page.inner_text("body")
    story["invite"] = new


def test_first_admin_signs_up_accepts_and_creates_company(paperclip_server, page, story, artifacts_dir):
    server = paperclip_server
    invite = story["invite"]
    code, body = server.health()
    assert (code, body["bootstrapStatus"], body["bootstrapInviteActive"]) == (200, "bootstrap_pending", True)

    page.goto(invite["invite_url"])
    page.get_by_text("Create your account").wait_for()
    page.fill("#invite-name", ADMIN["name"])
    page.fill("#invite-email", ADMIN["email"])
    page.fill("#invite-password", ADMIN["password"])
    # "Create account and continue" signs up, then accepts the bootstrap invite.
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/api/auth/sign-up/email")) as su, \
            page.expect_response(lambda r: r.request.method == "POST"
                                 and r.url.endswith(f"/api/invites/{invite['token']}/accept")) as acc:
        page.get_by_role("button", name="Create account and continue").click()
    assert su.value.status == 200, su.value.text()
    assert acc.value.status == 202, acc.value.text()
    assert acc.value.json()["bootstrapAccepted"] is True

    # Onboarding, step 1: name the organization (this creates the company).
    page.wait_for_url("**/onboarding")
    page.get_by_text("What is the name of your organization?").wait_for()
    page.screenshot(path=str(artifacts_dir / "01-onboarding.png"))
    page.get_by_placeholder("e.g. Northwind Labs").fill(COMPANY)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/api/companies")) as cr:
        page.get_by_role("button", name="Continue").click()
    assert cr.value.status == 201, cr.value.text()
    company = cr.value.json()
    assert company["name"] == COMPANY
    page.get_by_text("Create your first agent").wait_for()  # onboarding moved on to step 2
    page.screenshot(path=str(artifacts_dir / "02-company-created.png"))

    # Health and API agree.
    code, body = server.health()
    assert (code, body["status"], body["bootstrapStatus"], body["bootstrapInviteActive"]) == \
        (200, "ok", "ready", False)
    api = pc.sign_in(server.url, ADMIN["email"], ADMIN["password"])
    companies = pc.list_companies(api)
    assert [(c["id"], c["name"]) for c in companies] == [(company["id"], COMPANY)]

    # "/" now goes to the company's dashboard (the remaining onboarding steps overlay it).
    page.goto(server.url + "/")
    page.wait_for_url(f"**/{company['issuePrefix']}/dashboard")
    page.get_by_text("Create your first agent").wait_for()
    assert COMPANY in page.inner_text("body")
    page.screenshot(path=str(artifacts_dir / "03-dashboard.png"))
    # Final page: the company's audit log, without the overlay: the company name in the
    # sidebar and the "created organization" entry by the new admin.
    page.goto(f"{server.url}/{company['issuePrefix']}/activity")
    page.get_by_text("created organization").wait_for()
    page.get_by_text(COMPANY).first.wait_for()
    assert ADMIN["name"] in page.inner_text("body")
    page.screenshot(path=str(artifacts_dir / "04-final.png"))

    mem = server.memory()
    (artifacts_dir / "memory.json").write_text(json.dumps(
        {"after_browser_first_admin_flow": dict(mem)}, indent=2) + "\n")
    print(f"server memory after browser flow: VmRSS {mem['VmRSS'] >> 20} MiB, VmHWM {mem['VmHWM'] >> 20} MiB")
    story["claimed"] = True


def test_bootstrap_after_claim_reports_claimed_and_health_stays_ready(paperclip_server, page, story):
    assert story.get("claimed"), "the first-admin test did not complete"
    proc = paperclip_server.bootstrap_ceo()
    out = pc.parse_bootstrap_output(proc.stdout)
    assert proc.returncode == 0
    assert out["claimed"] is True and out["invite_url"] is None, proc.stdout
    code, body = paperclip_server.health()
    assert (code, body["bootstrapStatus"], body["bootstrapInviteActive"]) == (200, "ready", False)
    # The spent invite URL shows as unavailable in the browser too.
    page.goto(story["invite"]["invite_url"])
    page.get_by_text("Invite not available").wait_for()
