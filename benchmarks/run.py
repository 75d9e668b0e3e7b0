"""Benchmarks (make bench): the collection against the floor of the same work, in one run.

The floor is what Kubernetes and Ansible need at least for the same result:
`kubectl apply --server-side` of the very manifests deploy.yml renders, the same waits
done with `kubectl rollout status` / `kubectl wait`, and a trivial ansible-playbook run.
The collection is measured against it as ratios, because these machines are noisy:

- a cold deploy.yml of one instance, a no-op re-run (changed=0) and --check, each 3 times,
  each round right after a round of the floor (and the trivial playbook), so that the
  machine's drift over a bench falls on both sides of a ratio;
- 1, 5 and 10 instances in one run (forks = instances): cold once, no-op 3 times; and
  the floor of 5 instances (their manifests applied at once, waited for until all Ready),
  which says how far the 5-instance goal is the cluster's own;
- render CPU per host (render mode, no API call), next to its floors: a playbook of as many
  ansible.builtin.debug tasks as the render ran task runs, on as many hosts, which is
  what Ansible itself costs for that many tasks; and deploy.yml listed (--list-tasks):
  ansible-playbook's start and the parsing of deploy.yml, before any task runs;
- peak RSS of the ansible-playbook process tree (sampled from /proc);
- API requests per run, by client, from the API server's audit log (the cluster runs
  with KCP_AUDIT=1; make bench starts it so).

Prints a table and writes benchmarks/results.md and artifacts/bench/results.json.
Everything stays on this machine: the local cluster of tests/cluster, real pods on its
real node (stand-in images built here), bootstrap off (no first-admin Job). Each
namespace it creates is deleted again.
"""

import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / ".build" / "collections")]

from ansible_collections.paperclip.kubernetes.plugins.module_utils.paperclip import parse_bootstrap_output  # noqa: E402

from tests.support.ansible_run import VENV_BIN, ansible_env, recap  # noqa: E402
from tests.support.cluster import local_images, stand_in_vars  # noqa: E402

REPEAT = 3
GOALS = {  # ratio limits from issue 10
    "noop_vs_floor": 3.0, "check_vs_floor": 3.0, "cold_vs_floor": 2.0,
    "five_vs_one": 1.5, "render_cpu_s_per_host": 2.0,
}
PARSE_GOAL_MS = 250  # paperclip_invite polls every 2 s; parsing a 1 MiB log must stay far below
KUBECONFIG = os.environ.get("KUBECONFIG", "")
# kwokctl's binary runtime writes it under the cluster's work directory (tests/cluster/up.sh).
AUDIT_LOG = next(iter(sorted((ROOT / ".cluster" / "kwok" / "clusters").glob("*/logs/audit.log"))),
                 ROOT / ".cluster" / "audit.log (missing)")


# -- process helpers ----------------------------------------------------------------------

def tree_rss(pid):
    """Resident memory (bytes) of pid and all its descendants."""
    children, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def run(cmd, env=None, check=True):
    """Wall seconds, CPU seconds of the process tree, peak tree RSS, output."""
    before = os.times()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.communicate()[0]
    wall = time.monotonic() - start
    sampler.join()
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if check and proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} failed ({proc.returncode}):\n{out[-4000:]}")
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": peak[0] / 2 ** 20, "rc": proc.returncode, "out": out}


def kubectl(*args, check=True):
    return run(["kubectl", "--kubeconfig", KUBECONFIG, *args], check=check)


def playbook(playbook_name, hosts, work, args=(), check=True):
    """ansible-playbook with one inventory host per instance (forks = hosts)."""
    inventory = {"all": {"hosts": {name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                          **values} for name, values in hosts.items()}}}
    inv = Path(work) / f"inventory-{len(hosts)}.yml"
    inv.write_text(yaml.safe_dump(inventory))
    env = ansible_env(KUBECONFIG=KUBECONFIG, ANSIBLE_FORKS=str(max(len(hosts), 1)))
    result = run([str(VENV_BIN / "ansible-playbook"), "-i", str(inv), *args, str(ROOT / playbook_name)], env=env, check=check)
    result["recap"] = recap(result["out"])
    return result


# -- API requests ---------------------------------------------------------------------------

class Audit:
    """Counts the API requests made between mark() and count(), by client."""

    def __init__(self):
        self.available = AUDIT_LOG.exists()
        self.offset = 0

    def mark(self):
        if self.available:
            self.offset = AUDIT_LOG.stat().st_size

    def count(self):
        if not self.available:
            return None
        counts = {"ansible": 0, "kubectl": 0}
        with open(AUDIT_LOG) as f:
            f.seek(self.offset)
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("stage") != "ResponseComplete":
                    continue
                agent = event.get("userAgent", "")
                if agent.startswith("kubectl"):
                    counts["kubectl"] += 1
                elif agent.startswith("OpenAPI-Generator") or "python" in agent.lower():
                    counts["ansible"] += 1
        return counts


# -- the instance -------------------------------------------------------------------------------

def instance_vars(namespace, images, **extra):
    return {"paperclip_namespace": namespace, "paperclip_host": f"{namespace}.bench.test",
            "paperclip_ingress_enabled": False, "bootstrap_enabled": False, **stand_in_vars(images), **extra}


def delete_namespaces(names):
    for name in names:
        kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
    for name in names:
        kubectl("wait", "--for=delete", f"namespace/{name}", "--timeout=300s", check=False)


def render(work, hosts, args=()):
    """Render mode: the manifests deploy.yml would apply, per host."""
    out = Path(work) / "render"
    hosts = {name: {**values, "paperclip_render_dir": str(out)} for name, values in hosts.items()}
    result = playbook("deploy.yml", hosts, work, args)
    return result, out


def start_floor(work, hosts):
    """What a render costs before its first task: ansible-playbook's start and the parsing
    of deploy.yml (its roles, imports and argument specs), with --list-tasks on the same
    inventory; no task runs."""
    return render(work, hosts, ("--list-tasks",))[0]


def debug_floor(work, rendered, hosts):
    """Ansible's own cost for a render: a playbook of as many ansible.builtin.debug tasks as
    the render ran task runs (its recap's ok + skipped + failed, per host), on as many hosts."""
    counts = next(iter(rendered["recap"].values()))
    tasks = counts["ok"] + counts["skipped"] + counts["failed"]
    path = Path(work) / f"debug-{tasks}.yml"
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [
        {"name": f"task {n}", "ansible.builtin.debug": {"msg": "hi"}} for n in range(tasks)]}]))
    result = playbook(str(path), {f"d{n}": {} for n in range(hosts)}, work)
    result["tasks"] = tasks
    return result


def floor_manifests(work, namespace, images):
    """The manifests deploy.yml renders for one instance, made deployable as they are:
    render mode writes placeholders where the deploy generates secrets, so the floor
    puts one random value in their place (database password, instance keys)."""
    out = render(work, {"floor": instance_vars(namespace, images)})[1]
    value = secrets.token_hex(32)
    path = Path(work) / f"{namespace}.yaml"
    text = "\n".join(p.read_text() for p in sorted(out.glob("floor-*.yaml")))
    text = text.replace("generated-on-first-deploy", value).replace("read-from-the-cluster-on-deploy", value)
    docs = [d for d in yaml.safe_load_all(text) if d]
    # config.json carries a placeholder DSN in render mode (the real one is read from
    # the connection Secret at deploy): put the connection Secret's URL in its place.
    url = next(d["stringData"]["DATABASE_URL"] for d in docs if d["kind"] == "Secret" and "DATABASE_URL" in d.get("stringData", {}))
    text = text.replace("postgres://user:password@database:5432/paperclip", url)
    path.write_text(text)
    docs = [d for d in yaml.safe_load_all(text) if d]
    return path, docs


def floor_waits(namespace, docs):
    """The kubectl commands that wait until the floor's objects are Ready: each
    StatefulSet rolled out, each Job complete."""
    waits = []
    for doc in docs:
        name = f"{doc['kind'].lower()}/{doc['metadata']['name']}"
        if doc["kind"] == "StatefulSet":
            waits.append(["rollout", "status", "-n", namespace, name, "--timeout=600s"])
        elif doc["kind"] == "Job":
            waits.append(["wait", "-n", namespace, name, "--for=condition=complete", "--timeout=600s"])
    return waits


def floor_once(work, index, images, audit):
    namespace = f"bench-floor-{index}"
    path, docs = floor_manifests(work, namespace, images)
    audit.mark()
    cold = kubectl("apply", "--server-side", "--field-manager=bench", "-f", str(path))
    cold_requests = audit.count()
    start = time.monotonic()
    for w in floor_waits(namespace, docs):
        kubectl(*w)
    ready = time.monotonic() - start
    audit.mark()
    noop = kubectl("apply", "--server-side", "--field-manager=bench", "-f", str(path))
    noop_requests = audit.count()
    check = kubectl("apply", "--server-side", "--field-manager=bench", "--dry-run=server", "-f", str(path))
    delete_namespaces([namespace])
    return {"apply_s": cold["wall_s"], "ready_s": ready, "noop_s": noop["wall_s"], "check_s": check["wall_s"],
            "objects": len(docs), "apply_requests": cold_requests, "noop_requests": noop_requests}


def floor_many(work, count, images):
    """The floor of `count` instances at once: every instance's manifests applied in one
    kubectl call, then waited for until all are Ready. Its ratio to one instance's floor
    says how much of the 5-instance goal the cluster itself allows (same pods, same node)."""
    namespaces = [f"bench-floor-many-{n}" for n in range(count)]
    manifests = [floor_manifests(work, namespace, images) for namespace in namespaces]
    start = time.monotonic()
    kubectl("apply", "--server-side", "--field-manager=bench", *[a for path, _docs in manifests for a in ("-f", str(path))])
    for namespace, (_path, docs) in zip(namespaces, manifests):
        for w in floor_waits(namespace, docs):
            kubectl(*w)
    wall = time.monotonic() - start
    delete_namespaces(namespaces)
    return wall


def collection_once(work, index, images, audit):
    namespace = f"bench-one-{index}"
    hosts = {"one": instance_vars(namespace, images)}
    runs = {}
    for label, args in (("cold", ()), ("noop", ()), ("check", ("--check",))):
        audit.mark()
        result = playbook("deploy.yml", hosts, work, args)
        result["requests"] = audit.count()
        result["changed"] = result["recap"]["one"]["changed"]
        runs[label] = result
    if runs["noop"]["changed"] != 0 or runs["check"]["changed"] != 0:
        raise SystemExit(f"bench: the re-run of {namespace} was not idempotent: {runs['noop']['recap']}, {runs['check']['recap']}")
    playbook("playbooks/teardown.yml", {"one": {**hosts["one"], "paperclip_teardown_purge": True}}, work)
    delete_namespaces([namespace])
    return runs


def many(work, count, images, audit):
    """count instances in one run: cold, then no-op REPEAT times. A cold run that fails is
    reported, not fatal to the bench: on 2 cores, ten Paperclip starts at once can outlast
    an instance's startup allowance (the kubelet restarts it) and then its wait."""
    hosts = {f"i{n}": instance_vars(f"bench-many-{count}-{n}", images) for n in range(count)}
    audit.mark()
    cold = playbook("deploy.yml", hosts, work, check=False)
    cold["requests"] = audit.count()
    noops = []
    if cold["rc"] != 0:
        cold["error"] = next((line.strip() for line in cold["out"].splitlines() if line.startswith("[ERROR]")), f"rc {cold['rc']}")
        print(f"bench: the cold run of {count} instances failed: {cold['error']}", file=sys.stderr)
    for i in range(REPEAT if "error" not in cold else 0):
        result = playbook("deploy.yml", hosts, work)
        if any(r["changed"] for r in result["recap"].values()):
            raise SystemExit(f"bench: the re-run of {count} instances was not idempotent: {result['recap']}")
        noops.append(result)
    playbook("playbooks/teardown.yml", {h: {**v, "paperclip_teardown_purge": True} for h, v in hosts.items()}, work)
    delete_namespaces([v["paperclip_namespace"] for v in hosts.values()])
    return {"cold": cold, "noops": noops}


def parse_1mib():
    """paperclip_invite's parser on a 1 MiB log: milliseconds per parse."""
    captured = (ROOT / "tests" / "fixtures" / "paperclip" / "bootstrap-created.txt").read_text()
    noise = "2026-11-27T08:00:00.000000000Z stdout F some unrelated line of server output\n"
    text = noise * ((1 << 20) // len(noise)) + captured
    runs, start, parsed = 0, time.monotonic(), {}
    while time.monotonic() - start < 2 and runs < 1000:
        parsed = parse_bootstrap_output(text)
        runs += 1
    if not parsed.get("invite_url"):
        raise SystemExit(f"bench: the parser found no invite URL: {parsed}")
    return 1000 * (time.monotonic() - start) / runs


# -- report ------------------------------------------------------------------------------

def cold_wall(many_result):
    """The cold run's wall time, inf when it failed (a ratio of it then fails its goal)."""
    return float("inf") if "error" in many_result["cold"] else many_result["cold"]["wall_s"]


def noop_wall(many_result):
    return statistics.median(r["wall_s"] for r in many_result["noops"]) if many_result["noops"] else float("inf")


def cold_text(many_result):
    cold = many_result["cold"]
    return f"{cold['wall_s']:.1f} s" + (f", FAILED: {cold['error']}" if "error" in cold else "")


def stats(values):
    values = [v for v in values if v is not None]
    return {"median": statistics.median(values), "min": min(values), "max": max(values)} if values else None


def fmt(s, unit="s"):
    return f"{s['median']:.1f} {unit} ({s['min']:.1f}–{s['max']:.1f})" if s else "n/a"


def main():
    if not KUBECONFIG:
        raise SystemExit("bench: KUBECONFIG is not set; run through `make bench` (tests/cluster/with-cluster.sh)")
    images = local_images(KUBECONFIG)
    audit = Audit()
    if not audit.available:
        print("bench: WARNING: no audit log at", AUDIT_LOG, "- the cluster was started without KCP_AUDIT=1;"
              " API requests are NOT counted (run `make cluster-down` first, then `make bench`)", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="pk-bench-"))
    (work / "trivial.yml").write_text("- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: {msg: hi}\n")

    print("bench: render, each round next to its floors (as many debug tasks; deploy.yml listed)", file=sys.stderr)
    render_one, render_floor_one, render_start_one = [], [], []
    for i in range(REPEAT):
        render_one.append(render(work, {"r": instance_vars("bench-render", images)})[0])
        render_floor_one.append(debug_floor(work, render_one[-1], 1))
        render_start_one.append(start_floor(work, {"r": instance_vars("bench-render", images)}))
    render_ten = render(work, {f"r{n}": instance_vars(f"bench-render-{n}", images) for n in range(10)})[0]
    render_floor_ten = debug_floor(work, render_ten, 10)

    parse_ms = parse_1mib()
    # Each measure next to its floor, round after round: this machine's speed drifts over
    # the half hour a bench takes, and a block of floors followed by a block of deploys
    # put the drift into the ratios.
    trivial, floors, ones = [], [], []
    for i in range(REPEAT):
        print(f"bench: round {i + 1} of {REPEAT}: trivial playbook, floor (kubectl), deploy.yml of one instance", file=sys.stderr)
        trivial.append(playbook(str(work / "trivial.yml"), {"t": {}}, work)["wall_s"])
        floors.append(floor_once(work, i, images, audit))
        ones.append(collection_once(work, i, images, audit))
    print("bench: the floor of 5 instances, then 5 and 10 instances", file=sys.stderr)
    floor_five = floor_many(work, 5, images)
    multi = {n: many(work, n, images, audit) for n in (5, 10)}

    t = statistics.median(trivial)
    floor = {k: stats([f[k] for f in floors]) for k in ("apply_s", "ready_s", "noop_s", "check_s")}
    one = {k: stats([o[k]["wall_s"] for o in ones]) for k in ("cold", "noop", "check")}
    rss = stats([max(o[k]["peak_rss_mib"] for k in o) for o in ones])
    floor_noop = floor["noop_s"]["median"] + t
    floor_check = floor["check_s"]["median"] + t
    floor_cold = floor["apply_s"]["median"] + t
    floor_one_ready = statistics.median(f["apply_s"] + f["ready_s"] for f in floors)
    ratios = {
        "noop_vs_floor": one["noop"]["median"] / floor_noop,
        "check_vs_floor": one["check"]["median"] / floor_check,
        # The cold goal: within 2x the floor plus the time the cluster needs to make it Ready.
        "cold_vs_floor": (one["cold"]["median"] - floor["ready_s"]["median"]) / floor_cold,
        "five_vs_one": cold_wall(multi[5]) / one["cold"]["median"],
        # The same ratio for kubectl: what the cluster itself needs for 5 instances against one.
        "floor_five_vs_one": floor_five / floor_one_ready,
        "five_vs_floor_five": cold_wall(multi[5]) / floor_five,
        "five_vs_one_noop": noop_wall(multi[5]) / one["noop"]["median"],
        "ten_vs_one": cold_wall(multi[10]) / one["cold"]["median"],
        "ten_vs_one_noop": noop_wall(multi[10]) / one["noop"]["median"],
        "render_cpu_s_per_host": statistics.median(r["cpu_s"] for r in render_one),
        "render_vs_debug_floor": statistics.median(r["cpu_s"] / f["cpu_s"] for r, f in zip(render_one, render_floor_one)),
    }
    requests = {
        "floor_apply": stats([f["apply_requests"]["kubectl"] for f in floors if f["apply_requests"]]),
        "floor_noop": stats([f["noop_requests"]["kubectl"] for f in floors if f["noop_requests"]]),
        **{f"deploy_{k}": stats([o[k]["requests"]["ansible"] for o in ones if o[k]["requests"]]) for k in ("cold", "noop", "check")},
    }
    rows = [
        ("trivial ansible-playbook", fmt(stats(trivial)), ""),
        ("floor: kubectl apply --server-side (cold)", fmt(floor["apply_s"]), ""),
        ("floor: rollout/wait until Ready", fmt(floor["ready_s"]), ""),
        ("floor: kubectl apply --server-side (no-op)", fmt(floor["noop_s"]), ""),
        ("floor: kubectl apply --dry-run=server", fmt(floor["check_s"]), ""),
        ("deploy.yml cold, 1 instance", fmt(one["cold"]),
         f"{ratios['cold_vs_floor']:.2f}x floor beyond Ready (goal <= {GOALS['cold_vs_floor']})"),
        ("deploy.yml no-op (changed=0)", fmt(one["noop"]), f"{ratios['noop_vs_floor']:.2f}x floor (goal <= {GOALS['noop_vs_floor']})"),
        ("deploy.yml --check", fmt(one["check"]), f"{ratios['check_vs_floor']:.2f}x floor (goal <= {GOALS['check_vs_floor']})"),
        ("5 instances cold (forks 5)", cold_text(multi[5]),
         f"{ratios['five_vs_one']:.2f}x one (goal <= {GOALS['five_vs_one']})"),
        ("floor: 5 instances applied at once, until all Ready", f"{floor_five:.1f} s",
         f"{ratios['floor_five_vs_one']:.2f}x one instance's floor (apply + Ready)"),
        ("5 instances cold against that floor", cold_text(multi[5]),
         f"{ratios['five_vs_floor_five']:.2f}x the 5-instance floor"),
        ("5 instances no-op", fmt(stats([r["wall_s"] for r in multi[5]["noops"]])), f"{ratios['five_vs_one_noop']:.2f}x one"),
        ("10 instances cold (forks 10)", cold_text(multi[10]), f"{ratios['ten_vs_one']:.2f}x one"),
        ("10 instances no-op", fmt(stats([r["wall_s"] for r in multi[10]["noops"]])), f"{ratios['ten_vs_one_noop']:.2f}x one"),
        ("render CPU per host (1 host)", fmt(stats([r["cpu_s"] for r in render_one])),
         f"goal <= {GOALS['render_cpu_s_per_host']} s"),
        (f"floor: {render_floor_one[0]['tasks']} debug tasks, CPU (1 host)", fmt(stats([r["cpu_s"] for r in render_floor_one])),
         "what Ansible costs for as many task runs as the render"),
        ("render CPU against that floor (1 host)", f"{ratios['render_vs_debug_floor']:.2f}x", ""),
        ("floor: ansible-playbook --list-tasks deploy.yml, CPU (1 host)", fmt(stats([r["cpu_s"] for r in render_start_one])),
         "start and parsing, before any task runs"),
        ("render CPU per host (10 hosts)", f"{render_ten['cpu_s'] / 10:.2f} s",
         f"{render_ten['cpu_s'] / render_floor_ten['cpu_s']:.2f}x its floor"),
        (f"floor: {render_floor_ten['tasks']} debug tasks, CPU per host (10 hosts)",
         f"{render_floor_ten['cpu_s'] / 10:.2f} s", ""),
        ("peak RSS, ansible-playbook tree (1 instance)", fmt(rss, "MiB"), ""),
        ("paperclip_invite's parser, 1 MiB log", f"{parse_ms:.0f} ms", f"goal <= {PARSE_GOAL_MS} ms"),
        ("peak RSS, ansible-playbook tree (10 instances)", f"{multi[10]['cold']['peak_rss_mib']:.0f} MiB", ""),
    ]
    for key, label in (("floor_apply", "API requests: kubectl apply (cold)"), ("floor_noop", "API requests: kubectl apply (no-op)"),
                       ("deploy_cold", "API requests: deploy.yml cold"), ("deploy_noop", "API requests: deploy.yml no-op"),
                       ("deploy_check", "API requests: deploy.yml --check")):
        rows.append((label, fmt(requests[key], "") if requests[key] else "not counted (no audit log)", ""))
    met = {k: ratios[k] <= GOALS[k] for k in GOALS}
    met["parse_1mib_ms"] = parse_ms <= PARSE_GOAL_MS

    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<24} {note}")
    print("goals:", ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in met.items()))

    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2 ** 30)} GiB"
    versions = subprocess.run([str(VENV_BIN / "ansible"), "--version"], capture_output=True, text=True,
                              check=True).stdout.splitlines()[0]
    kube = kubectl("version", "-o", "json")["out"]
    server = json.loads(kube).get("serverVersion", {}).get("gitVersion", "?")
    lines = ["# Benchmark results (`make bench`)", "",
             f"Written by benchmarks/run.py on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Machine: {machine}; "
             f"{versions}; Kubernetes {server} (the local cluster of tests/cluster, pods on its real node, "
             "stand-in images, bootstrap off). Each figure: median (min–max) of "
             f"{REPEAT} runs unless one value is given.", "",
             "| Measure | Value | Against the floor |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {note} |" for name, value, note in rows]
    lines += ["", "Goals: " + ", ".join(f"{k} {'met' if v else '**not met**'}" for k, v in met.items()) + ".", ""]
    (ROOT / "benchmarks" / "results.md").write_text("\n".join(lines))
    art = ROOT / "artifacts" / "bench"
    art.mkdir(parents=True, exist_ok=True)

    def strip(r):
        return {k: v for k, v in r.items() if k != "out"}

    (art / "results.json").write_text(json.dumps({
        "trivial": trivial, "floors": floors, "ones": [{k: strip(v) for k, v in o.items()} for o in ones],
        "multi": {n: {"cold": strip(m["cold"]), "noops": [strip(r) for r in m["noops"]]} for n, m in multi.items()},
        "render_one": [strip(r) for r in render_one], "render_ten": strip(render_ten), "floor_five_s": floor_five,
        "render_floor_one": [strip(r) for r in render_floor_one],
        "render_start_one": [strip(r) for r in render_start_one], "render_floor_ten": strip(render_floor_ten),
        "ratios": ratios, "requests": requests, "parse_1mib_ms": parse_ms, "goals_met": met}, indent=2, default=str))
    print(f"bench: wrote benchmarks/results.md and {art / 'results.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
