"""The postgres role's external provider on the local cluster: a database managed
elsewhere, given as an existing Secret (postgres_external_secret). The role alone,
without the create-database Job (there is no such database here, and no pod runs).

A Secret without the required keys fails the run with a message naming
postgres_external_secret, before the connection Secret is written (the check is part of
the task that would write it); a complete one becomes the normalised connection Secret,
with the defaults for what it leaves out (port 5432, postgres_database)."""

import base64
import textwrap
import urllib.parse

from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.support.ansible_run import run_playbook

PLAY = textwrap.dedent("""\
    - name: The postgres role alone
      hosts: all
      gather_facts: false
      roles:
        - role: paperclip.kubernetes.postgres
""")
PASSWORD = "p@ss/word:with#marks"


def _run(tmp_path, kubeconfig, namespace):
    playbook = tmp_path / "postgres.yml"
    playbook.write_text(PLAY)
    host = {"postgres_namespace": namespace, "postgres_instance": "ext", "postgres_provider": "external",
            "postgres_external_secret": "managed-db", "postgres_create_database": False}
    return run_playbook(str(playbook), {"db": host}, tmp_path, extra_env={"KUBECONFIG": kubeconfig})


def _connection(core, namespace):
    try:
        secret = core.read_namespaced_secret("ext-db", namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return {k: base64.b64decode(v).decode() for k, v in secret.data.items()}


def test_external_secret_is_checked_then_normalised(tmp_path, kubeconfig, api_client, namespace):
    core = client.CoreV1Api(api_client)
    core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="managed-db"), string_data={"host": "db.example.test", "username": "app"}))

    rc, out, failures = _run(tmp_path, kubeconfig, namespace)
    assert rc != 0, out
    assert "postgres_external_secret" in failures.get("db", "") and "host, username and password" in failures["db"], out
    assert _connection(core, namespace) is None, "the connection Secret was written before the check"

    core.patch_namespaced_secret("managed-db", namespace, {"stringData": {"password": PASSWORD}})
    rc, out, failures = _run(tmp_path, kubeconfig, namespace)
    assert rc == 0, out
    assert PASSWORD not in out
    conn = _connection(core, namespace)
    assert {k: conn[k] for k in ("host", "port", "username", "password", "database")} == {
        "host": "db.example.test", "port": "5432", "username": "app", "password": PASSWORD, "database": "paperclip"}
    assert conn["DATABASE_URL"] == (f"postgres://app:{urllib.parse.quote(PASSWORD, safe='').replace('/', '%2F')}"
                                    "@db.example.test:5432/paperclip"), conn["DATABASE_URL"]

    # A second run changes nothing.
    rc, out, _failures = _run(tmp_path, kubeconfig, namespace)
    assert rc == 0 and "changed=0" in out, out
