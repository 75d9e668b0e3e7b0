"""Render every manifest of deploy.yml for a matrix of variable sets (one inventory
host each, rendered in one run through paperclip_render_dir) and check them:
built-in kinds against the Kubernetes 1.36 schemas in strict mode, custom resources
for their required fields, and no secret value outside a Secret."""

import json
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.ansible_run import run_playbook

# hack/setup.sh installs kubernetes-validate apart from the venv that runs the playbooks
# (the kubernetes client imports it in every run when it is installed there).
sys.path.append(str(Path(__file__).resolve().parents[3] / ".build" / "python-test-only"))
import kubernetes_validate  # noqa: E402

K8S_VERSION = "1.36.0"
# Values that must never appear in anything but a Secret.
OPENAI = "sk-openai-test-0000000000"
ANTHROPIC = "sk-ant-test-0000000000"
S3_SECRET = "s3-secret-test-0000000000"
EXT_PASSWORD = "ext-password-test-000"
SECRET_VALUES = [OPENAI, ANTHROPIC, S3_SECRET, EXT_PASSWORD]
SECRET_ENV_NAMES = {
    "DATABASE_URL", "BETTER_AUTH_SECRET", "PAPERCLIP_SECRETS_MASTER_KEY", "PAPERCLIP_AGENT_JWT_SECRET",
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "POSTGRES_PASSWORD", "PGPASSWORD",
}
BASE = {"paperclip_host": "paperclip.example.com"}
PAPERCLIP_DIGEST_REF = "ghcr.io/paperclipai/paperclip:sha-b8725c5@sha256:" + "0123456789abcdef" * 4
POSTGRES_DIGEST_REF = "docker.io/library/postgres@sha256:" + "fedcba9876543210" * 4

VARIABLE_SETS = {
    "default": {},
    "pg-kubeblocks-v1": {"postgres_provider": "kubeblocks", "postgres_kubeblocks_api_version": "v1"},
    "pg-kubeblocks-v1alpha1": {"postgres_provider": "kubeblocks", "postgres_kubeblocks_api_version": "v1alpha1"},
    "pg-cloudnativepg": {"postgres_provider": "cloudnativepg", "postgres_storage_class": "fast"},
    "pg-external-url": {"postgres_provider": "external",
                        "postgres_external_url": f"postgres://app:{EXT_PASSWORD}@db.example.com:5433/paperclip"},
    "pg-external-secret": {"postgres_provider": "external", "postgres_external_secret": "my-db"},
    "s3-values-extras": {
        "storage_object_provider": "s3", "storage_s3_bucket": "paperclip-assets",
        "storage_s3_endpoint": "https://minio.example.com", "storage_s3_force_path_style": True,
        "storage_s3_access_key_id": "AKIATEST", "storage_s3_secret_access_key": S3_SECRET,
        "paperclip_openai_api_key": OPENAI, "paperclip_anthropic_api_key": ANTHROPIC,
        "paperclip_network_policy_enabled": True, "paperclip_pdb_enabled": True,
        "paperclip_extra_env": {"PAPERCLIP_LOG_LEVEL": "debug"},
    },
    "s3-secret": {"storage_object_provider": "s3", "storage_s3_bucket": "assets.example",
                  "storage_s3_credentials_secret": "my-s3", "storage_volume_size": "5Gi"},
    "backup-volume": {"backup_schedule": "17 3 * * *", "backup_retention": 14},
    "backup-s3": {"storage_object_provider": "s3", "storage_s3_bucket": "assets.example",
                  "storage_s3_credentials_secret": "my-s3", "backup_target": "s3", "backup_schedule": "0 * * * *"},
    "ingress-off": {"paperclip_ingress_enabled": False, "paperclip_public_url": "http://paperclip.example.com",
                    "paperclip_startup_failure_threshold": 12},
    "sealos": {"paperclip_platform": "sealos", "paperclip_namespace": "ns-alice", "paperclip_name": "paperclip-ab12cd34",
               "paperclip_host": "paperclip-ab12cd34.cloud.sealos.io", "storage_object_provider": "sealos",
               "paperclip_memory_limit": "512Mi", "paperclip_memory_request": "256Mi"},
    # Pinned by digest (with and without a tag): written into the pod specs verbatim.
    "image-digest": {"paperclip_image": PAPERCLIP_DIGEST_REF, "postgres_image": POSTGRES_DIGEST_REF,
                     "postgres_client_image": POSTGRES_DIGEST_REF, "bootstrap_rotation_schedule": "0 */12 * * *",
                     "backup_schedule": "17 3 * * *"},
    "cert-manager-rotation": {"paperclip_ingress_class": "traefik", "paperclip_ingress_cert_manager_issuer": "letsencrypt",
                              "bootstrap_rotation_schedule": "0 */12 * * *", "paperclip_image_pull_secrets": ["ghcr"]},
}

# Custom resources: kind -> required paths (no schema is available offline).
CRD_REQUIRED = {
    ("apps.kubeblocks.io/v1", "Cluster"): ["spec.clusterDef", "spec.topology", "spec.terminationPolicy",
                                           "spec.componentSpecs.0.name", "spec.componentSpecs.0.serviceVersion",
                                           "spec.componentSpecs.0.replicas",
                                           "spec.componentSpecs.0.volumeClaimTemplates.0.spec.resources.requests.storage"],
    ("apps.kubeblocks.io/v1alpha1", "Cluster"): ["spec.clusterDefinitionRef", "spec.clusterVersionRef", "spec.terminationPolicy",
                                                 "spec.componentSpecs.0.name", "spec.componentSpecs.0.componentDefRef",
                                                 "spec.componentSpecs.0.replicas",
                                                 "spec.componentSpecs.0.volumeClaimTemplates.0.spec.resources.requests.storage"],
    ("postgresql.cnpg.io/v1", "Cluster"): ["spec.instances", "spec.storage.size", "spec.bootstrap.initdb.database",
                                           "spec.bootstrap.initdb.owner", "spec.imageName"],
    ("objectstorage.sealos.io/v1", "ObjectStorageBucket"): ["spec.policy"],
    ("app.sealos.io/v1", "App"): ["spec.data.url", "spec.name", "spec.type", "spec.displayType"],
}


def _get(obj, path):
    for part in path.split("."):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    work = tmp_path_factory.mktemp("render")
    out = work / "out"
    hosts = {name: {**BASE, **values, "paperclip_render_dir": str(out)} for name, values in VARIABLE_SETS.items()}
    rc, output, failures = run_playbook("deploy.yml", hosts, work)
    assert rc == 0 and not failures, f"render run failed: {failures}\n{output[-4000:]}"
    docs = {name: {} for name in VARIABLE_SETS}
    for path in sorted(out.glob("*.yaml")):
        host, role = path.stem.rsplit("-", 1)
        # One file per host and role; each document is headed "# Source: <role>/<template>".
        for chunk in path.read_text().split("\n---\n"):
            header = next((line for line in chunk.splitlines() if line.startswith("# Source: ")), None)
            if header is None:
                continue
            template = header.split("/", 1)[1].strip()
            name = f"{role}-{Path(template).name.replace('.j2', '')}"
            assert name not in docs[host], f"{host}: {name} rendered twice"
            docs[host][name] = yaml.safe_load(chunk)
    return docs


def _pod_specs(doc):
    kind = doc["kind"]
    if kind in ("StatefulSet", "Job"):
        return [doc["spec"]["template"]["spec"]]
    if kind == "CronJob":
        return [doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []


@pytest.mark.parametrize("host", sorted(VARIABLE_SETS))
def test_every_manifest_is_valid(rendered, host):
    docs = rendered[host]
    assert len(docs) >= 10, f"{host}: only {sorted(docs)}"
    for name, doc in docs.items():
        key = (doc["apiVersion"], doc["kind"])
        if key in CRD_REQUIRED:
            for path in CRD_REQUIRED[key]:
                assert _get(doc, path) not in (None, ""), f"{host}/{name}: {path} missing"
            continue
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("host", sorted(VARIABLE_SETS))
def test_no_literal_secret_outside_secrets(rendered, host):
    for name, doc in rendered[host].items():
        if doc["kind"] == "Secret":
            continue
        text = yaml.safe_dump(doc)
        for value in SECRET_VALUES:
            assert value not in text, f"{host}/{name} contains a secret value"
        for spec in _pod_specs(doc):
            for container in spec.get("initContainers", []) + spec["containers"]:
                for env in container.get("env", []):
                    if env["name"] in SECRET_ENV_NAMES:
                        assert "value" not in env and "secretKeyRef" in env["valueFrom"], (
                            f"{host}/{name}: {container['name']} has {env['name']} as a literal value")


def test_provider_choices_shape_the_objects(rendered):
    kinds = {h: {(d["apiVersion"], d["kind"]) for d in docs.values()} for h, docs in rendered.items()}
    assert ("apps/v1", "StatefulSet") in kinds["default"]
    assert "postgres-statefulset.yaml" in rendered["default"]
    assert ("apps.kubeblocks.io/v1", "Cluster") in kinds["pg-kubeblocks-v1"]
    assert ("apps.kubeblocks.io/v1alpha1", "Cluster") in kinds["pg-kubeblocks-v1alpha1"]
    assert ("postgresql.cnpg.io/v1", "Cluster") in kinds["pg-cloudnativepg"]
    assert "postgres-create-database-job.yaml" not in rendered["pg-cloudnativepg"]
    for host in ("pg-external-url", "pg-external-secret"):
        assert not any(k[1] in ("Cluster",) for k in kinds[host]) and "postgres-statefulset.yaml" not in rendered[host]
    assert "paperclip-ingress.yaml" not in rendered["ingress-off"]
    assert ("networking.k8s.io/v1", "NetworkPolicy") in kinds["s3-values-extras"]
    assert ("policy/v1", "PodDisruptionBudget") in kinds["s3-values-extras"]
    assert ("batch/v1", "CronJob") in kinds["cert-manager-rotation"]
    assert ("objectstorage.sealos.io/v1", "ObjectStorageBucket") in kinds["sealos"]
    assert ("app.sealos.io/v1", "App") in kinds["sealos"]
    assert "storage-s3-secret.yaml" not in rendered["s3-secret"]  # user-managed credentials


def test_backups_render_a_cronjob_and_turn_in_app_backups_off(rendered):
    assert "backup-cronjob.yaml" not in rendered["default"]
    cron = rendered["backup-volume"]["backup-cronjob.yaml"]
    assert cron["spec"]["schedule"] == "17 3 * * *" and cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (dump,) = pod["containers"]
    assert dump["name"] == "pg-dump" and dump["command"][:2] == ["sh", "-ec"] and "pg_dump --format=custom" in dump["command"][2]
    assert {e["name"]: e.get("value") for e in dump["env"]}["RETENTION"] == "14"
    assert pod["volumes"] == [{"name": "dumps", "persistentVolumeClaim": {"claimName": "paperclip-backups"}}]
    assert rendered["backup-volume"]["backup-pvc.yaml"]["spec"]["resources"]["requests"]["storage"] == "2Gi"
    s3_pod = rendered["backup-s3"]["backup-cronjob.yaml"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert "backup-pvc.yaml" not in rendered["backup-s3"]
    assert [c["name"] for c in s3_pod["initContainers"]] == ["pg-dump"] and [c["name"] for c in s3_pod["containers"]] == ["s3-upload"]
    env = {e["name"]: e for e in s3_pod["containers"][0]["env"]}
    assert env["S3_BUCKET"]["value"] == "assets.example" and env["S3_PREFIX"]["value"] == "paperclip-backups"
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "my-s3"
    for host, enabled in (("default", True), ("backup-volume", False)):
        config = json.loads(rendered[host]["paperclip-config-secret.yaml"]["stringData"]["config.json"])
        assert config["database"]["backup"]["enabled"] is enabled, host


def _app_env(docs):
    sts = docs["paperclip-statefulset.yaml"]
    return {e["name"]: e for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_app_settings_follow_inputs(rendered):
    env = _app_env(rendered["default"])
    assert env["PAPERCLIP_PUBLIC_URL"]["value"] == "https://paperclip.example.com"
    assert env["PAPERCLIP_ALLOWED_HOSTNAMES"]["value"] == "paperclip.example.com"
    assert env["PAPERCLIP_MIGRATION_PROMPT"]["value"] == "never"
    assert env["PAPERCLIP_MIGRATION_AUTO_APPLY"]["value"] == "true"
    sts = rendered["default"]["paperclip-statefulset.yaml"]
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/paperclipai/paperclip:sha-b8725c5"
    assert container["resources"]["limits"] == {"cpu": "500m", "memory": "1536Mi"}
    assert container["resources"]["requests"]["memory"] == "768Mi"
    assert container["resources"]["requests"]["cpu"] == "50m"
    probe = container["readinessProbe"]["httpGet"]
    assert probe["path"] == "/api/health" and probe["httpHeaders"] == [{"name": "Host", "value": "paperclip.example.com"}]
    s3 = _app_env(rendered["s3-values-extras"])
    assert s3["PAPERCLIP_STORAGE_PROVIDER"]["value"] == "s3"
    assert s3["PAPERCLIP_STORAGE_S3_ENDPOINT"]["value"] == "https://minio.example.com"
    assert s3["PAPERCLIP_STORAGE_S3_FORCE_PATH_STYLE"]["value"] == "true"
    assert s3["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "paperclip-s3"
    assert s3["PAPERCLIP_LOG_LEVEL"]["value"] == "debug"
    sealos = _app_env(rendered["sealos"])
    assert sealos["PAPERCLIP_STORAGE_S3_BUCKET"]["valueFrom"]["secretKeyRef"]["name"] == "object-storage-key-alice-paperclip-ab12cd34"
    assert sealos["PAPERCLIP_STORAGE_S3_ENDPOINT"]["value"] == "https://$(PAPERCLIP_S3_EXTERNAL_ENDPOINT)"
    ingress = rendered["sealos"]["paperclip-ingress.yaml"]
    assert ingress["spec"]["tls"][0]["secretName"] == "wildcard-cert"
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "32m"
    assert rendered["sealos"]["postgres-cluster-v1alpha1.yaml"]["spec"]["clusterVersionRef"] == "postgresql-16.4.0"
    cm = rendered["cert-manager-rotation"]["paperclip-ingress.yaml"]["metadata"]["annotations"]
    assert cm == {"cert-manager.io/cluster-issuer": "letsencrypt"}


def test_starts_are_probed_every_two_seconds_within_the_same_budget(rendered):
    """Both pods are Ready about a second after they serve, not on a 10 s tick; the app's
    start budget is still paperclip_startup_failure_threshold steps of 10 s."""
    for host, budget in (("default", 300), ("ingress-off", 120)):
        app = rendered[host]["paperclip-statefulset.yaml"]["spec"]["template"]["spec"]["containers"][0]
        start = app["startupProbe"]
        assert start["periodSeconds"] == 2 and start["periodSeconds"] * start["failureThreshold"] == budget, start
        assert start["httpGet"] == app["readinessProbe"]["httpGet"]
        assert "initialDelaySeconds" not in app["readinessProbe"]
    db = rendered["default"]["postgres-statefulset.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert db["startupProbe"]["periodSeconds"] == 2 and db["startupProbe"]["failureThreshold"] == 90
    assert db["startupProbe"]["exec"]["command"][0] == "pg_isready"
    assert "initialDelaySeconds" not in db["livenessProbe"]


def test_secrets_carry_the_values(rendered):
    keys = rendered["s3-values-extras"]["paperclip-provider-keys-secret.yaml"]["stringData"]
    assert keys == {"OPENAI_API_KEY": OPENAI, "ANTHROPIC_API_KEY": ANTHROPIC}
    conn = rendered["pg-external-url"]["postgres-connection-secret.yaml"]["stringData"]
    assert conn["host"] == "db.example.com" and conn["port"] == "5433" and conn["password"] == EXT_PASSWORD
    assert conn["DATABASE_URL"] == f"postgres://app:{EXT_PASSWORD}@db.example.com:5433/paperclip"
    config = yaml.safe_load(rendered["default"]["paperclip-config-secret.yaml"]["stringData"]["config.json"])
    assert config["server"]["deploymentMode"] == "authenticated" and config["server"]["exposure"] == "public"
    assert config["auth"] == {"baseUrlMode": "explicit", "disableSignUp": False, "publicBaseUrl": "https://paperclip.example.com"}
    assert set(config) >= {"$meta", "database", "logging", "server", "auth", "storage", "secrets"}


def test_digest_references_render_verbatim(rendered):
    docs = rendered["image-digest"]
    sts = docs["paperclip-statefulset.yaml"]["spec"]["template"]["spec"]
    assert sts["containers"][0]["image"] == PAPERCLIP_DIGEST_REF
    assert {c["image"] for c in sts["initContainers"]} == {PAPERCLIP_DIGEST_REF, POSTGRES_DIGEST_REF}
    pg = docs["postgres-statefulset.yaml"]["spec"]["template"]["spec"]
    assert [c["image"] for c in pg["containers"]] == [POSTGRES_DIGEST_REF]
    # The images other roles default from paperclip_image and postgres_client_image.
    rotation = docs["bootstrap-cronjob.yaml"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert {c["image"] for c in rotation["containers"]} == {PAPERCLIP_DIGEST_REF}
    backup = docs["backup-cronjob.yaml"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert {c["image"] for c in backup["containers"]} == {POSTGRES_DIGEST_REF}
