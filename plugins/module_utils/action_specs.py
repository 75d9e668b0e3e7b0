# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""The argument specs of the collection's action plugins (paperclip_lock, object_info),
shared by each documentation stub (plugins/modules/) and the action that does the work.
paperclip.kubernetes.manifests has its own (manifests_spec.py, with its item defaults)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC


def lock_argspec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        instance=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait=dict(type="int", default=0),
        duration=dict(type="int", default=3600),
    )
    return spec


def object_info_argspec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        api_version=dict(type="str", default="v1"),
        kind=dict(type="str"),
        name=dict(type="str"),
        namespace=dict(type="str"),
        objects=dict(type="list", elements="dict", options=dict(
            api_version=dict(type="str", default="v1"),
            kind=dict(type="str", required=True),
            name=dict(type="str", required=True),
            namespace=dict(type="str"),
            ignore_forbidden=dict(type="bool", default=False),
        )),
        checks=dict(type="list", elements="raw", default=[]),
    )
    return spec


# One object (kind and name) or several (objects), never both.
OBJECT_INFO_RULES = dict(
    required_one_of=[["kind", "objects"]],
    mutually_exclusive=[["kind", "objects"], ["name", "objects"]],
    required_together=[["kind", "name"]],
)
