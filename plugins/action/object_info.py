# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""Action plugin behind paperclip.kubernetes.object_info (documented in
plugins/modules/object_info.py): one object read from the controller, in the worker that
runs the task. kubernetes.core.k8s_info does the same read in a module process, which
costs about 0.8 s to start (it imports the kubernetes client); the roles read a handful
of Secrets on every run, so that was several seconds of a no-op deploy (issue 10)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.paperclip.kubernetes.plugins.module_utils import k8s_helpers
from ansible_collections.paperclip.kubernetes.plugins.module_utils.action_specs import OBJECT_INFO_RULES, object_info_argspec
from ansible_collections.paperclip.kubernetes.plugins.plugin_utils import checks as chk, controller

try:  # loaded with the plugin in the main process (see plugin_utils/controller.py)
    from kubernetes.dynamic.exceptions import ResourceNotFoundError
except ImportError:  # said when a client is needed (controller.api_client)
    ResourceNotFoundError = k8s_helpers.NotFoundError


class ActionModule(chk.RawChecks, ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args, error = controller.validated_args(self, "paperclip.kubernetes.object_info", object_info_argspec(),
                                                **OBJECT_INFO_RULES)
        if error:
            result.update(failed=True, msg=error)
            return result
        result["changed"] = False
        try:
            client = controller.api_client(args)
        except k8s_helpers.DynamicApiError as exc:  # discovery refused before any read
            result.update(failed=True, status=getattr(exc, "status", None),
                          msg="Could not reach the API: {0}".format(k8s_helpers.api_error_message(exc)))
            return result
        if args["objects"] is None:  # one object: its fields at the top of the result
            result.update(self._read(client, dict(args, ignore_forbidden=False)))
        else:
            # Several objects in one task (one worker process instead of one per read, issue 10):
            # one entry per object in results, in order. A refused read fails the task, unless
            # the object has ignore_forbidden and the refusal is HTTP 403 (its entry says so).
            result["results"] = [self._read(client, item) for item in args["objects"]]
            refused = [r for r in result["results"] if r.get("failed")]
            if refused:
                result.update(failed=True, msg=refused[0]["msg"], status=refused[0]["status"])
        if args["checks"] and not result.get("failed"):
            # What was read, checked in the same task (issue 10: a checks task after it was a
            # worker of its own). The checks see the result under the task's register name,
            # the way failed_when and until see it.
            seen = dict(task_vars or {}, **({self._task.register: dict(result)} if self._task.register else {}))
            chk.report(result, chk.evaluate(self._templar, args["checks"], seen), self._display)
        return result

    @staticmethod
    def _read(client, item):
        """One object: resources (empty when it does not exist), api_found, and on a
        refusal status and msg (with failed unless ignore_forbidden covers it)."""
        read = dict(resources=[], api_found=True)
        where = "{0} {1}{2}".format(item["kind"], (item["namespace"] + "/") if item["namespace"] else "", item["name"])
        try:
            try:
                resource = client.resource(item["kind"], item["api_version"])
            except ResourceNotFoundError:  # a kind the cluster does not serve: nothing to read
                read["api_found"] = False
                return read
            found = client.get(resource, name=item["name"], namespace=item["namespace"])
            read["resources"] = [found.to_dict()]
        except k8s_helpers.NotFoundError:
            pass
        except k8s_helpers.DynamicApiError as exc:
            status = getattr(exc, "status", None)
            read.update(status=status, msg="Could not read {0}: {1}".format(where, k8s_helpers.api_error_message(exc)))
            if not (item["ignore_forbidden"] and status == 403):
                read["failed"] = True
        return read
