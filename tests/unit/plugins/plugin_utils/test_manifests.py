"""Unit tests for plugins/plugin_utils/manifests.py: the pure parts of the one apply path
(Secret masking and redaction, the render file, Job outcomes, pod reasons, the wait loop).
The action's API calls are tested on the real cluster (tests/integration, tests/e2e)."""

import base64

import pytest

from ansible_collections.paperclip.kubernetes.plugins.plugin_utils import manifests as mf

SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
          "stringData": {"KEY_A": "a-very-secret-value", "KEY_B": "another-secret-value", "PORT": "54"}}


def b64(text):
    return base64.b64encode(text.encode()).decode()


def test_secret_values_come_only_from_secrets_longest_first():
    config = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "not-a-secret-at-all"}}
    values = mf.secret_values([SECRET, config])
    assert values == ["another-secret-value", "a-very-secret-value"]  # "54" is too short to redact safely
    assert "not-a-secret-at-all" not in values


def test_values_the_manifests_show_anyway_are_not_redacted():
    # A connection Secret's user and database names are part of object names: redacting
    # them would hide which object a message is about.
    conn = {"kind": "Secret", "metadata": {"name": "paperclip-db", "namespace": "ns"},
            "stringData": {"username": "paperclip", "database": "paperclip", "port": "5432",
                           "host": "paperclip-postgres.ns.svc", "password": "s3cr3t-generated-password"}}
    service = {"kind": "Service", "metadata": {"name": "paperclip-postgres", "namespace": "ns"},
               "spec": {"ports": [{"port": 5432}]}}
    values = mf.secret_values([conn, service])
    assert "paperclip" not in values and "5432" not in values
    # Values shown nowhere else stay redacted, even harmless ones.
    assert sorted(values) == ["paperclip-postgres.ns.svc", "s3cr3t-generated-password"]
    out = mf.redact("Could not apply PersistentVolumeClaim ns/paperclip-postgres-data: s3cr3t-generated-password",
                    mf.secret_values([conn, service]))
    assert out == "Could not apply PersistentVolumeClaim ns/paperclip-postgres-data: ********"


def test_redact_replaces_every_secret_value():
    message = "HTTP 422: Secret s is invalid: data[KEY_A]: a-very-secret-value and another-secret-value"
    out = mf.redact(message, mf.secret_values([SECRET]))
    assert "secret-value" not in out and out.count("********") == 2 and "KEY_A" in out


def test_mask_secret_pair_says_which_key_changed_and_nothing_more():
    before = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"KEY_A": b64("a-very-secret-value"), "KEY_B": b64("old-value-xx")}}
    after = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"KEY_A": b64("a-very-secret-value"), "KEY_B": b64("new-value-yy"),
                                                                   "KEY_C": b64("brand-new-value")}}
    masked_before, masked_after = mf.mask_secret_pair(before, after)
    assert masked_before["data"] == {"KEY_A": mf.HIDDEN, "KEY_B": mf.HIDDEN}
    assert masked_after["data"] == {"KEY_A": mf.HIDDEN, "KEY_B": mf.HIDDEN_CHANGED, "KEY_C": mf.HIDDEN_CHANGED}
    text = repr((masked_before, masked_after))
    for value in ("a-very-secret-value", "old-value-xx", "new-value-yy", "brand-new-value"):
        assert value not in text and b64(value) not in text


def test_mask_secret_pair_compares_string_data_with_data():
    before = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"KEY_A": b64("a-very-secret-value")}}
    masked_before, masked_after = mf.mask_secret_pair(before, dict(SECRET))
    assert masked_after["data"]["KEY_A"] == mf.HIDDEN and "stringData" not in masked_after
    created_before, created_after = mf.mask_secret_pair(None, SECRET)
    assert created_before is None and set(created_after["data"].values()) == {mf.HIDDEN_CHANGED}


def test_strip_server_fields():
    live = {"kind": "ConfigMap", "metadata": {"name": "c", "uid": "u", "resourceVersion": "1", "managedFields": [{}],
                                              "labels": {"a": "b"}}, "status": {"x": 1}}
    assert mf.strip_server_fields(live) == {"kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "b"}}}


def test_render_file_adds_within_a_run_and_replaces_across_runs():
    first, changed = mf.render_file_update(None, "run-1", "postgres", {"a.yaml.j2": "kind: A\n"})
    assert changed and first.startswith("# run: run-1\n")
    second, changed = mf.render_file_update(first, "run-1", "postgres", {"b.yaml.j2": "kind: B\n"})
    assert changed and "# Source: postgres/a.yaml.j2\nkind: A" in second and "# Source: postgres/b.yaml.j2\nkind: B" in second
    # A new run starts the file again: a document no longer rendered does not linger.
    third, changed = mf.render_file_update(second, "run-2", "postgres", {"a.yaml.j2": "kind: A\n"})
    assert not changed, "the same document again is not a change"
    assert "b.yaml.j2" not in third and "# Source: postgres/a.yaml.j2" in third
    fourth, changed = mf.render_file_update(third, "run-3", "postgres", {"a.yaml.j2": "kind: A2\n"})
    assert changed and "kind: A2" in fourth


def test_job_state_and_failure_message():
    running = {"status": {"active": 1}}
    done = {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    failed = {"metadata": {"name": "j", "namespace": "ns"},
              "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                         "message": "Job has reached the specified backoff limit"}]}}
    assert mf.job_state(running) is None and mf.job_state(done) == "Complete" and mf.job_state(failed) == "Failed"
    own = mf.job_failure_message("Backup", failed, "BACKUP_FAILED the volume is full", ["x"])
    assert own == ("Backup failed (Job ns/j): the volume is full. "
                   "See: kubectl -n ns logs job/j --all-containers")
    other = mf.job_failure_message("Backup", failed, None, ["line 1", "line 2"])
    assert "Job has reached the specified backoff limit" in other and "line 1 | line 2" in other


def test_pod_problems_names_waiting_reasons_and_crashes():
    crashing = {"name": "app", "ready": False,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}
    started = {"name": "init", "ready": True, "state": {"terminated": {"exitCode": 0}}}
    unscheduled = {"type": "PodScheduled", "status": "False", "message": "0/1 nodes are available"}
    pods = [{"metadata": {"name": "p-0"}, "status": {"initContainerStatuses": [started], "containerStatuses": [crashing]}},
            {"metadata": {"name": "p-1"}, "status": {"phase": "Pending", "conditions": [unscheduled]}}]
    assert mf.pod_problems(pods) == ["p-0/app: CrashLoopBackOff back-off 10s", "p-1: 0/1 nodes are available"]


def test_wait_until_stops_when_done_or_at_the_deadline():
    now = [0.0]
    values = iter([1, 2, 3, 4])
    ok, last = mf.wait_until(lambda: next(values), lambda v: v == 3, 10, clock=lambda: now[0],
                             sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert ok and last == 3
    now[0] = 0.0
    ok, last = mf.wait_until(lambda: "never", lambda v: False, 3, interval=1, clock=lambda: now[0],
                             sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert not ok and now[0] == 3


def _pod(revision, reason=None, ready=False, restarts=0):
    state = {"waiting": {"reason": reason}} if reason else {"running": {}}
    return {"metadata": {"name": "p-0", "labels": {"controller-revision-hash": revision}},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "app", "state": state, "restartCount": restarts}]}}


def test_a_pod_stuck_at_an_old_revision_is_recognised():
    assert mf.stuck_at_old_revision(_pod("old", "CrashLoopBackOff"), "new")
    assert mf.stuck_at_old_revision(_pod("old", "ErrImageNeverPull"), "new")
    assert mf.stuck_at_old_revision(_pod("old", restarts=2), "new")
    # Not stuck: already at the new revision, ready, or still starting.
    assert not mf.stuck_at_old_revision(_pod("new", "CrashLoopBackOff"), "new")
    assert not mf.stuck_at_old_revision(_pod("old", ready=True, restarts=3), "new")
    assert not mf.stuck_at_old_revision(_pod("old", "ContainerCreating"), "new")
    assert not mf.stuck_at_old_revision(_pod("old", "CrashLoopBackOff"), None)
    # Nor one already being deleted: deleting it again could find it gone (HTTP 404).
    terminating = _pod("old", "CrashLoopBackOff")
    terminating["metadata"]["deletionTimestamp"] = "2026-11-30T12:00:00Z"
    assert not mf.stuck_at_old_revision(terminating, "new")


def test_wait_until_waits_out_transient_errors_and_raises_others():
    calls = []
    now = [0.0]

    def fetch():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("apiserver restarting")
        return "done"
    ok, result = mf.wait_until(fetch, lambda r: r == "done", 10, clock=lambda: now[0],
                               sleep=lambda s: now.__setitem__(0, now[0] + s),
                               transient=lambda e: isinstance(e, ConnectionError))
    assert ok and result == "done" and len(calls) == 3

    def broken():
        raise ValueError("not transient")
    try:
        mf.wait_until(broken, bool, 10, clock=lambda: 0.0, sleep=lambda s: None,
                      transient=lambda e: isinstance(e, ConnectionError))
    except ValueError:
        pass
    else:
        raise AssertionError("a non-transient error was swallowed")

    def down():
        raise ConnectionError("still down")
    now[0] = 0.0
    try:
        mf.wait_until(down, bool, 5, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s),
                      transient=lambda e: isinstance(e, ConnectionError))
    except ConnectionError:
        assert now[0] >= 5
    else:
        raise AssertionError("a transient error past the deadline was swallowed")


def test_a_pod_waiting_for_a_missing_claim_is_recognised():
    pending = {"status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False",
         "message": '0/2 nodes are available: persistentvolumeclaim "paperclip-backups" not found.'}]}}
    assert "paperclip-backups" in mf.missing_volume([pending])
    unbound = {"status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "message": "pod has unbound immediate PersistentVolumeClaims"}]}}
    assert mf.missing_volume([unbound]) is None
    assert mf.missing_volume([{"status": {"phase": "Running"}}]) is None


def test_wait_until_pauses_until_a_change_and_sleeps_when_it_cannot_watch():
    now = [0.0]
    values = iter([1, 2, 3])
    paused, slept = [], []

    def pause(last, left):
        paused.append((last, left))
        return last != 2  # the pause after 2 could not watch: the plain sleep follows

    ok, last = mf.wait_until(lambda: next(values), lambda v: v == 3, 10, clock=lambda: now[0],
                             sleep=slept.append, pause=pause)
    # A pause after each read that is not done, with the time left; a sleep only when the
    # pause could not wait.
    assert ok and last == 3 and paused == [(1, 10.0), (2, 10.0)] and slept == [1.0]

    # A transient error has no object to watch: the plain sleep.
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("apiserver restarting")
        return "done"
    slept.clear()
    ok, result = mf.wait_until(flaky, lambda r: r == "done", 10, clock=lambda: 0.0, sleep=slept.append,
                               pause=lambda last, left: pytest.fail("paused without an object"),
                               transient=lambda e: isinstance(e, ConnectionError))
    assert ok and result == "done" and slept == [1.0]
