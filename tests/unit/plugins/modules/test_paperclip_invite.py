"""paperclip_invite's decisions, with the Kubernetes reads replaced by a
scripted namespace (a fake only for this unit test; the real API is used in
tests/integration/test_invite_on_cluster.py). Logs are the real CLI output."""

import pytest

from ansible_collections.paperclip.kubernetes.plugins.module_utils import k8s_helpers
from ansible_collections.paperclip.kubernetes.plugins.module_utils import invite as mod

TOKEN = "pcp_bootstrap_5dba530cd24af571caf1137e65a7fada1e6399083c3eea53"
URL = "http://127.0.0.1:3100/invite/" + TOKEN
CREATED = ("\u2502\n\u25c6  Created bootstrap CEO invite.\n\u2502\n\u2502  Invite URL: " + URL +
           "\n\u2502\n\u2502  Expires: 2026-11-30T07:29:48.853Z\n")
CLAIMED = "\u2502\n\u25cf  Instance already has an admin user. Use --force to generate a new bootstrap invite.\n"
NO_CONFIG = "\u25a0  No config found at /paperclip/instances/default/config.json. Run paperclip onboard first.\n"

COMPLETE = [{"type": "Complete", "status": "True"}]
FAILED = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
           "message": "Job has reached the specified backoff limit"}]


class Namespace:
    """Jobs, pods and logs of one namespace; `on_sleep` lets time change them."""

    def __init__(self):
        self.jobs, self.cronjobs, self.pods, self.logs = {}, set(), {}, {}
        self.log_reads = []
        self.on_sleep = []

    def add_job(self, name, conditions=(), owner=None, ts="2026-11-27T08:00:00Z", **status):
        meta = {"name": name, "creationTimestamp": ts, "uid": "uid-" + name}
        if owner:
            meta["ownerReferences"] = [{"kind": "CronJob", "name": owner}]
        self.jobs[name] = {"metadata": meta,
                           "spec": {"backoffLimit": 0, "selector": {"matchLabels": {
                               "batch.kubernetes.io/controller-uid": "uid-" + name}}},
                           "status": dict(status, conditions=list(conditions))}

    def add_pod(self, job, name, log, phase="Succeeded", ts="2026-11-27T08:00:01Z", containers=("bootstrap",)):
        self.pods[name] = {"metadata": {"name": name, "creationTimestamp": ts,
                                        "labels": {"batch.kubernetes.io/controller-uid": "uid-" + job}},
                           "spec": {"containers": [{"name": c} for c in containers]},
                           "status": {"phase": phase}}
        self.logs[name] = log

    def set_conditions(self, job, conditions):
        self.jobs[job]["status"]["conditions"] = conditions

    # the k8s_helpers interface
    def get_job(self, client, namespace, name):
        return self.jobs.get(name)

    def get_cronjob(self, client, namespace, name):
        return {"metadata": {"name": name}} if name in self.cronjobs else None

    def list_jobs(self, client, namespace):
        return list(self.jobs.values())

    def list_pods(self, client, namespace, selector):
        key, value = selector.split("=", 1)
        return [p for p in self.pods.values() if p["metadata"]["labels"].get(key) == value]

    def read_pod_log(self, client, namespace, pod, container=None):
        self.log_reads.append((pod, container))
        if pod not in self.logs:
            raise k8s_helpers.CoreException("pod {0} not found".format(pod))
        return self.logs[pod]


@pytest.fixture
def ns(monkeypatch):
    space = Namespace()
    for name in ("get_job", "get_cronjob", "list_jobs", "list_pods", "read_pod_log"):
        monkeypatch.setattr(k8s_helpers, name, getattr(space, name))
    return space


def run(fakes, clock, ns, check_mode=False, **kw):
    p = dict(namespace="paperclip", job=None, cronjob=None, container=None, timeout=300, interval=2)
    p.update(kw)
    module = fakes.FakeModule(p, check_mode=check_mode)

    def sleep(seconds):
        clock.sleep(seconds)
        for hook in list(ns.on_sleep):
            hook(clock.now)

    with pytest.raises((fakes.Exited, fakes.Failed)) as info:
        mod.Invite(module, client=None, clock=clock, sleep=sleep).run()
    return isinstance(info.value, fakes.Exited), info.value.result, module


def test_created(fakes, clock, ns):
    ns.add_job("boot", COMPLETE, succeeded=1)
    ns.add_pod("boot", "boot-abc", CREATED)
    ok, res, module = run(fakes, clock, ns, job="boot")
    assert ok, res
    assert res["invite_url"] == URL and res["expires_at"] == "2026-11-30T07:29:48.853Z"
    assert res["claimed"] is False and res["job"] == "boot" and res["pod"] == "boot-abc"
    assert res["changed"] is False and module.warnings == []
    assert ns.log_reads == [("boot-abc", "bootstrap")]       # first container by default


def test_waits_for_completion(fakes, clock, ns):
    ns.add_job("boot", active=1)
    ns.add_pod("boot", "boot-abc", CREATED, phase="Running")

    def finish(now):
        if now >= 1006:
            ns.set_conditions("boot", COMPLETE)
            ns.pods["boot-abc"]["status"]["phase"] = "Succeeded"
    ns.on_sleep.append(finish)
    ok, res = run(fakes, clock, ns, job="boot")[:2]
    assert ok and res["invite_url"] == URL
    assert clock.sleeps == [2, 2, 2]


def test_failed_job_fails_at_once_with_redacted_tail(fakes, clock, ns):
    ns.add_job("boot", FAILED, failed=1)
    ns.add_pod("boot", "boot-abc", "Error: boom\n" + CREATED + "Error: connect ECONNREFUSED 10.0.0.1:5432\n",
               phase="Failed")
    ok, res = run(fakes, clock, ns, job="boot")[:2]
    assert not ok
    assert clock.sleeps == []                       # no waiting at all
    assert "failed (BackoffLimitExceeded: Job has reached the specified backoff limit)" in res["msg"]
    assert "ECONNREFUSED" in res["msg"] and "Log tail of pod boot-abc" in res["msg"]
    assert TOKEN not in res["msg"] and "/invite/<redacted>" in res["msg"]
    assert res["invite_url"] is None and res["pod"] == "boot-abc"


def test_failure_during_the_wait_ends_it(fakes, clock, ns):
    ns.add_job("boot", active=1)
    ns.add_pod("boot", "boot-abc", "Error: no route to database\n", phase="Running")
    ns.on_sleep.append(lambda now: ns.set_conditions("boot", FAILED) if now >= 1004 else None)
    ok, res = run(fakes, clock, ns, job="boot")[:2]
    assert not ok and clock.sleeps == [2, 2]
    assert "no route to database" in res["msg"]


def test_failed_by_count_without_condition(fakes, clock, ns):
    ns.add_job("boot", failed=1)            # backoffLimit 0, controller did not write the condition yet
    ns.add_pod("boot", "boot-abc", "", phase="Failed")
    ok, res = run(fakes, clock, ns, job="boot")[:2]
    assert not ok and clock.sleeps == [] and "(empty log)" in res["msg"]


def test_running_forever_times_out(fakes, clock, ns):
    ns.add_job("boot", active=1)
    ns.add_pod("boot", "boot-abc", "", phase="Pending")
    ns.pods["boot-abc"]["status"]["containerStatuses"] = [
        {"name": "bootstrap", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]
    ok, res = run(fakes, clock, ns, job="boot", timeout=10, interval=2)[:2]
    assert not ok
    assert res["msg"].startswith("Timed out after 10s waiting for Job paperclip/boot")
    assert "ImagePullBackOff" in res["msg"]
    assert sum(clock.sleeps) == 10


def test_claimed(fakes, clock, ns):
    ns.add_job("boot", COMPLETE, succeeded=1)
    ns.add_pod("boot", "boot-abc", CLAIMED)
    ok, res = run(fakes, clock, ns, job="boot")[:2]
    assert ok and res["claimed"] is True and res["invite_url"] is None and res["expires_at"] is None
    assert "already has an admin" in res["msg"]


@pytest.mark.parametrize("log,needle", [
    (NO_CONFIG, "bootstrap-ceo failed: No config found at /paperclip/instances/default/config.json"),
    ("\u2502\n\u25a0  Could not create bootstrap invite: Failed query: select 1\n",
     "bootstrap-ceo failed: Could not create bootstrap invite"),
    ("", "does not look like the output"),
    ("node: bad option: --foo\n", "does not look like the output"),
])
def test_cli_errors_fail_with_tail(fakes, clock, ns, log, needle):
    ns.add_job("boot", COMPLETE, succeeded=1)
    ns.add_pod("boot", "boot-abc", log)
    ok, res = run(fakes, clock, ns, job="boot")[:2]
    assert not ok and needle in res["msg"]
    assert "Log tail of pod boot-abc" in res["msg"]


def test_newest_succeeded_pod_and_container_option(fakes, clock, ns):
    ns.add_job("boot", COMPLETE, succeeded=1)
    ns.add_pod("boot", "boot-old", NO_CONFIG, phase="Failed", ts="2026-11-27T08:00:01Z")
    ns.add_pod("boot", "boot-new", CREATED, ts="2026-11-27T08:00:09Z", containers=("wait-db", "bootstrap"))
    ok, res = run(fakes, clock, ns, job="boot", container="bootstrap")[:2]
    assert ok and res["pod"] == "boot-new" and ns.log_reads == [("boot-new", "bootstrap")]


def test_complete_without_pods(fakes, clock, ns):
    ns.add_job("boot", COMPLETE, succeeded=1)
    ok, res = run(fakes, clock, ns, job="boot")[:2]
    assert not ok and "none of its pods is left" in res["msg"]


def test_cronjob_picks_newest_job(fakes, clock, ns):
    ns.cronjobs.add("boot")
    ns.add_job("boot-100", COMPLETE, owner="boot", ts="2026-11-27T08:00:00Z", succeeded=1)
    ns.add_pod("boot-100", "boot-100-a", CLAIMED)
    ns.add_job("boot-200", COMPLETE, owner="boot", ts="2026-11-27T09:00:00Z", succeeded=1)
    ns.add_pod("boot-200", "boot-200-a", CREATED)
    ns.add_job("unrelated", COMPLETE, ts="2026-11-27T10:00:00Z", succeeded=1)
    ok, res = run(fakes, clock, ns, cronjob="boot")[:2]
    assert ok and res["job"] == "boot-200" and res["invite_url"] == URL


def test_cronjob_waits_for_its_first_job(fakes, clock, ns):
    ns.cronjobs.add("boot")

    def schedule(now):
        if now >= 1004 and "boot-1" not in ns.jobs:
            ns.add_job("boot-1", COMPLETE, owner="boot", succeeded=1)
            ns.add_pod("boot-1", "boot-1-a", CREATED)
    ns.on_sleep.append(schedule)
    ok, res = run(fakes, clock, ns, cronjob="boot")[:2]
    assert ok and res["job"] == "boot-1" and clock.sleeps == [2, 2]


def test_cronjob_without_jobs_times_out(fakes, clock, ns):
    ns.cronjobs.add("boot")
    ok, res = run(fakes, clock, ns, cronjob="boot", timeout=6)[:2]
    assert not ok and "No Job of CronJob paperclip/boot appeared within 6s" in res["msg"]


@pytest.mark.parametrize("kw", [dict(job="nope"), dict(cronjob="nope")])
def test_missing_fails_at_once(fakes, clock, ns, kw):
    ok, res = run(fakes, clock, ns, **kw)[:2]
    assert not ok and "not found" in res["msg"] and clock.sleeps == []


@pytest.mark.parametrize("kw", [dict(job="nope"), dict(cronjob="nope")])
def test_check_mode_missing_is_skipped(fakes, clock, ns, kw):
    ok, res = run(fakes, clock, ns, check_mode=True, **kw)[:2]
    assert ok and res["skipped"] is True and res["invite_url"] is None
    assert "check mode" in res["msg"] and clock.sleeps == []


def test_check_mode_cronjob_without_jobs_is_skipped(fakes, clock, ns):
    ns.cronjobs.add("boot")
    ok, res = run(fakes, clock, ns, check_mode=True, cronjob="boot")[:2]
    assert ok and res["skipped"] is True and clock.sleeps == []


def test_check_mode_reads_an_existing_job(fakes, clock, ns):
    ns.add_job("boot", COMPLETE, succeeded=1)
    ns.add_pod("boot", "boot-abc", CREATED)
    ok, res = run(fakes, clock, ns, check_mode=True, job="boot")[:2]
    assert ok and res["invite_url"] == URL and "skipped" not in res


def test_expiry_warning_has_no_token(fakes, clock, ns):
    ns.add_job("boot", COMPLETE, succeeded=1)
    ns.add_pod("boot", "boot-abc", CREATED.replace("2026-11-30T07:29:48.853Z", "soon " + TOKEN))
    ok, res, module = run(fakes, clock, ns, job="boot")
    assert ok and res["expires_at"] is None and len(module.warnings) == 1
    assert TOKEN not in module.warnings[0]


def test_unreadable_log_names_job_and_pod(fakes, clock, ns):
    ns.add_job("boot", COMPLETE, succeeded=1)
    ns.add_pod("boot", "boot-abc", CREATED)
    del ns.logs["boot-abc"]          # e.g. 400 "no logs found for container"
    ok, res = run(fakes, clock, ns, job="boot")[:2]
    assert not ok and res["job"] == "boot" and res["pod"] == "boot-abc"
    assert "completed but the log of pod boot-abc could not be read" in res["msg"]


def test_failed_job_tail_comes_from_the_failed_pod(fakes, clock, ns):
    ns.add_job("boot", FAILED, failed=1)
    ns.add_pod("boot", "boot-failed", "Error: the real reason\n", phase="Failed", ts="2026-11-27T08:00:01Z")
    ns.add_pod("boot", "boot-pending", "", phase="Pending", ts="2026-11-27T08:00:09Z")
    ok, res = run(fakes, clock, ns, job="boot")[:2]
    assert not ok and res["pod"] == "boot-failed" and "the real reason" in res["msg"]


class NewConnectionError(Exception):
    """Named like urllib3's: what the client raises while the API server is down."""


def down_until(monkeypatch, ns, clock, until, read="get_job"):
    """Make ns's `read` fail as an unreachable API server does until the clock reaches `until`."""
    real = getattr(ns, read)

    def flaky(*args):
        if clock.now < until:
            raise NewConnectionError("Failed to establish a new connection: [Errno 111] Connection refused")
        return real(*args)
    monkeypatch.setattr(k8s_helpers, read, flaky)


@pytest.mark.parametrize("kw, read", [(dict(job="boot"), "get_job"), (dict(cronjob="cron"), "get_cronjob"),
                                      (dict(cronjob="cron"), "list_jobs")])
def test_the_first_read_waits_out_an_api_server_restart(monkeypatch, fakes, clock, ns, kw, read):
    """A run that started reading while the API server restarted carries on and reads its
    own Job, instead of failing and leaving the Job to run alone."""
    ns.cronjobs.add("cron")
    ns.add_job("boot", COMPLETE, owner="cron", succeeded=1)
    ns.add_pod("boot", "boot-abc", CREATED)
    down_until(monkeypatch, ns, clock, 1004, read)
    ok, res = run(fakes, clock, ns, **kw)[:2]
    assert ok and res["invite_url"] == URL and res["job"] == "boot"
    assert clock.sleeps == [2, 2]


def test_an_api_server_down_past_the_timeout_ends_the_read(monkeypatch, fakes, clock, ns):
    ns.add_job("boot", COMPLETE, succeeded=1)
    down_until(monkeypatch, ns, clock, 10 ** 9)
    with pytest.raises(NewConnectionError):
        run(fakes, clock, ns, job="boot", timeout=6)
    assert clock.sleeps == [2, 2, 2]


def test_a_refused_first_read_fails_at_once(monkeypatch, fakes, clock, ns):
    def forbidden(*args):
        raise k8s_helpers.CoreException("Could not read Job paperclip/boot: HTTP 403: Forbidden")
    monkeypatch.setattr(k8s_helpers, "get_job", forbidden)
    with pytest.raises(k8s_helpers.CoreException, match="HTTP 403"):
        run(fakes, clock, ns, job="boot")
    assert clock.sleeps == []
