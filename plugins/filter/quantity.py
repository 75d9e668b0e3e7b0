# -*- coding: utf-8 -*-
# Copyright: paperclip.kubernetes contributors
# MIT License (see LICENSE)
"""Filters for validating Kubernetes inputs before anything is sent to a cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: quantity
short_description: Parse a Kubernetes resource quantity into a number
version_added: 0.1.0
description:
  - Parses a Kubernetes quantity such as C(500m), C(1Gi), C(2) or C(1.5G) into a float
    (cores for CPU, bytes for memory and storage).
  - Fails with a clear message when the value is not a valid quantity.
options:
  _input:
    description: The quantity.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: The memory request must not exceed the limit
  ansible.builtin.assert:
    that: paperclip_memory_request | paperclip.kubernetes.quantity <= paperclip_memory_limit | paperclip.kubernetes.quantity
"""

RETURN = r"""
_value:
  description: The quantity as a number (cores or bytes).
  type: float
"""

import re

from ansible.errors import AnsibleFilterError

# Same grammar as k8s.io/apimachinery resource.Quantity (sign, number, suffix).
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$")
_BINARY = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}
_DECIMAL = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


def quantity(value):
    """Return the quantity as a float, or raise AnsibleFilterError."""
    if isinstance(value, bool):
        raise AnsibleFilterError("%r is not a Kubernetes quantity" % (value,))
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match:
        raise AnsibleFilterError(
            "%r is not a Kubernetes quantity (examples: 500m, 2, 512Mi, 1Gi)" % (value,)
        )
    number, suffix = float(match.group(1)), match.group(2) or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    if suffix:
        return number * 10 ** int(suffix[1:])
    return number


def is_quantity(value):
    """True when value parses as a Kubernetes quantity."""
    try:
        quantity(value)
    except AnsibleFilterError:
        return False
    return True


class FilterModule(object):
    def filters(self):
        return {"quantity": quantity, "is_quantity": is_quantity}
