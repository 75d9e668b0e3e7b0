"""paperclip_health's `service` mode against the local control plane.

The Service here selects no pod, so the API server answers the proxy request
itself and never dials a pod. That checks the path end to end: kube auth
options -> get_api_client -> the service proxy URL -> the API server's answer
-> the module's verdict and messages. The healthy path through the proxy, and
a pod that answers slowly, are the e2e tests' (a real Paperclip behind a real
Service: test_deploy_on_cluster.py, test_faults.py).
"""

from __future__ import annotations

from kubernetes import client

from tests.support.run_module import run_module

HEALTH = "paperclip.kubernetes.paperclip_health"


def make_service(api_client, namespace, name="paperclip"):
    client.CoreV1Api(api_client).create_namespaced_service(namespace, client.V1Service(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1ServiceSpec(selector={"app": name},
                                  ports=[client.V1ServicePort(name="http", port=3100, target_port=3100)])))


def test_service_without_endpoints(namespace, kubeconfig, api_client):
    make_service(api_client, namespace)
    path = f"/api/v1/namespaces/{namespace}/services/http:paperclip:http/proxy/api/health"

    one = run_module(HEALTH, {"service": "paperclip", "namespace": namespace, "kubeconfig": kubeconfig,
                              "wait": False}).result
    assert not one.get("failed"), one              # an HTTP answer was received
    assert one["url"] == path
    assert one["state"] == "kubernetes_error" and one["http_status"] == 503
    assert one["status"] is None and one["changed"] is False

    res = run_module(HEALTH, {"service": "paperclip", "namespace": namespace, "kubeconfig": kubeconfig,
                              "timeout": 4, "interval": 1})
    r = res.result
    assert res.failed, r
    assert path in r["msg"] and "Last HTTP status 503" in r["msg"]
    assert "no endpoints available" in r["msg"]
    assert r["attempts"] >= 3


def test_missing_service_and_port_choice(namespace, kubeconfig):
    r = run_module(HEALTH, {"service": "nope", "namespace": namespace, "kubeconfig": kubeconfig,
                            "port": "3100", "scheme": "https", "wait": False}).result
    assert not r.get("failed"), r
    assert r["url"] == f"/api/v1/namespaces/{namespace}/services/https:nope:3100/proxy/api/health"
    assert r["state"] == "kubernetes_error" and r["http_status"] == 404


def test_bad_kubeconfig_fails_cleanly(namespace, tmp_path):
    r = run_module(HEALTH, {"service": "paperclip", "namespace": namespace,
                            "kubeconfig": str(tmp_path / "missing"), "wait": False}).result
    assert r.get("failed") and "Could not create API client" in r["msg"], r
