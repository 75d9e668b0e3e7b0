"""Benchmarks (make bench): how long the collection takes and how much memory it uses.

Measured here, printed as a table and written to artifacts/bench/results.json:
- render: deploy.yml in render mode for 1 host and for 10 hosts (forks): wall and CPU seconds;
- deploy: deploy.yml on the local cluster, pods running on its real node (KUBECONFIG from with-cluster.sh),
  first run and second (idempotent) run, wall seconds and the controller's peak RSS;
- parse: paperclip_invite's log parser on a 1 MiB log, runs per second.

Goals (checked here, not in the tests): an idempotent deploy of one instance under 120 s,
render under 30 s CPU per host, parse of a 1 MiB log under 250 ms
(far below the 2 s poll interval of paperclip_invite).
Every run stays on this machine; the deploy uses its own namespace and deletes it.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / ".build" / "collections")]

from ansible_collections.paperclip.kubernetes.plugins.module_utils.paperclip import parse_bootstrap_output  # noqa: E402
from tests.support.ansible_run import recap, run_playbook  # noqa: E402
from tests.support.cluster import local_images, stand_in_vars  # noqa: E402

GOALS = {"deploy_idempotent_s": 120, "render_cpu_s_per_host": 30, "parse_1mib_ms": 250}


def timed(fn):
    """Wall seconds, CPU seconds of child processes, and the result of fn()."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    result = fn()
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss * 1024, result


def bench_render(n):
    work = Path(tempfile.mkdtemp(prefix="pk-bench-render-"))
    hosts = {f"h{i}": {"paperclip_host": f"p{i}.example.com", "paperclip_render_dir": str(work / "out")} for i in range(n)}
    wall, cpu, _maxrss, (rc, output, failures) = timed(lambda: run_playbook("deploy.yml", hosts, work))
    assert rc == 0 and not failures, output[-3000:]
    return {"hosts": n, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "cpu_s_per_host": round(cpu / n, 1)}


def bench_deploy():
    kubeconfig = os.environ.get("KUBECONFIG")
    if not kubeconfig:
        raise SystemExit("bench: KUBECONFIG is not set; run through `make bench` (tests/cluster/with-cluster.sh)")
    work = Path(tempfile.mkdtemp(prefix="pk-bench-deploy-"))
    namespace = f"pc-bench-{uuid.uuid4().hex[:6]}"
    # The real node runs the pods: the stand-in images built here (tests/cluster/images).
    host = {"bench": {"paperclip_namespace": namespace, "paperclip_host": "paperclip.bench.test",
                      "bootstrap_enabled": False, **stand_in_vars(local_images(kubeconfig))}}
    results = {}
    for run in ("first", "idempotent"):
        wall, _cpu, maxrss, (rc, output, failures) = timed(
            lambda: run_playbook("deploy.yml", host, work, extra_env={"KUBECONFIG": kubeconfig}))
        assert rc == 0 and not failures, output[-3000:]
        results[run] = {"wall_s": round(wall, 1), "changed": recap(output)["bench"]["changed"],
                        "peak_rss_mib": round(maxrss / 2 ** 20)}
    subprocess.run([sys.executable, "-c", f"""
from kubernetes import client, config
config.load_kube_config({kubeconfig!r})
client.CoreV1Api().delete_namespace({namespace!r})
"""], check=True)
    return results


def bench_parse():
    captured = (ROOT / "tests" / "fixtures" / "paperclip" / "bootstrap-created.txt").read_text()
    noise = "2026-11-27T08:00:00.000000000Z stdout F some unrelated line of server output\n"
    text = noise * ((1 << 20) // len(noise)) + captured
    runs, start = 0, time.monotonic()
    while time.monotonic() - start < 2 and runs < 1000:
        parsed = parse_bootstrap_output(text)
        runs += 1
    elapsed = time.monotonic() - start
    assert parsed.get("invite_url"), parsed
    return {"log_bytes": len(text), "runs": runs, "ms_per_parse": round(1000 * elapsed / runs, 2)}


def main():
    results = {"render_1": bench_render(1), "render_10": bench_render(10), "parse": bench_parse(),
               "deploy": bench_deploy()}
    checks = {
        "deploy_idempotent_s": results["deploy"]["idempotent"]["wall_s"],
        "render_cpu_s_per_host": results["render_10"]["cpu_s_per_host"],
        "parse_1mib_ms": results["parse"]["ms_per_parse"],
    }
    results["goals"] = {k: {"goal": GOALS[k], "measured": v, "met": v <= GOALS[k]} for k, v in checks.items()}
    out = ROOT / "artifacts" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print("\n| goal | limit | measured | met |\n|---|---|---|---|")
    for k, v in results["goals"].items():
        print(f"| {k} | {v['goal']} | {v['measured']} | {'yes' if v['met'] else 'NO'} |")
    return 0 if all(v["met"] for v in results["goals"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
