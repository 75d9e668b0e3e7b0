# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""Action plugin behind paperclip.kubernetes.checks (documented in plugins/modules/checks.py):
a role's input checks in one task, each with its own message naming the variable.

A chain of ansible.builtin.assert tasks did the same at one task each; the per-task cost
of Ansible (a forked worker, about 30 ms here) made the 40 checks of a deploy more than a
second of a run that changes nothing (issue 10). For the same reason it can also validate
the role's variables against an entry point's argument spec first (argument_spec), which
spares the task Ansible adds for that (rolespec_validate: false in playbooks/tasks/validate.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.paperclip.kubernetes.plugins.plugin_utils import checks as chk


class ActionModule(chk.RawChecks, ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(["checks", "argument_spec"])

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        checks = self._task.args.get("checks")
        if not isinstance(checks, list):
            result.update(failed=True, msg="checks must be a list of checks, got {0!r}".format(checks))
            return result

        # With argument_spec, the role's options are templated once for their validation,
        # and the checks see those values: ansible-core 2.19 would otherwise template (and
        # compile) an option again in every check that reads it (issue 10).
        variables = task_vars
        entry = self._task.args.get("argument_spec")
        if entry:
            failure, values = self._validate_spec(to_text(entry), task_vars)
            if failure:
                result.update(failed=True, **failure)
                return result
            variables = dict(task_vars, **values)
        outcome = chk.evaluate(self._templar, checks, None if variables is task_vars else variables)
        result["changed"] = False
        if not chk.report(result, outcome, self._display) and not outcome[2]:
            result["msg"] = "All {0} checks passed".format(len(checks))
        return result

    def _validate_spec(self, entry, task_vars):
        """(failure, values): what ansible.builtin.validate_argument_spec reports for the
        role's variables against the options of its entry point `entry` (the task Ansible
        adds to an entry point with rolespec_validate), as a failure dict or None when they
        are valid; and those variables' templated values."""
        import yaml

        role = self._task._role
        if role is None:
            return {"msg": "checks: argument_spec={0} needs the task to be in a role".format(entry)}, {}
        path = next((p for p in (os.path.join(role._role_path, "meta", "argument_specs" + ext) for ext in (".yml", ".yaml"))
                     if os.path.exists(p)), None)
        if path is None:
            return {"msg": "checks: the role {0} has no meta/argument_specs.yml".format(role.get_name())}, {}
        # The C loader when PyYAML has it: this is read on every run (a few ms, 40 with the
        # pure-Python one for the largest spec).
        with open(path, "rb") as f:
            specs = (yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}).get("argument_specs") or {}
        if entry not in specs:
            return {"msg": "checks: no entry point {0} in {1}".format(entry, path)}, {}
        options = specs[entry].get("options") or {}
        values = self._templar.template({name: task_vars[name] for name in options if name in task_vars})
        errors = ArgumentSpecValidator(options).validate(values, validate_role_argument_spec=True).error_messages
        if errors:
            # The message and fields of ansible.builtin.validate_argument_spec.
            return {"msg": "Validation of arguments failed:\n{0}".format("\n".join(errors)),
                    "argument_errors": errors, "assertion": None}, values
        return None, values
