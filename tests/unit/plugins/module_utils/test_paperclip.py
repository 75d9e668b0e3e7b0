"""Unit tests for plugins/module_utils/paperclip.py on real Paperclip outputs.

VERBATIM_* are the outputs recorded in the shared reference
(local-paperclip.md sections 5-6, paperclipai 2026.916.1). The fixture files
under tests/fixtures/paperclip/ are fresh captures by tests/paperclip/capture.py
from a real server; both sets are tested.
"""

import json
from pathlib import Path

import pytest

from ansible_collections.paperclip.kubernetes.plugins.module_utils import paperclip as pc

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "paperclip"

TOKEN = "pcp_bootstrap_5dba530cd24af571caf1137e65a7fada1e6399083c3eea53"
URL = "http://127.0.0.1:3100/invite/" + TOKEN

VERBATIM_CREATED = (
    "\u2502\n"
    "\u25c6  Created bootstrap CEO invite.\n"
    "\u2502\n"
    "\u2502  Invite URL: " + URL + "\n"
    "\u2502\n"
    "\u2502  Expires: 2026-11-30T07:29:48.853Z\n"
)
VERBATIM_CLAIMED = (
    "\u2502\n"
    "\u25cf  Instance already has an admin user. Use --force to generate a new bootstrap invite.\n"
)
VERBATIM_NO_CONFIG = (
    "\u25a0  No config found at /paperclip/instances/default/config.json. Run paperclip onboard first.\n"
)
VERBATIM_DB_DOWN = (
    "\u2502\n"
    "\u25a0  Could not create bootstrap invite: Failed query: select \"id\" from \"instance_user_roles\" limit $1\n"
)

HEALTH_PENDING = ('{"status":"ok","deploymentMode":"authenticated","deploymentExposure":"public",'
                  '"localAiLoginSupported":false,"commit":null,"bootstrapStatus":"bootstrap_pending",'
                  '"bootstrapInviteActive":false}')
HEALTH_INVITE_ACTIVE = HEALTH_PENDING.replace('"bootstrapInviteActive":false', '"bootstrapInviteActive":true')
HEALTH_READY = HEALTH_PENDING.replace("bootstrap_pending", "ready")
HEALTH_STARTING = HEALTH_PENDING.replace('"status":"ok"', '"status":"starting"')
HEALTH_HOST_403 = '{"error":"This hostname is not allowed for this Paperclip instance. Add it with paperclipai allowed-hostname."}'
# The real 503 body (tests/fixtures/paperclip/health-db-unreachable.json).
HEALTH_DB_503 = '{"status":"unhealthy","version":"2026.916.1","serverVersion":"2026.916.1","commit":null,"error":"database_unreachable"}'


def ansi(text):
    """Colour every symbol and label the way picocolors does under FORCE_COLOR."""
    out = []
    for line in text.splitlines(True):
        out.append("\x1b[90m" + line[:1] + "\x1b[39m" + "\x1b[1m" + line[1:].rstrip("\n") + "\x1b[22m\n")
    return "".join(out)


def cri(text, stream="stdout"):
    """Prefix lines the way the CRI log files under /var/log/pods hold them."""
    return "".join("2026-11-27T08:15:0{0}.123456789Z {1} F {2}\n".format(i % 10, stream, line)
                   for i, line in enumerate(text.splitlines()))


def kubectl_ts(text):
    """Prefix lines the way `kubectl logs --timestamps` shows them."""
    return "".join("2026-11-27T08:15:00.123456789+00:00 {0}\n".format(line) for line in text.splitlines())


# ------------------------------------------------------------- bootstrap-ceo


@pytest.mark.parametrize("wrap", [lambda t: t, ansi, cri, kubectl_ts, lambda t: cri(ansi(t)),
                                  lambda t: t.replace("\n", "\r\n")],
                         ids=["plain", "ansi", "cri", "kubectl-ts", "cri+ansi", "crlf"])
def test_created(wrap):
    res = pc.parse_bootstrap_output(wrap(VERBATIM_CREATED))
    assert res["outcome"] == "created"
    assert res["invite_url"] == URL
    assert res["expires_at"] == "2026-11-30T07:29:48.853Z"
    assert res["warnings"] == []


@pytest.mark.parametrize("wrap", [lambda t: t, ansi, cri, kubectl_ts], ids=["plain", "ansi", "cri", "kubectl-ts"])
def test_claimed(wrap):
    res = pc.parse_bootstrap_output(wrap(VERBATIM_CLAIMED))
    assert res["outcome"] == "claimed"
    assert res["invite_url"] is None and res["expires_at"] is None


@pytest.mark.parametrize("text,needle", [
    (VERBATIM_NO_CONFIG, "No config found at /paperclip/instances/default/config.json"),
    (VERBATIM_DB_DOWN, "Could not create bootstrap invite: Failed query"),
    (ansi(VERBATIM_DB_DOWN), "Could not create bootstrap invite: Failed query"),
    (cri(VERBATIM_NO_CONFIG, "stderr"), "No config found at"),
    # An unknown error printed with clack's error symbol still counts as an error.
    ("\u2502\n\u25a0  Something new went wrong\n", "Something new went wrong"),
])
def test_errors(text, needle):
    res = pc.parse_bootstrap_output(text)
    assert res["outcome"] == "error"
    assert needle in res["error"]
    assert res["invite_url"] is None


@pytest.mark.parametrize("text", ["", "\n\n", "\u2502\n\u2502\n", "hello world\nnothing to see\n",
                                  "\x00\x01binary\xff", "Error: Cannot find module 'paperclipai'\n"])
def test_garbage_is_unrecognised(text):
    res = pc.parse_bootstrap_output(text)
    assert res["outcome"] == "unrecognised"
    assert res["invite_url"] is None


def test_last_outcome_wins_when_the_container_ran_twice():
    # First run failed (database not ready yet), the restart created an invite.
    res = pc.parse_bootstrap_output(VERBATIM_DB_DOWN + VERBATIM_CREATED)
    assert res["outcome"] == "created" and res["invite_url"] == URL
    # Two invites: the later one revoked the first.
    second = VERBATIM_CREATED.replace(TOKEN, "pcp_bootstrap_" + "ab" * 24).replace("07:29:48", "08:00:00")
    res = pc.parse_bootstrap_output(VERBATIM_CREATED + second)
    assert res["invite_url"].endswith("ab" * 24)
    assert res["expires_at"] == "2026-11-30T08:00:00.853Z"
    # Created, then a later error: the error wins.
    assert pc.parse_bootstrap_output(VERBATIM_CREATED + VERBATIM_DB_DOWN)["outcome"] == "error"


def test_missing_or_bad_expiry_is_a_warning_without_the_token():
    res = pc.parse_bootstrap_output(VERBATIM_CREATED.replace("\u2502  Expires: 2026-11-30T07:29:48.853Z\n", ""))
    assert res["outcome"] == "created" and res["expires_at"] is None
    assert len(res["warnings"]) == 1 and TOKEN not in res["warnings"][0]
    res = pc.parse_bootstrap_output(VERBATIM_CREATED.replace("2026-11-30T07:29:48.853Z", "next-tuesday"))
    assert res["outcome"] == "created" and res["expires_at"] is None
    assert "next-tuesday" in res["warnings"][0]


def test_url_line_without_a_url_is_an_error_and_redacted():
    res = pc.parse_bootstrap_output("\u2502  Invite URL: " + TOKEN + "\n")
    assert res["outcome"] == "error"
    assert TOKEN not in res["error"] and "<redacted>" in res["error"]


@pytest.mark.parametrize("value,ok", [
    ("2026-11-30T07:29:48.853Z", True), ("2026-11-30T07:29:48Z", True),
    ("2026-11-30T07:29:48.123456789Z", True), ("2026-11-30T07:29:48+02:00", True),
    ("2026-11-30T07:29:48.853+0200", True), ("2026-13-30T07:29:48Z", False),
    ("tomorrow", False), ("", False), (None, False)])
def test_parse_iso8601(value, ok):
    assert (pc.parse_iso8601(value) is not None) is ok


def test_redact_and_tail():
    text = VERBATIM_CREATED + "also https://x.example/invite/abc123?x=1 and bare " + TOKEN + "\n"
    red = pc.redact(text)
    assert TOKEN not in red and "abc123" not in red
    assert "/invite/<redacted>" in red and "bare pcp_bootstrap_<redacted>" in red
    tail = pc.log_tail(cri(ansi(text)))
    assert TOKEN not in tail and "\x1b" not in tail and "stdout F" not in tail
    assert tail.splitlines()[0] == "Created bootstrap CEO invite."
    assert pc.log_tail("") == "(empty log)"
    assert len(pc.log_tail("\n".join("line {0}".format(i) for i in range(100)), lines=5).splitlines()) == 5


def test_clean_line_keeps_words_that_start_like_ascii_symbols():
    assert pc.clean_line("x marks the spot") == ("", "x marks the spot")
    assert pc.clean_line("o  Created bootstrap CEO invite.") == ("o", "Created bootstrap CEO invite.")
    assert pc.clean_line("|  Invite URL: u") == ("|", "Invite URL: u")
    assert pc.clean_line("\u2502  \u25a0  nested") == ("\u25a0", "nested")


# ----------------------------------------------------------------- Job state


def job(conditions=None, **status):
    return {"metadata": {"name": "j"}, "spec": {"backoffLimit": status.pop("backoff", 0)},
            "status": dict(status, conditions=conditions or [])}


@pytest.mark.parametrize("obj,state", [
    (job([{"type": "Complete", "status": "True"}], succeeded=1), "complete"),
    (job([{"type": "SuccessCriteriaMet", "status": "True"}]), "complete"),
    (job(succeeded=1), "complete"),
    (job([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}], failed=1), "failed"),
    (job([{"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"}], failed=1), "failed"),
    (job(failed=1), "failed"),                     # backoffLimit 0: one failure is final
    (job(failed=1, backoff=3), "running"),         # retries left
    (job(failed=4, backoff=3), "failed"),
    (job([{"type": "Complete", "status": "False"}], active=1), "running"),
    ({"metadata": {"name": "j"}}, "running"),      # no status yet
    ({"metadata": {"name": "j"}, "spec": {}, "status": {"failed": 7}}, "failed"),  # default backoffLimit 6
])
def test_job_state(obj, state):
    assert pc.job_state(obj)[0] == state


def test_failed_wins_over_complete():
    both = job([{"type": "Complete", "status": "True"}, {"type": "Failed", "status": "True", "reason": "X"}])
    assert pc.job_state(both) == ("failed", "X")


def test_newest_job_of_cronjob():
    def j(name, ts, owner="boot", kind="CronJob"):
        return {"metadata": {"name": name, "creationTimestamp": ts,
                             "ownerReferences": [{"kind": kind, "name": owner}]}}
    jobs = [j("boot-1", "2026-11-27T08:00:00Z"), j("boot-3", "2026-11-27T09:00:00Z"),
            j("other-9", "2026-11-27T10:00:00Z", owner="other"),
            j("rs-9", "2026-11-27T11:00:00Z", owner="boot", kind="ReplicaSet"),
            j("boot-2", "2026-11-27T08:30:00Z"), {"metadata": {"name": "plain"}}]
    assert pc.newest_job_of_cronjob(jobs, "boot")["metadata"]["name"] == "boot-3"
    assert pc.newest_job_of_cronjob(jobs, "missing") is None


def test_pod_helpers():
    pods = [{"metadata": {"name": "a", "creationTimestamp": "2026-11-27T08:00:00Z"}},
            {"metadata": {"name": "b", "creationTimestamp": "2026-11-27T09:00:00Z"}}]
    assert [p["metadata"]["name"] for p in pc.sort_pods_newest_first(pods)] == ["b", "a"]
    sel = pc.job_pod_selectors({"metadata": {"name": "j"},
                                "spec": {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}}})
    assert sel == ["batch.kubernetes.io/controller-uid=u1", "batch.kubernetes.io/job-name=j", "job-name=j"]
    summary = pc.pod_summary({"metadata": {"name": "p"}, "status": {"phase": "Pending", "containerStatuses": [
        {"name": "c", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}})
    assert summary == "pod p: phase Pending, c waiting ImagePullBackOff"


# -------------------------------------------------------------------- health


@pytest.mark.parametrize("url,want", [
    ("https://p.example.com", "https://p.example.com/api/health"),
    ("https://p.example.com/", "https://p.example.com/api/health"),
    ("http://127.0.0.1:3100/api/health", "http://127.0.0.1:3100/api/health"),
    ("https://x.example/prefix/", "https://x.example/prefix/api/health"),
    ("https://x.example/api/health/", "https://x.example/api/health"),
])
def test_health_url(url, want):
    assert pc.health_url(url) == want


@pytest.mark.parametrize("bad", ["p.example.com", "ftp://x/", "http://"])
def test_health_url_rejects(bad):
    with pytest.raises(ValueError):
        pc.health_url(bad)


def test_service_proxy_path():
    assert pc.service_proxy_path("paperclip", "web", "http") == \
        "/api/v1/namespaces/paperclip/services/http:web:http/proxy/api/health"
    assert pc.service_proxy_path("ns", "web", "3100", "https") == \
        "/api/v1/namespaces/ns/services/https:web:3100/proxy/api/health"


@pytest.mark.parametrize("code,body,state,healthy", [
    (200, HEALTH_STARTING, "starting", False),
    (200, HEALTH_PENDING, "ok", True),
    (200, HEALTH_INVITE_ACTIVE, "ok", True),
    (200, HEALTH_READY, "ok", True),
    (503, HEALTH_DB_503, "database_unreachable", False),
    (503, '{"status":"error","error":{"code":"database_unreachable","message":"connect ECONNREFUSED"}}',
     "database_unreachable", False),
    (403, HEALTH_HOST_403, "host_not_allowed", False),
    (200, "<!doctype html><html><body>SPA</body></html>", "not_json", False),
    (502, "", "not_json", False),
    (200, "[1, 2]", "not_json", False),
    (503, '{"kind":"Status","apiVersion":"v1","status":"Failure","message":"no endpoints available for service \\"web\\"",'
          '"reason":"ServiceUnavailable","code":503}', "kubernetes_error", False),
    (500, '{"status":"ok"}', "unhealthy", False),   # 200 is required, not just status ok
    (200, '{"status":"degraded"}', "unhealthy", False),
])
def test_evaluate_health(code, body, state, healthy):
    verdict = pc.evaluate_health(code, body)
    assert verdict["state"] == state
    assert verdict["healthy"] is healthy
    assert verdict["message"]


def test_health_fields():
    assert pc.health_fields(json.loads(HEALTH_INVITE_ACTIVE)) == dict(
        status="ok", bootstrap_status="bootstrap_pending", bootstrap_invite_active=True,
        deployment_mode="authenticated", deployment_exposure="public")
    assert pc.health_fields(None)["bootstrap_invite_active"] is None


def test_db_message_and_truncation():
    verdict = pc.evaluate_health(503, HEALTH_DB_503)
    assert "database is unreachable" in verdict["message"]
    long = pc.evaluate_health(500, "x" * 5000)
    assert len(long["message"]) < 700 and "more characters" in long["message"]


# ------------------------------------------- fresh captures from a real server


def fixture_text(name):
    path = FIXTURES / name
    assert path.is_file(), "missing capture {0}: regenerate with tests/paperclip/capture.py".format(path)
    return path.read_text(encoding="utf-8")


def captured_token(text):
    import re
    return re.search(r"pcp_bootstrap_[0-9a-f]{48}", text).group(0)


@pytest.mark.parametrize("name", ["bootstrap-created.txt", "bootstrap-rotated.txt", "bootstrap-created-color.txt"])
@pytest.mark.parametrize("wrap", [lambda t: t, cri, kubectl_ts], ids=["raw", "cri", "kubectl-ts"])
def test_captured_created(name, wrap):
    text = fixture_text(name)
    res = pc.parse_bootstrap_output(wrap(text))
    assert res["outcome"] == "created", res
    token = captured_token(text)
    assert res["invite_url"].startswith("http://127.0.0.1:") and res["invite_url"].endswith("/invite/" + token)
    assert "\x1b" not in res["invite_url"]
    assert pc.parse_iso8601(res["expires_at"]) is not None and res["expires_at"].endswith("Z")
    assert res["warnings"] == []
    assert token not in pc.log_tail(text)


def test_captured_color_really_has_ansi_codes():
    # Guards the ANSI test above from silently testing plain text.
    assert "\x1b[" in fixture_text("bootstrap-created-color.txt")


def test_captured_claimed():
    res = pc.parse_bootstrap_output(fixture_text("bootstrap-claimed.txt"))
    assert res["outcome"] == "claimed" and res["invite_url"] is None


@pytest.mark.parametrize("name,needle", [
    ("bootstrap-no-config.txt", "No config found at /tmp/"),
    ("bootstrap-db-down.txt", "Could not create bootstrap invite: Failed query"),
])
@pytest.mark.parametrize("wrap", [lambda t: t, cri], ids=["raw", "cri"])
def test_captured_errors(name, needle, wrap):
    res = pc.parse_bootstrap_output(wrap(fixture_text(name)))
    assert res["outcome"] == "error" and needle in res["error"] and res["invite_url"] is None


def test_captured_db_down_tail_keeps_the_context():
    tail = pc.log_tail(fixture_text("bootstrap-db-down.txt"))
    assert "params: instance_admin" in tail and "If using embedded-postgres" in tail


@pytest.mark.parametrize("name,code,state,healthy,fields", [
    ("health-starting.json", 200, "starting", False, ("starting", "bootstrap_pending", False)),
    ("health-ok-bootstrap-pending.json", 200, "ok", True, ("ok", "bootstrap_pending", False)),
    ("health-ok-invite-active.json", 200, "ok", True, ("ok", "bootstrap_pending", True)),
    ("health-ready.json", 200, "ok", True, ("ok", "ready", False)),
    ("health-ready-after-claimed.json", 200, "ok", True, ("ok", "ready", False)),
    ("health-db-unreachable.json", 503, "database_unreachable", False, ("unhealthy", None, None)),
])
def test_captured_health(name, code, state, healthy, fields):
    cap = json.loads(fixture_text(name))
    assert cap["status_code"] == code
    verdict = pc.evaluate_health(cap["status_code"], cap["body"])
    assert (verdict["state"], verdict["healthy"]) == (state, healthy)
    got = pc.health_fields(verdict["body"])
    assert (got["status"], got["bootstrap_status"], got["bootstrap_invite_active"]) == fields
