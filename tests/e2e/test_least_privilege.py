"""Least privilege (issue 12), on the real node: a cluster admin runs playbooks/rbac.yml
once; then deploy (and its check mode and re-run), invite rotation, a backup, a restore
and a purging teardown all run with a kubeconfig for the deployer ServiceAccount alone.
A right taken away gives a message naming the verb and resource; the account can do
nothing outside its namespace; the app's and the Jobs' ServiceAccounts have no token
and no rights. The API server's audit log is not needed: every request either works
or the play fails."""

import uuid

import pytest
import yaml
from kubernetes import client

from tests.support.ansible_run import recap, run_playbook
from tests.support.cluster import served_instance_vars

NAMESPACE = f"pc-rbac-{uuid.uuid4().hex[:6]}"
DEPLOYER = "paperclip-deployer"
CLUSTER_NAME = f"paperclip.kubernetes:{NAMESPACE}:{DEPLOYER}"


@pytest.fixture(scope="module")
def admin(kubeconfig, images, tmp_path_factory):
    """Runs a playbook with the admin kubeconfig (the cluster's own)."""
    work = tmp_path_factory.mktemp("rbac-admin")
    host = {"rbac": served_instance_vars(NAMESPACE, 3119, images, "paperclip.rbac.test")}

    def run(playbook, args=()):
        return run_playbook(playbook, host, work, extra_env={"KUBECONFIG": kubeconfig}, args=args)
    return run


@pytest.fixture(scope="module")
def deployer(admin, kubeconfig, images, api_client, tmp_path_factory):
    """Runs a playbook with a kubeconfig holding only the deployer's token."""
    rc, output, _failures = admin("playbooks/rbac.yml")
    assert rc == 0, output[-4000:]
    core = client.CoreV1Api(api_client)
    token = core.create_namespaced_service_account_token(
        DEPLOYER, NAMESPACE, client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=7200))).status.token
    work = tmp_path_factory.mktemp("rbac-deployer")
    with open(kubeconfig) as f:
        cluster = yaml.safe_load(f)["clusters"][0]
    path = work / "deployer.kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": [cluster],
        "users": [{"name": "deployer", "user": {"token": token}}],
        "contexts": [{"name": "deployer", "context": {"cluster": cluster["name"], "user": "deployer"}}],
        "current-context": "deployer"}))
    path.chmod(0o600)
    host = {"rbac": {**served_instance_vars(NAMESPACE, 3119, images, "paperclip.rbac.test"),
                     "paperclip_namespace_create": False}}

    def run(playbook="deploy.yml", args=(), ok=True):
        rc, output, failures = run_playbook(playbook, host, work, extra_env={"KUBECONFIG": str(path)}, args=args)
        assert not ok or (rc == 0 and not failures), output[-6000:]
        return rc, output
    yield run
    run("playbooks/teardown.yml", ("-e", "paperclip_teardown_purge=true"), ok=False)
    admin("playbooks/rbac.yml", ("-e", "paperclip_deployer_state=absent"))
    core.delete_namespace(NAMESPACE)


def allowed(api_client, user, verb, resource, namespace=None, group="", name=None, subresource=None):
    review = client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
        user=user, groups=["system:serviceaccounts", f"system:serviceaccounts:{NAMESPACE}", "system:authenticated"],
        resource_attributes=client.V1ResourceAttributes(verb=verb, resource=resource, group=group,
                                                        namespace=namespace, name=name, subresource=subresource)))
    return client.AuthorizationV1Api(api_client).create_subject_access_review(review).status.allowed


def test_the_deployer_deploys_checks_and_reruns(deployer):
    _rc, output = deployer()
    assert "/invite/" in output
    _rc, output = deployer(args=("--check",))
    assert recap(output)["rbac"]["changed"] == 0, output[-3000:]
    _rc, output = deployer()
    assert recap(output)["rbac"]["changed"] == 0, output[-3000:]


def test_the_deployer_rotates_backs_up_and_restores(deployer):
    _rc, output = deployer("playbooks/rotate_invite.yml", ("-e", "bootstrap_rotate_force=true"))
    assert "/invite/" in output
    deployer("playbooks/backup.yml")
    deployer("playbooks/restore.yml", ("-e", "restore_confirm=paperclip"))


def test_the_deployer_can_do_nothing_outside_its_namespace(deployer, api_client):
    user = f"system:serviceaccount:{NAMESPACE}:{DEPLOYER}"
    assert allowed(api_client, user, "patch", "statefulsets", NAMESPACE, group="apps")
    assert allowed(api_client, user, "get", "namespaces", name=NAMESPACE)
    # Not its namespace's labels (Pod Security), not other namespaces, not cluster objects.
    assert not allowed(api_client, user, "patch", "namespaces", name=NAMESPACE)
    assert not allowed(api_client, user, "get", "namespaces", name="kube-system")
    assert not allowed(api_client, user, "list", "secrets", "kube-system")
    assert not allowed(api_client, user, "create", "pods", NAMESPACE)
    assert not allowed(api_client, user, "create", "pods", NAMESPACE, subresource="exec")
    assert not allowed(api_client, user, "create", "roles", NAMESPACE, group="rbac.authorization.k8s.io")
    assert not allowed(api_client, user, "create", "clusterrolebindings", group="rbac.authorization.k8s.io")
    assert not allowed(api_client, user, "create", "persistentvolumes")


def test_the_app_and_job_accounts_have_no_token_and_no_rights(deployer, api_client):
    core = client.CoreV1Api(api_client)
    pods = core.list_namespaced_pod(NAMESPACE).items
    app = [p for p in pods if p.metadata.name == "paperclip-0"]
    jobs = [p for p in pods if (p.metadata.labels or {}).get("batch.kubernetes.io/job-name")]
    assert app and jobs, [p.metadata.name for p in pods]
    for pod in app + jobs:
        mounts = [m.mount_path for c in (pod.spec.containers + (pod.spec.init_containers or []))
                  for m in (c.volume_mounts or [])]
        projected = [v.name for v in pod.spec.volumes or [] if v.projected]
        assert pod.spec.automount_service_account_token is False, pod.metadata.name
        assert not [m for m in mounts if "serviceaccount" in m] and not projected, (pod.metadata.name, mounts, projected)
    accounts = {p.spec.service_account_name for p in app + jobs}
    assert accounts == {"paperclip", "default"}, accounts
    for account in accounts:
        user = f"system:serviceaccount:{NAMESPACE}:{account}"
        for verb, resource, group in [("get", "secrets", ""), ("list", "pods", ""), ("create", "pods", ""),
                                      ("get", "configmaps", ""), ("list", "jobs", "batch"),
                                      ("get", "statefulsets", "apps")]:
            assert not allowed(api_client, user, verb, resource, NAMESPACE, group=group), (account, verb, resource)


def test_a_missing_right_is_named_with_its_verb_and_resource(deployer, api_client):
    rbac = client.RbacAuthorizationV1Api(api_client)
    role = rbac.read_namespaced_role(DEPLOYER, NAMESPACE)
    kept = [r for r in role.rules if "jobs" not in (r.resources or [])]
    assert len(kept) < len(role.rules)

    def rules(items):
        return {"rules": [rbac.api_client.sanitize_for_serialization(r) for r in items]}
    rbac.patch_namespaced_role(DEPLOYER, NAMESPACE, rules(kept))
    try:
        rc, output = deployer(ok=False)
    finally:
        rbac.patch_namespaced_role(DEPLOYER, NAMESPACE, rules(role.rules))
    assert rc != 0
    assert "HTTP 403" in output and '"jobs"' in output and "cannot" in output, output[-3000:]
    assert "playbooks/rbac.yml" in output


def test_teardown_by_the_deployer_removes_everything_it_made(deployer, api_client):
    deployer("playbooks/teardown.yml", ("-e", "paperclip_teardown_purge=true"))
    core = client.CoreV1Api(api_client)
    left = [s.metadata.name for s in core.list_namespaced_secret(NAMESPACE).items]
    left += [c.metadata.name for c in core.list_namespaced_persistent_volume_claim(NAMESPACE).items]
    left += [s.metadata.name for s in client.AppsV1Api(api_client).list_namespaced_stateful_set(NAMESPACE).items]
    left += [j.metadata.name for j in client.BatchV1Api(api_client).list_namespaced_job(NAMESPACE).items]
    assert left == [], left
    # The deployer's own account and rights stay (rbac.yml removes them, as the admin).
    assert client.RbacAuthorizationV1Api(api_client).read_namespaced_role(DEPLOYER, NAMESPACE)
