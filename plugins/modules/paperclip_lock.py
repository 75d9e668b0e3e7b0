#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: paperclip_lock

short_description: Take or release an instance's run lock, so one playbook run at a time changes it

version_added: 0.1.0

author:
  - paperclip.kubernetes contributors (@paperclipai)

description:
  - The lock is a C(coordination.k8s.io/v1) Lease named C(<instance>-run-lock) in the
    instance's namespace. Its holder is the C(ansible-playbook) process that runs the
    task, written C(user@host:pid); every task of one run is the same holder, so taking
    the lock again in the same run renews it.
  - A run that finds the lock held by another run waits up to O(wait) seconds, then
    fails with a message naming the holder, its play, since when it holds the lock and
    when the lock expires; nothing is written.
  - A lock left by a run that died is taken over, with a warning, once its O(duration)
    has passed since it was taken, or at once when its holder ran on this machine and
    its process is gone.
  - O(state=absent) deletes the Lease only if this run holds it (with the Lease's
    resourceVersion as a precondition, so a take-over in between is not undone).
  - Without the namespace there is nothing of the instance to guard; the task says so
    and takes no lock.
  - Runs on the controller (an action plugin), with kubernetes.core's client and
    authentication options. Never reports a change, since the Lease lives only as long as the run.

extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options

options:
  instance:
    description: The instance's name (C(paperclip_name)); the Lease is C(<instance>-run-lock).
    type: str
    required: true
  namespace:
    description: The instance's namespace.
    type: str
    required: true
  state:
    description: C(present) takes (or renews) the lock; C(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description: Seconds to wait for another run's lock before failing; 0 fails at once.
    type: int
    default: 0
  duration:
    description:
      - Seconds the lock holds without renewal; a lock older than this is taken over.
        Longer than the longest run (the collection's waits are 600 s at most each).
    type: int
    default: 3600

attributes:
  check_mode:
    description: Reads the Lease only; a lock held by another run is a warning, since a check writes nothing.
    support: full
  diff_mode:
    description: No diff; the lock is not part of the instance.
    support: none
  action:
    description: Runs as an action plugin on the controller.
    support: full

notes:
  - Clocks of controllers that share an instance should agree within a small part of
    O(duration); expiry compares the Lease's renewTime with the local clock.
  - The invite rotation CronJob runs inside the cluster and does not take this lock; it
    only acts while nobody has claimed the instance.
"""

EXAMPLES = r"""
- name: Deploy while holding the instance's run lock
  block:
    - name: Take the run lock
      paperclip.kubernetes.paperclip_lock:
        instance: paperclip
        namespace: paperclip
        wait: 300

    - name: The deploy's tasks
      ansible.builtin.debug:
        msg: ...
  always:
    - name: Release the run lock
      paperclip.kubernetes.paperclip_lock:
        instance: paperclip
        namespace: paperclip
        state: absent
"""

RETURN = r"""
holder:
  description: This run's identity, C(user@host:pid).
  returned: always
  type: str
lease:
  description: The Lease's name.
  returned: always
  type: str
acquired:
  description: Whether this task took or renewed the lock.
  returned: when O(state=present) and not in check mode
  type: bool
took_over:
  description: The holder of an expired or dead lock that was taken over.
  returned: when a lock was taken over
  type: str
busy:
  description: In check mode, whether another run holds the lock.
  returned: in check mode when another run holds the lock
  type: bool
released:
  description: Whether this task deleted the Lease.
  returned: when O(state=absent) and this run held the lock
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.paperclip.kubernetes.plugins.module_utils.action_specs import lock_argspec


def main():
    # The work is done by the action plugin of the same name on the controller.
    module = AnsibleModule(argument_spec=lock_argspec(), supports_check_mode=True)
    module.fail_json(msg="paperclip.kubernetes.paperclip_lock runs as an action plugin on the controller")


if __name__ == "__main__":
    main()
