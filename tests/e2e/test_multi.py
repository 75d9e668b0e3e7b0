"""inventory/multi.yml on the local cluster: three instances in their own namespaces,
deployed, backed up and torn down in one run each (forks run the hosts side by
side). Nothing cluster-scoped is created, so nothing can collide."""

import re
import subprocess
import time
from pathlib import Path

import pytest
from kubernetes import client

from tests.support.ansible_run import ansible_env, recap

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ["paperclip-a", "paperclip-b", "paperclip-c"]


@pytest.fixture(scope="module")
def play(kubeconfig):
    def run(playbook, *args):
        t0 = time.monotonic()
        proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventory" / "multi.yml"),
                               *args, str(ROOT / playbook)], cwd=ROOT, capture_output=True, text=True, timeout=1800,
                              env=ansible_env(KUBECONFIG=kubeconfig, ANSIBLE_FORKS="3"), check=False)
        return proc.returncode, proc.stdout + proc.stderr, round(time.monotonic() - t0, 1)
    return run


def _cluster_scoped_ours(api_client):
    """Cluster-scoped objects the collection labelled as its own, but for the deployer
    ClusterRoles of other tests' namespaces (playbooks/rbac.yml, test_least_privilege.py,
    which may run at the same time): paperclip.kubernetes:<namespace>:<name>-deployer."""
    rbac = client.RbacAuthorizationV1Api(api_client)
    sel = "app.kubernetes.io/managed-by=paperclip.kubernetes"
    names = ([r.metadata.name for r in rbac.list_cluster_role(label_selector=sel).items]
             + [r.metadata.name for r in rbac.list_cluster_role_binding(label_selector=sel).items]
             + [s.metadata.name for s in client.StorageV1Api(api_client).list_storage_class(label_selector=sel).items])
    return [n for n in names if not (n.startswith("paperclip.kubernetes:") and n.split(":")[1] not in HOSTS)]


def test_three_instances_deploy_in_one_run(play, api_client):
    rc, output, secs = play("deploy.yml")
    print(f"\nthree instances deployed in {secs} s")
    assert rc == 0, output[-8000:]
    summary = recap(output)
    assert set(summary) == set(HOSTS) and all(s["failed"] == 0 for s in summary.values()), summary
    assert len(re.findall(r"Invite URL: http://127\.0\.0\.1:310[123]/invite/pcp_bootstrap_", output)) >= 3, output[-3000:]
    apps = client.AppsV1Api(api_client)
    for ns in HOSTS:
        assert apps.read_namespaced_stateful_set("paperclip", ns).status.ready_replicas == 1, ns
        assert client.BatchV1Api(api_client).read_namespaced_cron_job("paperclip-backup", ns).spec.schedule
    assert _cluster_scoped_ours(api_client) == []


def test_three_instances_back_up_in_one_run(play):
    rc, output, secs = play("playbooks/backup.yml")
    print(f"\nthree instances backed up in {secs} s")
    assert rc == 0, output[-6000:]
    for ns in HOSTS:
        assert re.search(rf"Backup of {ns}/paperclip: volume paperclip-backups:/paperclip-\d{{8}}T\d{{6}}Z\.dump", output), \
            output[-3000:]


def test_three_instances_tear_down_in_one_run(play, api_client):
    rc, output, _secs = play("playbooks/teardown.yml", "-e", "paperclip_teardown_purge=true")
    assert rc == 0, output[-6000:]
    core = client.CoreV1Api(api_client)
    for ns in HOSTS:
        assert core.list_namespaced_persistent_volume_claim(ns).items == []
        assert [p.metadata.name for p in core.list_namespaced_pod(ns).items
                if p.metadata.deletion_timestamp is None and p.status.phase == "Running"] == []
        core.delete_namespace(ns)
