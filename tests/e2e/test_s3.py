"""S3 on running pods: a real S3 server (versitygw, built from the Go module proxy,
tests/cluster/images) runs in the local cluster; Paperclip stores attachments in it
(storage role, storage_object_provider=s3) and the backup role sends dumps to it
(backup_target=s3). In file order: the server and a bucket; deploy; an image
uploaded through the real Paperclip API lands under the bucket and prefix and reads
back; backups go to the bucket with retention; a restore from the bucket; wrong
credentials and a missing bucket give messages that name the setting to fix."""

import base64
import re
import struct
import time
import uuid
import zlib

import pytest
from kubernetes import client

from tests.support import paperclip as pc
from tests.support.ansible_run import recap, run_playbook
from tests.support.cluster import PortForward, served_instance_vars, truncate_companies, wait_for
from tests.support.s3 import S3

NAMESPACE = f"pc-s3-{uuid.uuid4().hex[:6]}"
BUCKET = "paperclip-data"
ACCESS_KEY, SECRET_KEY = "paperclip-test", uuid.uuid4().hex
ADMIN = {"name": "S3 Admin", "email": "s3-admin@example.test", "password": "S3-Secret-Pass!"}
COMPANY = "Objects Ltd"
DUMP_RE = r"paperclip-\d{8}T\d{6}Z\.dump"


def _png() -> bytes:
    """A valid 1x1 PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def state():
    return {"local_port": pc.free_port(), "s3_port": pc.free_port()}


@pytest.fixture(scope="module")
def core(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def play(kubeconfig, images, state, tmp_path_factory):
    work = tmp_path_factory.mktemp("s3")
    port = state["local_port"]

    def run(playbook="deploy.yml", args=(), **overrides):
        host = {
            **served_instance_vars(NAMESPACE, port, images, "s3.example.test"),
            "storage_object_provider": "s3",
            "storage_s3_bucket": BUCKET,
            "storage_s3_prefix": "attachments",
            "storage_s3_endpoint": f"http://s3.{NAMESPACE}.svc:7070",
            "storage_s3_force_path_style": True,
            "storage_s3_access_key_id": ACCESS_KEY,
            "storage_s3_secret_access_key": SECRET_KEY,
            "backup_target": "s3",
            "backup_retention": 2,
            **overrides,
        }
        return run_playbook(playbook, {"s3": host}, work, extra_env={"KUBECONFIG": kubeconfig}, args=args)

    return run


@pytest.fixture(scope="module")
def forward(kubeconfig, state):
    port = state["local_port"]
    return lambda: PortForward(kubeconfig, NAMESPACE, "service/paperclip", port, port)


@pytest.fixture(scope="module")
def s3(kubeconfig, state):
    """The S3 client of the test, through a port-forward to the versitygw pod."""
    def open_():
        return PortForward(kubeconfig, NAMESPACE, "service/s3", 7070, state["s3_port"])
    return open_, S3(f"http://127.0.0.1:{state['s3_port']}", ACCESS_KEY, SECRET_KEY)


def test_an_s3_server_runs_in_the_cluster(core, images, s3):
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=NAMESPACE, labels={"pod-security.kubernetes.io/enforce": "restricted"})))
    core.create_namespaced_secret(NAMESPACE, client.V1Secret(
        metadata=client.V1ObjectMeta(name="s3-root"), string_data={"ROOT_ACCESS_KEY": ACCESS_KEY,
                                                                   "ROOT_SECRET_KEY": SECRET_KEY}))
    secret_env = [client.V1EnvVar(name=k, value_from=client.V1EnvVarSource(
        secret_key_ref=client.V1SecretKeySelector(name="s3-root", key=k))) for k in ("ROOT_ACCESS_KEY", "ROOT_SECRET_KEY")]
    core.create_namespaced_pod(NAMESPACE, client.V1Pod(
        metadata=client.V1ObjectMeta(name="s3", labels={"app": "s3"}),
        spec=client.V1PodSpec(
            automount_service_account_token=False,
            security_context=client.V1PodSecurityContext(run_as_non_root=True, run_as_user=65532, run_as_group=65532,
                                                         fs_group=65532, seccomp_profile=client.V1SeccompProfile(
                                                             type="RuntimeDefault")),
            containers=[client.V1Container(
                name="versitygw", image=images["versitygw"], image_pull_policy="Never", env=secret_env,
                ports=[client.V1ContainerPort(container_port=7070)],
                readiness_probe=client.V1Probe(tcp_socket=client.V1TCPSocketAction(port=7070), period_seconds=1),
                security_context=client.V1SecurityContext(allow_privilege_escalation=False,
                                                          capabilities=client.V1Capabilities(drop=["ALL"])),
                volume_mounts=[client.V1VolumeMount(name="data", mount_path="/data")])],
            volumes=[client.V1Volume(name="data", empty_dir=client.V1EmptyDirVolumeSource())])))
    core.create_namespaced_service(NAMESPACE, client.V1Service(
        metadata=client.V1ObjectMeta(name="s3"),
        spec=client.V1ServiceSpec(selector={"app": "s3"}, ports=[client.V1ServicePort(port=7070, target_port=7070)])))
    wait_for("the S3 pod to be ready", lambda: (core.read_namespaced_pod("s3", NAMESPACE).status.container_statuses
                                                or [None])[0] and core.read_namespaced_pod(
        "s3", NAMESPACE).status.container_statuses[0].ready, timeout=60)
    open_, s3c = s3
    with open_():
        s3c.create_bucket(BUCKET)
        assert s3c.list(BUCKET) == []


def test_deploy_with_s3_storage_and_s3_backups(play, core):
    rc, output, failures = play()
    assert rc == 0 and not failures, output[-8000:]
    env = {e.name: e for e in core.read_namespaced_pod("paperclip-0", NAMESPACE).spec.containers[0].env}
    assert env["PAPERCLIP_STORAGE_PROVIDER"].value == "s3"
    assert env["PAPERCLIP_STORAGE_S3_ENDPOINT"].value == f"http://s3.{NAMESPACE}.svc:7070"
    assert env["AWS_SECRET_ACCESS_KEY"].value_from.secret_key_ref.name == "paperclip-s3"
    assert SECRET_KEY not in output
    checks = [j for j in client.BatchV1Api(core.api_client).list_namespaced_job(NAMESPACE).items
              if j.metadata.name.startswith("paperclip-s3-check-")]
    assert len(checks) == 1 and checks[0].status.succeeded
    rc, output, failures = play()
    assert rc == 0 and not failures and recap(output)["s3"]["changed"] == 0, output[-6000:]


def test_an_uploaded_image_lands_in_the_bucket_and_reads_back(core, forward, s3, state):
    token = base64.b64decode(core.read_namespaced_secret("paperclip-bootstrap-invite", NAMESPACE).data["invite_url"]
                             ).decode().rsplit("/", 1)[1]
    png = _png()
    with forward() as pf:
        s = pc.sign_up(pf.url, ADMIN["email"], ADMIN["password"], ADMIN["name"])
        pc.accept_invite(s, token)
        company = pc.create_company(s, COMPANY)
        state["company_id"] = company["id"]
        r = s.post(f"{pf.url}/api/companies/{company['id']}/assets/images", headers={"Content-Type": None},
                   files={"file": ("pixel.png", png, "image/png")}, timeout=60)
        assert r.status_code == 201, r.text
        asset = r.json()
        assert asset["provider"] == "s3" and asset["byteSize"] == len(png), asset
        back = s.get(f"{pf.url}{asset['contentPath']}", timeout=30)
        assert back.status_code == 200 and back.content == png
    open_, s3c = s3
    with open_():
        keys = {o["key"]: o["size"] for o in s3c.list(BUCKET, "attachments/")}
        assert keys.get(f"attachments/{asset['objectKey']}") == len(png), keys
        assert s3c.get(BUCKET, f"attachments/{asset['objectKey']}") == png


def test_backups_go_to_the_bucket_and_retention_keeps_two(play, s3):
    names = []
    for _i in range(3):
        rc, output, failures = play("playbooks/backup.yml")
        assert rc == 0 and not failures, output[-6000:]
        m = re.search(rf"Backup of {NAMESPACE}/paperclip: s3://{BUCKET}/paperclip-backups/({DUMP_RE}) \((\d+) bytes; "
                      r"(\d+) kept\)", output)
        assert m, output[-3000:]
        names.append(m.group(1))
        time.sleep(1.1)
    assert m.group(3) == "2"
    open_, s3c = s3
    with open_():
        dumps = sorted(o["key"] for o in s3c.list(BUCKET, "paperclip-backups/"))
    assert dumps == [f"paperclip-backups/{n}" for n in sorted(names)[-2:]], dumps


def test_restore_from_the_bucket(play, kubeconfig, forward, state):
    truncate_companies(kubeconfig, NAMESPACE)
    rc, output, failures = play("playbooks/restore.yml", args=("-e", "restore_from=latest", "-e", "restore_confirm=paperclip"))
    assert rc == 0 and not failures, output[-8000:]
    assert "Paperclip reports ok" in output
    with forward() as pf:
        s = pc.sign_in(pf.url, ADMIN["email"], ADMIN["password"])
        assert [c["id"] for c in pc.list_companies(s)] == [state["company_id"]]


def test_wrong_credentials_are_named(play, core):
    core.create_namespaced_secret(NAMESPACE, client.V1Secret(
        metadata=client.V1ObjectMeta(name="wrong-s3"),
        string_data={"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}))
    rc, output, _f = play("playbooks/backup.yml", backup_s3_credentials_secret="wrong-s3")
    assert rc != 0, output[-4000:]
    assert "SignatureDoesNotMatch (HTTP 403)" in output and "check backup_s3_credentials_secret" in output, \
        output[-4000:]
    assert "not-the-secret" not in output and SECRET_KEY not in output


def test_a_missing_bucket_is_named(play):
    rc, output, _f = play("playbooks/backup.yml", backup_s3_bucket="no-such-bucket")
    assert rc != 0, output[-4000:]
    assert "bucket no-such-bucket does not exist: create it or fix backup_s3_bucket" in output, output[-4000:]


def test_a_missing_bucket_or_wrong_key_stops_the_deploy_before_the_app(play, core, forward, state):
    """Paperclip answers a bare HTTP 500 "Internal server error" at the first upload
    (seen here); the storage role's check names the setting at deploy instead."""
    uid = core.read_namespaced_pod("paperclip-0", NAMESPACE).metadata.uid
    app_secret = core.read_namespaced_secret("paperclip-s3", NAMESPACE).data
    rc, output, _f = play(storage_s3_bucket="no-such-bucket")
    assert rc != 0, output[-6000:]
    assert "The S3 storage settings do not work: listing s3://no-such-bucket/attachments/" in output, output[-4000:]
    assert "bucket no-such-bucket does not exist: create it or fix storage_s3_bucket" in output
    rc, output, _f = play(storage_s3_secret_access_key="not-the-secret")
    assert rc != 0, output[-6000:]
    assert "the secret access key is wrong: check storage_s3_secret_access_key" in output, output[-4000:]
    assert "not-the-secret" not in output
    # The app and its Secret were not touched (the wrong key only reached the check's
    # own Secret); the right settings deploy again.
    assert core.read_namespaced_pod("paperclip-0", NAMESPACE).metadata.uid == uid
    assert core.read_namespaced_secret("paperclip-s3", NAMESPACE).data == app_secret
    rc, output, failures = play()
    assert rc == 0 and not failures, output[-6000:]


def test_teardown(play, core):
    rc, output, failures = play("playbooks/teardown.yml", paperclip_teardown_purge=True)
    assert rc == 0 and not failures, output[-4000:]
    core.delete_namespace(NAMESPACE)
