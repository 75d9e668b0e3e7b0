# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""Action plugin behind paperclip.kubernetes.paperclip_lock (documented in
plugins/modules/paperclip_lock.py): the instance's run lock, a Lease, taken and released
from the controller. Its holder is the ansible-playbook process (user@host:pid), so every
task of one run is the same holder and a nested take (upgrade.yml's deploy) is a renewal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import getpass
import os
import socket
import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.paperclip.kubernetes.plugins.module_utils import k8s_helpers
from ansible_collections.paperclip.kubernetes.plugins.module_utils.action_specs import lock_argspec
from ansible_collections.paperclip.kubernetes.plugins.plugin_utils import controller, lock

display = Display()
POLL = 3


def _user():
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): the uid says enough
        return str(os.getuid())


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args, error = controller.validated_args(self, "paperclip.kubernetes.paperclip_lock", lock_argspec())
        if error:
            return self._fail(result, error)
        for key in ("wait", "duration"):
            if args[key] < (0 if key == "wait" else 60):
                return self._fail(result, "{0} must be {1} seconds; got {2}".format(
                    key, "0 or more" if key == "wait" else "60 or more", args[key]))
        host = socket.gethostname()
        self.me = lock.identity(_user(), host, os.getppid())
        self.host = host
        self.args = args
        self.name = lock.lease_name(args["instance"])
        self.play = (task_vars or {}).get("ansible_play_name") or ""
        result.update(changed=False, holder=self.me, lease=self.name)
        from kubernetes.dynamic.exceptions import DynamicApiError

        try:
            client = controller.api_client(args)
            self.leases = client.resource("Lease", lock.API_VERSION)
            self.client = client
            if args["state"] == "absent":
                return self._release(result)
            return self._take(result)
        except DynamicApiError as exc:
            return self._fail(result, "The run lock {0}/{1}: {2}".format(
                args["namespace"], self.name, k8s_helpers.api_error_message(exc)))

    def _read(self):
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            return self.client.get(self.leases, name=self.name, namespace=self.args["namespace"]).to_dict()
        except NotFoundError:
            return None

    def _take(self, result):
        from kubernetes.dynamic.exceptions import ConflictError, NotFoundError

        ns = self.args["namespace"]
        started = time.monotonic()
        told = False
        while True:
            live = self._read()
            spec = (live or {}).get("spec") or {}
            annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
            verdict = lock.decide(spec, self.me, self.host, lock.now())
            waited = int(time.monotonic() - started)
            if verdict == lock.BUSY:
                if self._task.check_mode:
                    # A check writes nothing, so it does not take the lock; it says what may move under it.
                    display.warning("Another run is working on {0}/{1} ({2}): what this check reports may "
                                    "change under it.".format(ns, self.args["instance"],
                                                              lock.describe(ns, self.name, spec, annotations)))
                    result["busy"] = True
                    return result
                if waited >= self.args["wait"]:
                    return self._fail(result, lock.busy_message(ns, self.args["instance"], self.name, spec,
                                                                annotations, waited))
                if not told:
                    display.display("{0}: waiting up to {1} s for the run lock: {2}".format(
                        self._task.get_name(), self.args["wait"], lock.describe(ns, self.name, spec, annotations)))
                    told = True
                time.sleep(POLL)
                continue
            if self._task.check_mode:
                return result
            moment = lock.now()
            body = {
                "apiVersion": lock.API_VERSION, "kind": "Lease",
                "metadata": {"name": self.name, "namespace": ns,
                             "labels": {"app.kubernetes.io/instance": self.args["instance"],
                                        "app.kubernetes.io/managed-by": "paperclip.kubernetes"},
                             "annotations": {lock.PLAY_ANNOTATION: self.play}},
                "spec": lock.spec_for(self.me, self.args["duration"], moment, spec),
            }
            try:
                if live is None:
                    self.client.create(self.leases, body, namespace=ns)
                else:
                    # Optimistic concurrency: a run that got there first makes this a 409, and we look again.
                    body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
                    self.client.replace(self.leases, body, namespace=ns)
            except ConflictError:
                continue
            except NotFoundError:
                if live is None:
                    # No namespace: nothing of the instance exists, so there is nothing to guard.
                    result["msg"] = "Namespace {0} does not exist; no lock taken".format(ns)
                    return result
                continue
            if verdict in (lock.TAKE_OVER_EXPIRED, lock.TAKE_OVER_DEAD):
                display.warning("Took over the run lock of {0}/{1} from {2}, which {3}.".format(
                    ns, self.args["instance"], spec.get("holderIdentity"),
                    "expired" if verdict == lock.TAKE_OVER_EXPIRED else "ran on this machine and is gone"))
                result["took_over"] = spec.get("holderIdentity")
            result["acquired"] = True
            return result

    def _release(self, result):
        from kubernetes.dynamic.exceptions import ConflictError, NotFoundError

        if self._task.check_mode:
            return result
        for _attempt in range(5):
            live = self._read()
            if live is None:
                return result
            holder = (live.get("spec") or {}).get("holderIdentity")
            if holder != self.me:
                if holder:
                    display.warning("The run lock of {0}/{1} is held by {2}, not by this run: it took the lock "
                                    "over while this run was going, so they may have overlapped.".format(
                                        self.args["namespace"], self.args["instance"], holder))
                return result
            try:
                # Only the version we read: a take-over in between is not deleted.
                self.client.delete(self.leases, name=self.name, namespace=self.args["namespace"],
                                   body={"preconditions": {"resourceVersion": live["metadata"]["resourceVersion"]}})
                result["released"] = True
                return result
            except (ConflictError, NotFoundError):
                continue
        return result

    @staticmethod
    def _fail(result, msg):
        result["failed"] = True
        result["msg"] = msg
        return result
