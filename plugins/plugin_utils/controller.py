# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""What the collection's action plugins share: their arguments with module_defaults
applied (so the playbooks' auth options for group/paperclip.kubernetes.paperclip reach
them), and a kubernetes.core API client built from those options on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

IMPORT_ERROR = None
try:
    # Imported when this file is, not on first use: the strategy loads the action plugins
    # in ansible-playbook's main process, so every task worker forked after that finds the
    # kubernetes client loaded instead of importing it again (0.25 s per task, py-spy).
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
except ImportError as exc:  # kubernetes.core missing: said when a client is needed
    get_api_client = None
    IMPORT_ERROR = exc

# ansible-playbook forks a worker for every task from the process that imports this (the
# strategy loads the action plugins there). A full garbage collection in a worker walks
# every object it inherited: Ansible, the parsed playbook and, above, the kubernetes client,
# about 0.1 s each time, and it writes to each object's header, so the worker copies the
# memory pages it shared. Which workers run one depended on the parent's collector counts
# at the fork: in 10 of 16 task runs of a no-op after an unrelated change (issue 10).
# gc.freeze() takes what exists now out of the collector's reach, as Python's gc
# documentation advises before fork(): mostly what lives until the run ends anyway (the
# modules, the parsed play; garbage among it stays until the process exits). Whatever is
# made later is collected as before.
gc.freeze()


def args_with_defaults(action, default_name):
    """The task's arguments with module_defaults (auth options) applied."""
    from ansible.executor.module_common import _apply_action_arg_defaults

    name = action._task.resolved_action or default_name
    return _apply_action_arg_defaults(name, action._task, action._task.args, action._templar)


def validated_args(action, default_name, spec, **rules):
    """(arguments, error message or None), validated against spec and rules
    (ArgumentSpecValidator's mutually_exclusive, required_together, ...)."""
    validation = ArgumentSpecValidator(spec, **rules).validate(args_with_defaults(action, default_name))
    if validation.error_messages:
        return None, "; ".join(validation.error_messages)
    return validation.validated_parameters, None


def api_client(args, dry_run=False):
    """kubernetes.core's client from the auth options among args."""
    if get_api_client is None:
        raise RuntimeError("kubernetes.core's client could not be imported: {0}".format(IMPORT_ERROR))
    auth = dict((k, v) for k, v in args.items() if k in AUTH_ARG_SPEC and v is not None)
    client = get_api_client(**auth)
    client.dry_run = bool(dry_run)
    return client
