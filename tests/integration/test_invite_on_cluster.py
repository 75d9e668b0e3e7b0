"""paperclip_invite through the local control plane (tests/cluster).

Real apiserver and Job controller; KWOK fakes the pods and serves their logs
from files (tests/cluster/kwok_logs.py). The logs are the REAL output of
`paperclipai auth bootstrap-ceo`, captured from a real server into
tests/fixtures/paperclip/ by tests/paperclip/capture.py. The module runs as a
playbook task (tests/support/run_module.py), with the cluster's kubeconfig.

Run: bash tests/cluster/with-cluster.sh .venv/bin/python -m pytest -q tests/integration/test_invite_on_cluster.py
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from kubernetes import client

from kwok_logs import serve_logs, stop_serving_logs
from tests.support.cluster import job_manifest
from tests.support.run_module import run_module

INVITE = "paperclip.kubernetes.paperclip_invite"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "paperclip"
TOKEN_RE = re.compile(r"pcp_bootstrap_[0-9a-f]{48}")


def capture(name: str) -> str:
    path = FIXTURES / name
    assert path.is_file(), f"missing {path}: regenerate with tests/paperclip/capture.py"
    return path.read_text(encoding="utf-8")


def plain_url(text: str) -> str:
    """The invite URL as printed, without colour codes."""
    m = re.search(r"Invite URL: (?:\x1b\[[0-9;]*m)?(\S+?)(?:\x1b\[[0-9;]*m)?$", text, re.M)
    assert m, text
    return m.group(1)


def job_body(name, container="bootstrap", fail=False, owner=None):
    return job_manifest(name, container, ["paperclipai", "auth", "bootstrap-ceo", "--expires-hours", "72"],
                        fail=fail, owner=owner)


@pytest.fixture
def ns(namespace, kubeconfig):
    yield namespace
    stop_serving_logs(namespace, kubeconfig)


@pytest.fixture
def batch(api_client):
    return client.BatchV1Api(api_client)


def invite(kubeconfig, check=False, **args):
    args.setdefault("timeout", 120)
    args.setdefault("interval", 1)
    return run_module(INVITE, dict(args, kubeconfig=kubeconfig), check=check)


@pytest.mark.parametrize("name", ["bootstrap-created.txt", "bootstrap-created-color.txt"])
def test_job_logs_give_the_exact_url(ns, kubeconfig, batch, name):
    text = capture(name)
    serve_logs(ns, "bootstrap", text, kubeconfig)
    batch.create_namespaced_job(ns, job_body("boot"))
    res = invite(kubeconfig, namespace=ns, job="boot")
    r = res.result
    assert not res.failed, r
    assert r["invite_url"] == plain_url(text)
    assert r["invite_url"].endswith("/invite/" + TOKEN_RE.search(text).group(0))
    assert r["expires_at"] == re.search(r"Expires: (?:\x1b\[[0-9;]*m)?(\S+?)(?:\x1b|$)", text, re.M).group(1)
    assert r["claimed"] is False and r["job"] == "boot" and r["pod"].startswith("boot-")
    assert r["changed"] is False
    # The token is in the result (that is the point) but in no warning.
    assert not any(TOKEN_RE.search(w) for w in r.get("warnings", []))


def test_check_mode_reads_the_same(ns, kubeconfig, batch):
    text = capture("bootstrap-created.txt")
    serve_logs(ns, "bootstrap", text, kubeconfig)
    batch.create_namespaced_job(ns, job_body("boot"))
    r = invite(kubeconfig, check=True, namespace=ns, job="boot").result
    assert not r.get("failed"), r
    assert r["invite_url"] == plain_url(text) and r["changed"] is False


def test_failed_job_fails_fast_with_redacted_tail(ns, kubeconfig, batch):
    # A log that holds a token, to prove the failure message redacts it.
    text = capture("bootstrap-created.txt") + "Error: lost the database connection\n"
    token = TOKEN_RE.search(text).group(0)
    serve_logs(ns, "bootstrap", text, kubeconfig)
    batch.create_namespaced_job(ns, job_body("boot", fail=True))
    res = invite(kubeconfig, namespace=ns, job="boot", timeout=300, interval=2)
    r = res.result
    print("failed Job after {0:.1f}s: {1}".format(res.elapsed, r.get("msg")))
    assert res.failed, r
    assert "Job {0}/boot failed".format(ns) in r["msg"]
    assert "lost the database connection" in r["msg"]
    assert token not in r["msg"] and "/invite/<redacted>" in r["msg"]
    assert r["invite_url"] is None
    # The module returns as soon as the Job fails, far from the 300 s timeout.
    assert res.elapsed < 60, res.elapsed


def test_claimed(ns, kubeconfig, batch):
    serve_logs(ns, "bootstrap", capture("bootstrap-claimed.txt"), kubeconfig)
    batch.create_namespaced_job(ns, job_body("boot"))
    r = invite(kubeconfig, namespace=ns, job="boot").result
    assert not r.get("failed"), r
    assert r["claimed"] is True and r["invite_url"] is None and r["expires_at"] is None


@pytest.mark.parametrize("name,needle", [("bootstrap-no-config.txt", "No config found at"),
                                         ("bootstrap-db-down.txt", "Could not create bootstrap invite")])
def test_cli_error_in_a_completed_job(ns, kubeconfig, batch, name, needle):
    serve_logs(ns, "bootstrap", capture(name), kubeconfig)
    batch.create_namespaced_job(ns, job_body("boot"))
    r = invite(kubeconfig, namespace=ns, job="boot").result
    assert r.get("failed"), r
    assert "completed but paperclipai auth bootstrap-ceo failed: " + needle in r["msg"]
    assert "Log tail of pod boot-" in r["msg"]


def test_cronjob_picks_its_newest_job(ns, kubeconfig, batch):
    cron = batch.create_namespaced_cron_job(ns, client.V1CronJob(
        metadata=client.V1ObjectMeta(name="boot"),
        spec=client.V1CronJobSpec(schedule="0 0 1 1 *", suspend=True, job_template=client.V1JobTemplateSpec(
            spec=job_body("x").spec))))
    owner = {"name": "boot", "uid": cron.metadata.uid}
    # Different container names give each Job its own served log.
    serve_logs(ns, "old", capture("bootstrap-claimed.txt"), kubeconfig)
    serve_logs(ns, "bootstrap", capture("bootstrap-rotated.txt"), kubeconfig)
    batch.create_namespaced_job(ns, job_body("boot-1", container="old", owner=owner))
    time.sleep(1.1)   # creationTimestamp has a resolution of one second
    batch.create_namespaced_job(ns, job_body("boot-2", owner=owner))
    batch.create_namespaced_job(ns, job_body("unowned-9", container="old"))
    r = invite(kubeconfig, namespace=ns, cronjob="boot").result
    assert not r.get("failed"), r
    assert r["job"] == "boot-2" and r["invite_url"] == plain_url(capture("bootstrap-rotated.txt"))


def test_missing_job(ns, kubeconfig):
    res = invite(kubeconfig, namespace=ns, job="nope", timeout=300)
    assert res.failed and "Job {0}/nope not found".format(ns) in res.result["msg"]
    assert res.elapsed < 60
    # In check mode the role could not create it: a skipped result, not a failure.
    r = invite(kubeconfig, check=True, namespace=ns, job="nope").result
    assert r.get("skipped") is True and not r.get("failed"), r
    assert r["invite_url"] is None and "check mode" in r["msg"]


def test_stuck_job_times_out_with_pod_state(ns, kubeconfig, batch):
    body = job_body("boot")
    body.spec.template.spec.node_selector = {"paperclip.test/no-such-node": "true"}   # never scheduled
    batch.create_namespaced_job(ns, body)
    res = invite(kubeconfig, namespace=ns, job="boot", timeout=6, interval=1)
    r = res.result
    assert res.failed, r
    assert r["msg"].startswith("Timed out after 6s waiting for Job {0}/boot".format(ns)), r["msg"]
    assert "phase Pending" in r["msg"]
