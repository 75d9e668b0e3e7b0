"""Only for molecule/kind (pods really run there; molecule.yml adds this file to the
verifier): the public host answers through ingress-nginx on the kind node's port
mappings, 127.0.0.1:80 and :443 (kind-config.yaml). The Host header carries the
public host; the certificate is ingress-nginx's default one, so it is not verified."""

from __future__ import annotations

import base64
import time

import pytest
import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
HTTP = "http://127.0.0.1:80"
HTTPS = "https://127.0.0.1:443"


def _get(url, host, timeout=60, **kwargs):
    """GET with the public Host header; retry briefly while ingress-nginx syncs."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = requests.get(url, headers={"Host": host}, verify=False, timeout=10, **kwargs)
            if response.status_code not in (502, 503, 504) or time.monotonic() > deadline:
                return response
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(2)


def test_public_url_serves_a_healthy_unclaimed_instance(instance):
    response = _get(f"{HTTPS}/api/health", instance.host)
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert body["status"] == "ok"
    assert body.get("deploymentMode") == "authenticated"
    assert body.get("bootstrapStatus") == "bootstrap_pending"
    assert body.get("bootstrapInviteActive") is True


def test_plain_http_redirects_to_the_public_url(instance):
    response = _get(f"{HTTP}/api/health", instance.host, allow_redirects=False)
    assert response.status_code in (301, 302, 307, 308), response.status_code
    assert response.headers["Location"].startswith(f"https://{instance.host}/")


def test_stored_invite_is_accepted_by_the_server(instance, core):
    secret = core.read_namespaced_secret(f"{instance.name}-bootstrap-invite", instance.namespace)
    url = base64.b64decode(secret.data["invite_url"]).decode()
    token = url.rsplit("/", 1)[-1]
    response = _get(f"{HTTPS}/api/invites/{token}", instance.host)
    if response.status_code != 200:
        pytest.fail(f"GET /api/invites/<stored token>: HTTP {response.status_code} {response.text[:300]}")
