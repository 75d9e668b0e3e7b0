"""What a user of the deployed instance cares about, checked against the cluster
after converge and the idempotence run (shared by molecule/default and molecule/kind)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

INVITE_TOKEN_RE = re.compile(r"pcp_bootstrap_[0-9a-f]{48}")
# Keys of the collection's Secrets whose values are not secret (allowed in specs).
NOT_SECRET_KEYS = {"host", "port", "username", "database", "expires_at", "job"}
# Environment variables that must come from a Secret, never as a literal value.
SENSITIVE_ENV = {"DATABASE_URL", "BETTER_AUTH_SECRET", "PAPERCLIP_SECRETS_MASTER_KEY",
                 "PAPERCLIP_AGENT_JWT_SECRET", "POSTGRES_PASSWORD", "PGPASSWORD",
                 "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY",
                 "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def _labels(instance) -> str:
    return f"app.kubernetes.io/instance={instance.name},app.kubernetes.io/managed-by=paperclip.kubernetes"


def _decoded(secret: client.V1Secret) -> dict:
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def _is_ready(pod: client.V1Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _through_service_proxy(api, instance, path: str) -> tuple[int, str]:
    """GET `path` of the instance through the API server's service proxy."""
    try:
        resp = client.CoreV1Api(api).connect_get_namespaced_service_proxy_with_path(
            f"http:{instance.name}:http", instance.namespace, path.lstrip("/"), _preload_content=False,
            _request_timeout=30)
        return resp.status, resp.data.decode()
    except ApiException as exc:
        return exc.status, exc.body or ""


def _owned_by(obj, kind: str, name: str) -> bool:
    return any(o.kind == kind and o.name == name for o in obj.metadata.owner_references or [])


# ------------------------------------------------------------------ workloads and volumes

@pytest.mark.parametrize("suffix", ["", "-postgres"])
def test_statefulset_is_rolled_out_and_ready(instance, apps, core, suffix):
    name = instance.name + suffix
    sts = apps.read_namespaced_stateful_set(name, instance.namespace)
    status = sts.status
    assert sts.spec.replicas >= 1
    assert status.observed_generation == sts.metadata.generation, "controller has not seen the latest spec"
    assert status.ready_replicas == sts.spec.replicas, f"{status.ready_replicas}/{sts.spec.replicas} ready"
    assert status.updated_replicas == sts.spec.replicas
    assert status.current_revision == status.update_revision, "a rollout is still in progress"
    pods = [p for p in core.list_namespaced_pod(instance.namespace).items if _owned_by(p, "StatefulSet", name)]
    assert len(pods) == sts.spec.replicas
    for pod in pods:
        assert pod.status.phase == "Running" and _is_ready(pod), f"{pod.metadata.name}: {pod.status.phase}"
        assert pod.metadata.labels.get("controller-revision-hash") == status.update_revision


@pytest.mark.parametrize("suffix", ["", "-postgres"])
def test_data_volume_is_bound_and_mounted(instance, apps, core, suffix):
    claim = f"{instance.name}{suffix}-data"
    pvc = core.read_namespaced_persistent_volume_claim(claim, instance.namespace)
    assert pvc.status.phase == "Bound", f"{claim}: {pvc.status.phase}"
    assert pvc.spec.volume_name
    sts = apps.read_namespaced_stateful_set(instance.name + suffix, instance.namespace)
    claims = {v.persistent_volume_claim.claim_name for v in sts.spec.template.spec.volumes or []
              if v.persistent_volume_claim}
    assert claim in claims, f"{instance.name}{suffix} does not mount {claim}: {claims}"


def test_every_claim_of_the_instance_is_bound(instance, core):
    claims = core.list_namespaced_persistent_volume_claim(instance.namespace, label_selector=_labels(instance)).items
    assert len(claims) >= 2
    assert {c.metadata.name: c.status.phase for c in claims} == {c.metadata.name: "Bound" for c in claims}


def test_jobs_of_the_instance_succeeded(instance, api):
    jobs = client.BatchV1Api(api).list_namespaced_job(instance.namespace, label_selector=_labels(instance)).items
    assert {j.metadata.name: bool(j.status.failed) for j in jobs} == {j.metadata.name: False for j in jobs}
    names = [j.metadata.name for j in jobs if j.status.succeeded]
    assert any(n.startswith(f"{instance.name}-create-db-") for n in names), names
    assert any(n.startswith(f"{instance.name}-bootstrap-") for n in names), names


# ------------------------------------------------------------------ secrets

def test_connection_secret_is_complete(instance, core):
    db = _decoded(core.read_namespaced_secret(f"{instance.name}-db", instance.namespace))
    assert {"host", "port", "username", "password", "database", "DATABASE_URL"} <= set(db)
    assert len(db["password"]) >= 16
    assert db["DATABASE_URL"].startswith(
        f"postgres://{db['username']}:{db['password']}@{db['host']}:{db['port']}/{db['database']}")


def test_instance_secret_is_complete(instance, core):
    data = _decoded(core.read_namespaced_secret(f"{instance.name}-instance", instance.namespace))
    assert set(data) >= {"BETTER_AUTH_SECRET", "PAPERCLIP_SECRETS_MASTER_KEY", "PAPERCLIP_AGENT_JWT_SECRET"}
    assert all(len(v) >= 32 for v in data.values()), "a generated secret is too short"
    assert len(set(data.values())) == len(data), "two generated secrets are equal"


def test_secrets_did_not_change_in_the_idempotence_run(instance, core, secrets_after_converge):
    assert {f"{instance.name}-instance", f"{instance.name}-db"} <= set(secrets_after_converge)
    problems = []
    for name, before in sorted(secrets_after_converge.items()):
        if not before["uid"]:
            problems.append(f"{name} did not exist after the first converge")
            continue
        secret = core.read_namespaced_secret(name, instance.namespace)
        data = {k: hashlib.sha256(v.encode()).hexdigest() for k, v in (secret.data or {}).items()}
        if secret.metadata.uid != before["uid"]:
            problems.append(f"{name} was deleted and created again")
        changed = sorted(k for k in set(data) | set(before["data"]) if data.get(k) != before["data"].get(k))
        if changed:
            problems.append(f"{name}: the values of {changed} changed")
        if secret.metadata.resource_version != before["resourceVersion"]:
            problems.append(f"{name} was written again (resourceVersion "
                            f"{before['resourceVersion']} -> {secret.metadata.resource_version})")
    assert not problems, "\n".join(problems)


def _secret_values(core, namespace) -> set[str]:
    """Every value stored in a Secret of the namespace, except the few plain ones."""
    values = set()
    for secret in core.list_namespaced_secret(namespace).items:
        if secret.type == "kubernetes.io/service-account-token":
            continue
        values.update(v for k, v in _decoded(secret).items() if k not in NOT_SECRET_KEYS and len(v) >= 12)
    return values


def test_no_pod_spec_has_a_literal_secret(instance, api, core, apps):
    secrets = _secret_values(core, instance.namespace)
    db_password = _decoded(core.read_namespaced_secret(f"{instance.name}-db", instance.namespace))["password"]
    assert db_password in secrets, "the scan would not find the generated values"
    batch = client.BatchV1Api(api)
    ns = instance.namespace
    templates = [(f"StatefulSet/{s.metadata.name}", s.spec.template) for s in apps.list_namespaced_stateful_set(ns).items]
    templates += [(f"Job/{j.metadata.name}", j.spec.template) for j in batch.list_namespaced_job(ns).items]
    templates += [(f"CronJob/{c.metadata.name}", c.spec.job_template.spec.template)
                  for c in batch.list_namespaced_cron_job(ns).items]
    templates += [(f"Pod/{p.metadata.name}", p) for p in core.list_namespaced_pod(ns).items]
    assert len(templates) >= 4
    for where, template in templates:
        text = json.dumps(api.sanitize_for_serialization(template))
        leaked = sum(1 for v in secrets if v in text)  # a count: never print the values
        assert leaked == 0, f"{where} contains {leaked} literal secret value(s)"
        for container in (template.spec.init_containers or []) + template.spec.containers:
            for env in container.env or []:
                if env.name in SENSITIVE_ENV:
                    assert env.value is None and env.value_from and env.value_from.secret_key_ref, \
                        f"{where}/{container.name}: {env.name} is not taken from a Secret"
    for cm in core.list_namespaced_config_map(ns).items:
        text = json.dumps(cm.data or {})
        leaked = sum(1 for v in secrets if v in text)  # a count: never print the values
        assert leaked == 0, f"ConfigMap/{cm.metadata.name} holds {leaked} secret value(s)"


# ------------------------------------------------------------------ namespace

def test_namespace_enforces_pod_security_restricted(instance, core):
    ns = core.read_namespace(instance.namespace)
    assert ns.metadata.labels.get("pod-security.kubernetes.io/enforce") == "restricted"
    # Admission really refuses a privileged pod (server-side dry run: nothing is created).
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="molecule-privileged-probe"),
        spec=client.V1PodSpec(containers=[client.V1Container(
            name="probe", image="registry.k8s.io/pause:3.10",
            security_context=client.V1SecurityContext(privileged=True))]))
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(instance.namespace, pod, dry_run="All")
    assert refused.value.status == 403, refused.value.body
    assert "violates PodSecurity" in refused.value.body and "restricted" in refused.value.body


# ------------------------------------------------------------------ first admin invite

def test_stored_invite_points_at_the_public_url(instance, api, core):
    invite = _decoded(core.read_namespaced_secret(f"{instance.name}-bootstrap-invite", instance.namespace))
    url = invite["invite_url"]
    prefix = f"{instance.public_url}/invite/"
    assert url.startswith(prefix + "pcp_bootstrap_"), url
    assert INVITE_TOKEN_RE.fullmatch(url[len(prefix):]), url
    expires = datetime.datetime.fromisoformat(invite["expires_at"].replace("Z", "+00:00"))
    assert expires > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1), expires
    # The running instance itself knows the stored invite: asked through the API
    # server's service proxy (never a connection to a pod or Service address).
    code, body = _through_service_proxy(api, instance, f"/api/invites/{url[len(prefix):]}")
    assert code == 200, f"the instance refused the stored invite: HTTP {code} {body[:300]}"


def test_instance_is_healthy_and_unclaimed(instance, api):
    code, body = _through_service_proxy(api, instance, "/api/health")
    assert code == 200, body[:300]
    health = json.loads(body)
    assert (health["status"], health["bootstrapStatus"], health["bootstrapInviteActive"]) == \
        ("ok", "bootstrap_pending", True), health


# ------------------------------------------------------------------ routing

def test_service_selects_exactly_the_app_pods(instance, core):
    svc = core.read_namespaced_service(instance.name, instance.namespace)
    selector = svc.spec.selector or {}
    assert selector, "the Service has no selector"
    selected = core.list_namespaced_pod(instance.namespace,
                                        label_selector=",".join(f"{k}={v}" for k, v in selector.items())).items
    app_pods = [p for p in core.list_namespaced_pod(instance.namespace).items
                if _owned_by(p, "StatefulSet", instance.name)]
    assert app_pods, "no app pods"
    assert sorted(p.metadata.name for p in selected) == sorted(p.metadata.name for p in app_pods)
    # Its port leads to the app container's port.
    containers = app_pods[0].spec.containers
    container = next((c for c in containers if c.name == "paperclip"), containers[0])
    ports = {p.name: p.container_port for p in container.ports or []}
    for port in svc.spec.ports:
        target = port.target_port
        assert target in ports or target in ports.values(), f"Service port {port.port} -> {target}, container {ports}"


def test_ingress_routes_the_public_host_to_the_service(instance, api, core):
    ingress = client.NetworkingV1Api(api).read_namespaced_ingress(instance.name, instance.namespace)
    rules = [r for r in ingress.spec.rules or [] if r.host == instance.host]
    assert rules, f"no rule for {instance.host}: {[r.host for r in ingress.spec.rules or []]}"
    svc = core.read_namespaced_service(instance.name, instance.namespace)
    svc_ports = {p.name for p in svc.spec.ports} | {p.port for p in svc.spec.ports}
    root = [p for p in rules[0].http.paths if p.path in ("/", None) and p.path_type in ("Prefix", "ImplementationSpecific")]
    assert root, "no path / on the public host"
    backend = root[0].backend.service
    assert backend.name == svc.metadata.name
    assert (backend.port.name or backend.port.number) in svc_ports
    if instance.variables.get("paperclip_ingress_tls_enabled", True):
        assert any(instance.host in (t.hosts or []) for t in ingress.spec.tls or []), "public host not in TLS"
