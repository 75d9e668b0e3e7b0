"""`make cluster-up` then `make cluster-down` leave this machine as they found
it: no process, network namespace, bridge, iptables rule, mount, cgroup or
sysctl change of the local cluster survives. Runs its own cluster: it fails
(instead of stopping someone's cluster) when one is already running."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cluster import local_images

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "tests" / "cluster"
STATE = ROOT / ".cluster"
SYSCTLS = ("net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables")


def sh(*argv: str, check: bool = True) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}",
                    pytrace=False)
    return proc.stdout


def lib(name: str) -> str:
    """A setting of tests/cluster/lib.sh."""
    return sh("bash", "-c", f'. "{CLUSTER}/lib.sh"; echo "${name}"').strip()


def footprint() -> dict:
    """Everything of ours that could be left behind on this machine."""
    bin_dir, bridge, kube_router = lib("BIN"), lib("KCP_BRIDGE"), lib("KUBE_ROUTER")
    procs = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if (bin_dir in cmd or kube_router in cmd or str(STATE) in cmd or "local_provisioner.py" in cmd
                or "tests/cluster/supervise.sh" in cmd):
            procs.append(cmd[:120])
    iptables = "".join(sh(ipt, "-w", "-t", table, "-S") for ipt in ("iptables", "ip6tables")
                       for table in ("filter", "nat", "mangle"))
    return {
        "processes": procs,
        "netns": [n for n in sh("ip", "netns", "list").split() if n.startswith("cni-")],
        "bridge": sh("ip", "-br", "link", "show", bridge, check=False).strip(),
        "rules": [r for r in iptables.splitlines() if "PAPERCLIP-KCP" in r or "KUBE-" in r or "CNI-" in r],
        # kube-router's ipsets (its names start KUBE-).
        "ipsets": [n for n in sh("ipset", "list", "-n").split() if "KUBE-" in n],
        "mounts": [m for m in sh("findmnt", "-rn", "-o", "TARGET").splitlines() if str(STATE) in m],
        "cgroups": [str(p) for p in Path("/sys/fs/cgroup").glob("*/kubepods")],
        "state_dir": STATE.exists(),
        "pv_link": os.path.lexists("/tmp/hostpath_pv"),
    }


EMPTY = {"processes": [], "netns": [], "bridge": "", "rules": [], "ipsets": [], "mounts": [], "cgroups": [],
         "state_dir": False, "pv_link": False}


def test_cluster_up_then_down_leaves_nothing_behind():
    if (STATE / "kubeconfig").exists():
        pytest.fail(f"a local cluster is running ({STATE}); stop it with `make cluster-down` first", pytrace=False)
    assert footprint() == EMPTY, "leftovers from an earlier run: clean them up first"
    sysctls = {k: Path(f"/proc/sys/{k}").read_text() for k in SYSCTLS}
    t0 = time.monotonic()
    try:
        sh("bash", str(CLUSTER / "up.sh"))
        up_seconds = time.monotonic() - t0
        running = footprint()
        # What down.sh must remove really existed: processes, bridge, rules, mounts, cgroups.
        assert running["processes"] and running["bridge"] and running["rules"] and running["mounts"]
        assert [p for p in running["processes"] if "supervise.sh" in p], running["processes"]
        assert running["cgroups"], running
        # A pod in its own network namespace (CoreDNS uses the host's).
        kubectl = [lib("BIN") + "/kubectl", "--kubeconfig", str(STATE / "kubeconfig")]
        image = local_images(str(STATE / "kubeconfig"))["debian-standin"]
        sh(*kubectl, "run", "netns-probe", "--image", image, "--image-pull-policy=Never", "--restart=Never",
           "--command", "--", "sleep", "600")
        sh(*kubectl, "wait", "--for=condition=Ready", "pod/netns-probe", "--timeout=120s")
        assert footprint()["netns"], "the pod got no network namespace of its own"
    finally:
        t1 = time.monotonic()
        sh("bash", str(CLUSTER / "down.sh"))
        down_seconds = time.monotonic() - t1
    print(f"cluster up {up_seconds:.1f}s, down {down_seconds:.1f}s")
    assert footprint() == EMPTY
    assert {k: Path(f"/proc/sys/{k}").read_text() for k in SYSCTLS} == sysctls
