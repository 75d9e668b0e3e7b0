# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""Action plugin behind paperclip.kubernetes.checks (documented in plugins/modules/checks.py):
a role's input checks in one task, each with its own message naming the variable.

A chain of ansible.builtin.assert tasks did the same at one task each; the per-task cost
of Ansible (a forked worker, about 30 ms here) made the 40 checks of a deploy more than a
second of a run that changes nothing (issue 10)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.paperclip.kubernetes.plugins.plugin_utils import checks as chk


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(["checks"])

    @classmethod
    def finalize_task_arg(cls, name, value, templar, context):
        # ansible-core 2.19+: the checks stay as written until run() takes them in order,
        # so only the failing check's message is rendered (a later message may name a value
        # an earlier check found missing). Older ansible-core renders every message first.
        if name == "checks":
            return value
        return super(ActionModule, cls).finalize_task_arg(name, value, templar, context)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        checks = self._task.args.get("checks")
        if not isinstance(checks, list):
            result.update(failed=True, msg="checks must be a list of checks, got {0!r}".format(checks))
            return result

        def templar(item):
            if item is None:
                return self._templar
            return self._templar.copy_with_new_env(available_variables=dict(task_vars, item=item))

        def holds(condition, item):
            engine = templar(item)
            if hasattr(engine, "evaluate_conditional"):  # ansible-core 2.19+
                return bool(engine.evaluate_conditional(condition))
            from ansible.playbook.conditional import Conditional

            conditional = Conditional(loader=self._loader)
            conditional.when = [condition]
            return conditional.evaluate_conditional(engine, engine.available_variables)

        def render(text, item):
            return to_text(templar(item).template(text)).strip()

        def expand(loop):
            value = self._templar.template(loop)
            if isinstance(value, dict):
                return [{"key": k, "value": v} for k, v in value.items()]
            if not isinstance(value, list):
                raise AnsibleError("checks: loop must give a list or a dict, got {0!r}".format(value))
            return value

        failure, warnings = chk.run(checks, holds, render, expand)
        for warning in warnings:
            self._display.warning(warning)
        result["changed"] = False
        if failure:
            result.update(failed=True, **failure)
        else:
            result["msg"] = "All {0} checks passed".format(len(checks))
        return result
