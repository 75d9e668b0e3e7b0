# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""The one apply path of the collection (controller side), used by the manifests action.

Every role hands its templates to paperclip.kubernetes.manifests; this file holds what
that action does with the rendered objects: server-side apply with one field manager,
create-only and absent objects, waits (rolled-out workloads, finished Jobs with their
outcome line), diffs and failure messages with Secret values hidden, and the render file.
Functions without an API client are unit-tested on their own (tests/unit/plugins).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re
import time

from ansible_collections.paperclip.kubernetes.plugins.module_utils import paperclip

FIELD_MANAGER = "paperclip.kubernetes"
HIDDEN = "<hidden>"
HIDDEN_CHANGED = "<hidden, changed>"
# Kinds whose values never leave the action: diffs and messages show keys only.
SECRET_KINDS = ("Secret",)
JOB_FAILED_LINE = re.compile(r"^[A-Z0-9_]+_FAILED (.*)$")


def object_ref(doc):
    meta = doc.get("metadata") or {}
    ns = meta.get("namespace")
    return "{0} {1}{2}".format(doc.get("kind"), (ns + "/") if ns else "", meta.get("name"))


def secret_values(docs):
    """Every value a Secret of docs carries, longest first (for redact), except values the
    manifests show anyway: a database or user name that is also part of object names
    ("paperclip"), a port. Redacting those would turn every message into asterisks."""
    import json

    values = set()
    public = []
    for doc in docs:
        if doc.get("kind") not in SECRET_KINDS:
            public.append(doc)
            continue
        public.append(doc.get("metadata") or {})
        for field in ("data", "stringData"):
            for value in (doc.get(field) or {}).values():
                if isinstance(value, str) and len(value) >= 4:
                    values.add(value)
    shown = json.dumps(public)
    return sorted((v for v in values if v not in shown), key=len, reverse=True)


def redact(text, values):
    text = str(text)
    for value in values:
        text = text.replace(value, "********")
    return text


def mask_secret_pair(before, after):
    """Copies of a Secret's before/after with every value replaced by a marker that says
    only whether it is new or changed. stringData (what we send) and data (what the API returns)
    are compared as one map."""
    import base64

    def values(doc):
        out = {}
        for key, value in ((doc or {}).get("data") or {}).items():
            try:
                out[key] = base64.b64decode(value).decode("utf-8", "replace")
            except Exception:
                out[key] = value
        out.update(((doc or {}).get("stringData") or {}))
        return out

    old, new = values(before), values(after)

    def masked(doc, values, marker):
        if doc is None:
            return None
        doc = copy.deepcopy(doc)
        doc.pop("stringData", None)
        doc["data"] = dict((k, marker(k, v)) for k, v in sorted(values.items()))
        return doc

    # The before side shows every key as hidden; the after side marks new and changed
    # values, so a diff shows which key changed and nothing of any value.
    return (masked(before, old, lambda k, v: HIDDEN),
            masked(after, new, lambda k, v: HIDDEN if before is not None and old.get(k) == v else HIDDEN_CHANGED))


def strip_server_fields(doc):
    """The object as a user would write it: no status, no server-managed metadata."""
    if doc is None:
        return None
    doc = copy.deepcopy(doc)
    doc.pop("status", None)
    meta = doc.get("metadata") or {}
    for key in ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"):
        meta.pop(key, None)
    return doc


def render_file_update(old, run_id, role, sources):
    """The new text of a render file and whether this call changed any of its documents.

    old is the file's text (or None); sources maps template -> rendered text. Documents
    are headed '# Source: role/template'. The file starts with '# run: <run_id>': a file
    from this run (an earlier call of the same role) is added to, a file from an earlier
    run is replaced, so objects turned off since do not linger. Only this call's
    documents count as changed, so rendering twice reports no change."""
    header = "# run: {0}\n".format(run_id)
    body = old or ""
    same_run = body.startswith(header)
    if body.startswith("# run: "):
        body = body.split("\n", 1)[1] if "\n" in body else ""
    previous = {}
    for doc in body.split("\n---\n"):
        doc = doc.strip("\n").lstrip("-").strip("\n")
        if doc.startswith("# Source: "):
            previous[doc.splitlines()[0]] = doc
    docs = dict(previous) if same_run else {}
    changed = False
    for template, text in sources.items():
        name = "# Source: {0}/{1}".format(role, template)
        doc = "{0}\n{1}".format(name, text.strip("\n"))
        changed = changed or previous.get(name) != doc
        docs[name] = doc
    return header + "---\n" + "\n---\n".join(docs.values()) + "\n", changed


def job_state(job):
    """'Complete', 'Failed' or None (still running) for a Job dict: the modules' own
    reading of a Job (module_utils/paperclip.py), in the action's words."""
    return {"complete": "Complete", "failed": "Failed"}.get(paperclip.job_state(job or {})[0])


def missing_volume(pods):
    """The scheduler's message for a pending pod whose PersistentVolumeClaim does not
    exist (it would wait for it forever), or None."""
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase") != "Pending":
            continue
        for cond in status.get("conditions") or []:
            message = cond.get("message") or ""
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False" \
                    and "persistentvolumeclaim" in message and "not found" in message:
                return message
    return None


def job_failure_message(what, job, outcome, log_tail):
    """Why a Job failed: its own outcome line ('X_FAILED reason'), else its conditions
    and its last log lines."""
    meta = job.get("metadata") or {}
    match = JOB_FAILED_LINE.match(outcome or "")
    if match:
        reason = match.group(1)
    else:
        conditions = "; ".join(c.get("message") or c.get("reason") or "" for c in
                               (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True")
        reason = "the Job did not finish ({0}); last log lines: {1}".format(
            conditions or "no reason given", " | ".join(log_tail) or "none")
    return "{0} failed (Job {1}/{2}): {3}. See: kubectl -n {1} logs job/{2} --all-containers".format(
        what, meta.get("namespace"), meta.get("name"), reason)


def pod_problems(pods):
    """Short reasons why pods are not ready (waiting reasons, last terminations)."""
    problems = []
    for pod in pods:
        name = pod["metadata"]["name"]
        status = pod.get("status") or {}
        for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            last = (cs.get("lastState") or {}).get("terminated")
            if state.get("waiting"):
                w = state["waiting"]
                problems.append("{0}/{1}: {2} {3}".format(name, cs["name"], w.get("reason", ""), w.get("message", "")).strip())
            elif last and not cs.get("ready"):
                problems.append("{0}/{1}: last exit {2} ({3})".format(name, cs["name"], last.get("exitCode"), last.get("reason", "")))
        if not status.get("containerStatuses") and status.get("phase") == "Pending":
            for cond in status.get("conditions") or []:
                if cond.get("status") == "False" and cond.get("message"):
                    problems.append("{0}: {1}".format(name, cond["message"]))
    return problems


# Waiting reasons of a container that will not start without a change: a pod at an
# old revision in one of these is replaced during a rollout (see stuck_at_old_revision).
STUCK_REASONS = frozenset(["CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull",
                           "InvalidImageName", "CreateContainerConfigError", "CreateContainerError",
                           "RunContainerError"])


def stuck_at_old_revision(pod, update_revision):
    """True for a pod of a StatefulSet that is not at update_revision, not ready, and whose
    containers cannot start (STUCK_REASONS) or keep exiting. The StatefulSet controller
    never replaces such a pod by itself, so reverting a broken template alone would wait
    forever ("forced rollback" in the Kubernetes StatefulSet documentation). A pod already
    being deleted (by an earlier poll, or by the controller's own rolling update) is not."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    if not update_revision or (meta.get("labels") or {}).get("controller-revision-hash") == update_revision:
        return False
    if meta.get("deletionTimestamp"):
        return False
    if any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []):
        return False
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in STUCK_REASONS or (cs.get("restartCount") or 0) > 0:
            return True
    return False


# The longest a wait goes without reading its object (and the pods) again when
# nothing changed; a change ends the pause at once (a watch).
PAUSE_SECONDS = 5


def wait_until(fetch, done, timeout, interval=1.0, clock=time.monotonic, sleep=time.sleep, transient=None,
               pause=None):
    """Call fetch() until done(result) or timeout seconds pass; returns (ok, last result).
    An exception for which transient(exc) is true (the API server restarting, say) is
    waited out like a result that is not done yet, and raised again at the deadline.
    pause(result, seconds_left), when given, replaces the sleep after a result that is
    not done: it may return as soon as the object changes. It returns False when it
    could not wait that way, and the plain sleep follows."""
    deadline = clock() + timeout
    while True:
        try:
            result = fetch()
        except Exception as exc:
            if transient is None or not transient(exc) or clock() >= deadline:
                raise
        else:
            if done(result):
                return True, result
            if clock() >= deadline:
                return False, result
            if pause is not None and pause(result, deadline - clock()):
                continue
        sleep(interval)
