"""Run one module of this collection the way a user does: in a playbook task.

    res = run_module("paperclip.kubernetes.paperclip_health", {"url": url}, check=False)
    res.rc, res.failed, res.result (the registered result), res.elapsed, res.stdout, res.stderr

The collection comes from `<repo>/.build/collections` (made by `make setup`),
the Python interpreter is the repo's venv (it has the kubernetes client).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.ansible_run import ansible_env

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv"


@dataclass
class ModuleRun:
    rc: int
    result: dict
    elapsed: float
    stdout: str
    stderr: str

    @property
    def failed(self) -> bool:
        return bool(self.result.get("failed"))


def run_module(name: str, args: dict, check: bool = False, timeout: float = 600,
               env: dict | None = None, extra_args: tuple = ()) -> ModuleRun:
    """Run the module in a one-task playbook on localhost and return its registered result."""
    with tempfile.TemporaryDirectory(prefix="pk-run-module-") as tmp:
        out = Path(tmp) / "result.json"
        play = [{
            "hosts": "localhost", "gather_facts": False,
            "tasks": [
                {"name": "module under test", name: args, "register": "r", "ignore_errors": True},
                {"name": "save the result", "ansible.builtin.copy": {
                    "content": "{{ r | to_json }}", "dest": str(out)}, "check_mode": False},
            ],
        }]
        playbook = Path(tmp) / "play.yml"
        playbook.write_text(json.dumps(play))   # JSON is YAML
        cmd = [str(VENV / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=" + str(VENV / "bin" / "python"), str(playbook)]
        if check:
            cmd.append("--check")
        cmd.extend(extra_args)
        run_env = ansible_env(**(env or {}))
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=run_env,
                              stdin=subprocess.DEVNULL, check=False)
        elapsed = time.monotonic() - t0
        if not out.is_file():
            raise AssertionError(f"ansible-playbook did not record a result (rc={proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        result = json.loads(out.read_text())
    return ModuleRun(proc.returncode, result, elapsed, proc.stdout, proc.stderr)
