#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: manifests

short_description: Render a role's templates and apply them with server-side apply, or write them to a file

version_added: 0.2.0

author:
  - paperclip.kubernetes contributors (@paperclipai)

description:
  - The one apply path of the collection's roles. Renders each template once (from the
    role's C(templates/) directory, with the task's variables) and applies every object
    with server-side apply under the field manager C(paperclip.kubernetes), forcing
    conflicts, in one task.
  - Runs on the controller (an action plugin, like kubernetes.core's lookup plugins),
    with kubernetes.core's client and authentication options; module_defaults for
    C(group/kubernetes.core.k8s) or C(group/paperclip.kubernetes.paperclip) apply.
  - Per-object behaviour is data in the O(templates) list; removal (O(templates[].state=absent)),
    create-once objects (O(templates[].create_only)), waits for a rolled-out workload or a
    finished Job (O(templates[].wait)), and the Job's outcome line (O(templates[].outcome)).
  - Secret values never leave the action; diffs show a Secret's keys with
    C(<hidden>) or C(<hidden, changed>), and failure messages have its values replaced
    by C(********).
  - In check mode objects are applied as a server-side dry run; objects in a namespace
    that does not exist yet (it exists only as a dry run, and the API refuses dry runs
    inside it) are reported as would be created. Diff mode returns a diff per changed object.
  - "With O(render_dir) set nothing is sent to the cluster; the objects are written to
    C(<render_dir>/<inventory_hostname>-<role>.yaml), each headed C(# Source: <role>/<template>)."

extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options

options:
  templates:
    description:
      - The templates to render and apply, in order. An item is a template name, or a
        dictionary with the keys below.
      - Waits run after every object of the task has been applied.
    type: list
    elements: raw
    required: true
    suboptions:
      template:
        description:
          - The template's name, looked up like M(ansible.builtin.template)'s C(src).
          - Without a template, an item with O(templates[].state=absent) names what to remove with
            O(templates[].api_version), O(templates[].kind), O(templates[].namespace) and either
            O(templates[].name) or O(templates[].label_selector). A kind the API does not serve
            (a provider's CRD never installed) has nothing to remove.
          - Without a template, an item with O(templates[].state=present) and O(templates[].wait=true)
            names an object applied earlier, by O(templates[].name), to wait for without applying
            it again (so a later task can wait while the cluster works on several objects).
        type: str
      api_version:
        description: API version of the objects to remove or wait for (without a template).
        type: str
      kind:
        description: Kind of the objects to remove or wait for (without a template).
        type: str
      name:
        description: Name of the object to remove or wait for (without a template).
        type: str
      namespace:
        description: Namespace of the objects to remove or wait for (without a template).
        type: str
      label_selector:
        description: Remove every object of the kind in the namespace that this label selector matches.
        type: str
      enabled:
        description: Leave the item out altogether (neither applied nor removed nor rendered) when false.
        type: bool
        default: true
      state:
        description: C(present) applies the object; C(absent) deletes it if it exists.
        type: str
        choices: [present, absent]
        default: present
      create_only:
        description:
          - Apply only when the object does not exist yet. For values that must never
            change once generated, and for Jobs, whose templates are immutable.
        type: bool
        default: false
      wait:
        description:
          - With O(templates[].state=absent), wait until each removed object is gone.
          - Wait until a StatefulSet, Deployment or DaemonSet is rolled out and ready, or a
            Job has finished (Complete or Failed). A workload that is not ready in time fails
            with the reasons its pods give; a failed Job fails with its outcome line or its
            last log lines, unless O(templates[].fail_on_failure=false).
        type: bool
        default: false
      wait_timeout:
        description: Seconds to wait for this object; default O(wait_timeout).
        type: int
      what:
        description: What the Job does, for its failure message (for example C(Backup)).
        type: str
      outcome:
        description:
          - A regular expression; the last log line of the Job that matches it is returned
            as C(outcome). A line C(<WORD>_FAILED <reason>) gives the failure message its reason.
        type: str
      fail_on_failure:
        description: Whether a failed Job fails the task.
        type: bool
        default: true
      refused_hint:
        description:
          - Added to the failure message when the API server refuses this template's object
            (an HTTP error), to say what the user can do; for example that a volume claim can only grow.
        type: str
      propagation:
        description: The deletion propagation policy with O(templates[].state=absent).
        type: str
        choices: [Background, Foreground, Orphan]
        default: Background
  checks:
    description:
      - The task's preconditions, run in order before anything is rendered or written, with the
        checks of M(paperclip.kubernetes.checks) (C(that) with C(msg), C(warn) or C(note); C(when);
        C(loop)). The first check that fails fails the task and nothing is applied; notes
        are returned in RV(msg).
      - One task where a M(paperclip.kubernetes.checks) task before this one would be two.
    type: list
    elements: raw
    default: []
  render_dir:
    description: Write the objects to this directory instead of applying them.
    type: str
    default: ""
  wait_timeout:
    description: Seconds to wait for each object with O(templates[].wait).
    type: int
    default: 300

attributes:
  check_mode:
    description: Objects are applied as a server-side dry run; nothing is stored.
    support: full
  diff_mode:
    description: A diff per changed object, Secret values hidden.
    support: full
  action:
    description: Runs as an action plugin on the controller.
    support: full

notes:
  - Connection local is what the collection's playbooks use; the action talks to the API
    from the controller whatever the connection.
"""

EXAMPLES = r"""
- name: Workload, Service and an optional Ingress
  paperclip.kubernetes.manifests:
    templates:
      - template: statefulset.yaml.j2
        wait: true
      - service.yaml.j2
      - template: ingress.yaml.j2
        state: "{{ 'present' if paperclip_ingress_enabled else 'absent' }}"

- name: A Job run to its end, its outcome line read from the log
  paperclip.kubernetes.manifests:
    templates:
      - template: job.yaml.j2
        wait: true
        what: Backup
        outcome: "^BACKUP_"
  register: backup_job
"""

RETURN = r"""
resources:
  description: One entry per object, in order, without the object's content.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: The object's kind.
      type: str
    name:
      description: The object's name.
      type: str
    namespace:
      description: The object's namespace, for namespaced objects.
      type: str
    template:
      description: The template it came from.
      type: str
    result:
      description: >-
        C(created), C(configured), C(unchanged), C(exists) (create_only), C(deleted),
        C(absent), C(would be created) or C(rendered).
      type: str
    state:
      description: For a waited Job, C(Complete), C(Failed) or C(Running).
      type: str
    outcome:
      description: For a waited Job with O(templates[].outcome), the matching log line.
      type: str
path:
  description: The file written in render mode.
  returned: with O(render_dir)
  type: str
status:
  description: The HTTP status of a refused apply (for example 422 for an immutable field).
  returned: on failure of an API call
  type: int
msg:
  description:
    - The notes of O(checks) that applied, as a list; in check mode, what would be created in a
      namespace that does not exist yet (a string, or the last entry after the notes).
  returned: when a note applied, or something would be created
  type: raw
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.paperclip.kubernetes.plugins.module_utils.manifests_spec import argspec


def main():
    # The work is done by the action plugin of the same name on the controller.
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    module.fail_json(msg="paperclip.kubernetes.manifests runs as an action plugin on the controller")


if __name__ == "__main__":
    main()
