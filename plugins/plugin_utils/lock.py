# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

"""The run lock of an instance: a coordination.k8s.io Lease in its namespace, held by
one playbook run at a time (controller side, used by the paperclip_lock action).

Like Helm's "another operation is in progress", a second run fails fast; unlike it, a
lock left by a run that died does not need a hand: it expires after its duration, and a
run on the same machine sees at once that the holder's process is gone. The decision is
a pure function of the Lease, who asks and when (decide), unit-tested on its own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re

API_VERSION = "coordination.k8s.io/v1"
PLAY_ANNOTATION = "paperclip.kubernetes/play"
# user@host:pid of the ansible-playbook process (the parent of the worker running the action).
HOLDER = re.compile(r"^(?P<user>[^@]*)@(?P<host>[^:]+):(?P<pid>\d+)$")

ACQUIRE, RENEW, TAKE_OVER_EXPIRED, TAKE_OVER_DEAD, BUSY = "acquire", "renew", "take over expired", "take over dead", "busy"


def lease_name(instance):
    return "{0}-run-lock".format(instance)


def identity(user, host, pid):
    return "{0}@{1}:{2}".format(user, host, pid)


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def micro_time(moment):
    """The API's MicroTime format."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text):
    if not text:
        return None
    text = text.rstrip("Z")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            continue
    return None


def expires_at(spec):
    """When the holder's claim runs out: last renewal plus duration (None: never renewed)."""
    renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    if renewed is None:
        return None
    return renewed + datetime.timedelta(seconds=int(spec.get("leaseDurationSeconds") or 0))


def process_alive(pid):
    """Whether pid is a live ansible process on this machine. A PID reused by another
    program counts as gone, where /proc says so."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    try:
        with open("/proc/{0}/cmdline".format(pid), "rb") as f:
            return b"ansible" in f.read()
    except OSError:  # no /proc (macOS): trust kill
        return True


def decide(spec, me, host, moment, alive=process_alive):
    """What to do with a Lease's spec when `me` on `host` asks at `moment`:
    ACQUIRE (nobody holds it), RENEW (we do), TAKE_OVER_EXPIRED, TAKE_OVER_DEAD
    (its holder ran on this host and is gone) or BUSY."""
    holder = (spec or {}).get("holderIdentity")
    if not holder:
        return ACQUIRE
    if holder == me:
        return RENEW
    end = expires_at(spec)
    if end is None or end <= moment:
        return TAKE_OVER_EXPIRED
    match = HOLDER.match(holder)
    if match and match.group("host") == host and not alive(int(match.group("pid"))):
        return TAKE_OVER_DEAD
    return BUSY


def spec_for(me, duration, moment, previous=None, taking_over=False):
    """The spec we write: acquireTime kept on a renewal, transitions counted on a take-over."""
    previous = previous or {}
    renewing = previous.get("holderIdentity") == me
    transitions = int(previous.get("leaseTransitions") or 0) + (1 if previous.get("holderIdentity") and not renewing else 0)
    return {
        "holderIdentity": me,
        "leaseDurationSeconds": int(duration),
        "acquireTime": previous.get("acquireTime") if renewing and previous.get("acquireTime") else micro_time(moment),
        "renewTime": micro_time(moment),
        "leaseTransitions": transitions,
    }


def describe(namespace, name, spec, annotations):
    """Who holds the lock, for messages: holder, play, since, until."""
    play = (annotations or {}).get(PLAY_ANNOTATION)
    end = expires_at(spec)
    return "{holder}{play} has held Lease {ns}/{name} since {since}; it expires at {end}".format(
        holder=spec.get("holderIdentity"), play=" ({0})".format(play) if play else "", ns=namespace, name=name,
        since=spec.get("acquireTime") or "?", end=micro_time(end) if end else "?")


def busy_message(namespace, instance, name, spec, annotations, waited):
    return ("Another run is working on the instance {ns}/{instance}: {who}. This run stops here{waited}, "
            "before changing anything of the instance. Wait for that run to end, or run again with "
            "-e paperclip_lock_wait=<seconds> to wait for it. If that run died, its lock expires by itself "
            "(a run on the same machine notices at once); to release it now: "
            "kubectl -n {ns} delete lease {name}").format(
                ns=namespace, instance=instance, who=describe(namespace, name, spec, annotations), name=name,
                waited=" after waiting {0} s".format(waited) if waited else "")
