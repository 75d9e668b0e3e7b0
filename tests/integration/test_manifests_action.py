"""paperclip.kubernetes.manifests, the collection's one apply path, against the real API
server and node: server-side apply and idempotence, create-only, check and diff mode with
Secret values hidden (also at -vvv), removal by label selector and of kinds the server
does not serve, a namespace that does not exist yet, and a Job's outcome line on failure
(a real pod on the real node)."""

import base64
import json
import uuid

import pytest
from kubernetes import client

from tests.support.run_module import run_module

SECRET_VALUE = "s3cr3t-" + uuid.uuid4().hex
OTHER_VALUE = "0ther-" + uuid.uuid4().hex
ACTION = "paperclip.kubernetes.manifests"


@pytest.fixture
def templates(tmp_path):
    """Templates on disk (absolute paths: the action looks them up like the template lookup)."""
    def write(name, text):
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return write


def env(kubeconfig):
    return {"KUBECONFIG": kubeconfig}


def demo_template(templates, name, kind, namespace, field, key, value):
    """A one-key ConfigMap or Secret named demo, labelled like the collection's objects."""
    return templates(name, f"""apiVersion: v1
kind: {kind}
metadata:
  name: demo
  namespace: {namespace}
  labels: {{app.kubernetes.io/instance: demo, app.kubernetes.io/managed-by: paperclip.kubernetes}}
{field}:
  {key}: {value}
""")


def secret_template(templates, namespace, value):
    return demo_template(templates, "secret.yaml.j2", "Secret", namespace, "stringData", "TOKEN", value)


def config_template(templates, namespace, color="blue"):
    return demo_template(templates, "config.yaml.j2", "ConfigMap", namespace, "data", "color", color)


def test_apply_is_idempotent_and_hides_secret_values(kubeconfig, api_client, namespace, templates):
    core = client.CoreV1Api(api_client)
    items = [config_template(templates, namespace), secret_template(templates, namespace, SECRET_VALUE)]
    first = run_module(ACTION, {"templates": items}, env=env(kubeconfig), extra_args=("-vvv", "--diff"))
    assert not first.failed, first.result
    assert first.result["changed"] and [r["result"] for r in first.result["resources"]] == ["created", "created"]
    assert SECRET_VALUE not in first.stdout + first.stderr, "a Secret value reached the -vvv output"
    live = core.read_namespaced_secret("demo", namespace)
    assert base64.b64decode(live.data["TOKEN"]).decode() == SECRET_VALUE
    managers = {m.manager for m in live.metadata.managed_fields}
    assert managers == {"paperclip.kubernetes"}, managers

    again = run_module(ACTION, {"templates": items}, env=env(kubeconfig))
    assert not again.failed and not again.result["changed"], again.result
    assert [r["result"] for r in again.result["resources"]] == ["unchanged", "unchanged"]

    # Check and diff mode: a changed Secret value and a changed ConfigMap are reported,
    # the Secret's values are not, and nothing is stored.
    changed = [config_template(templates, namespace, "green"), secret_template(templates, namespace, OTHER_VALUE)]
    check = run_module(ACTION, {"templates": changed}, check=True, env=env(kubeconfig), extra_args=("-vvv", "--diff"))
    assert not check.failed and check.result["changed"], check.result
    diff = json.dumps(check.result["diff"])
    assert "green" in diff and "<hidden, changed>" in diff
    output = check.stdout + check.stderr + diff
    for value in (SECRET_VALUE, OTHER_VALUE, base64.b64encode(OTHER_VALUE.encode()).decode()):
        assert value not in output
    assert core.read_namespaced_config_map("demo", namespace).data["color"] == "blue"
    assert base64.b64decode(core.read_namespaced_secret("demo", namespace).data["TOKEN"]).decode() == SECRET_VALUE


def test_create_only_never_replaces(kubeconfig, api_client, namespace, templates):
    core = client.CoreV1Api(api_client)
    run_module(ACTION, {"templates": [secret_template(templates, namespace, SECRET_VALUE)]}, env=env(kubeconfig))
    item = {"template": secret_template(templates, namespace, OTHER_VALUE), "create_only": True}
    res = run_module(ACTION, {"templates": [item]}, env=env(kubeconfig))
    assert not res.failed and not res.result["changed"] and res.result["resources"][0]["result"] == "exists", res.result
    assert base64.b64decode(core.read_namespaced_secret("demo", namespace).data["TOKEN"]).decode() == SECRET_VALUE


def test_absent_by_selector_and_unserved_kinds(kubeconfig, api_client, namespace, templates):
    core = client.CoreV1Api(api_client)
    run_module(ACTION, {"templates": [config_template(templates, namespace)]}, env=env(kubeconfig))
    selector = "app.kubernetes.io/instance=demo,app.kubernetes.io/managed-by=paperclip.kubernetes"
    items = [{"api_version": "v1", "kind": "ConfigMap", "namespace": namespace, "label_selector": selector,
              "state": "absent", "wait": True},
             # A provider's CRD that was never installed: nothing to remove, no error.
             {"api_version": "objectstorage.sealos.io/v1", "kind": "ObjectStorageBucket", "namespace": namespace,
              "label_selector": selector, "state": "absent"}]
    res = run_module(ACTION, {"templates": items}, env=env(kubeconfig))
    assert not res.failed and res.result["changed"], res.result
    assert res.result["resources"] == [{"kind": "ConfigMap", "name": "demo", "namespace": namespace, "template": "",
                                        "result": "deleted"}]
    assert not core.list_namespaced_config_map(namespace, label_selector=selector).items
    again = run_module(ACTION, {"templates": items}, env=env(kubeconfig))
    assert not again.failed and not again.result["changed"] and again.result["resources"] == []


def test_check_mode_in_a_namespace_that_does_not_exist(kubeconfig, templates):
    missing = f"t-missing-{uuid.uuid4().hex[:8]}"
    res = run_module(ACTION, {"templates": [config_template(templates, missing)]}, check=True, env=env(kubeconfig))
    assert not res.failed and res.result["changed"], res.result
    assert res.result["resources"][0]["result"] == "would be created"
    assert "config.yaml.j2 would be created" in res.result["msg"]
    # With a note from the checks, both are said: the notes first, then what would be created.
    res = run_module(ACTION, {"checks": [{"note": "a note"}], "templates": [config_template(templates, missing)]},
                     check=True, env=env(kubeconfig))
    assert not res.failed and res.result["msg"][0] == "a note", res.result
    assert res.result["msg"][1].endswith("config.yaml.j2 would be created"), res.result


def test_failed_job_reports_its_outcome_line(kubeconfig, namespace, images, templates):
    job = templates("job.yaml.j2", f"""apiVersion: batch/v1
kind: Job
metadata: {{name: demo-job, namespace: {namespace}}}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: {images['debian-standin']}
          imagePullPolicy: Never
          command: [sh, -c, 'echo working; echo DEMO_FAILED the disk is full; exit 1']
""")
    item = {"template": job, "wait": True, "wait_timeout": 120, "what": "The demo", "outcome": "^DEMO_"}
    res = run_module(ACTION, {"templates": [item]}, env=env(kubeconfig))
    assert res.failed, res.result
    assert res.result["msg"] == (f"The demo failed (Job {namespace}/demo-job): the disk is full. "
                                 f"See: kubectl -n {namespace} logs job/demo-job --all-containers")
    # Not failing on failure: the state and the outcome line are returned instead.
    item["fail_on_failure"] = False
    res = run_module(ACTION, {"templates": [item]}, env=env(kubeconfig))
    assert not res.failed, res.result
    assert res.result["resources"][0]["state"] == "Failed"
    assert res.result["resources"][0]["outcome"] == "DEMO_FAILED the disk is full"


def test_bad_item_is_refused_before_any_call(kubeconfig, namespace):
    res = run_module(ACTION, {"templates": [{"api_version": "v1", "kind": "ConfigMap", "name": "x", "namespace": namespace}]},
                     env=env(kubeconfig))
    assert res.failed and "must have no template and either state absent, or wait true and a name" in res.result["msg"], \
        res.result


def test_a_waited_reference_is_not_applied_and_a_missing_one_is_named(kubeconfig, api_client, namespace):
    # deploy.yml waits for objects an earlier task applied (the roles' wait entry points):
    # an item without a template, state present, wait true. Nothing is applied for it.
    core = client.CoreV1Api(api_client)
    res = run_module(ACTION, {"templates": [{"api_version": "v1", "kind": "ConfigMap", "name": "never-made",
                                             "namespace": namespace, "wait": True}]}, env=env(kubeconfig))
    assert not res.failed and not res.result["changed"], res.result
    assert res.result["resources"][0]["result"] == "unchanged"
    assert "never-made" not in [c.metadata.name for c in core.list_namespaced_config_map(namespace).items]
    # A Job to wait for that does not exist fails, naming it (no traceback).
    res = run_module(ACTION, {"templates": [{"api_version": "batch/v1", "kind": "Job", "name": "never-made",
                                             "namespace": namespace, "wait": True}]}, env=env(kubeconfig))
    assert res.failed and res.result["msg"].startswith(f"Could not wait for Job {namespace}/never-made: HTTP 404"), res.result


def test_a_refused_change_carries_the_items_hint(kubeconfig, api_client, namespace, templates):
    # An immutable ConfigMap: the API server refuses a change of its data (HTTP 422), as it
    # refuses shrinking a volume claim. The item's refused_hint says what to do.
    core = client.CoreV1Api(api_client)
    hint = "Keep color as it was. Nothing was deleted."

    def frozen(color):
        return templates(f"frozen-{color}.yaml.j2", f"""apiVersion: v1
kind: ConfigMap
metadata: {{name: frozen, namespace: {namespace}}}
immutable: true
data: {{color: {color}}}
""")
    assert not run_module(ACTION, {"templates": [frozen("blue")]}, env=env(kubeconfig)).failed
    res = run_module(ACTION, {"templates": [{"template": frozen("red"), "refused_hint": hint}]}, env=env(kubeconfig))
    assert res.failed and res.result["status"] == 422, res.result
    assert res.result["msg"].startswith(f"Could not apply ConfigMap {namespace}/frozen") and res.result["msg"].endswith(hint), \
        res.result
    res = run_module(ACTION, {"templates": [frozen("red")]}, env=env(kubeconfig))
    assert res.failed and hint not in res.result["msg"], res.result
    assert core.read_namespaced_config_map("frozen", namespace).data == {"color": "blue"}


def test_checks_run_before_anything_is_rendered_or_applied(kubeconfig, api_client, namespace, templates):
    # The checks option: the task's preconditions, in order, before any write. The first
    # failing check names its own message (rendered then, not before); nothing is applied.
    core = client.CoreV1Api(api_client)
    item = config_template(templates, namespace)
    checks = [{"note": "first {{ 'note' }}"},
              {"that": ["1 == 1", "demo_color == 'green'"], "msg": "demo_color must be green, got {{ demo_color }}"},
              {"that": "undefined_on_purpose", "msg": "never reached"}]
    play_vars = {"checks": checks, "templates": [item]}
    res = run_module(ACTION, play_vars, env=env(kubeconfig), extra_args=("-e", "demo_color=blue"))
    assert res.failed and res.result["msg"] == "demo_color must be green, got blue", res.result
    assert res.result["assertion"] == "demo_color == 'green'"
    assert "demo" not in [c.metadata.name for c in core.list_namespaced_config_map(namespace).items]
    # Passing: the notes come back in msg, and the objects are applied.
    res = run_module(ACTION, {"checks": checks[:2], "templates": [item]}, env=env(kubeconfig),
                     extra_args=("-e", "demo_color=green"))
    assert not res.failed and res.result["changed"], res.result
    assert res.result["msg"] == ["first note"]
    assert core.read_namespaced_config_map("demo", namespace).data == {"color": "blue"}
