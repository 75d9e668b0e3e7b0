"""Run the collection's playbooks offline, one host per variable set, and collect
per-host outcomes. Shared by the render and bad-input tests."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def ansible_env(**extra):
    """The environment every test runs Ansible with: this repo's venv first on PATH,
    the collections tree made by `make setup`, the repo's ansible.cfg, no colour."""
    env = dict(os.environ)
    env.update({
        "PATH": f"{VENV_BIN}:{env.get('PATH', '')}",
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".build" / "collections"),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
    })
    env.update(extra)
    return env


def run_playbook(playbook, hosts, workdir, extra_env=None, timeout=900, args=(), on_line=None):
    """Run `playbook` with an inventory of `hosts` (name -> vars).

    Returns (returncode, output, failures) where failures maps a host to the
    `msg` of its failed task. No cluster is contacted: the hosts either render
    (paperclip_render_dir) or fail validation before any API call, and the
    kubeconfig points at a closed loopback port so a stray call fails loudly
    (pass KUBECONFIG in extra_env to use a real cluster). on_line, when given, is called
    with each line of output as it comes (the fault tests act on a task's start).
    """
    workdir = Path(workdir)
    inventory = {"all": {"hosts": {}}}
    for name, hostvars in hosts.items():
        inventory["all"]["hosts"][name] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            **hostvars,
        }
    inv = workdir / "inventory.yml"
    inv.write_text(yaml.safe_dump(inventory))
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "closed",
        "clusters": [{"name": "closed", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "unused"}}],
        "contexts": [{"name": "closed", "context": {"cluster": "closed", "user": "u"}}],
    }))
    # extra_env comes last: it may replace the closed-port KUBECONFIG with a real cluster's.
    env = ansible_env(**{
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_CALLBACK_FORMAT_PRETTY": "false",
        "ANSIBLE_FORKS": "10",
        "KUBECONFIG": str(kubeconfig),
        **(extra_env or {}),
    })
    command = [str(VENV_BIN / "ansible-playbook"), "-i", str(inv), *args, str(ROOT / playbook)]
    if on_line is None:
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        returncode, out = proc.returncode, proc.stdout + proc.stderr
    else:
        returncode, out = _streamed(command, env, timeout, on_line)
    failures = {}
    # "fatal: [host]: FAILED! => {...}", or per loop item "failed: [host] (item=...) => {...}".
    for m in re.finditer(r"^(?:fatal: \[([^\]]+)\]: FAILED!|failed: \[([^\]]+)\] \(item=.*?\)) => (\{.*\})$", out, re.M):
        host = m.group(1) or m.group(2)
        try:
            msg = json.loads(m.group(3)).get("msg", "")
        except ValueError:
            msg = m.group(3)
        failures[host] = (failures.get(host, "") + "\n" + msg).strip()
    return returncode, out, failures


def _streamed(command, env, timeout, on_line):
    """Run command, calling on_line(line) for each line of its output; (returncode, output)."""
    import threading

    lines = []
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True) as proc:
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            for line in proc.stdout:
                lines.append(line)
                on_line(line)
        finally:
            timer.cancel()
        returncode = proc.wait()
    return returncode, "".join(lines)


def recap(output):
    """Per-host PLAY RECAP counters, e.g. {"demo": {"ok": 12, "changed": 0, ...}} (last play wins)."""
    result = {}
    for m in re.finditer(r"^(\S+)\s+: ((?:\w+=\d+\s*)+)$", output, re.M):
        result[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return result
