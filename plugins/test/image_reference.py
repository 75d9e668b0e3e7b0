# -*- coding: utf-8 -*-
# Copyright: paperclip.kubernetes contributors
# MIT License (see LICENSE)
"""Jinja test for validating container image references before anything is sent to a cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: image_reference
short_description: Tell whether a value is a container image reference
version_added: 0.2.0
description:
  - True when the input is a container image reference
    C([registry[:port]/]path[:tag][@sha256:<64 lowercase hex digits>]), the grammar of the
    distribution project (docker, containerd, CRI-O).
  - The first component is a registry only when it has a C(.) or a C(:), or is C(localhost),
    as container runtimes decide; otherwise it belongs to the path.
  - Path components are lowercase letters and digits joined by C(.), C(_), C(__) or dashes;
    the repository name is at most 255 characters; a tag is C([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}).
  - A digest, with or without a tag, must be C(sha256:) followed by 64 lowercase hex digits.
options:
  _input:
    description: The value to check.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Check an image variable
  ansible.builtin.assert:
    that: paperclip_image is paperclip.kubernetes.image_reference
    fail_msg: "paperclip_image must be a container image reference; got {{ paperclip_image | to_json }}."

# True:  ghcr.io/paperclipai/paperclip:sha-b8725c5
# True:  docker.io/library/postgres:16.4-alpine@sha256:<64 lowercase hex digits>
# True:  localhost:5000/paperclip@sha256:<64 lowercase hex digits>
# False: ghcr.io/PaperclipAI/paperclip:1 (uppercase path), postgres@sha256:abc (short digest)
"""

RETURN = r"""
_value:
  description: Whether the value is a container image reference.
  type: bool
"""

import re

# The grammar of github.com/distribution/reference (regexp.go), with sha256 as the
# only digest algorithm: it is the one registries and kubelets use, and a digest
# with another algorithm or length is far more often a copy-paste error.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_PORT = r"(?::[0-9]+)?"
# A registry has a dot, a port or is localhost (or an IPv6 literal); "library/x" is a path.
_DOMAIN = (r"(?:(?:localhost|{dc}(?:\.{dc})+|\[[0-9a-fA-F:.]+\]){port}|{dc}:[0-9]+)"
           .format(dc=_DOMAIN_COMPONENT, port=_PORT))
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = r"(?:{domain}/)?{pc}(?:/{pc})*".format(domain=_DOMAIN, pc=_PATH_COMPONENT)
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"sha256:[a-f0-9]{64}"
_REFERENCE = re.compile(r"(?P<name>{name})(?::{tag})?(?:@{digest})?".format(name=_NAME, tag=_TAG, digest=_DIGEST))
_NAME_MAX = 255


def image_reference(value):
    """True when value is a container image reference (see DOCUMENTATION)."""
    if not isinstance(value, str):
        return False
    # fullmatch: "$" would let a trailing newline through.
    match = _REFERENCE.fullmatch(value)
    return bool(match) and len(match.group("name")) <= _NAME_MAX


class TestModule(object):
    def tests(self):
        return {"image_reference": image_reference}
