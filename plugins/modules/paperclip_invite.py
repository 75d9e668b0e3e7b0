#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: paperclip_invite

short_description: Read the first-admin invite URL from a Paperclip bootstrap Job

version_added: 0.1.0

author:
  - paperclip.kubernetes contributors (@paperclipai)

description:
  - Waits for a Kubernetes Job that runs C(paperclipai auth bootstrap-ceo) to
    complete or fail, reads its pod log through the Kubernetes API and returns
    the bootstrap CEO invite URL and its expiry.
  - A failed Job ends the wait at once, with the tail of the pod log in the
    error; the module never waits for the timeout on a Job that cannot succeed.
  - The CLI exits 0 even when it failed, so the module reads its output. The
    lines C(No config found at ...) and C(Could not create bootstrap invite ...)
    (and any other error line) make the module fail with the log tail.
  - When the instance already has an admin, the CLI prints
    C(Instance already has an admin user); the module then returns
    C(claimed=true) and no URL.
  - Colour codes, box-drawing prefixes and CRI or C(kubectl --timestamps)
    timestamps in the log are ignored.
  - Invite tokens never appear in warnings or failure messages (they are
    replaced by C(<redacted>)). The returned I(invite_url) does hold the token,
    use C(no_log) on tasks that print it.
  - Only reads; supports check mode and never reports a change. In check mode,
    a Job (or a Job of the CronJob) that does not exist gives a skipped
    result with I(invite_url=null) instead of a failure, because the task
    that would have created it did not run.

extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options

options:
  namespace:
    description:
      - Namespace of the Job or CronJob.
    type: str
    required: true
  job:
    description:
      - Name of the Job that runs C(paperclipai auth bootstrap-ceo).
      - Mutually exclusive with I(cronjob); one of the two is required.
    type: str
  cronjob:
    description:
      - Name of a CronJob; the module uses the newest Job that this CronJob owns,
        and waits (within I(timeout)) for one to appear.
      - Mutually exclusive with I(job).
    type: str
  container:
    description:
      - Container whose log holds the CLI output. Defaults to the pod's first container.
    type: str
  timeout:
    description:
      - How many seconds to wait in total for the Job to finish.
    type: int
    default: 300
  interval:
    description:
      - Seconds between two looks at the Job.
    type: int
    default: 2

requirements:
  - "python >= 3.9"
  - "kubernetes >= 24.2.0"
  - "PyYAML >= 3.11"
"""

EXAMPLES = r"""
- name: Create the bootstrap Job
  kubernetes.core.k8s:
    state: present
    src: bootstrap-job.yml

- name: Read the first-admin invite from the Job's log
  paperclip.kubernetes.paperclip_invite:
    namespace: paperclip
    job: paperclip-bootstrap-ceo-1
    timeout: 300
  register: invite
  no_log: true

- name: Tell the operator where to sign up
  ansible.builtin.debug:
    msg: "Open {{ invite.invite_url }} before {{ invite.expires_at }}"
  when: not invite.claimed
  no_log: true

- name: Use the newest Job of a CronJob
  paperclip.kubernetes.paperclip_invite:
    namespace: paperclip
    cronjob: paperclip-bootstrap-ceo
    container: bootstrap
  register: invite
  no_log: true
"""

RETURN = r"""
invite_url:
  description: The bootstrap CEO invite URL (holds the invite token). Null when the instance is claimed, or skipped in check mode.
  returned: always
  type: str
  sample: https://paperclip.example.com/invite/pcp_bootstrap_5dba530cd24af571caf1137e65a7fada1e6399083c3eea53
expires_at:
  description: When the invite expires, ISO 8601 as printed by Paperclip. Null when unknown or no invite was created.
  returned: always
  type: str
  sample: "2026-11-30T07:29:48.853Z"
claimed:
  description: True when the instance already has an admin user, so no invite was created. Null when skipped in check mode.
  returned: always
  type: bool
  sample: false
job:
  description: Name of the Job that was read.
  returned: always
  type: str
  sample: paperclip-bootstrap-ceo-1
pod:
  description: Name of the pod whose log was read. Null when skipped in check mode.
  returned: always
  type: str
  sample: paperclip-bootstrap-ceo-1-x7k2p
msg:
  description: What happened, in words.
  returned: always
  type: str
  sample: Created a bootstrap CEO invite
"""

import copy
import time

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import (
    AnsibleModule,
)
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import (
    AUTH_ARG_SPEC,
)
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import (
    get_api_client,
)
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import (
    AnsibleK8SModule,
)
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


def argspec():
    args = copy.deepcopy(AUTH_ARG_SPEC)
    args.update(
        dict(
            namespace=dict(type="str", required=True),
            job=dict(type="str"),
            cronjob=dict(type="str"),
            container=dict(type="str"),
            timeout=dict(type="int", default=300),
            interval=dict(type="int", default=2),
        )
    )
    return args


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

    # -- steps -----------------------------------------------------------
    def find_job(self):
        params = self.module.params
        if params["job"]:
            job = k8s.get_job(self.client, self.namespace, params["job"])
            if job is None:
                if self.module.check_mode:
                    self.skip("Job {0}/{1}".format(self.namespace, params["job"]), job=params["job"])
                self.fail("Job {0}/{1} not found".format(self.namespace, params["job"]), job=params["job"])
            return job

        cronjob = params["cronjob"]
        if k8s.get_cronjob(self.client, self.namespace, cronjob) is None:
            if self.module.check_mode:
                self.skip("CronJob {0}/{1}".format(self.namespace, cronjob))
            self.fail("CronJob {0}/{1} not found".format(self.namespace, cronjob))
        while True:
            job = newest_job_of_cronjob(k8s.list_jobs(self.client, self.namespace), cronjob)
            if job is not None:
                return job
            if self.module.check_mode:
                self.skip("A Job of CronJob {0}/{1}".format(self.namespace, cronjob))
            if self.out_of_time():
                self.fail("No Job of CronJob {0}/{1} appeared within {2}s".format(self.namespace, cronjob, self.timeout))
            self.pause()

    def pods(self, job):
        for selector in job_pod_selectors(job):
            pods = k8s.list_pods(self.client, self.namespace, selector)
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
            job = k8s.get_job(self.client, self.namespace, name)
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


def main():
    module = AnsibleK8SModule(
        module_class=AnsibleModule,
        argument_spec=argspec(),
        supports_check_mode=True,
        mutually_exclusive=[("job", "cronjob")],
        required_one_of=[("job", "cronjob")],
    )
    try:
        client = get_api_client(module=module)
        Invite(module, client).run()
    except CoreException as e:
        module.fail_json(msg=redact(to_text(e)))


if __name__ == "__main__":
    main()
