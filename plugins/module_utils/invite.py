# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""What paperclip_invite does: find the bootstrap Job, wait for it, read the Invite URL from its log."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import (
    CoreException,
)
from ansible_collections.paperclip.kubernetes.plugins.module_utils import (
    k8s_helpers as k8s,
)
from ansible_collections.paperclip.kubernetes.plugins.module_utils.paperclip import (
    job_pod_selectors,
    job_state,
    log_tail,
    newest_job_of_cronjob,
    parse_bootstrap_output,
    pod_summary,
    redact,
    sort_pods_newest_first,
)


class Invite:
    """Finds the Job, waits for it, reads and interprets its pod log."""

    def __init__(self, module, client, clock=time.monotonic, sleep=time.sleep):
        self.module = module
        self.client = client
        self.clock = clock
        self.sleep = sleep
        params = module.params
        self.namespace = params["namespace"]
        self.timeout = max(params["timeout"], 0)
        self.interval = max(params["interval"], 1)
        self.container = params["container"]
        self.start = clock()

    # -- results ---------------------------------------------------------
    def result(self, **kwargs):
        out = dict(changed=False, invite_url=None, expires_at=None, claimed=None, job=None, pod=None)
        out.update(kwargs)
        return out

    def fail(self, msg, **kwargs):
        # Last guard: nothing that leaves through a failure carries a token.
        self.module.fail_json(msg=redact(msg), **self.result(**kwargs))

    def skip(self, what, job=None):
        self.module.exit_json(
            skipped=True,
            msg="{0} does not exist; in check mode it was not created, so there is no invite to read".format(what),
            **self.result(job=job))

    def elapsed(self):
        return self.clock() - self.start

    def out_of_time(self):
        return self.elapsed() >= self.timeout

    def pause(self):
        # The last pause is shortened so that one look happens at the deadline.
        self.sleep(max(0, min(self.interval, self.timeout - self.elapsed())))

    def read(self, what, *args):
        """what(self.client, self.namespace, *args), with the API server restarting (no
        connection, HTTP 429 or 5xx) waited out until the timeout, as in the wait itself.
        A run that gave up on its first read left its Job behind, running alone, and a
        re-run made a second invite beside it (tests/e2e/test_faults.py)."""
        while True:
            try:
                return what(self.client, self.namespace, *args)
            except Exception as exc:
                if not k8s.is_transient(exc) or self.out_of_time():
                    raise
            self.pause()

    # -- steps -----------------------------------------------------------
    def find_job(self):
        params = self.module.params
        if params["job"]:
            job = self.read(k8s.get_job, params["job"])
            if job is None:
                if self.module.check_mode:
                    self.skip("Job {0}/{1}".format(self.namespace, params["job"]), job=params["job"])
                self.fail("Job {0}/{1} not found".format(self.namespace, params["job"]), job=params["job"])
            return job

        cronjob = params["cronjob"]
        if self.read(k8s.get_cronjob, cronjob) is None:
            if self.module.check_mode:
                self.skip("CronJob {0}/{1}".format(self.namespace, cronjob))
            self.fail("CronJob {0}/{1} not found".format(self.namespace, cronjob))
        while True:
            job = newest_job_of_cronjob(self.read(k8s.list_jobs), cronjob)
            if job is not None:
                return job
            if self.module.check_mode:
                self.skip("A Job of CronJob {0}/{1}".format(self.namespace, cronjob))
            if self.out_of_time():
                self.fail("No Job of CronJob {0}/{1} appeared within {2}s".format(self.namespace, cronjob, self.timeout))
            self.pause()

    def pods(self, job):
        for selector in job_pod_selectors(job):
            pods = self.read(k8s.list_pods, selector)
            if pods:
                return sort_pods_newest_first(pods)
        return []

    def container_of(self, pod):
        if self.container:
            return self.container
        containers = (pod.get("spec") or {}).get("containers") or []
        return containers[0].get("name") if containers else None

    def read_log(self, pod):
        return k8s.read_pod_log(self.client, self.namespace, pod["metadata"]["name"], self.container_of(pod))

    def tail_of(self, pod):
        """The redacted log tail of a pod, or why it could not be read."""
        try:
            return log_tail(self.read_log(pod))
        except CoreException as exc:
            return "(log unavailable: {0})".format(redact(to_text(exc)))

    def run(self):
        job = self.find_job()
        name = job["metadata"]["name"]
        while True:
            state, reason = job_state(job)
            if state != "running":
                break
            if self.out_of_time():
                pods = self.pods(job)
                detail = "; ".join(pod_summary(p) for p in pods[:3]) or "no pods"
                tail = self.tail_of(pods[0]) if pods else "(no pod)"
                self.fail("Timed out after {0:.0f}s waiting for Job {1}/{2} to finish ({3}; {4}). Log tail:\n{5}".format(
                    self.elapsed(), self.namespace, name, reason, detail, tail), job=name)
            self.pause()
            try:
                job = k8s.get_job(self.client, self.namespace, name)
            except Exception as exc:
                # The API server restarting is waited out like a Job still running.
                if not k8s.is_transient(exc):
                    raise
                continue
            if job is None:
                self.fail("Job {0}/{1} disappeared while waiting for it".format(self.namespace, name), job=name)

        pods = self.pods(job)
        if state == "failed":
            # The newest pod that failed explains it best.
            pods = [p for p in pods if (p.get("status") or {}).get("phase") == "Failed"] or pods
            if pods:
                pod = pods[0]["metadata"]["name"]
                tail = "Log tail of pod {0}:\n{1}".format(pod, self.tail_of(pods[0]))
            else:
                pod, tail = None, "No pod of the Job is left to read a log from."
            self.fail("Job {0}/{1} failed ({2}). {3}".format(self.namespace, name, reason, tail), job=name, pod=pod)

        # Complete: the log of the newest pod that succeeded holds the output.
        succeeded = [p for p in pods if (p.get("status") or {}).get("phase") == "Succeeded"] or pods
        if not succeeded:
            self.fail("Job {0}/{1} completed but none of its pods is left to read the log from "
                      "(ttlSecondsAfterFinished too short?)".format(self.namespace, name), job=name)
        pod = succeeded[0]
        pod_name = pod["metadata"]["name"]
        try:
            text = self.read_log(pod)
        except CoreException as exc:
            self.fail("Job {0}/{1} completed but the log of pod {2} could not be read: {3}".format(
                self.namespace, name, pod_name, to_text(exc)), job=name, pod=pod_name)
        parsed = parse_bootstrap_output(text)
        for warning in parsed["warnings"]:
            self.module.warn(redact(warning))
        outcome = parsed["outcome"]
        if outcome == "created":
            self.module.exit_json(msg="Created a bootstrap CEO invite", **self.result(
                invite_url=parsed["invite_url"], expires_at=parsed["expires_at"], claimed=False, job=name, pod=pod_name))
        if outcome == "claimed":
            self.module.exit_json(msg="The instance already has an admin user; no invite was created",
                                  **self.result(claimed=True, job=name, pod=pod_name))
        if outcome == "error":
            why = "paperclipai auth bootstrap-ceo failed: {0}".format(parsed["error"])
        else:
            why = "the log does not look like the output of paperclipai auth bootstrap-ceo (no Invite URL, no known message)"
        self.fail("Job {0}/{1} completed but {2}. Log tail of pod {3}:\n{4}".format(
            self.namespace, name, why, pod_name, log_tail(text)), job=name, pod=pod_name)
