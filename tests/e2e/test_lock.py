"""Runs of one instance at the same time (issue 12), on the real node: the run lock.

Every playbook holds the instance's run lock, a Lease (<name>-run-lock) in its namespace,
from its first write to its end. These tests start real runs side by side: two deploys
of a new instance at once, a deploy that waits for a running rotation, a run killed with
SIGKILL and the run after it, and a Lease held by a run on another machine, live and then
expired. The outcome is checked on the cluster: one bootstrap Job per rotation, one
invite, the Secrets as they were, no Lease left behind."""

import datetime
import re
import subprocess
import threading
import uuid

import pytest
from kubernetes import client

from tests.support.ansible_run import recap, run_playbook
from tests.support.cluster import instance_secrets, served_instance_vars, wait_for

NAMESPACE = f"pc-lock-{uuid.uuid4().hex[:6]}"
LEASE = "paperclip-run-lock"
INVITE = re.compile(r"Invite URL: http\S+?/invite/(pcp_bootstrap_[0-9a-f]+)")
BUSY = "Another run is working on the instance " + NAMESPACE + "/paperclip"


@pytest.fixture(scope="module")
def play(kubeconfig, images, api_client, tmp_path_factory):
    base = served_instance_vars(NAMESPACE, 3124, images, "paperclip.lock.test")
    # The runs below make their work directories from two threads at once. The first
    # mktemp of a process also makes pytest's base directory, which two threads race
    # for (one removes the other's); so it is made here, before any thread.
    tmp_path_factory.getbasetemp()

    def run(playbook="deploy.yml", args=(), on_line=None, workdir="run", **overrides):
        work = tmp_path_factory.mktemp(workdir)
        return run_playbook(playbook, {"lock": {**base, **overrides}}, work, extra_env={"KUBECONFIG": kubeconfig},
                            args=args, on_line=on_line)
    yield run
    run("playbooks/teardown.yml", ("-e", "paperclip_teardown_purge=true"))
    client.CoreV1Api(api_client).delete_namespace(NAMESPACE)


def side_by_side(*calls):
    """Run each call in its own thread, started together; their results in order. An
    exception in a call is raised here, after both ended."""
    results = [None] * len(calls)
    errors = []
    start = threading.Barrier(len(calls))

    def one(i, call):
        start.wait()
        try:
            results[i] = call()
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            errors.append(exc)
    threads = [threading.Thread(target=one, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def flat(output):
    """Output with runs of whitespace as one space: Ansible wraps warnings to the terminal width."""
    return " ".join(output.split())


def lease(api_client):
    try:
        return client.CoordinationV1Api(api_client).read_namespaced_lease(LEASE, NAMESPACE)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def secrets(api_client):
    return instance_secrets(api_client, NAMESPACE)


def bootstrap_jobs(api_client):
    return sorted(j.metadata.name for j in client.BatchV1Api(api_client).list_namespaced_job(
        NAMESPACE, label_selector="app.kubernetes.io/component=bootstrap").items)


def test_two_deploys_of_a_new_instance_at_once_one_deploys_one_stops(play, api_client):
    (rc_a, out_a, fail_a), (rc_b, out_b, fail_b) = side_by_side(lambda: play(workdir="a"), lambda: play(workdir="b"))
    assert sorted([rc_a, rc_b])[0] == 0 and sorted([rc_a, rc_b])[1] != 0, (out_a[-3000:], out_b[-3000:])
    winner, (loser, failures) = (out_a, (out_b, fail_b)) if rc_a == 0 else (out_b, (out_a, fail_a))
    message = failures["lock"]
    assert BUSY in message and "(Deploy Paperclip on Kubernetes)" in message, message
    assert f"kubectl -n {NAMESPACE} delete lease {LEASE}" in message, message
    # The stopped run failed at the lock, before any role's first write: after the lock,
    # only its release ran.
    after_lock = loser.split("TASK [Take the instance's run lock]", 1)[1]
    assert "TASK [paperclip.kubernetes." not in after_lock, loser[-3000:]
    # One invite, from one bootstrap Job; the generated Secrets are there once.
    assert len(set(INVITE.findall(winner + loser))) == 1, winner[-3000:]
    assert len(bootstrap_jobs(api_client)) == 1
    before = secrets(api_client)
    assert len(before) == 3
    assert lease(api_client) is None, "the lock outlived the run"
    rc, output, _failures = play()
    assert rc == 0 and recap(output)["lock"]["changed"] == 0, output[-4000:]
    assert secrets(api_client) == before


def test_a_deploy_with_paperclip_lock_wait_waits_for_a_rotation(play, api_client):
    before_jobs, before = bootstrap_jobs(api_client), secrets(api_client)
    rotation_started = threading.Event()

    def rotate():
        return play("playbooks/rotate_invite.yml", ("-e", "bootstrap_rotate_force=true"), workdir="rotate",
                    on_line=lambda line: line.startswith("TASK [paperclip.kubernetes.bootstrap")
                    and rotation_started.set())

    def deploy():
        assert rotation_started.wait(120), "the rotation did not start"
        return play(workdir="deploy", paperclip_lock_wait=300)
    (rc_r, out_r, _fail_r), (rc_d, out_d, _fail_d) = side_by_side(rotate, deploy)
    assert rc_r == 0 and "/invite/" in out_r, out_r[-3000:]
    assert rc_d == 0, out_d[-4000:]
    assert "waiting up to 300 s for the run lock" in out_d and "(Rotate the Paperclip first-admin invite)" in out_d
    # It ran after the rotation: the fresh invite is valid, so the deploy made no Job.
    assert recap(out_d)["lock"]["changed"] == 0, out_d[-4000:]
    assert len(bootstrap_jobs(api_client)) == len(before_jobs) + 1
    assert secrets(api_client) == before
    assert lease(api_client) is None


def test_a_killed_run_leaves_its_lock_and_the_next_run_here_takes_it_over(play, api_client):
    if not secrets(api_client):  # run alone: deploy first
        assert play()[0] == 0
    before = secrets(api_client)
    killed = threading.Event()
    extra = {"paperclip_extra_env": {"PAPERCLIP_LOCK_TEST": "killed"}}

    locked = threading.Event()

    def on_line(line):
        # SIGKILL to every process of that run (ansible-playbook and its workers, found by
        # their inventory's directory) as the task after the lock starts: no always: section
        # runs, as after a crash.
        if line.startswith("TASK [Take the instance's run lock]"):
            locked.set()
        elif locked.is_set() and not killed.is_set() and line.startswith("TASK ["):
            killed.set()
            subprocess.run(["pkill", "-KILL", "-f", r"/killed[0-9]*/inventory\.yml"], check=False)
    rc, output, _failures = play(workdir="killed", on_line=on_line, **extra)
    assert killed.is_set() and rc != 0, output[-2000:]
    held = lease(api_client)
    assert held is not None, "a killed run released its lock"
    pid = int(held.spec.holder_identity.rsplit(":", 1)[1])
    wait_for("the killed run's processes to be gone", lambda: subprocess.run(
        ["kill", "-0", str(pid)], capture_output=True, check=False).returncode != 0, timeout=30)
    rc, output, failures = play(**extra)
    assert rc == 0 and not failures, output[-4000:]
    assert f"Took over the run lock of {NAMESPACE}/paperclip from {held.spec.holder_identity}" in flat(output)
    assert "ran on this machine and is gone" in flat(output)
    rc, output, _failures = play(**extra)
    assert rc == 0 and recap(output)["lock"]["changed"] == 0, output[-4000:]
    assert secrets(api_client) == before
    assert lease(api_client) is None


def test_a_lock_held_on_another_machine_stops_runs_until_it_expires(play, api_client):
    coordination = client.CoordinationV1Api(api_client)
    now = datetime.datetime.now(datetime.timezone.utc)
    coordination.create_namespaced_lease(NAMESPACE, {
        "metadata": {"name": LEASE, "annotations": {"paperclip.kubernetes/play": "Upgrade Paperclip"}},
        "spec": {"holderIdentity": "bob@build-server:4242", "leaseDurationSeconds": 3600,
                 "acquireTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                 "renewTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}})
    version = lease(api_client).metadata.resource_version
    # A check writes nothing, so it takes no lock: it warns and runs.
    rc, output, _failures = play(args=("--check",))
    assert rc == 0 and "Another run is working on" in flat(output), output[-3000:]
    assert "bob@build-server:4242" in flat(output) and "what this check reports may change under it" in flat(output)
    # A real run stops at once, naming the holder, its play and the way out; the Lease is untouched.
    rc, output, failures = play("playbooks/rotate_invite.yml")
    assert rc != 0, output[-3000:]
    message = failures["lock"]
    assert BUSY in message and "bob@build-server:4242 (Upgrade Paperclip)" in message, message
    assert "expires at " in message and f"kubectl -n {NAMESPACE} delete lease {LEASE}" in message, message
    assert lease(api_client).metadata.resource_version == version
    # Two hours later (renewTime moved back): expired, so the next run takes it over and releases it.
    old = (now - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    coordination.patch_namespaced_lease(LEASE, NAMESPACE, {"spec": {"acquireTime": old, "renewTime": old}})
    rc, output, failures = play("playbooks/rotate_invite.yml")
    assert rc == 0 and not failures, output[-3000:]
    assert "from bob@build-server:4242, which expired" in flat(output), output[-3000:]
    assert lease(api_client) is None
