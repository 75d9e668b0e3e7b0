"""Test harness: a REAL Paperclip server (npm) on a REAL PostgreSQL (Debian), on loopback.

Everything binds to 127.0.0.1; every process started here is stopped by PID
(context managers, and the pytest fixtures in tests/conftest.py use them).

API (keep it stable; tests/integration and tests/e2e depend on it)
------------------------------------------------------------------

``install() -> Install``
    Runs ``tests/paperclip/install.sh`` (idempotent; cold ~2.5 min, warm <1 s)
    and returns the paths: ``.version``, ``.node``, ``.app_dir``, ``.cli``,
    ``.server``, ``.pg_bindir``. Raises ``HarnessError`` with the script's
    stderr tail if it fails.

``Postgres(pg_bindir, port=None)`` context manager
    ``initdb`` of a fresh cluster in a temp dir (as the ``postgres`` OS user
    when we are root), listening only on 127.0.0.1:<free port>, with role and
    database ``paperclip`` (password ``paperclip``).
    ``.dsn``, ``.port``, ``.start()``, ``.stop()`` (restartable: stop it to test
    "database unreachable"), ``.close()`` (stop + delete the temp dir),
    ``.psql(sql, database="postgres") -> str`` (superuser, unix socket).

``PaperclipServer(install, dsn, port=None, wait=True, timeout=180, env=None, node_args=())`` context manager
    Writes ``config.json`` (authenticated + public, explicit public URL
    ``http://127.0.0.1:<port>``, external PostgreSQL, backups and telemetry
    off) under a temp PAPERCLIP_HOME, starts
    ``node @paperclipai/server/dist/index.js`` with PAPERCLIP_BIND=loopback,
    NODE_ENV=production, PAPERCLIP_AUTH_RATE_LIMIT_ENABLED=false, HOME
    redirected; ``env`` entries override. ``node_args`` go before the script
    (e.g. ``("--import", <tsx loader>)`` like the container image). With
    ``wait=True`` ``__enter__`` waits for ``status == "ok"``.
    ``.url``, ``.port``, ``.pid``, ``.config_path``, ``.home``, ``.env``,
    ``.start()``, ``.stop()`` (SIGTERM, SIGKILL after ``stop_timeout`` = 15 s;
    normally exits in <1 s, ~10-12 s after a database outage),
    ``.close()`` (stop + delete the temp dir),
    ``.health() -> (status_code, parsed_json_or_None)`` (raises
    ``requests.ConnectionError`` when nothing listens),
    ``.health_raw() -> (status_code, body_text)``,
    ``.wait_ok(timeout) -> body`` (waits for HTTP 200 and ``"status":"ok"``;
    a 200 ``"starting"`` is not ok; fails early if the process died),
    ``.wait_health(predicate, timeout)``,
    ``.bootstrap_ceo(expires_hours=72, extra=(), config_path=None, base_url=None,
    env=None) -> subprocess.CompletedProcess`` (the REAL
    ``paperclipai auth bootstrap-ceo --config .. --base-url ..``; text output;
    note the CLI exits 0 even on errors: read stdout),
    ``.rss_bytes()`` (VmRSS), ``.memory() -> {"VmRSS": bytes, "VmHWM": bytes}``,
    ``.log_text()`` / ``.log_path`` (server stdout+stderr, JSON lines),
    ``.cli(*args, env=None) -> CompletedProcess`` (any real ``paperclipai`` command,
    with the server's environment).

``free_port() -> int``: a free TCP port on 127.0.0.1.

``parse_bootstrap_output(text) -> dict``
    ``{"invite_url", "token", "expires_at", "claimed", "error"}`` from the CLI
    output (a test-side parser, not the module's).

First-user flow over HTTP (board mutations need an ``Origin`` header equal to
the public URL; the sessions made here always send it):
    ``sign_up(base_url, email, password, name) -> requests.Session`` (with cookie)
    ``sign_in(base_url, email, password) -> requests.Session``
    ``accept_invite(session, token) -> dict`` (expects 202)
    ``create_company(session, name, description=None) -> dict`` (expects 201)
    ``list_companies(session) -> list``
    ``invite_summary(base_url, token) -> (status_code, body)``
Unexpected HTTP codes raise ``HarnessError`` with code and body.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
INSTALL_SH = REPO / "tests" / "paperclip" / "install.sh"
LOOPBACK = "127.0.0.1"
INVITE_RE = re.compile(r"Invite URL:\s*(\S+/invite/(pcp_bootstrap_[0-9a-f]+))")
EXPIRES_RE = re.compile(r"Expires:\s*(\S+)")
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class HarnessError(RuntimeError):
    pass


# ---------------------------------------------------------------- install

@dataclass(frozen=True)
class Install:
    version: str
    node: str
    app_dir: str
    cli: str
    server: str
    pg_bindir: str


def install(timeout: float = 1800) -> Install:
    """Run install.sh (idempotent) and return the paths it prints."""
    try:
        proc = subprocess.run(["bash", str(INSTALL_SH)], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"{INSTALL_SH} timed out after {timeout}s") from exc
    if proc.returncode != 0:
        raise HarnessError(f"{INSTALL_SH} failed (rc={proc.returncode}):\n{proc.stderr[-4000:]}")
    kv = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    try:
        return Install(version=kv["PAPERCLIP_VERSION"], node=kv["PAPERCLIP_NODE"],
                       app_dir=kv["PAPERCLIP_APP_DIR"], cli=kv["PAPERCLIP_CLI"],
                       server=kv["PAPERCLIP_SERVER"], pg_bindir=kv["PG_BINDIR"])
    except KeyError as exc:
        raise HarnessError(f"{INSTALL_SH} did not print {exc}: {proc.stdout!r}") from exc


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the kernel picks it; tiny reuse race is acceptable)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _proc_status(pid: int) -> dict:
    """VmRSS/VmHWM etc. of /proc/<pid>/status, in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _sep, val = line.partition(":")
            if key.startswith("Vm") and val.strip().endswith("kB"):
                out[key] = int(val.split()[0]) * 1024
    return out


# ---------------------------------------------------------------- postgres

class Postgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1:<port> with role/db `paperclip`."""

    user = "paperclip"
    password = "paperclip"
    database = "paperclip"

    def __init__(self, pg_bindir: str, port: int | None = None):
        self.bindir = Path(pg_bindir)
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pk-pg-"))
        self.data = self.dir / "data"
        self.logfile = self.dir / "pg.log"
        # As root, initdb/postgres refuse to run: use the `postgres` OS user
        # (Debian's postgresql package creates it).
        self._as_postgres = os.geteuid() == 0
        self._running = False

    @property
    def dsn(self) -> str:
        return f"postgres://{self.user}:{self.password}@{LOOPBACK}:{self.port}/{self.database}"

    def _run(self, argv, timeout=120):
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--"] + list(argv)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, cwd="/", check=False)
        if proc.returncode != 0:
            raise HarnessError(f"{argv} failed (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n"
                               f"{self._log_tail()}")
        return proc

    def _log_tail(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def init(self):
        self.data.mkdir()
        if self._as_postgres:
            pw = pwd.getpwnam("postgres")
            for p in (self.dir, self.data):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        os.chmod(self.data, 0o700)
        # Superuser `postgres` only reachable on the unix socket in the data dir (trust);
        # TCP needs a password (scram), like a real server.
        self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                   "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                   "--locale=C.UTF-8"])
        self.start()
        self.psql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'")
        self.psql(f"CREATE DATABASE {self.database} OWNER {self.user}")  # not in a transaction

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as superuser over the unix socket; unaligned tuples-only output, stripped."""
        return self._run([str(self.bindir / "psql"), "-v", "ON_ERROR_STOP=1", "-h", str(self.data),
                          "-p", str(self.port), "-U", "postgres", "-d", database, "-Atc", sql]).stdout.strip()

    def start(self):
        opts = f"-p {self.port} -k {self.data} -c listen_addresses={LOOPBACK}"
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile),
                   "-o", opts, "-w", "-t", "60", "start"])
        self._running = True

    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        """Fast shutdown via pg_ctl (it signals the postmaster PID); SIGKILL that PID if it hangs."""
        if not (self.data / "postmaster.pid").exists():
            self._running = False
            return
        pid = self.pid()
        try:
            self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                       "-t", "30", "stop"], timeout=60)
        except (HarnessError, subprocess.TimeoutExpired):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._running = False

    def close(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            self.init()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------- paperclip

class PaperclipServer:
    """The real Paperclip server (authenticated, public exposure) on 127.0.0.1:<port>."""

    # Fixed test secrets: a throwaway instance.
    SECRETS = {
        "PAPERCLIP_SECRETS_MASTER_KEY": "0123456789abcdef" * 4,
        "BETTER_AUTH_SECRET": "test-better-auth-secret-0123456789abcdef",
        "PAPERCLIP_AGENT_JWT_SECRET": "test-agent-jwt-secret-0123456789abcdef",
    }

    def __init__(self, install: Install, dsn: str, port: int | None = None, wait: bool = True,
                 timeout: float = 180, env: dict | None = None, stop_timeout: float = 15,
                 node_args=()):
        self.install = install
        self.dsn = dsn
        self.port = port or free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.wait = wait
        self.timeout = timeout
        self.stop_timeout = stop_timeout
        self.node_args = tuple(node_args)
        self.dir = Path(tempfile.mkdtemp(prefix="pk-paperclip-"))
        self.home = self.dir / "paperclip-home"          # PAPERCLIP_HOME
        self.instance = self.home / "instances" / "default"
        self.config_path = self.instance / "config.json"
        self.log_path = self.dir / "server.log"
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.env = self._make_env(env or {})

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def _make_env(self, extra: dict) -> dict:
        inst = self.instance
        env = {
            "PATH": f"{Path(self.install.node).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.dir / "home-user"),   # nothing lands in ~/.paperclip
            "LANG": "C.UTF-8",
            "NODE_ENV": "production",              # JSON log lines, no pino-pretty
            "PAPERCLIP_HOME": str(self.home),
            "PAPERCLIP_INSTANCE_ID": "default",
            "PAPERCLIP_CONFIG": str(self.config_path),
            "PAPERCLIP_DEPLOYMENT_MODE": "authenticated",
            "PAPERCLIP_DEPLOYMENT_EXPOSURE": "public",
            "PAPERCLIP_PUBLIC_URL": self.url,
            "PAPERCLIP_AUTH_PUBLIC_BASE_URL": self.url,
            "PAPERCLIP_ALLOWED_HOSTNAMES": "127.0.0.1,localhost",
            "PAPERCLIP_BIND": "loopback",          # `lan` would listen on 0.0.0.0
            "HOST": LOOPBACK,
            "PORT": str(self.port),
            "SERVE_UI": "true",
            "DATABASE_URL": self.dsn,
            "PAPERCLIP_STORAGE_PROVIDER": "local_disk",
            "PAPERCLIP_STORAGE_LOCAL_DIR": str(inst / "data" / "storage"),
            "PAPERCLIP_MIGRATION_AUTO_APPLY": "true",
            "PAPERCLIP_MIGRATION_PROMPT": "never",
            "PAPERCLIP_AUTH_RATE_LIMIT_ENABLED": "false",   # 3 sign-ups / 10 s otherwise
            "PAPERCLIP_DB_BACKUP_ENABLED": "false",
            "PAPERCLIP_TELEMETRY_DISABLED": "1",
            "DO_NOT_TRACK": "1",
            "PAPERCLIP_ANNOUNCEMENTS_ENABLED": "false",
            "HEARTBEAT_SCHEDULER_ENABLED": "false",
            **self.SECRETS,
        }
        env.update(extra)
        return env

    def write_config(self):
        inst = self.instance
        for d in (inst / "data" / "storage", inst / "data" / "backups", inst / "logs",
                  inst / "secrets", Path(self.env["HOME"])):
            d.mkdir(parents=True, exist_ok=True)
        config = {
            "$meta": {"version": 1, "updatedAt": "2026-01-01T00:00:00.000Z", "source": "onboard"},
            "database": {"mode": "postgres", "connectionString": self.dsn,
                         "backup": {"enabled": False, "intervalMinutes": 60, "retentionDays": 7,
                                    "dir": str(inst / "data" / "backups")}},
            "logging": {"mode": "file", "logDir": str(inst / "logs")},
            "server": {"deploymentMode": "authenticated", "exposure": "public", "bind": "loopback",
                       "host": LOOPBACK, "port": self.port,
                       "allowedHostnames": ["127.0.0.1", "localhost"], "serveUi": True},
            "auth": {"baseUrlMode": "explicit", "publicBaseUrl": self.url, "disableSignUp": False},
            "storage": {"provider": "local_disk",
                        "localDisk": {"baseDir": str(inst / "data" / "storage")}},
            "secrets": {"provider": "local_encrypted", "strictMode": False,
                        "localEncrypted": {"keyFilePath": str(inst / "secrets" / "master.key")}},
            "telemetry": {"enabled": False},
        }
        self.config_path.write_text(json.dumps(config, indent=2) + "\n")

    def start(self):
        if self.proc and self.proc.poll() is None:
            raise HarnessError(f"server already running (pid {self.proc.pid})")
        if not self.config_path.exists():
            self.write_config()
        self._log = open(self.log_path, "ab")
        # Own session: stop() can also reap anything the server spawned (by its pgid = pid).
        self.proc = subprocess.Popen([self.install.node, *self.node_args, self.install.server], cwd=self.install.app_dir,
                                     env=self.env, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self):
        """SIGTERM the server by PID; SIGKILL after stop_timeout. Idempotent."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
            # Leftover children in its process group (pgid == its pid), if any.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._log:
            self._log.close()
            self._log = None

    def close(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            self.write_config()
            self.start()
            if self.wait:
                self.wait_ok(self.timeout)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    # -- observing

    def log_text(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def health_raw(self, timeout: float = 5) -> tuple[int, str]:
        r = requests.get(f"{self.url}/api/health", timeout=timeout)
        return r.status_code, r.text

    def health(self, timeout: float = 5) -> tuple[int, dict | None]:
        code, text = self.health_raw(timeout)
        try:
            return code, json.loads(text)
        except ValueError:
            return code, None

    def wait_health(self, predicate, timeout: float = 120, interval: float = 0.2):
        """Poll /api/health until predicate(code, body) is true; return (code, body)."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                rc = self.proc.returncode if self.proc else None
                raise HarnessError(f"paperclip server exited (rc={rc}) while waiting:\n{self.log_text()}")
            try:
                code, body = self.health()
                last = f"HTTP {code} {body}"
                if predicate(code, body):
                    return code, body
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(interval)
        raise HarnessError(f"health not as expected after {timeout}s; last: {last}\n{self.log_text()}")

    def wait_ok(self, timeout: float = 180) -> dict:
        """Wait for HTTP 200 with status "ok" (200 "starting" is not ok)."""
        return self.wait_health(lambda c, b: c == 200 and isinstance(b, dict) and b.get("status") == "ok",
                                timeout)[1]

    def memory(self) -> dict:
        if self.proc is None:
            raise HarnessError("server not running")
        st = _proc_status(self.proc.pid)
        return {"VmRSS": st["VmRSS"], "VmHWM": st["VmHWM"]}

    def rss_bytes(self) -> int:
        return self.memory()["VmRSS"]

    # -- the real CLI

    def cli(self, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run the real `paperclipai` CLI with the server's environment."""
        return subprocess.run([self.install.node, self.install.cli, *args], cwd=self.install.app_dir,
                              env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, check=False)

    def bootstrap_ceo(self, expires_hours: int = 72, extra=(), config_path: str | None = None,
                      base_url: str | None = None, env: dict | None = None,
                      timeout: float = 120) -> subprocess.CompletedProcess:
        """`paperclipai auth bootstrap-ceo --config .. --base-url .. --expires-hours N`."""
        return self.cli("auth", "bootstrap-ceo", "--config", str(config_path or self.config_path),
                        "--base-url", base_url or self.url, "--expires-hours", str(expires_hours),
                        *extra, env=env, timeout=timeout)


def parse_bootstrap_output(text: str) -> dict:
    """Test-side reading of `auth bootstrap-ceo` output (it exits 0 even on errors)."""
    text = ANSI_RE.sub("", text)
    m = INVITE_RE.search(text)
    e = EXPIRES_RE.search(text)
    err = None
    for marker in ("No config found", "Could not create bootstrap invite"):
        if marker in text:
            err = next(line for line in text.splitlines() if marker in line).strip("│■ ").strip()
    return {
        "invite_url": m.group(1) if m else None,
        "token": m.group(2) if m else None,
        "expires_at": e.group(1) if e else None,
        "claimed": "Instance already has an admin user" in text,
        "error": err,
    }


# ---------------------------------------------------------------- HTTP first-user flow

def _check(resp: requests.Response, *expected: int) -> requests.Response:
    if resp.status_code not in expected:
        raise HarnessError(f"{resp.request.method} {resp.url}: HTTP {resp.status_code} "
                           f"(expected {expected}): {resp.text[:1000]}")
    return resp


def _session(base_url: str) -> requests.Session:
    s = requests.Session()
    # Board mutations with a cookie need a trusted Origin (else 403).
    s.headers.update({"Origin": base_url, "Content-Type": "application/json"})
    s.base_url = base_url  # type: ignore[attr-defined]
    return s


def sign_up(base_url: str, email: str, password: str, name: str) -> requests.Session:
    s = _session(base_url)
    _check(s.post(f"{base_url}/api/auth/sign-up/email", timeout=30,
                  json={"email": email, "password": password, "name": name}), 200)
    return s


def sign_in(base_url: str, email: str, password: str) -> requests.Session:
    s = _session(base_url)
    _check(s.post(f"{base_url}/api/auth/sign-in/email", timeout=30,
                  json={"email": email, "password": password}), 200)
    return s


def accept_invite(session: requests.Session, token: str) -> dict:
    return _check(session.post(f"{session.base_url}/api/invites/{token}/accept", timeout=30,
                               json={"requestType": "human"}), 202).json()


def create_company(session: requests.Session, name: str, description: str | None = None) -> dict:
    body = {"name": name} if description is None else {"name": name, "description": description}
    return _check(session.post(f"{session.base_url}/api/companies", json=body, timeout=30), 201).json()


def list_companies(session: requests.Session) -> list:
    return _check(session.get(f"{session.base_url}/api/companies", timeout=30), 200).json()


def invite_summary(base_url: str, token: str) -> tuple[int, dict | None]:
    r = requests.get(f"{base_url}/api/invites/{token}", timeout=30)
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, None


def create_agent(session: requests.Session, company_id: str, name: str) -> dict:
    """An agent with the `process` adapter (no provider key needed; it is never run here)."""
    body = {"name": name, "role": "general", "adapterType": "process",
            "adapterConfig": {"command": "true"}}
    return _check(session.post(f"{session.base_url}/api/companies/{company_id}/agents", json=body, timeout=30),
                  200, 201).json()


def list_agents(session: requests.Session, company_id: str) -> list:
    return _check(session.get(f"{session.base_url}/api/companies/{company_id}/agents", timeout=30), 200).json()
