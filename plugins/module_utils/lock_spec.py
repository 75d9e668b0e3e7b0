# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""The argument spec of paperclip.kubernetes.paperclip_lock, shared by its documentation
stub (plugins/modules/paperclip_lock.py) and the action plugin that does the work."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC


def argspec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        instance=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait=dict(type="int", default=0),
        duration=dict(type="int", default=3600),
    )
    return spec
