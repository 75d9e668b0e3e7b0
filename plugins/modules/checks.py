#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: checks

short_description: Check a role's inputs in one task, each check with its own message

version_added: 0.1.0

author:
  - paperclip.kubernetes contributors (@paperclipai)

description:
  - Takes the checks in order, like a chain of M(ansible.builtin.assert) tasks, in one task.
    The first check that fails ends the task with its own message, which names the variable
    and the value it got. Nothing else is evaluated after it.
  - A check with O(checks[].warn) prints a warning instead, when its O(checks[].when) holds, and
    one with O(checks[].note) shows its message in the task's result.
  - Conditions are Jinja expressions without braces, as in M(ansible.builtin.assert).
    A message is rendered only for the check that fails.
  - With O(argument_spec), the role's variables are first validated against that entry point's
    argument spec (the role's C(meta/argument_specs.yml)), as the task Ansible adds to a role
    entry point does, with the same message. A caller that imports the entry point with
    C(rolespec_validate=false) then spares a task.
  - Runs on the controller (an action plugin); reads nothing from the cluster.
  - The same checks are the C(checks) option of M(paperclip.kubernetes.manifests) (run before what
    it applies) and of M(paperclip.kubernetes.object_info) (run after what it reads), which spares a task.

options:
  argument_spec:
    description:
      - The name of an entry point of the role the task is in, such as V(validate).
      - Before the checks, the role's variables are validated against that entry point's options,
        as M(ansible.builtin.validate_argument_spec) does. An invalid one fails the task with the
        message of M(ansible.builtin.validate_argument_spec), and no check runs.
    type: str
  checks:
    description: The checks, taken in order.
    type: list
    elements: dict
    required: true
    suboptions:
      that:
        description: A condition, or a list of conditions that must all hold.
        type: raw
      msg:
        description: The error when a condition of O(checks[].that) does not hold.
        type: str
      warn:
        description: A warning printed when O(checks[].when) holds (instead of O(checks[].that)).
        type: str
      note:
        description:
          - A message shown in the task's result, as M(ansible.builtin.debug) shows its C(msg), when
            O(checks[].when) holds (instead of O(checks[].that)). The notes of the checks that passed
            are the task's C(msg), a list.
        type: str
      when:
        description: A condition, or a list of them; the check applies only when all hold.
        type: raw
      loop:
        description:
          - A template giving a list, or a dict taken as items with C(key) and C(value).
          - The check is taken for each, with the variable C(item) set.
        type: str

attributes:
  check_mode:
    description: Evaluates the same checks; it never changes anything.
    support: full
  diff_mode:
    description: Nothing to show.
    support: none
  action:
    description: Runs as an action plugin on the controller.
    support: full
"""

EXAMPLES = r"""
- name: Check the inputs
  paperclip.kubernetes.checks:
    checks:
      - that: my_name is match('^[a-z][-a-z0-9]*$')
        msg: "my_name must be a DNS label; got {{ my_name | to_json }}."
      - loop: "{{ {'my_cpu': my_cpu, 'my_memory': my_memory} }}"
        that: item.value | paperclip.kubernetes.is_quantity
        msg: "{{ item.key }} must be a Kubernetes quantity; got {{ item.value | to_json }}."
      - when: (my_memory | paperclip.kubernetes.quantity) < 268435456
        warn: "my_memory={{ my_memory }} is below what the server needs."
"""

RETURN = r"""
msg:
  description:
    - The failing check's message, or how many checks passed.
    - The notes (O(checks[].note)) when some were shown, a list of strings.
  returned: always
  type: raw
assertion:
  description: The condition that did not hold.
  returned: failure
  type: str
argument_errors:
  description: What the argument spec validation found wrong, one message each.
  returned: failure of the argument spec validation
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    # The work is done by the action plugin of the same name on the controller.
    module = AnsibleModule(
        argument_spec=dict(argument_spec=dict(type="str"), checks=dict(type="list", elements="dict", required=True, options=dict(
            that=dict(type="raw"), msg=dict(type="str"), warn=dict(type="str"), note=dict(type="str"), when=dict(type="raw"),
            loop=dict(type="str")))),
        supports_check_mode=True)
    module.fail_json(msg="paperclip.kubernetes.checks runs as an action plugin on the controller")


if __name__ == "__main__":
    main()
