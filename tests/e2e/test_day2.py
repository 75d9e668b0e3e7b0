"""Backups, restore and upgrades on running pods (playbooks/backup.yml, restore.yml,
upgrade.yml and the backup role), on the real node with the stand-in images.

One story, in file order: deploy the previous Paperclip release with a backup
schedule; claim the instance and create a company and an agent through the real
API; the CronJob's scheduled dump; every restore failure path leaves the instance
as it was; data loss, then a restore brings the company and the agent back;
retention keeps exactly N; a full backup target fails clearly; an upgrade to the
current release takes a pre-upgrade dump before the new pod; an upgrade to a
broken image stops with the rollback commands, and running them restores service
with the data. Durations are kept in the module state and printed at the end."""

import base64
import json
import re
import shlex
import subprocess
import time
import uuid

import pytest
from kubernetes import client

from tests.support import paperclip as pc
from tests.support.ansible_run import run_playbook
from tests.support.cluster import PortForward, served_instance_vars, truncate_companies, wait_for

NAMESPACE = f"pc-day2-{uuid.uuid4().hex[:6]}"
ADMIN = {"name": "Day Two Admin", "email": "day2-admin@example.test", "password": "Day2-Secret-Pass!"}
COMPANY = "Backed Up Inc"
AGENT = "Archivist"
RETENTION = 2
DUMP_RE = r"paperclip-\d{8}T\d{6}Z\.dump"


@pytest.fixture(scope="module")
def state():
    return {"local_port": pc.free_port(), "durations": {}}


@pytest.fixture(scope="module")
def core(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def apps(api_client):
    return client.AppsV1Api(api_client)


@pytest.fixture(scope="module")
def play(kubeconfig, images, state, tmp_path_factory):
    """Run a collection playbook for the instance; returns (rc, output, failures, seconds)."""
    work = tmp_path_factory.mktemp("day2")
    port = state["local_port"]

    def run(playbook="deploy.yml", args=(), **overrides):
        host = {
            **served_instance_vars(NAMESPACE, port, images, "day2.example.test"),
            "paperclip_image": images["paperclip-standin-previous"],
            "backup_retention": RETENTION,
            **overrides,
        }
        t0 = time.monotonic()
        rc, output, failures = run_playbook(playbook, {"day2": host}, work,
                                            extra_env={"KUBECONFIG": kubeconfig}, args=args)
        return rc, output, failures, round(time.monotonic() - t0, 1)

    return run


@pytest.fixture(scope="module")
def forward(kubeconfig, state):
    port = state["local_port"]
    return lambda: PortForward(kubeconfig, NAMESPACE, "service/paperclip", port, port)


def _secret(core, name):
    return {k: base64.b64decode(v).decode() for k, v in (core.read_namespaced_secret(name, NAMESPACE).data or {}).items()}


def _kubectl(kubeconfig, *args, check=True, input_text=None):
    proc = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "-n", NAMESPACE, *args], capture_output=True,
                          text=True, timeout=300, input=input_text, check=False)
    assert not check or proc.returncode == 0, proc.stderr
    return proc.stdout


def _on_backup_volume(kubeconfig, images, script, claim="paperclip-backups"):
    """Run a shell script in a pod with the backup volume mounted at /backups; returns its log."""
    name = f"inspect-{uuid.uuid4().hex[:6]}"
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never", "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 70, "runAsGroup": 70, "fsGroup": 70,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "sh", "image": images["postgres-standin"], "imagePullPolicy": "Never",
                            "command": ["sh", "-ec", script],
                            "securityContext": {"allowPrivilegeEscalation": False,
                                                "capabilities": {"drop": ["ALL"]}},
                            "volumeMounts": [{"name": "b", "mountPath": "/backups"}]}],
            "volumes": [{"name": "b", "persistentVolumeClaim": {"claimName": claim}}]}}
    _kubectl(kubeconfig, "apply", "-f", "-", input_text=json.dumps(pod))
    try:
        _kubectl(kubeconfig, "wait", "--for=jsonpath={.status.phase}=Succeeded", f"pod/{name}", "--timeout=120s")
        return _kubectl(kubeconfig, "logs", name)
    finally:
        _kubectl(kubeconfig, "delete", "pod", name, "--wait=false", check=False)


def _dumps(kubeconfig, images):
    return sorted(_on_backup_volume(kubeconfig, images, "ls -1 /backups").split())


def _app_pod(core):
    return core.read_namespaced_pod("paperclip-0", NAMESPACE)


def _assert_untouched(core, apps, before_uid):
    """The Paperclip pod is the same one, still ready, and the StatefulSet still has one replica."""
    assert apps.read_namespaced_stateful_set("paperclip", NAMESPACE).spec.replicas == 1
    pod = _app_pod(core)
    assert pod.metadata.uid == before_uid and pod.status.container_statuses[0].ready


def _serving_with_the_data(core, forward, state, image):
    """Paperclip runs `image`, the admin signs in, the company and the agent are there,
    and the instance Secret is the one generated at the first deploy."""
    assert _app_pod(core).spec.containers[0].image == image
    companies, agents = _company_and_agent(forward, state)
    assert companies and agents
    assert _secret(core, "paperclip-instance") == state["instance_secret"]


def _company_and_agent(forward, state):
    with forward() as pf:
        s = pc.sign_in(pf.url, ADMIN["email"], ADMIN["password"])
        companies = [c for c in pc.list_companies(s) if c["name"] == COMPANY]
        agents = pc.list_agents(s, companies[0]["id"]) if companies else []
        return companies, [a for a in agents if a["name"] == AGENT]


def test_deploy_the_previous_release_with_a_backup_schedule(play, core, kubeconfig, images, state):
    rc, output, failures, secs = play(backup_schedule="* * * * *")
    state["durations"]["deploy"] = secs
    assert rc == 0 and not failures, output[-8000:]
    cron = client.BatchV1Api(core.api_client).read_namespaced_cron_job("paperclip-backup", NAMESPACE)
    assert cron.spec.schedule == "* * * * *" and cron.spec.concurrency_policy == "Forbid"
    assert core.read_namespaced_persistent_volume_claim("paperclip-backups", NAMESPACE).status.phase == "Bound"
    # With the collection's backups scheduled, Paperclip's own backups are off.
    config = json.loads(_secret(core, "paperclip-config")["config.json"])
    assert config["database"]["backup"]["enabled"] is False, config["database"]["backup"]
    assert _app_pod(core).spec.containers[0].image == images["paperclip-standin-previous"]
    state["instance_secret"] = _secret(core, "paperclip-instance")
    state["invite_token"] = _secret(core, "paperclip-bootstrap-invite")["invite_url"].rsplit("/", 1)[1]


def test_claim_and_create_a_company_and_an_agent(forward, state):
    with forward() as pf:
        s = pc.sign_up(pf.url, ADMIN["email"], ADMIN["password"], ADMIN["name"])
        pc.accept_invite(s, state["invite_token"])
        company = pc.create_company(s, COMPANY)
        agent = pc.create_agent(s, company["id"], AGENT)
        assert agent["name"] == AGENT
        state["company_id"], state["agent_id"] = company["id"], agent["id"]
    companies, agents = _company_and_agent(forward, state)
    assert [c["id"] for c in companies] == [state["company_id"]] and [a["id"] for a in agents] == [state["agent_id"]]


def test_measure_an_in_app_backup(forward, state):
    """Paperclip's own backup (the one the collection turns off when its backups are
    scheduled), triggered through the real API, for the README's sizing arithmetic."""
    with forward() as pf:
        s = pc.sign_in(pf.url, ADMIN["email"], ADMIN["password"])
        r = s.post(f"{pf.url}/api/instance/database-backups", json={}, timeout=120)
        assert r.status_code == 201, r.text
        result = r.json()
    assert result["backupFile"].startswith("/paperclip/") and result["backupFile"].endswith(".sql.gz"), result
    assert result["sizeBytes"] > 0
    state["in_app_bytes"] = result["sizeBytes"]


def test_the_cronjob_takes_a_scheduled_dump(play, core, kubeconfig, images, state):
    batch = client.BatchV1Api(core.api_client)

    def scheduled_done():
        jobs = [j for j in batch.list_namespaced_job(NAMESPACE).items
                if any(o.kind == "CronJob" for o in j.metadata.owner_references or [])
                and j.metadata.creation_timestamp.timestamp() > state.get("claimed_at", 0)]
        return [j for j in jobs if j.status.succeeded or j.status.failed]

    state["claimed_at"] = time.time()
    done = wait_for("a scheduled backup Job", scheduled_done, timeout=150, interval=3)
    job = done[0]
    assert job.status.succeeded, _kubectl(kubeconfig, "logs", f"job/{job.metadata.name}", check=False)
    log = _kubectl(kubeconfig, "logs", f"job/{job.metadata.name}")
    m = re.search(rf"BACKUP_OK file=({DUMP_RE}) bytes=(\d+)", log)
    assert m, log
    state["scheduled_dump"], state["dump_bytes"] = m.group(1), int(m.group(2))
    assert m.group(1) in _dumps(kubeconfig, images)
    # Quiet the schedule for the rest of the story (a dump every minute would race the assertions).
    rc, output, failures, _secs = play(backup_schedule="17 3 * * *")
    assert rc == 0 and not failures, output[-6000:]


def test_restore_refuses_without_confirmation(play, core, apps, state):
    uid = _app_pod(core).metadata.uid
    rc, output, _f, _secs = play("playbooks/restore.yml", args=("-e", "restore_from=latest"))
    assert rc != 0 and "set restore_confirm (backup_restore_confirm) to the instance name" in output, output[-4000:]
    assert "-e restore_confirm=paperclip" in output and "Nothing was changed" in output
    _assert_untouched(core, apps, uid)


def test_restore_of_a_missing_dump_changes_nothing(play, core, apps, state):
    uid = _app_pod(core).metadata.uid
    rc, output, _f, _secs = play("playbooks/restore.yml",
                                 args=("-e", "restore_from=paperclip-20000101T000000Z.dump", "-e", "restore_confirm=paperclip"))
    assert rc != 0, output[-4000:]
    assert "no dump 'paperclip-20000101T000000Z.dump' in the backup target" in output, output[-4000:]
    assert state["scheduled_dump"] in output  # the message lists what is there
    _assert_untouched(core, apps, uid)


def test_restore_of_a_corrupt_dump_changes_nothing(play, core, apps, kubeconfig, images, state):
    uid = _app_pod(core).metadata.uid
    _on_backup_volume(kubeconfig, images, f"head -c 4000 /backups/{state['scheduled_dump']} >/backups/truncated.dump")
    rc, output, _f, _secs = play("playbooks/restore.yml", args=("-e", "restore_from=truncated.dump", "-e", "restore_confirm=paperclip"))
    assert rc != 0, output[-4000:]
    assert "truncated.dump is not a complete pg_dump archive (corrupt or truncated); nothing was changed" in output, \
        output[-4000:]
    _assert_untouched(core, apps, uid)
    companies, agents = _company_and_agent(forward=lambda: PortForward(
        kubeconfig, NAMESPACE, "service/paperclip", state["local_port"], state["local_port"]), state=state)
    assert companies and agents


def test_data_loss_then_restore_of_the_scheduled_dump(play, core, kubeconfig, forward, state):
    truncate_companies(kubeconfig, NAMESPACE)
    companies, _agents = _company_and_agent(forward, state)
    assert companies == []
    rc, output, failures, secs = play("playbooks/restore.yml",
                                      args=("-e", f"restore_from={state['scheduled_dump']}", "-e", "restore_confirm=paperclip"))
    state["durations"]["restore"] = secs
    assert rc == 0 and not failures, output[-8000:]
    assert f"Restored {state['scheduled_dump']} into {NAMESPACE}/paperclip" in output
    m = re.search(r"the database as it was before is in (paperclip-pre-restore-\d{8}T\d{6}Z\.dump)", output)
    assert m, output[-3000:]
    assert "Paperclip reports ok" in output
    companies, agents = _company_and_agent(forward, state)  # signs in: the admin survived
    assert [c["id"] for c in companies] == [state["company_id"]] and [a["id"] for a in agents] == [state["agent_id"]]
    assert _secret(core, "paperclip-instance") == state["instance_secret"]


def test_backup_now_prints_the_location_and_retention_keeps_exactly_n(play, kubeconfig, images, state):
    names = []
    for _i in range(RETENTION + 1):
        rc, output, failures, secs = play("playbooks/backup.yml")
        assert rc == 0 and not failures, output[-6000:]
        m = re.search(rf"Backup of {NAMESPACE}/paperclip: volume paperclip-backups:/({DUMP_RE}) \((\d+) bytes; (\d+) kept\)",
                      output)
        assert m, output[-3000:]
        names.append(m.group(1))
        state["durations"]["backup"] = secs
        time.sleep(1.1)  # one dump per second at most (names carry the second)
    assert int(m.group(3)) == RETENTION
    regular = [n for n in _dumps(kubeconfig, images) if re.fullmatch(DUMP_RE, n)]
    assert regular == sorted(names)[-RETENTION:], regular
    # The other kinds are counted apart; the hand-made file is left alone.
    assert "truncated.dump" in _dumps(kubeconfig, images)


def test_a_full_backup_target_fails_clearly(play, core, kubeconfig, images, state):
    """A claim whose volume is a 64 KiB tmpfs (mounted on the local PV's directory on
    this node) fills up during pg_dump."""
    claim = "paperclip-backups-full"
    pvc = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=claim),
        spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"],
                                                resources=client.V1VolumeResourceRequirements(
                                                    requests={"storage": "2Gi"})))
    core.create_namespaced_persistent_volume_claim(NAMESPACE, pvc)
    wait_for("the claim to bind", lambda: core.read_namespaced_persistent_volume_claim(claim, NAMESPACE).spec.volume_name,
             timeout=60)
    pv = core.read_persistent_volume(core.read_namespaced_persistent_volume_claim(claim, NAMESPACE).spec.volume_name)
    path = pv.spec.local.path
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0777", "tmpfs", path], check=True)
    try:
        rc, output, _f, _secs = play("playbooks/backup.yml", backup_volume_claim=claim)
        assert rc != 0, output[-4000:]
        assert re.search(r"pg_dump of database paperclip failed \(its error is above\): target /backups has \S+ free of \S+", output), \
            output[-4000:]
        assert "logs job/paperclip-backup-" in output
        assert not [n for n in _on_backup_volume(kubeconfig, images, "ls -A1 /backups", claim=claim).split()
                    if n.endswith(".dump") or n.endswith(".partial")]
    finally:
        subprocess.run(["umount", path], check=False)


def test_upgrade_takes_a_pre_upgrade_dump_before_the_new_pod(play, core, images, forward, state):
    new = images["paperclip-standin"]
    rc, output, failures, secs = play("playbooks/upgrade.yml", paperclip_image=new)
    state["durations"]["upgrade"] = secs
    assert rc == 0 and not failures, output[-8000:]
    state["first_pre_upgrade"] = re.search(
        r"pre-upgrade dump volume paperclip-backups:/(paperclip-pre-upgrade-\d{8}T\d{6}Z\.dump)", output).group(1)
    assert f"{images['paperclip-standin-previous']} -> {new}; health ok; pre-upgrade dump volume paperclip-backups:/" \
        "paperclip-pre-upgrade-" in output, output[-3000:]
    batch = client.BatchV1Api(core.api_client)
    dump_jobs = [j for j in batch.list_namespaced_job(NAMESPACE).items
                 if j.metadata.name.startswith("paperclip-backup-pre-upgrade-")]
    assert len(dump_jobs) == 1 and dump_jobs[0].status.succeeded
    pod = _app_pod(core)
    assert pod.spec.containers[0].image == new
    assert dump_jobs[0].status.completion_time <= pod.metadata.creation_timestamp
    companies, agents = _company_and_agent(forward, state)
    assert companies and agents
    assert _secret(core, "paperclip-instance") == state["instance_secret"]


def test_upgrade_to_a_broken_image_stops_with_the_way_back_which_works(play, core, images, forward, state):
    good, broken = images["paperclip-standin"], images["paperclip-standin-broken"]
    rc, output, _f, _secs = play("playbooks/upgrade.yml", paperclip_image=broken, paperclip_rollout_timeout=90)
    assert rc != 0, output[-6000:]
    assert f"The upgrade of {NAMESPACE}/paperclip from {good} to {broken} failed" in output, output[-6000:]
    m = re.search(r"To roll back \(old image, then the pre-upgrade dump restored\): (ansible-playbook playbooks/upgrade.yml .*?"
                  r"-e restore_confirm=paperclip)", output.replace("\\n", " "))
    assert m, output[-4000:]
    command = shlex.split(m.group(1))
    extra = dict(a.split("=", 1) for a in command[command.index("-e") + 1::2] if "=" in a)
    assert extra["paperclip_image"] == good and extra["restore_from"].startswith("paperclip-pre-upgrade-")
    # The printed command, with this test's inventory and stand-in variables.
    t0 = time.monotonic()
    rc, output, failures, _secs = play("playbooks/upgrade.yml",
                                       args=("-e", f"restore_from={extra['restore_from']}",
                                             "-e", f"restore_confirm={extra['restore_confirm']}"),
                                       paperclip_image=extra["paperclip_image"])
    state["durations"]["rollback"] = round(time.monotonic() - t0, 1)
    assert rc == 0 and not failures, output[-8000:]
    assert f"{broken} -> {good}; health ok" in output, output[-3000:]
    _serving_with_the_data(core, forward, state, good)


def test_downgrade_to_the_previous_release_with_the_pre_upgrade_dump(play, core, images, forward, state):
    """The way back across real migrations (2026.831.1 -> 2026.916.1 and back): the
    previous image with the dump taken before the upgrade, restored in one transaction."""
    old = images["paperclip-standin-previous"]
    t0 = time.monotonic()
    rc, output, failures, _secs = play("playbooks/upgrade.yml",
                                       args=("-e", f"restore_from={state['first_pre_upgrade']}",
                                             "-e", "restore_confirm=paperclip"),
                                       paperclip_image=old)
    state["durations"]["downgrade"] = round(time.monotonic() - t0, 1)
    assert rc == 0 and not failures, output[-8000:]
    assert f"-> {old}; health ok" in output, output[-3000:]
    _serving_with_the_data(core, forward, state, old)


def test_report_durations(state):
    print(f"\nday-2 durations (s): {state['durations']}; pg_dump custom format {state.get('dump_bytes')} bytes; "
          f"in-app backup (.sql.gz) {state.get('in_app_bytes')} bytes")
    assert {"backup", "restore", "upgrade", "rollback"} <= set(state["durations"])


def test_teardown(play, core):
    rc, output, failures, _secs = play("playbooks/teardown.yml", paperclip_teardown_purge=True)
    assert rc == 0 and not failures, output[-4000:]
    core.delete_namespace(NAMESPACE)
