#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: object_info

short_description: Read Kubernetes objects by name from the controller

version_added: 0.1.0

author:
  - paperclip.kubernetes contributors (@paperclipai)

description:
  - Reads one object by kind and name and returns it in RV(resources), as
    M(kubernetes.core.k8s_info) does, for the reads the collection's roles make on
    every run (the instance and database Secrets, the stored invite, a StatefulSet).
  - With O(objects), reads several objects in one task and returns one entry per
    object in RV(results), one task instead of one per read.
  - Runs on the controller (an action plugin), with kubernetes.core's client and
    authentication options, so it starts no module process.
  - An object that does not exist gives an empty RV(resources); a kind the cluster does
    not serve gives an empty RV(resources) and RV(api_found=false). Any other refusal
    fails, naming the object (and, for HTTP 403, where the rights come from).
  - Only reads; supports check mode and never reports a change. Set C(no_log) on
    tasks that read Secrets.

extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options

options:
  api_version:
    description: The object's API version.
    type: str
    default: v1
  kind:
    description:
      - The object's kind.
      - Required with O(name), unless O(objects) is given instead.
    type: str
  name:
    description: The object's name.
    type: str
  namespace:
    description: The object's namespace, for namespaced kinds.
    type: str
  objects:
    description:
      - Several objects to read in one task, instead of O(kind) and O(name).
      - Each gives one entry of RV(results), in the same order.
      - A refused read fails the task, unless that object sets O(objects[].ignore_forbidden)
        and the refusal is HTTP 403.
    type: list
    elements: dict
    suboptions:
      api_version:
        description: The object's API version.
        type: str
        default: v1
      kind:
        description: The object's kind.
        type: str
        required: true
      name:
        description: The object's name.
        type: str
        required: true
      namespace:
        description: The object's namespace, for namespaced kinds.
        type: str
      ignore_forbidden:
        description:
          - An HTTP 403 for this object does not fail the task; its entry carries
            RV(results[].status) and RV(results[].msg) instead.
        type: bool
        default: false
  checks:
    description:
      - Checks of what was read, run in order after the reads succeeded, with the checks of
        M(paperclip.kubernetes.checks) (C(that) with C(msg), C(warn) or C(note); C(when); C(loop)).
        They see this task's result under the task's C(register) name, the way C(failed_when)
        and C(until) see it. The first check that fails fails the task; notes are returned in RV(msg).
      - One task where a read and a M(paperclip.kubernetes.checks) task after it would be two.
    type: list
    elements: raw
    default: []

attributes:
  check_mode:
    description: Reads in check mode too.
    support: full
  diff_mode:
    description: Nothing to diff.
    support: none
  action:
    description: Runs as an action plugin on the controller.
    support: full
"""

EXAMPLES = r"""
- name: Read the instance Secret
  paperclip.kubernetes.object_info:
    kind: Secret
    namespace: paperclip
    name: paperclip-instance
  register: instance_secret
  no_log: true

- name: Read a namespace (which the account may not be allowed to read) and a StatefulSet
  paperclip.kubernetes.object_info:
    objects:
      - kind: Namespace
        name: paperclip
        ignore_forbidden: true
      - api_version: apps/v1
        kind: StatefulSet
        namespace: paperclip
        name: paperclip
  register: found
"""

RETURN = r"""
resources:
  description: The object, as the API returns it, or nothing when it does not exist.
  returned: with O(kind) and O(name)
  type: list
  elements: dict
api_found:
  description: Whether the cluster serves the kind.
  returned: with O(kind) and O(name)
  type: bool
status:
  description: The HTTP status of a refused read (403 when the account lacks the right).
  returned: when the API refused a read
  type: int
results:
  description: One entry per object of O(objects), in the same order.
  returned: with O(objects)
  type: list
  elements: dict
  contains:
    resources:
      description: The object, or nothing when it does not exist.
      type: list
      elements: dict
    api_found:
      description: Whether the cluster serves the kind.
      type: bool
    status:
      description: The HTTP status of a refused read.
      type: int
      returned: when the API refused the read
    msg:
      description: What was refused, naming the object.
      type: str
      returned: when the API refused the read
msg:
  description: The notes of O(checks) that applied, or what a refused read or failed check says.
  returned: when a note applied, or on failure
  type: raw
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.paperclip.kubernetes.plugins.module_utils.action_specs import OBJECT_INFO_RULES, object_info_argspec


def main():
    # The work is done by the action plugin of the same name on the controller.
    module = AnsibleModule(argument_spec=object_info_argspec(), supports_check_mode=True, **OBJECT_INFO_RULES)
    module.fail_json(msg="paperclip.kubernetes.object_info runs as an action plugin on the controller")


if __name__ == "__main__":
    main()
