"""paperclip.kubernetes.object_info against the real API server: reads of objects that
exist and do not, one or several in a task, and its checks option, which sees what the
task read under the task's register name (the way failed_when and until see it)."""

from kubernetes import client

from tests.support.run_module import run_module

ACTION = "paperclip.kubernetes.object_info"


def env(kubeconfig):
    return {"KUBECONFIG": kubeconfig}


def test_reads_and_checks_what_it_read(kubeconfig, api_client, namespace):
    core = client.CoreV1Api(api_client)
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="present", labels={"app.kubernetes.io/managed-by": "someone-else"}),
        data={"color": "blue"}))
    objects = [{"kind": "ConfigMap", "namespace": namespace, "name": "present"},
               {"kind": "ConfigMap", "namespace": namespace, "name": "missing"}]

    # Reads only: one entry per object, the missing one with no resources.
    res = run_module(ACTION, {"objects": objects}, env=env(kubeconfig))
    assert not res.failed and not res.result["changed"], res.result
    assert [len(r["resources"]) for r in res.result["results"]] == [1, 0]
    assert res.result["results"][0]["resources"][0]["data"] == {"color": "blue"}

    # The checks see this task's result as r (run_module registers r); a note, then a failure
    # whose message names what was read.
    checks = [
        {"when": "r.results[1].resources | length == 0", "note": "missing is {{ 'absent' }}"},
        {"that": "r.results[0].resources[0].metadata.labels['app.kubernetes.io/managed-by'] == 'paperclip.kubernetes'",
         "msg": "present is managed by {{ r.results[0].resources[0].metadata.labels['app.kubernetes.io/managed-by'] }}"},
    ]
    res = run_module(ACTION, {"objects": objects, "checks": checks}, env=env(kubeconfig))
    assert res.failed and res.result["msg"] == "present is managed by someone-else", res.result
    assert len(res.result["results"]) == 2  # what was read is still returned

    res = run_module(ACTION, {"objects": objects, "checks": checks[:1]}, env=env(kubeconfig))
    assert not res.failed and res.result["msg"] == ["missing is absent"], res.result

    # One object: the checks see its fields at the top of the result.
    res = run_module(ACTION, {"kind": "ConfigMap", "namespace": namespace, "name": "present",
                              "checks": [{"that": "r.resources[0].data.color == 'red'", "msg": "not red"}]},
                     env=env(kubeconfig))
    assert res.failed and res.result["msg"] == "not red", res.result
