# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""The order of a role's input checks (paperclip.kubernetes.checks, and the checks option
of paperclip.kubernetes.manifests and paperclip.kubernetes.object_info): run() apart from
Ansible's templating so that it can be unit-tested with plain functions, evaluate() with it.

A check is a dict: that (a condition or a list, all must hold) with msg (the error), or
warn (a warning), or note (a message shown in the task's result, as debug shows one);
when (a condition or a list) makes it apply only if it holds; loop (a list, or a dict
read as key/value items) repeats it with item set. Checks run in
order and the first that fails ends the run, as a chain of assert tasks did: a later
message may name a value that an earlier check found missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

KEYS = frozenset(["that", "msg", "warn", "note", "when", "loop"])
SHOWN = ("warn", "note")


def listify(value):
    return value if isinstance(value, list) else [value]


def problem(index, check):
    """Why check (the index-th) is malformed, or None."""
    if not isinstance(check, dict):
        return "checks[{0}] must be a dict, got {1!r}".format(index, check)
    unknown = sorted(set(check) - KEYS)
    if unknown:
        return "checks[{0}] has unsupported keys {1}".format(index, unknown)
    if sum(key in check for key in ("that",) + SHOWN) != 1:
        return "checks[{0}] needs one of that (with msg), warn or note".format(index)
    if "that" in check and not check.get("msg"):
        return "checks[{0}] needs a msg for its that".format(index)
    return None


def run(checks, holds, render, expand):
    """(failure, warnings, notes) of checks in order.

    holds(condition, item) -> bool, render(text, item) -> str and expand(loop) -> list are
    the templating; item is None outside a loop. failure is None when every check passed,
    else a dict with msg and the assertion that failed."""
    shown = {"warn": [], "note": []}
    for index, check in enumerate(checks):
        error = problem(index, check)
        if error:
            return {"msg": error, "assertion": None}, shown["warn"], shown["note"]
        items = expand(check["loop"]) if "loop" in check else [None]
        for item in items:
            if not all(holds(c, item) for c in listify(check.get("when", []))):
                continue
            kind = next((key for key in SHOWN if key in check), None)
            if kind:
                shown[kind].append(render(check[kind], item))
                continue
            for condition in listify(check["that"]):
                if not holds(condition, item):
                    return {"msg": render(check["msg"], item), "assertion": condition}, shown["warn"], shown["note"]
    return None, shown["warn"], shown["note"]


class RawChecks(object):
    """Mixin for an action plugin with a checks option. ansible-core templates a task's
    arguments before run(); the checks stay as written instead, so that run() takes them in
    order and renders only the failing check's message (a later message may name a value an
    earlier check found missing, or, with object_info, what the task itself read)."""

    @classmethod
    def finalize_task_arg(cls, name, value, templar, context):
        if name == "checks":
            return value
        return super(RawChecks, cls).finalize_task_arg(name, value, templar, context)


def evaluate(templar, checks, variables=None):
    """run() with Ansible's templating: (failure, warnings, notes) of checks, templated with
    templar, or with a copy of it that sees variables instead when they are given."""
    from ansible.errors import AnsibleError
    from ansible.module_utils.common.text.converters import to_text

    base = templar if variables is None else templar.copy_with_new_env(available_variables=variables)

    def engine(item):
        if item is None:
            return base
        return base.copy_with_new_env(available_variables=dict(base.available_variables, item=item))

    def holds(condition, item):
        return bool(engine(item).evaluate_conditional(condition))

    def render(text, item):
        return to_text(engine(item).template(text)).strip()

    def expand(loop):
        value = base.template(loop)
        if isinstance(value, dict):
            return [{"key": k, "value": v} for k, v in value.items()]
        if not isinstance(value, list):
            raise AnsibleError("checks: loop must give a list or a dict, got {0!r}".format(value))
        return value

    return run(checks, holds, render, expand)


def report(result, outcome, display):
    """Puts evaluate()'s outcome into an action's result: the warnings shown, a failure as
    the task's failure, notes as the result's msg, shown the way ansible.builtin.debug shows
    its msg. True when a check failed."""
    failure, warnings, notes = outcome
    for warning in warnings:
        display.warning(warning)
    if failure:
        result.update(failed=True, **failure)
        return True
    if notes:
        result.update(msg=notes, _ansible_verbose_always=True)
    return False
