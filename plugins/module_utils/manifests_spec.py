# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""The argument spec of paperclip.kubernetes.manifests, shared by its documentation stub
(plugins/modules/manifests.py) and the action plugin that does the work."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

# Item keys and their defaults; an item may also be a bare template name.
ITEM_DEFAULTS = {
    "template": None, "enabled": True, "state": "present", "create_only": False, "wait": False,
    "wait_timeout": None, "what": None, "outcome": None, "fail_on_failure": True, "refused_hint": None,
    "propagation": "Background",
    # Instead of a template, for state absent: one object, or every object a selector matches.
    "api_version": None, "kind": None, "name": None, "namespace": None, "label_selector": None,
}


def argspec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        templates=dict(type="list", elements="raw", required=True),
        checks=dict(type="list", elements="raw", default=[]),
        render_dir=dict(type="str", default=""),
        wait_timeout=dict(type="int", default=300),
    )
    return spec
