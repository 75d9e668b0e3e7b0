"""The first-admin flow in a real headless Chromium (Playwright), shared by the
browser test against the local server and the deploy story on the cluster."""

from __future__ import annotations

from pathlib import Path


def claim_invite_and_create_company(page, invite: dict, admin: dict, company: str,
                                    shots: Path, prefix: str = "") -> dict:
    """Open the Invite URL, create the first account (which accepts the bootstrap
    invite), name the organization in onboarding, and return the created company
    as the API answered it. Screenshots go to `shots` as `<prefix>NN-....png`."""
    page.goto(invite["invite_url"])
    page.get_by_text("Create your account").wait_for()
    page.fill("#invite-name", admin["name"])
    page.fill("#invite-email", admin["email"])
    page.fill("#invite-password", admin["password"])
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
    page.screenshot(path=str(shots / f"{prefix}01-onboarding.png"))
    page.get_by_placeholder("e.g. Northwind Labs").fill(company)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/api/companies")) as cr:
        page.get_by_role("button", name="Continue").click()
    assert cr.value.status == 201, cr.value.text()
    created = cr.value.json()
    assert created["name"] == company
    page.get_by_text("Create your first agent").wait_for()  # onboarding moved on to step 2
    page.screenshot(path=str(shots / f"{prefix}02-company-created.png"))
    return created
