# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""Action plugin behind paperclip.kubernetes.manifests (documented in plugins/modules/manifests.py).

It runs on the controller, like kubernetes.core's lookup and inventory plugins: the
collection's hosts are instances reached with connection local, and applying from
here spares a module process per object (about 0.8 s each, measured: see
benchmarks/results.md). The cluster is reached with kubernetes.core's client and its
auth options, so module_defaults for group/kubernetes.core.k8s or
group/paperclip.kubernetes.paperclip apply here too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import time
import uuid

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template
from ansible.utils.display import Display

from ansible_collections.paperclip.kubernetes.plugins.module_utils import k8s_helpers, paperclip
from ansible_collections.paperclip.kubernetes.plugins.module_utils.manifests_spec import ITEM_DEFAULTS, argspec
from ansible_collections.paperclip.kubernetes.plugins.plugin_utils import checks as chk, controller, manifests as mf

try:
    import yaml
    # libyaml's parser when PyYAML has it (it takes bytes): the rendered manifests are parsed on every run
    # (about 20 ms for the CronJob with the pure-Python one, issue 10).
    SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
except ImportError:  # ansible-core requires PyYAML; kept for sanity's import test
    yaml = SAFE_LOADER = None

try:
    # Imported when this file is, not on first use, like plugin_utils/controller.py does:
    # the strategy loads action plugins in ansible-playbook's main process, so the task
    # workers forked after that find these loaded. k8s.service pulls in
    # ansible.module_utils.urls and cryptography: 40-70 ms in every apply task otherwise.
    from kubernetes import watch
    from kubernetes.dynamic.exceptions import ForbiddenError, NotFoundError, ResourceNotFoundError
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import decode_response, diff_objects
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.waiter import RESOURCE_PREDICATES
except ImportError:  # no kubernetes client: controller.api_client says so when one is needed
    watch = ForbiddenError = NotFoundError = ResourceNotFoundError = None
    decode_response = diff_objects = RESOURCE_PREDICATES = None


def _api_message(exc):
    body = getattr(exc, "body", None)
    try:
        data = json.loads(body) if body else {}
        message = data.get("message") or body
    except (TypeError, ValueError):
        message = body or str(exc)
    status = getattr(exc, "status", None)
    return status, (k8s_helpers.with_hint(status, "HTTP {0}: {1}".format(status, message)) if status else to_text(message))


display = Display()


class ActionModule(chk.RawChecks, ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args, error = controller.validated_args(self, "paperclip.kubernetes.manifests", argspec())
        if error:
            return self._fail(result, error)
        try:
            items = [i for i in (self._item(raw) for raw in args.get("templates") or []) if i["enabled"]]
        except ValueError as exc:
            return self._fail(result, str(exc))
        # The task's preconditions (the checks of paperclip.kubernetes.checks), before anything
        # is rendered or written: one task where a checks task and this one were two (issue 10).
        outcome = chk.evaluate(self._templar, args["checks"]) if args["checks"] else (None, [], [])
        if chk.report(result, outcome, display):
            return result
        notes = outcome[2]
        render_dir = args.get("render_dir") or ""
        role = self._task._role.get_name(include_role_fqcn=False) if self._task._role else "play"

        rendered = []  # (item, template text, [docs])
        texts = self._render_all([i["template"] for i in items if i["template"]], task_vars)
        for item in items:
            if item["template"]:
                text = to_text(texts.pop(0))
                docs = [d for d in yaml.load_all(to_bytes(text), Loader=SAFE_LOADER) if d]
            else:  # an object reference or a selector, for removal: nothing to render
                text = None
                docs = [] if item["label_selector"] else [{"apiVersion": item["api_version"], "kind": item["kind"],
                                                           "metadata": {"name": item["name"], "namespace": item["namespace"]}}]
            rendered.append((item, text, docs))
        hidden = mf.secret_values([d for entry in rendered for d in entry[2]])

        if render_dir:
            return self._write_render(result, render_dir, role, task_vars, rendered)

        resources = result["resources"] = []
        try:
            client = self._client(args)
        except Exception as exc:
            return self._fail(result, "Could not create a Kubernetes API client: {0}".format(mf.redact(exc, hidden)))
        # In check mode on a fresh cluster the namespace exists only as a dry run, and the
        # API refuses dry runs of objects inside it: report those as would be created.
        pending = self._missing_namespaces(client, rendered) if self._task.check_mode else set()
        diffs = []
        for item, _text, docs in rendered:
            if item["label_selector"]:
                try:
                    docs = self._select(client, item, pending)
                except Exception as exc:
                    result["status"], message = _api_message(exc)
                    return self._fail(result, mf.redact("Could not list {0} {1} in {2} ({3}): {4}".format(
                        item["api_version"], item["kind"], item["namespace"], item["label_selector"], message), hidden))
            for doc in docs:
                if not item["template"] and item["state"] == "present":  # only waited for, below
                    resources.append(self._ref(doc, item, "unchanged"))
                    continue
                if (doc.get("metadata") or {}).get("namespace") in pending:
                    resources.append(self._ref(doc, item, "would be created" if item["state"] == "present" else "absent"))
                    continue
                try:
                    resources.append(self._one(client, item, doc, diffs))
                except Exception as exc:
                    status, message = _api_message(exc)
                    result["status"] = status
                    result["template"] = item["template"] or ""
                    if status and item["refused_hint"]:  # the API server answered: say what the user can do
                        message = "{0} {1}".format(message.rstrip(), item["refused_hint"])
                    return self._fail(result, mf.redact("Could not {0} {1} ({2}): {3}".format(
                        "delete" if item["state"] == "absent" else "apply", mf.object_ref(doc),
                        item["template"] or item["label_selector"] or "by name", message), hidden))
        result["changed"] = any(r["result"] in ("created", "configured", "deleted", "would be created") for r in resources)
        if pending:
            created = ", ".join("{0} would be created".format(r["template"]) for r in resources if r["result"] == "would be created")
            result["msg"] = notes + [created] if notes else created
        if self._task.diff and diffs:
            result["diff"] = diffs
        if not self._task.check_mode:
            for item, _text, docs in rendered:
                if not item["wait"] or item["state"] != "present":
                    continue
                for doc in docs:
                    try:
                        error = self._wait(client, item, doc, args, resources)
                    except Exception as exc:
                        error = "Could not wait for {0}: {1}".format(mf.object_ref(doc), _api_message(exc)[1])
                    if error:
                        return self._fail(result, mf.redact(error, hidden))
        return result

    # -- inputs -------------------------------------------------------------------------

    @staticmethod
    def _bool(value):
        from ansible.module_utils.parsing.convert_bool import boolean
        return boolean(value, strict=False)

    def _item(self, raw):
        if isinstance(raw, str):
            raw = {"template": raw}
        reference = isinstance(raw, dict) and raw.get("kind") and raw.get("api_version") and (raw.get("name") or raw.get("label_selector"))
        if not isinstance(raw, dict) or not (raw.get("template") or reference):
            raise ValueError("templates: each item must be a template name, a dict with 'template', or for state absent "
                             "a dict with api_version, kind and name or label_selector; got {0!r}".format(raw))
        # A reference without a template: an object to remove (state absent), or one applied
        # by an earlier task to wait for here (state present, wait, by name).
        waited = reference and raw.get("state", "present") == "present" and raw.get("name") \
            and not raw.get("label_selector") and self._bool(raw.get("wait", False))
        if reference and (raw.get("template") or (raw.get("state") != "absent" and not waited)):
            raise ValueError("templates: an object reference ({0} {1}) must have no template and either state absent, "
                             "or wait true and a name".format(raw.get("kind"), raw.get("name") or raw.get("label_selector")))
        unknown = set(raw) - set(ITEM_DEFAULTS)
        if unknown:
            raise ValueError("templates: unsupported keys {0} in the item for {1}".format(sorted(unknown), raw["template"]))
        item = dict(ITEM_DEFAULTS, **raw)
        if item["state"] not in ("present", "absent"):
            raise ValueError("templates: state must be present or absent for {0}; got {1!r}".format(item["template"], item["state"]))
        for key in ("enabled", "create_only", "wait", "fail_on_failure"):
            item[key] = self._bool(item[key])
        return item

    def _render_all(self, templates, task_vars):
        """The texts of templates, in one render: each template is included in turn, so a
        variable several of them use is templated once (the includes share the variables).
        A failure renders them one by one, so the message names the template."""
        if len(templates) < 2 or any(os.path.isabs(t) for t in templates):
            return [self._render(t, task_vars) for t in templates]
        try:
            paths = [self._find_needle("templates", t) for t in templates]
            roots = set(p[:-len(t)] for p, t in zip(paths, templates) if p.endswith(t))
            if len(roots) != 1:
                raise AnsibleError("templates from more than one directory")
            marker = "#--paperclip.kubernetes-{0}--#".format(uuid.uuid4().hex)
            source = marker.join("{%% include %s %%}" % json.dumps(t) for t in templates)
            texts = self._template(source, roots.pop(), task_vars).split(marker)
            if len(texts) == len(templates):
                return texts
        except AnsibleError:
            pass
        return [self._render(t, task_vars) for t in templates]

    def _render(self, template, task_vars):
        """The template's text, rendered the way ansible.builtin.template's action does
        (the role's templates/ directory, the task's variables). Not through the template
        lookup: that deep-copies every variable per call, 0.2 s per template here (cProfile),
        where a shallow copy is enough (nothing here changes a variable)."""
        try:
            path = self._find_needle("templates", template)
            text = self._loader.get_text_file_contents(path) if hasattr(self._loader, "get_text_file_contents") \
                else to_text(self._loader._get_file_contents(path)[0])
            return self._template(text, os.path.dirname(path), task_vars)
        except AnsibleError as exc:
            raise AnsibleError("Could not render {0}: {1}".format(template, exc.message))

    def _template(self, source, searchpath, task_vars):
        """source rendered with the task's variables, includes found under searchpath."""
        templar = self._templar.copy_with_new_env(searchpath=[searchpath], available_variables=dict(task_vars))
        # A file's contents are untrusted until marked as a template.
        return templar.template(trust_as_template(source), escape_backslashes=False, preserve_trailing_newlines=True)

    def _client(self, args):
        # check mode is the server's dry run: admission and validation run, nothing is stored.
        return controller.api_client(args, dry_run=self._task.check_mode)

    @staticmethod
    def _select(client, item, pending):
        """The live objects an absent item's label_selector matches (none when the kind is
        not served, e.g. a provider's CRD that was never installed)."""
        if item["namespace"] in pending:
            return []
        try:
            resource = client.resource(item["kind"], item["api_version"])
        except ResourceNotFoundError:
            return []
        found = client.get(resource, namespace=item["namespace"], label_selector=item["label_selector"]).to_dict()
        return [{"apiVersion": item["api_version"], "kind": item["kind"],
                 "metadata": {"name": o["metadata"]["name"], "namespace": o["metadata"].get("namespace")}}
                for o in found.get("items") or []]

    @staticmethod
    def _missing_namespaces(client, rendered):
        names = set(d["metadata"].get("namespace") for entry in rendered for d in entry[2] if d.get("metadata"))
        missing = set()
        namespaces = client.resource("Namespace", "v1")
        for name in names - {None}:
            try:
                client.get(namespaces, name=name)
            except NotFoundError:
                missing.add(name)
            except ForbiddenError:
                # An account without that read (playbooks/rbac.yml grants it): the dry run
                # itself then says whether the namespace exists.
                pass
        return missing

    # -- apply ----------------------------------------------------------------------------

    @staticmethod
    def _ref(doc, item, outcome):
        meta = doc.get("metadata") or {}
        ref = {"kind": doc.get("kind"), "name": meta.get("name"), "template": item["template"] or "", "result": outcome}
        if meta.get("namespace"):
            ref["namespace"] = meta["namespace"]
        return ref

    def _one(self, client, item, doc, diffs):
        meta = doc.get("metadata") or {}
        resource = client.resource(doc["kind"], doc["apiVersion"])
        where = dict(name=meta.get("name"), namespace=meta.get("namespace"))
        try:
            existing = client.get(resource, **where).to_dict()
        except NotFoundError:
            existing = None

        if item["state"] == "absent":
            if existing is None:
                return self._ref(doc, item, "absent")
            client.delete(resource, body={"propagationPolicy": item["propagation"]}, **where)
            self._add_diff(diffs, doc, existing, None)
            if item["wait"] and not self._task.check_mode:
                timeout = int(item["wait_timeout"] or 300)

                def gone():
                    try:
                        client.get(resource, **where)
                        return False
                    except NotFoundError:
                        return True

                if not mf.wait_until(gone, bool, timeout)[0]:
                    raise RuntimeError("{0} was not deleted within {1} s".format(mf.object_ref(doc), timeout))
            return self._ref(doc, item, "deleted")

        if item["create_only"] and existing is not None:
            return self._ref(doc, item, "exists")

        applied, warnings = decode_response(client.apply(
            resource, doc, meta.get("namespace"), serialize=False, server_side=True,
            field_manager=mf.FIELD_MANAGER, force_conflicts=True))
        for warning in warnings:
            self._display.warning("{0}: {1}".format(mf.object_ref(doc), warning))
        if existing is None:
            self._add_diff(diffs, doc, None, applied)
            return self._ref(doc, item, "created")
        if diff_objects(existing, applied)[0]:
            return self._ref(doc, item, "unchanged")
        self._add_diff(diffs, doc, existing, applied)
        return self._ref(doc, item, "configured")

    def _add_diff(self, diffs, doc, before, after):
        if not self._task.diff:
            return
        before, after = mf.strip_server_fields(before), mf.strip_server_fields(after)
        if doc.get("kind") in mf.SECRET_KINDS:
            before, after = mf.mask_secret_pair(before, after)
        if before is not None and after is not None:
            _same, parts = diff_objects(before, after)
            before, after = parts.get("before", {}), parts.get("after", {})
        diffs.append({"before_header": mf.object_ref(doc), "after_header": mf.object_ref(doc),
                      "before": yaml.safe_dump(before, default_flow_style=False) if before else "",
                      "after": yaml.safe_dump(after, default_flow_style=False) if after else ""})

    # -- waits ----------------------------------------------------------------------------

    def _wait(self, client, item, doc, args, resources):
        """None when doc is ready (a workload rolled out, a Job finished); else the message."""
        meta = doc["metadata"]
        resource = client.resource(doc["kind"], doc["apiVersion"])
        timeout = int(item["wait_timeout"] or args.get("wait_timeout") or 300)

        def fetch():
            return client.get(resource, name=meta["name"], namespace=meta.get("namespace"))

        pause = self._until_changed(resource, meta)

        ref = next(r for r in resources if r["kind"] == doc["kind"] and r["name"] == meta["name"])
        if doc["kind"] == "Job":
            # Each poll but the first also looks at the pods: one waiting for a claim that
            # does not exist would otherwise hold the wait until the timeout.
            polls, blocked = [0], []

            def fetch_job():
                job = fetch().to_dict()
                polls[0] += 1
                if not mf.job_state(job) and polls[0] > 1:
                    pods = self._pods(client, meta.get("namespace"), {"batch.kubernetes.io/job-name": meta["name"]})
                    blocked[:] = [m for m in [mf.missing_volume(pods)] if m]
                return job
            ok, job = mf.wait_until(fetch_job, lambda j: mf.job_state(j) or blocked, timeout, interval=1,
                                    transient=k8s_helpers.is_transient, pause=pause)
            if blocked:
                ref["state"] = "Pending"
                return "{0} (Job {1}/{2}) cannot start: {3}".format(
                    item["what"] or "The Job", meta.get("namespace"), meta["name"], blocked[0])
            state = mf.job_state(job) if ok else None
            ref["state"] = state or "Running"
            if state == "Complete" and not item["outcome"]:
                return None
            tail, outcome = self._job_logs(client, meta, item["outcome"])
            if item["outcome"]:
                ref["outcome"] = outcome
            if state == "Complete" or (state == "Failed" and not item["fail_on_failure"]):
                return None
            if state is None:
                return "{0} (Job {1}/{2}) did not finish within {3} s; last log lines: {4}".format(
                    item["what"] or "The Job", meta.get("namespace"), meta["name"], timeout, " | ".join(tail) or "none")
            return mf.job_failure_message(item["what"] or "The Job", job, outcome, tail)
        predicate = RESOURCE_PREDICATES.get(doc["kind"])
        if predicate is None:
            return None

        def rolled_out(live):
            if predicate(live):
                return True
            if doc["kind"] == "StatefulSet":
                self._replace_stuck_pods(client, live.to_dict(), ref)
            return False
        ok, live = mf.wait_until(fetch, rolled_out, timeout, interval=1, transient=k8s_helpers.is_transient,
                                 pause=pause)
        if ok:
            return None
        live = live.to_dict()
        status = live.get("status") or {}
        selector = ((live.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        problems = mf.pod_problems(self._pods(client, meta.get("namespace"), selector))
        return "{0} was not ready within {1} s (ready {2}/{3}){4}".format(
            mf.object_ref(doc), timeout, status.get("readyReplicas", 0), (live.get("spec") or {}).get("replicas", 1),
            ": " + "; ".join(problems) if problems else ".")

    @staticmethod
    def _until_changed(resource, meta):
        """A pause for mf.wait_until: a watch on the object from the version last read,
        which ends at its next change (what `kubectl rollout status` and `kubectl wait`
        do), or after PAUSE_SECONDS, when the wait looks at the pods again. A poll every
        second found a change half a second late on average, and read every second."""
        def pause(last, left):
            version = (last.get("metadata") or {}).get("resourceVersion") if isinstance(last, dict) \
                else last.metadata.resourceVersion
            seconds = max(1, min(mf.PAUSE_SECONDS, int(left)))
            stream = watch.Watch().stream(
                resource.get, namespace=meta.get("namespace"), field_selector="metadata.name=" + meta["name"],
                resource_version=version, timeout_seconds=seconds, serialize=False,
                # The server ends the watch after `seconds`; the client stops waiting for a
                # server that stopped answering a little later.
                _request_timeout=seconds + 5)
            started = time.monotonic()
            try:
                event = next(stream, None)  # the first event, or the end of the watch
            except Exception:  # noqa: BLE001 - the caller's next read reports what is wrong
                return False
            finally:
                stream.close()
            # A watch that ended at once without an event (a proxy that does not pass
            # watches, say) did not wait: the plain sleep follows, so reads do not spin.
            return event is not None or time.monotonic() - started >= seconds / 2
        return pause

    def _replace_stuck_pods(self, client, live, ref):
        """Delete the pods of a StatefulSet that are stuck at an old revision, so that the
        controller recreates them from the current template (a fixed image after a broken one)."""
        # Not compared with status.currentRevision: after a revert to an earlier template the
        # controller reports current == update while the pod still runs the broken revision.
        update = (live.get("status") or {}).get("updateRevision")
        if not update:
            return
        selector = ((live.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        pods = client.resource("Pod", "v1")
        for pod in self._pods(client, live["metadata"].get("namespace"), selector):
            if mf.stuck_at_old_revision(pod, update):
                try:
                    client.delete(pods, name=pod["metadata"]["name"], namespace=pod["metadata"]["namespace"])
                except NotFoundError:
                    # Gone between the list and the delete (the controller replaced it): the
                    # wait goes on with its successor.
                    continue
                ref.setdefault("replaced_pods", []).append(pod["metadata"]["name"])
                display.warning("{0}: pod {1} was stuck at an old revision and was deleted, so that the "
                                "StatefulSet recreates it from the current template.".format(
                                    ref["name"], pod["metadata"]["name"]))

    @staticmethod
    def _pods(client, namespace, labels):
        return k8s_helpers.list_pods(client, namespace, paperclip.label_selector(labels))

    def _job_logs(self, client, meta, outcome_pattern):
        """The newest pod's last log lines (every container, init first) and the last line
        matching outcome_pattern."""
        pods = self._pods(client, meta.get("namespace"), {"batch.kubernetes.io/job-name": meta["name"]})
        if not pods:
            return [], None
        pod = paperclip.sort_pods_newest_first(pods)[0]
        lines = []
        for container in (pod["spec"].get("initContainers") or []) + pod["spec"]["containers"]:
            try:
                text = k8s_helpers.read_pod_log(client, meta.get("namespace"), pod["metadata"]["name"],
                                                container=container["name"], tail_lines=200)
            except Exception:
                continue  # a container that never started has no log
            lines.extend(line for line in text.splitlines() if line.strip())
        pattern = re.compile(outcome_pattern) if outcome_pattern else None
        outcome = next((line for line in reversed(lines) if pattern and pattern.search(line)), None)
        return lines[-8:], outcome

    # -- render ---------------------------------------------------------------------------

    def _write_render(self, result, render_dir, role, task_vars, rendered):
        """Render mode: this role's documents go to <render_dir>/<host>-<role>.yaml (0600:
        user-given secrets are in it), and no API call is made."""
        sources = {}
        for item, text, _docs in rendered:
            if item["state"] == "present" and item["template"]:
                sources[item["template"]] = text
        path = os.path.join(render_dir, "{0}-{1}.yaml".format(task_vars.get("inventory_hostname"), role))
        old = None
        if os.path.exists(path):
            with open(path) as f:
                old = f.read()
        content, result["changed"] = mf.render_file_update(old, self._run_id(), role, sources)
        result["path"] = path
        result["resources"] = [{"template": t, "result": "rendered"} for t in sources]
        if content != old and not self._task.check_mode:
            os.makedirs(render_dir, mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(content)
        return result

    def _run_id(self):
        # One play run: a render file written earlier in this run is added to, one from
        # an earlier run is replaced.
        node = self._task
        while node is not None and getattr(node, "_play", None) is None:
            node = getattr(node, "_parent", None)
        play = getattr(node, "_play", None)
        return getattr(play, "_uuid", None) or str(os.getppid())

    @staticmethod
    def _fail(result, msg):
        result["failed"] = True
        result["msg"] = msg
        return result
