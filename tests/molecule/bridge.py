"""The molecule "bridge": a real Paperclip server on a real PostgreSQL, on loopback,
standing in for the pods that never run on the local KWOK control plane.

    bridge.py start --state FILE --namespace NS --public-url URL [--kubeconfig K]
    bridge.py stop  --state FILE [--kubeconfig K]

start: launches a detached `serve` process that owns PostgreSQL and the server
(tests/support/paperclip.py), runs the real `auth bootstrap-ceo --base-url URL`
against it and serves that output as the logs of container `bootstrap-ceo` of
every pod in NS (kwok_logs.serve_logs), so the bootstrap Job of deploy.yml
"prints" what the real CLI printed. When everything is up it writes FILE (JSON:
pids, server URL, invite URL) and returns; the deploy's health checks then go to
that URL (bootstrap_health_url), never to a pod or Service address.

stop: TERMs the serve process by PID (it stops the server and PostgreSQL by PID
and removes their temp dirs), KILLs what is left after a timeout, deletes the
ClusterLogs objects of NS and the state file. Safe to run when nothing runs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "cluster"))

from kwok_logs import serve_logs, stop_serving_logs  # noqa: E402
from tests.support import paperclip as pc  # noqa: E402

START_TIMEOUT = 300  # cold npm install is done by install() before; server start ~10-60 s
STOP_TIMEOUT = 60


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) is not alive for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _kubeconfig(arg: str | None) -> str:
    path = arg or os.environ.get("KUBECONFIG") or str(REPO / ".cluster" / "kubeconfig")
    if not Path(path).is_file():
        raise SystemExit(f"bridge: kubeconfig {path} does not exist (is the local cluster up?)")
    return path


# ------------------------------------------------------------------ serve (the daemon)

class _Stop(Exception):
    """Raised by the SIGTERM/SIGINT handler: unwinds the context managers, which stop
    the server and PostgreSQL by PID and remove their temp dirs."""


def _on_signal(_signum, _frame):
    raise _Stop


def serve(args) -> int:
    state = Path(args.state)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    info = {"status": "starting", "pid": os.getpid(), "namespace": args.namespace,
            "public_url": args.public_url, "kubeconfig": args.kubeconfig}
    try:
        install = pc.install()
        with pc.Postgres(install.pg_bindir) as pg:
            # Record every PID as soon as it exists, so `stop` can clean up after a crash.
            info.update(pg_pid=pg.pid(), pg_dir=str(pg.dir))
            _write_json(state, info)
            with pc.PaperclipServer(install, pg.dsn, wait=False) as server:
                info.update(url=server.url, server_pid=server.pid, server_dir=str(server.dir),
                            paperclip_version=install.version)
                _write_json(state, info)
                server.wait_ok(180)
                # The real CLI, with the public URL the deployment will have.
                cli = server.bootstrap_ceo(base_url=args.public_url, expires_hours=72)
                parsed = pc.parse_bootstrap_output(cli.stdout)
                if not parsed["invite_url"]:
                    raise pc.HarnessError(f"auth bootstrap-ceo printed no invite:\n{cli.stdout}\n{cli.stderr}")
                serve_logs(args.namespace, "bootstrap-ceo", cli.stdout, args.kubeconfig)
                info.update(status="ready", invite_url=parsed["invite_url"], expires_at=parsed["expires_at"])
                _write_json(state, info)
                print(f"bridge: ready, server {server.url} (pid {server.pid}), postgres pid {pg.pid()}", flush=True)
                while True:
                    time.sleep(1)
    except _Stop:
        print("bridge: stopped", flush=True)
        return 0
    except Exception as exc:  # noqa: BLE001 - report any failure to the waiting parent
        info.update(status="error", error=f"{type(exc).__name__}: {exc}")
        _write_json(state, info)
        print(f"bridge: {info['error']}", flush=True)
        return 1


# ------------------------------------------------------------------ start / stop

def start(args) -> int:
    state = Path(args.state)
    state.parent.mkdir(parents=True, exist_ok=True)
    kubeconfig = _kubeconfig(args.kubeconfig)
    if state.exists():
        print(f"bridge: stopping a previous bridge recorded in {state}", file=sys.stderr)
        stop(args)
    # install.sh can take minutes when cold: do it here, in the foreground, with its output.
    install = pc.install()
    log = state.with_suffix(".log")
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, __file__, "serve", "--state", str(state), "--namespace", args.namespace,
             "--public-url", args.public_url, "--kubeconfig", kubeconfig],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=str(REPO))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        info = _read_json(state)
        if info and info.get("status") == "ready":
            print(json.dumps({"url": info["url"], "pid": info["pid"], "server_pid": info["server_pid"],
                              "pg_pid": info["pg_pid"], "paperclip_version": install.version}))
            return 0
        if (info and info.get("status") == "error") or proc.poll() is not None:
            break
        time.sleep(0.5)
    # Failed or timed out: stop whatever started (by the PIDs recorded so far), show why.
    info = _read_json(state) or {}
    reason = info.get("error") or (f"the serve process exited (rc {proc.returncode})" if proc.poll() is not None
                                   else f"timeout after {START_TIMEOUT}s")
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    if not info:
        _write_json(state, {"pid": proc.pid, "namespace": args.namespace, "kubeconfig": kubeconfig})
    stop(args)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    print(f"bridge: not ready ({reason}); log tail:\n{tail}",
          file=sys.stderr)
    return 1


def _kill(pid: int | None, marker: str, sig: int) -> None:
    # Only signal a PID that still runs what we started (no reused PIDs).
    if pid and _alive(pid) and marker in _cmdline(pid):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop(args) -> int:
    state = Path(args.state)
    info = _read_json(state)
    if info is None:
        print(f"bridge: nothing recorded in {state}; nothing to stop")
        return 0
    pid = info.get("pid")
    _kill(pid, "bridge.py", signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        print(f"bridge: serve process {pid} still alive after {STOP_TIMEOUT}s; killing", file=sys.stderr)
        _kill(pid, "bridge.py", signal.SIGKILL)
        _kill(info.get("server_pid"), "node", signal.SIGKILL)
        _kill(info.get("pg_pid"), "postgres", signal.SIGKILL)
        for d in (info.get("server_dir"), info.get("pg_dir")):
            if d:
                subprocess.run(["rm", "-rf", "--", d], check=False)
    left = [p for p, marker in ((pid, "bridge.py"), (info.get("server_pid"), "node"), (info.get("pg_pid"), "postgres"))
            if _alive(p) and marker in _cmdline(p)]
    namespace = info.get("namespace")
    kubeconfig = args.kubeconfig or info.get("kubeconfig")
    removed = "n/a"
    if namespace and kubeconfig and Path(kubeconfig).is_file():
        try:
            removed = stop_serving_logs(namespace, kubeconfig)
        except Exception as exc:  # noqa: BLE001 - the cluster may already be gone
            removed = f"not removed ({type(exc).__name__})"
    state.unlink(missing_ok=True)
    print(json.dumps({"stopped": [pid, info.get("server_pid"), info.get("pg_pid")],
                      "still_alive": left, "cluster_logs_removed": removed}))
    return 1 if left else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("start", "serve", "stop"):
        p = sub.add_parser(name)
        p.add_argument("--state", required=True)
        p.add_argument("--kubeconfig")
        if name != "stop":
            p.add_argument("--namespace", required=True)
            p.add_argument("--public-url", required=True)
    args = parser.parse_args()
    return {"start": start, "serve": serve, "stop": stop}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
