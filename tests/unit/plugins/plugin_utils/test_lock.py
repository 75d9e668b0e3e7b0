"""Unit tests for plugins/plugin_utils/lock.py: who may take an instance's run lock, and
what the Lease says. Two runs against the real API server are in tests/e2e/test_lock.py."""

import datetime
import subprocess
import time

from ansible_collections.paperclip.kubernetes.plugins.plugin_utils import lock

NOW = datetime.datetime(2026, 11, 30, 12, 0, 0, tzinfo=datetime.timezone.utc)
ME = "alice@laptop:4242"


def held(by, minutes_ago=1, duration=3600):
    taken = lock.micro_time(NOW - datetime.timedelta(minutes=minutes_ago))
    return {"holderIdentity": by, "leaseDurationSeconds": duration, "acquireTime": taken, "renewTime": taken,
            "leaseTransitions": 0}


def never_alive(pid):
    raise AssertionError("the holder's process is only looked at on its own machine")


def test_nobody_holds_it():
    assert lock.decide(None, ME, "laptop", NOW) == lock.ACQUIRE
    assert lock.decide({}, ME, "laptop", NOW) == lock.ACQUIRE
    # A released-but-kept Lease (holder cleared, as client-go leaves it) is free too.
    assert lock.decide({"holderIdentity": "", "renewTime": lock.micro_time(NOW)}, ME, "laptop", NOW) == lock.ACQUIRE


def test_the_same_run_renews():
    assert lock.decide(held(ME), ME, "laptop", NOW) == lock.RENEW


def test_another_live_run_is_busy():
    assert lock.decide(held("bob@ci:17"), ME, "laptop", NOW, alive=never_alive) == lock.BUSY
    # Same machine, its process is running.
    assert lock.decide(held("alice@laptop:17"), ME, "laptop", NOW, alive=lambda pid: pid == 17) == lock.BUSY


def test_a_dead_run_on_this_machine_is_taken_over_at_once():
    assert lock.decide(held("alice@laptop:17"), ME, "laptop", NOW, alive=lambda pid: False) == lock.TAKE_OVER_DEAD


def test_an_expired_lock_is_taken_over_whoever_held_it():
    assert lock.decide(held("bob@ci:17", minutes_ago=61), ME, "laptop", NOW, alive=never_alive) == lock.TAKE_OVER_EXPIRED
    assert lock.decide(held("bob@ci:17", minutes_ago=59), ME, "laptop", NOW, alive=never_alive) == lock.BUSY
    # No times at all (written by hand): nothing says it is live.
    assert lock.decide({"holderIdentity": "someone"}, ME, "laptop", NOW) == lock.TAKE_OVER_EXPIRED


def test_a_holder_in_another_format_is_busy_until_it_expires():
    assert lock.decide(held("kubectl-user"), ME, "laptop", NOW, alive=never_alive) == lock.BUSY


def test_times_round_trip_in_the_api_format():
    text = lock.micro_time(NOW)
    assert text == "2026-11-30T12:00:00.000000Z"
    assert lock.parse_time(text) == NOW
    assert lock.parse_time("2026-11-30T12:00:00Z") == NOW
    assert lock.parse_time("not a time") is None
    assert lock.expires_at(held("x", minutes_ago=0, duration=90)) == NOW + datetime.timedelta(seconds=90)


def test_the_spec_written_keeps_acquire_time_on_renewal_and_counts_take_overs():
    fresh = lock.spec_for(ME, 3600, NOW)
    assert fresh == {"holderIdentity": ME, "leaseDurationSeconds": 3600, "acquireTime": lock.micro_time(NOW),
                     "renewTime": lock.micro_time(NOW), "leaseTransitions": 0}
    later = NOW + datetime.timedelta(minutes=5)
    renewed = lock.spec_for(ME, 3600, later, fresh)
    assert renewed["acquireTime"] == fresh["acquireTime"] and renewed["renewTime"] == lock.micro_time(later)
    assert renewed["leaseTransitions"] == 0
    taken = lock.spec_for(ME, 3600, later, held("bob@ci:17"))
    assert taken["acquireTime"] == lock.micro_time(later) and taken["leaseTransitions"] == 1


def test_the_busy_message_names_the_holder_the_play_and_the_way_out():
    spec = held("bob@ci:17")
    msg = lock.busy_message("team-a", "paperclip", "paperclip-run-lock", spec,
                            {lock.PLAY_ANNOTATION: "Deploy Paperclip on Kubernetes"}, 30)
    assert "bob@ci:17 (Deploy Paperclip on Kubernetes)" in msg
    assert "since " + spec["acquireTime"] in msg and "expires at " in msg
    assert "after waiting 30 s" in msg and "paperclip_lock_wait" in msg
    assert "kubectl -n team-a delete lease paperclip-run-lock" in msg


def test_process_alive_tells_an_ansible_process_from_a_reused_pid():
    # bash's exec -a sets the argv[0] a process shows in /proc: the same sleep, named or not.
    named = subprocess.Popen(["bash", "-c", "exec -a ansible-playbook sleep 30"])
    other = subprocess.Popen(["sleep", "30"])
    try:
        deadline = 50
        while deadline and b"ansible" not in open("/proc/{0}/cmdline".format(named.pid), "rb").read():
            deadline -= 1
            time.sleep(0.1)
        assert lock.process_alive(named.pid) is True
        assert lock.process_alive(other.pid) is False  # alive, but not ansible: a reused PID
    finally:
        named.kill()
        other.kill()
        named.wait()
        other.wait()
    assert lock.process_alive(named.pid) is False  # gone
