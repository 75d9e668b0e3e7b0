"""The ownership check of deploy.yml (roles/paperclip/tasks/ownership.yml), offline.

A namespace another release manages (Helm's release annotation, or another
app.kubernetes.io/managed-by), or a StatefulSet named paperclip_name that is not this
collection's, fails the host before any write with a message naming the variable;
paperclip_namespace_adopt skips the check. The hosts talk to a stand-in API server on
127.0.0.1 that answers discovery and GETs from a table and refuses every write (and
records it): the test shows which hosts got past the check (their first write
arrives) and that the refused ones sent nothing but reads. The same story on the real
API server is tests/e2e/test_bad_input_cluster.py.

The hosts reach the stand-in through paperclip_kubeconfig and paperclip_kube_context
only (KUBECONFIG points at a closed port), so this also shows that the reads (one
object_info task) get the playbook's auth variables through its module_defaults."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from tests.support.ansible_run import run_playbook

HELM = {"labels": {"app.kubernetes.io/managed-by": "Helm"}, "annotations": {"meta.helm.sh/release-name": "other"}}
OURS = {"labels": {"app.kubernetes.io/managed-by": "paperclip.kubernetes"}}

# host (also its namespace) -> (the Namespace's metadata or None, the StatefulSet's labels or None, extra variables)
HOSTS = {
    "helm-ns": (HELM, None, {}),
    "helm-annotation": ({"annotations": {"meta.helm.sh/release-name": "other"}}, None, {}),
    "argocd-ns": ({"labels": {"app.kubernetes.io/managed-by": "argocd"}}, None, {}),
    "foreign-sts": ({}, {"app.kubernetes.io/managed-by": "Helm"}, {}),
    "unlabelled-sts": ({}, {}, {}),
    "adopt": (HELM, {"app.kubernetes.io/managed-by": "Helm"}, {"paperclip_namespace_adopt": True}),
    "ours": (OURS, {"app.kubernetes.io/managed-by": "paperclip.kubernetes"}, {}),
    "admin-ns": ({"labels": {"team": "a"}}, None, {}),
    "fresh": (None, None, {}),
    "ns-forbidden": ("forbidden", None, {}),
    # A StatefulSet the account may not read: unlike the namespace, that fails the read.
    "sts-forbidden": ({}, "forbidden", {}),
}
REFUSED = {
    "helm-ns": ('paperclip_namespace="helm-ns" belongs to another release '
                '({"meta.helm.sh/release-name": "other", "app.kubernetes.io/managed-by": "Helm"})'),
    "helm-annotation": "paperclip_namespace=\"helm-annotation\" belongs to another release",
    "argocd-ns": "belongs to another release ({\"app.kubernetes.io/managed-by\": \"argocd\"})",
    "foreign-sts": "paperclip_name=\"paperclip\": the StatefulSet of that name in foreign-sts is not this collection's",
    "unlabelled-sts": "paperclip_name=\"paperclip\": the StatefulSet of that name",
}
PASSED = sorted(set(HOSTS) - set(REFUSED) - {"sts-forbidden"})

RESOURCES = {
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace",
         "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["ns"]}]},
    "/apis/apps/v1": {"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": [
        {"name": "statefulsets", "singularName": "statefulset", "namespaced": True, "kind": "StatefulSet",
         "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["sts"]}]},
}
DISCOVERY = {
    "/version": {"major": "1", "minor": "36", "gitVersion": "v1.36.0", "platform": "linux/amd64"},
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
         "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}]},
    **RESOURCES,
}


def _status(code, reason, message):
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason, "code": code}


def _answer(path):
    """(HTTP status, body) for a GET of path."""
    path = path.split("?", 1)[0]
    if path in DISCOVERY:
        return 200, DISCOVERY[path]
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 4:
        meta = HOSTS.get(parts[3], (None,))[0]
        if meta == "forbidden":
            return _status(403, "Forbidden", f'namespaces "{parts[3]}" is forbidden: User "u" cannot get resource '
                                             f'"namespaces" in API group "" in the namespace "{parts[3]}"')
        if meta is None:
            return _status(404, "NotFound", f'namespaces "{parts[3]}" not found')
        return 200, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": parts[3], **meta},
                     "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    if parts[:4] == ["apis", "apps", "v1", "namespaces"] and len(parts) == 7 and parts[5] == "statefulsets":
        labels = HOSTS.get(parts[4], (None, None))[1]
        if labels == "forbidden":
            return _status(403, "Forbidden", f'statefulsets.apps "{parts[6]}" is forbidden: User "u" cannot get '
                                             f'resource "statefulsets" in API group "apps" in the namespace "{parts[4]}"')
        if labels is None:
            return _status(404, "NotFound", f'statefulsets.apps "{parts[6]}" not found')
        return 200, {"apiVersion": "apps/v1", "kind": "StatefulSet",
                     "metadata": {"name": parts[6], "namespace": parts[4], "labels": labels}, "spec": {}}
    return _status(404, "NotFound", "the server could not find the requested resource")


class _Handler(BaseHTTPRequestHandler):
    def _reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.requests.append(("GET", self.path))
        self._reply(*_answer(self.path))

    def _write(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.requests.append((self.command, self.path))
        self._reply(*_status(403, "Forbidden", "stand-in API server: writes are refused"))

    do_POST = do_PUT = do_PATCH = do_DELETE = _write

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    work = tmp_path_factory.mktemp("ownership")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        kubeconfig = work / "stand-in-kubeconfig"
        kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "closed",
            "clusters": [{"name": "stand-in", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}},
                         {"name": "closed", "cluster": {"server": "https://127.0.0.1:9"}}],
            "users": [{"name": "u", "user": {"token": "unused"}}],
            "contexts": [{"name": "stand-in", "context": {"cluster": "stand-in", "user": "u"}},
                         {"name": "closed", "context": {"cluster": "closed", "user": "u"}}],
        }))
        hosts = {name: {"paperclip_host": "paperclip.example.com", "paperclip_namespace": name,
                        "paperclip_kubeconfig": str(kubeconfig), "paperclip_kube_context": "stand-in", **extra}
                 for name, (_ns, _sts, extra) in HOSTS.items()}
        # TMPDIR: kubernetes.core caches discovery in a file there.
        rc, output, failures = run_playbook("deploy.yml", hosts, work, extra_env={"TMPDIR": str(work)})
    finally:
        server.shutdown()
        server.server_close()
    return rc, output, failures, list(server.requests)


def _writes(requests, namespace):
    """The non-GET requests for the namespace or an object in it."""
    return [r for r in requests if r[0] != "GET" and f"/namespaces/{namespace}/" in r[1].split("?", 1)[0] + "/"]


@pytest.mark.parametrize("host", sorted(REFUSED))
def test_refused_before_any_write_naming_the_variable(outcome, host):
    rc, output, failures, requests = outcome
    assert rc != 0
    assert host in failures, output[-3000:]
    assert REFUSED[host] in failures[host], failures[host]
    assert "Nothing was changed" in failures[host]
    assert not _writes(requests, host), _writes(requests, host)
    # The reads did happen: the check saw the cluster.
    assert ("GET", f"/apis/apps/v1/namespaces/{host}/statefulsets/paperclip") in requests


@pytest.mark.parametrize("host", PASSED)
def test_passes_the_check_and_reaches_the_namespace_task(outcome, host):
    _rc, output, failures, _requests = outcome
    # The stand-in refuses writes (and ns-forbidden's reads), so a host past the check
    # fails at the next task, the namespace's apply.
    assert host in failures, output[-3000:]
    assert failures[host].startswith(f"Could not apply Namespace {host} (namespace.yaml.j2): HTTP 403"), failures[host]


def test_adopt_skips_the_reads(outcome):
    requests = outcome[3]
    first_write = requests.index(_writes(requests, "adopt")[0])
    assert ("GET", "/apis/apps/v1/namespaces/adopt/statefulsets/paperclip") not in requests[:first_write]


def test_a_namespace_that_cannot_be_read_warns(outcome):
    output = outcome[1]
    assert "cannot get resource" in output and "ns-forbidden" in output


def test_a_statefulset_that_cannot_be_read_fails_before_any_write(outcome):
    # Both objects are read in one task (object_info's objects); only the namespace's
    # refusal is ignored (ignore_forbidden), the StatefulSet's fails the host, naming it.
    rc, output, failures, requests = outcome
    assert "sts-forbidden" in failures, output[-3000:]
    assert failures["sts-forbidden"].startswith("Could not read StatefulSet sts-forbidden/paperclip: HTTP 403"), failures
    assert "cannot get resource \"statefulsets\"" in failures["sts-forbidden"]
    assert not _writes(requests, "sts-forbidden")
