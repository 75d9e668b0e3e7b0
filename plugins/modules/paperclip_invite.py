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
from ansible_collections.paperclip.kubernetes.plugins.module_utils.invite import Invite
from ansible_collections.paperclip.kubernetes.plugins.module_utils.paperclip import redact


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
