# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""Pure parsing and decision functions for the paperclip.kubernetes modules.

Nothing here talks to the network or to Kubernetes, so every branch can be
unit tested on captured real outputs of Paperclip.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re

try:
    from urllib.parse import quote, urlsplit, urlunsplit
except ImportError:  # pragma: no cover - Python 2 is not supported by this collection
    from urlparse import urlsplit, urlunsplit  # type: ignore
    from urllib import quote  # type: ignore


HEALTH_PATH = "/api/health"
BODY_LIMIT = 500
TAIL_LINES = 20

# ---------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------

# Bootstrap tokens look like pcp_bootstrap_<48 hex>; match any suffix so a
# future format change still gets redacted.
_TOKEN_RE = re.compile(r"pcp_bootstrap_[A-Za-z0-9_-]+")
# Any /invite/<token> path, whatever the token format.
_INVITE_PATH_RE = re.compile(r"(/invite/)[^\s/?#\"']+")
REDACTED = "<redacted>"


def redact(text):
    """Remove invite tokens from text meant for messages, warnings or errors."""
    if text is None:
        return None
    text = _TOKEN_RE.sub("pcp_bootstrap_" + REDACTED, text)
    return _INVITE_PATH_RE.sub(lambda m: m.group(1) + REDACTED, text)


def truncate(text, limit=BODY_LIMIT):
    if text is None:
        return None
    if len(text) <= limit:
        return text
    return text[:limit] + "... ({0} more characters)".format(len(text) - limit)


# ---------------------------------------------------------------------------
# Log cleaning: ANSI colours, CRI / kubectl timestamps, clack box drawing
# ---------------------------------------------------------------------------

# CSI sequences (colours, cursor moves) and OSC sequences (hyperlinks, titles).
_ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_TS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})"
# CRI log file line: "<RFC3339Nano> stdout|stderr F|P <text>".
_CRI_RE = re.compile(r"^" + _TS + r" (?:stdout|stderr) [FP] ?")
# `kubectl logs --timestamps` / API timestamps=true: "<RFC3339Nano> <text>".
_KUBECTL_TS_RE = re.compile(r"^" + _TS + r"(?: |$)")
# The CLI prints through @clack/prompts: a bar or a symbol, then two spaces.
# Unicode symbols, and the ASCII fallbacks clack uses on dumb terminals
# (these need two spaces after them so a word is never eaten).
_UNICODE_PREFIX_RE = re.compile(
    u"^[ \t]*[\u2502\u2503\u250c\u2514\u251c\u25c6\u25c7\u25cf\u25cb\u25a0\u25b2\u25b3"
    u"\u2022\u2714\u2716\u26a0\u25d2\u25d0\u25d3\u25d1]")
_ASCII_PREFIX_RE = re.compile(r"^[ \t]*[|*xo!T\u2014-](?: {2,}|$)")

SYMBOL_ERROR = u"\u25a0"  # clack log.error
SYMBOL_ERROR_ALT = u"\u2716"


def strip_ansi(text):
    return _ANSI_RE.sub("", text)


def clean_line(line):
    """Return (symbol, text) for one raw log line.

    symbol is the leading clack symbol ('' if none), text the message with
    timestamps, colours, box-drawing prefixes and surrounding blanks removed.
    """
    line = line.rstrip("\r\n")
    line = _CRI_RE.sub("", line)
    line = strip_ansi(line)
    # The timestamp may come before or after colouring; strip it again.
    line = _KUBECTL_TS_RE.sub("", line)
    line = line.replace("\r", "")
    symbol = ""
    while True:
        m = _UNICODE_PREFIX_RE.match(line) or _ASCII_PREFIX_RE.match(line)
        if not m:
            break
        found = m.group(0).strip()
        # Keep the most meaningful symbol: anything beats a plain bar.
        if found not in (u"\u2502", u"\u2503", "|") or not symbol:
            symbol = found
        line = line[m.end():]
    return symbol, line.strip()


def clean_log(text):
    """Clean a whole log; returns a list of (symbol, text), blank lines dropped."""
    out = []
    for raw in (text or "").splitlines():
        symbol, line = clean_line(raw)
        if line:
            out.append((symbol, line))
    return out


def log_tail(text, lines=TAIL_LINES):
    """The last lines of a log, cleaned and with tokens redacted."""
    cleaned = [line for _symbol, line in clean_log(text)]
    if not cleaned:
        return "(empty log)"
    return redact("\n".join(cleaned[-lines:]))


# ---------------------------------------------------------------------------
# `paperclipai auth bootstrap-ceo` output
# ---------------------------------------------------------------------------

_URL_RE = re.compile(r"^Invite URL:\s*(\S+)")
_EXPIRES_RE = re.compile(r"^Expires:\s*(\S+)")
_CLAIMED_RE = re.compile(r"Instance already has an admin user", re.I)
_CREATED_RE = re.compile(r"Created bootstrap CEO invite", re.I)
_KNOWN_ERRORS = (
    re.compile(r"No config found at", re.I),
    re.compile(r"Could not create bootstrap invite", re.I),
)


def parse_iso8601(value):
    """Return a datetime for an ISO 8601 timestamp as Paperclip prints it, or None."""
    if not value:
        return None
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    # datetime.fromisoformat() before 3.11 takes at most 6 fractional digits.
    m = re.match(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?([+-]\d{2}:?\d{2})?$", text)
    if not m:
        return None
    base, frac, tz = m.group(1), m.group(2), m.group(3)
    if frac:
        base += "." + (frac + "000000")[:6]
    if tz:
        if ":" not in tz:
            tz = tz[:3] + ":" + tz[3:]
        base += tz
    try:
        return datetime.datetime.fromisoformat(base)
    except ValueError:
        return None


def parse_bootstrap_output(text):
    """Interpret the stdout of `paperclipai auth bootstrap-ceo`.

    The CLI exits 0 even when it failed, so the outcome is read from its
    lines. Returns a dict:
      outcome: created | claimed | error | unrecognised
      invite_url, expires_at (created only), error (error only, redacted),
      warnings (list, redacted).
    When several outcomes are printed (a restarted container appends to the
    same log), the last one wins: a later invite revokes earlier ones.
    """
    lines = clean_log(text)
    result = dict(outcome="unrecognised", invite_url=None, expires_at=None, error=None, warnings=[])
    last = None  # (index, outcome)
    url = expires = None
    url_index = -1
    errors = []
    for index, (symbol, line) in enumerate(lines):
        m = _URL_RE.match(line)
        if m:
            url, url_index, expires = m.group(1), index, None
            last = (index, "created")
            continue
        m = _EXPIRES_RE.match(line)
        if m:
            # Only an Expires line after the last URL belongs to it.
            if url_index >= 0:
                expires = m.group(1)
            continue
        if _CLAIMED_RE.search(line):
            last = (index, "claimed")
            continue
        if _CREATED_RE.search(line):
            continue
        if any(p.search(line) for p in _KNOWN_ERRORS) or symbol in (SYMBOL_ERROR, SYMBOL_ERROR_ALT):
            errors.append(line)
            last = (index, "error")

    if last is None:
        return result
    outcome = last[1]
    result["outcome"] = outcome
    if outcome == "error":
        # Report the errors printed after the last success, if any.
        result["error"] = redact(errors[-1])
        return result
    if outcome == "claimed":
        return result

    if not re.match(r"^https?://[^\s/]+.*/invite/\S+$", url):
        result["outcome"] = "error"
        result["error"] = "the Invite URL line does not hold an http(s) URL with /invite/: {0}".format(redact(url))
        return result
    result["invite_url"] = url
    if expires is None:
        result["warnings"].append("the output has no Expires line after the Invite URL; expires_at is unknown")
    elif parse_iso8601(expires) is None:
        result["warnings"].append("the Expires value is not an ISO 8601 timestamp: {0}".format(redact(truncate(expires, 80))))
    else:
        result["expires_at"] = expires
    return result


# ---------------------------------------------------------------------------
# Kubernetes Job state
# ---------------------------------------------------------------------------


def _condition_true(job, cond_type):
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == cond_type and str(cond.get("status")) == "True":
            return cond
    return None


def job_state(job):
    """Return (state, reason) for a Job dict: state is complete, failed or running.

    Failed is recognised as soon as the controller decides it (FailureTarget,
    or failed pods beyond backoffLimit), so nobody waits for a Job that
    will never succeed.
    """
    spec = job.get("spec") or {}
    status = job.get("status") or {}
    for cond_type in ("Failed", "FailureTarget"):
        cond = _condition_true(job, cond_type)
        if cond:
            return "failed", "{0}: {1}".format(cond.get("reason") or cond_type, cond.get("message") or "").rstrip(": ")
    for cond_type in ("Complete", "SuccessCriteriaMet"):
        if _condition_true(job, cond_type):
            return "complete", cond_type
    completions = spec.get("completions")
    if completions is None:
        completions = 1
    if (status.get("succeeded") or 0) >= max(completions, 1):
        return "complete", "succeeded={0}".format(status.get("succeeded"))
    backoff = spec.get("backoffLimit")
    if backoff is None:
        backoff = 6
    failed = status.get("failed") or 0
    if failed > backoff:
        return "failed", "failed={0} > backoffLimit={1}".format(failed, backoff)
    return "running", "active={0} succeeded={1} failed={2}".format(
        status.get("active") or 0, status.get("succeeded") or 0, failed)


def _created(obj):
    meta = obj.get("metadata") or {}
    return (meta.get("creationTimestamp") or "", meta.get("name") or "")


def newest_job_of_cronjob(jobs, cronjob):
    """The newest Job (dict) owned by the CronJob named cronjob, or None."""
    owned = []
    for job in jobs:
        for ref in (job.get("metadata") or {}).get("ownerReferences") or []:
            if ref.get("kind") == "CronJob" and ref.get("name") == cronjob:
                owned.append(job)
                break
    if not owned:
        return None
    # RFC 3339 timestamps in UTC sort as strings; the name breaks ties
    # (CronJob Job names end with the scheduled minute).
    return sorted(owned, key=_created)[-1]


def sort_pods_newest_first(pods):
    return sorted(pods, key=_created, reverse=True)


def label_selector(labels):
    """A label selector string for exact matches, e.g. "a=1,b=2" (keys sorted)."""
    return ",".join("{0}={1}".format(k, v) for k, v in sorted((labels or {}).items()))


def job_pod_selectors(job):
    """Label selectors that find the Job's pods, most precise first."""
    name = (job.get("metadata") or {}).get("name")
    selectors = []
    match = ((job.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if match:
        selectors.append(label_selector(match))
    selectors.append("batch.kubernetes.io/job-name={0}".format(name))
    selectors.append("job-name={0}".format(name))
    return selectors


def pod_summary(pod):
    """A one-line description of a pod's state, for timeout messages."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    parts = ["pod {0}: phase {1}".format(meta.get("name"), status.get("phase") or "unknown")]
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        for key in ("waiting", "terminated"):
            if state.get(key):
                detail = state[key]
                parts.append("{0} {1} {2}".format(cs.get("name"), key, detail.get("reason") or ""))
    return redact(", ".join(p.strip() for p in parts))


# ---------------------------------------------------------------------------
# Health
# ---------------------------------------------------------------------------


def health_url(url):
    """Accept a base URL (https://host[/prefix]) or the full /api/health URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("url must be an http:// or https:// URL, got {0!r}".format(url))
    path = parts.path.rstrip("/")
    if not path.endswith(HEALTH_PATH):
        path = path + HEALTH_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def service_proxy_path(namespace, service, port="http", scheme="http"):
    """The API server path that proxies to <service>:<port>/api/health."""
    name = "{0}:{1}:{2}".format(scheme, service, port)
    return "/api/v1/namespaces/{0}/services/{1}/proxy{2}".format(
        quote(namespace, safe=""), quote(name, safe=":"), HEALTH_PATH)


def pod_proxy_path(namespace, pod, port, scheme="http"):
    """The API server path that proxies to <pod>:<port>/api/health (port: a number)."""
    name = "{0}:{1}:{2}".format(scheme, pod, port)
    return "/api/v1/namespaces/{0}/pods/{1}/proxy{2}".format(
        quote(namespace, safe=""), quote(name, safe=":"), HEALTH_PATH)


def no_endpoints(status, text):
    """True for the API server's own 503 for a Service whose pods are all unready."""
    return status == 503 and "no endpoints available" in (text or "") and '"Status"' in (text or "")


def parse_json_object(text):
    """The body as a dict, or None when it is not a JSON object."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _mentions_db_unreachable(body):
    for key in ("error", "code", "status", "reason"):
        value = body.get(key)
        if isinstance(value, str) and "database_unreachable" in value.lower():
            return True
        if isinstance(value, dict) and _mentions_db_unreachable(value):
            return True
    return False


def health_fields(body):
    """The documented return values taken from a health body (dict or None)."""
    body = body or {}
    active = body.get("bootstrapInviteActive")
    return dict(
        status=body.get("status"),
        bootstrap_status=body.get("bootstrapStatus"),
        bootstrap_invite_active=bool(active) if active is not None else None,
        deployment_mode=body.get("deploymentMode"),
        deployment_exposure=body.get("deploymentExposure"),
    )


def evaluate_health(http_status, body_text):
    """Decide what one probe of /api/health means.

    Returns dict(healthy, state, message, body) where body is the parsed
    JSON object or None. States: ok, starting, database_unreachable,
    host_not_allowed, kubernetes_error, not_json, unhealthy.
    Healthy means HTTP 200 and status "ok"; 200 with "starting" is not.
    """
    body = parse_json_object(body_text)
    shown = truncate(redact(body_text or ""))
    if body is not None and body.get("kind") == "Status" and "apiVersion" in body:
        # The API server answered itself (no endpoints, RBAC, bad port name).
        return dict(healthy=False, state="kubernetes_error", body=body,
                    message="the Kubernetes API server answered HTTP {0}: {1}".format(
                        http_status, truncate(redact(str(body.get("message") or body_text)))))
    if body is not None and _mentions_db_unreachable(body):
        return dict(healthy=False, state="database_unreachable", body=body,
                    message="Paperclip reports that its database is unreachable (HTTP {0} database_unreachable)".format(
                        http_status))
    if http_status == 403 and body is not None and "hostname is not allowed" in str(body.get("error", "")).lower():
        return dict(healthy=False, state="host_not_allowed", body=body,
                    message="Paperclip refused the Host header (HTTP 403): {0} "
                            "Add the host to the allowed hostnames or set host_header.".format(shown))
    if body is None:
        return dict(healthy=False, state="not_json", body=None,
                    message="HTTP {0} with a body that is not a JSON object "
                            "(is this the Paperclip API?): {1!r}".format(http_status, shown))
    status = body.get("status")
    if http_status == 200 and status == "ok":
        return dict(healthy=True, state="ok", body=body, message="Paperclip is healthy")
    if status == "starting":
        return dict(healthy=False, state="starting", body=body,
                    message="Paperclip is still starting (HTTP {0}, status starting)".format(http_status))
    return dict(healthy=False, state="unhealthy", body=body,
                message="HTTP {0}, status {1!r}: {2}".format(http_status, status, shown))
