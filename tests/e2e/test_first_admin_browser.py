"""First admin, end to end, in a real headless Chromium against a real Paperclip server.

The real `auth bootstrap-ceo` CLI makes the Invite URL; the browser opens it,
creates the first account through the UI (which also accepts the bootstrap
invite), lands in onboarding and creates the first company. Health and the API
confirm the result. One server and database for the module (tests/conftest.py);
the tests run in file order as one story.

Artifacts (git-ignored) in artifacts/e2e/: screenshots and the server's memory.
"""

import json

import pytest

from tests.support import paperclip as pc
from tests.support.browser import claim_invite_and_create_company

ADMIN = {"name": "Browser Admin", "email": "browser-admin@example.com", "password": "Sup3r-Secret-Pass!"}
COMPANY = "Acme Browser Co"
# Alone, after the other files (hack/e2e.sh): a local Paperclip server's first page loads
# take tens of seconds of CPU, which the files running side by side starve past the
# browser's 30 s timeouts (seen in a run with 3 processes).
pytestmark = pytest.mark.serial


@pytest.fixture(scope="module")
def story():
    return {}


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

    company = claim_invite_and_create_company(page, invite, ADMIN, COMPANY, artifacts_dir)

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
