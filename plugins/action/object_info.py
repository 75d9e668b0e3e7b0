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
from ansible_collections.paperclip.kubernetes.plugins.module_utils.action_specs import object_info_argspec
from ansible_collections.paperclip.kubernetes.plugins.plugin_utils import controller


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args, error = controller.validated_args(self, "paperclip.kubernetes.object_info", object_info_argspec())
        if error:
            result.update(failed=True, msg=error)
            return result
        from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError, ResourceNotFoundError

        result.update(changed=False, resources=[], api_found=True)
        where = "{0} {1}{2}".format(args["kind"], (args["namespace"] + "/") if args["namespace"] else "", args["name"])
        try:
            client = controller.api_client(args)
            try:
                resource = client.resource(args["kind"], args["api_version"])
            except ResourceNotFoundError:  # a kind the cluster does not serve: nothing to read
                result["api_found"] = False
                return result
            found = client.get(resource, name=args["name"], namespace=args["namespace"])
            result["resources"] = [found.to_dict()]
        except NotFoundError:
            pass
        except DynamicApiError as exc:
            result.update(failed=True, status=getattr(exc, "status", None),
                          msg="Could not read {0}: {1}".format(where, k8s_helpers.api_error_message(exc)))
        return result
