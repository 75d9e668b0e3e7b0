"""Regenerate tests/fixtures/paperclip/ from a REAL Paperclip server and CLI.

Usage: .venv/bin/python tests/paperclip/capture.py [--out DIR]

Starts a throwaway PostgreSQL and Paperclip server on 127.0.0.1 (harness in
tests/support/paperclip.py), walks the first-admin story and writes:
  bootstrap-*.txt   what a pod log of `auth bootstrap-ceo` shows (stdout, then stderr)
  health-*.json     {"status_code": .., "body": <raw body text>, "json": <parsed or null>}
  captures.json     per capture: argv, rc, stdout, stderr (exact)
  memory.json       VmRSS/VmHWM of the node process at each stage
The README.md in the output dir is rewritten with the version, date and numbers.
Tokens in the output come from a throwaway local instance.
"""

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support import paperclip as pc  # noqa: E402

MiB = 1024 * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "tests" / "fixtures" / "paperclip"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    captures, memory, notes = {}, {}, []

    def health(name, server):
        code, text = server.health_raw()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        (out / f"health-{name}.json").write_text(
            json.dumps({"status_code": code, "body": text, "json": parsed}, indent=2) + "\n")
        print(f"health-{name}: {code} {text}")
        return code, parsed

    def bootstrap(name, server, **kw):
        proc = server.bootstrap_ceo(**kw)
        (out / f"bootstrap-{name}.txt").write_text(proc.stdout + proc.stderr)
        captures[f"bootstrap-{name}"] = {"argv": [Path(a).name if a.startswith("/") else a for a in proc.args],
                                         "rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}
        print(f"bootstrap-{name}: rc={proc.returncode}\n{proc.stdout}{proc.stderr}")
        return proc

    def mem(name, server):
        m = server.memory()
        memory[name] = dict(m) | {k + "_MiB": round(v / MiB) for k, v in m.items()}
        print(f"memory {name}: RSS {m['VmRSS'] / MiB:.0f} MiB, HWM {m['VmHWM'] / MiB:.0f} MiB")

    inst = pc.install()
    with pc.Postgres(inst.pg_bindir) as pg:
        server = pc.PaperclipServer(inst, pg.dsn, wait=False)
        with server:
            # Cold start on an empty database: poll fast to catch "starting".
            t0 = time.monotonic()
            starting = None
            deadline = t0 + 180
            while time.monotonic() < deadline:
                try:
                    code, text = server.health_raw(timeout=2)
                except pc.requests.RequestException:
                    time.sleep(0.05)
                    continue
                if code == 200 and '"starting"' in text and starting is None:
                    starting = (time.monotonic() - t0, code, text)
                    health("starting", server)
                if code == 200 and '"status":"ok"' in text:
                    break
                time.sleep(0.05)
            t_ok = time.monotonic() - t0
            memory["seconds_to_ok_cold"] = round(t_ok, 1)
            if starting is None:
                notes.append("`status: starting` was not observed on this run (polled every 50 ms).")
            else:
                memory["seconds_to_starting_cold"] = round(starting[0], 1)
            mem("cold_start_ok", server)
            time.sleep(5)
            mem("cold_start_ok_plus_5s", server)

            health("ok-bootstrap-pending", server)
            first = bootstrap("created", server)
            health("ok-invite-active", server)
            second = bootstrap("rotated", server)
            old = pc.parse_bootstrap_output(first.stdout)["token"]
            code, body = pc.invite_summary(server.url, old)
            (out / "invite-revoked.json").write_text(json.dumps({"status_code": code, "body": body}, indent=2) + "\n")
            print(f"old invite after rotation: {code} {body}")
            forced_color = bootstrap("created-color", server, env={"FORCE_COLOR": "1"})
            if "\x1b[" not in forced_color.stdout:
                notes.append("FORCE_COLOR=1 did not produce ANSI codes (bootstrap-created-color.txt is plain).")
            token = pc.parse_bootstrap_output(forced_color.stdout)["token"]
            assert second and token

            s = pc.sign_up(server.url, "admin@example.com", "Sup3r-Secret-Pass!", "Test Admin")
            accepted = pc.accept_invite(s, token)
            print(f"accepted: {accepted}")
            health("ready", server)
            pc.create_company(s, "Acme Test Co", "created by capture.py")
            pc.list_companies(s)
            mem("after_first_admin_flow", server)

            bootstrap("claimed", server)
            bootstrap("no-config", server, config_path=str(server.dir / "missing" / "config.json"))
            health("ready-after-claimed", server)

            pg.stop()
            server.wait_health(lambda c, b: c != 200, timeout=60)
            health("db-unreachable", server)
            bootstrap("db-down", server)
            pg.start()
            server.wait_ok(60)
            mem("end", server)

    # The container image runs the server through the tsx loader: measure that too.
    loader = Path(inst.app_dir) / "node_modules/@paperclipai/server/node_modules/tsx/dist/loader.mjs"
    if loader.exists():
        with pc.Postgres(inst.pg_bindir) as pg, \
                pc.PaperclipServer(inst, pg.dsn, node_args=("--import", str(loader))) as server:
            mem("tsx_loader_cold_start_ok", server)
            token = pc.parse_bootstrap_output(server.bootstrap_ceo().stdout)["token"]
            s = pc.sign_up(server.url, "admin@example.com", "Sup3r-Secret-Pass!", "Test Admin")
            pc.accept_invite(s, token)
            pc.create_company(s, "Acme Test Co")
            mem("tsx_loader_after_first_admin_flow", server)
    else:
        notes.append(f"tsx loader not found at {loader}: image-like memory not measured.")

    readme = out / "README.md"
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    (out / "memory.json").write_text(json.dumps(memory, indent=2) + "\n")
    (out / "captures.json").write_text(json.dumps(captures, indent=2) + "\n")
    write_readme(readme, inst, now, memory, notes)
    print(f"wrote {out}")


def write_readme(path, inst, now, memory, notes):
    m = memory
    lines = [
        "# Captured real Paperclip outputs",
        "",
        f"paperclipai **{inst.version}** (server `@paperclipai/server` from npm), Node "
        f"{Path(inst.node).parents[3].name.removeprefix('node-')}, PostgreSQL from `{inst.pg_bindir}`.",
        f"Captured {now} by `tests/paperclip/capture.py` (regenerate: "
        "`.venv/bin/python tests/paperclip/capture.py`). Tokens come from a throwaway local instance.",
        "",
        "Server: authenticated mode, public exposure, explicit public URL `http://127.0.0.1:<port>`, external PostgreSQL.",
        "CLI: `paperclipai auth bootstrap-ceo --config <config.json> --base-url <url> --expires-hours 72`, not a TTY.",
        "**The CLI exits 0 in every case below**, errors included (see `captures.json` for rc/stdout/stderr).",
        "",
        "| file | what |",
        "|---|---|",
        "| `bootstrap-created.txt` | first run, no admin: invite created |",
        "| `bootstrap-rotated.txt` | second run before anyone claimed: new invite, the first one is revoked (`invite-revoked.json`: old token -> 404) |",
        "| `bootstrap-created-color.txt` | same as created, run with `FORCE_COLOR=1` (ANSI codes, if the CLI emits them) |",
        "| `bootstrap-claimed.txt` | an admin exists: creates nothing |",
        "| `bootstrap-no-config.txt` | `--config` points at a missing file |",
        "| `bootstrap-db-down.txt` | PostgreSQL stopped |",
        "| `health-starting.json` | HTTP 200 `status: starting` during startup recovery (if caught) |",
        "| `health-ok-bootstrap-pending.json` | ok, no admin, no invite |",
        "| `health-ok-invite-active.json` | ok, no admin, active bootstrap invite |",
        "| `health-ready.json` | invite accepted: `bootstrapStatus: ready` |",
        "| `health-ready-after-claimed.json` | still ready after `bootstrap-ceo` reported claimed |",
        "| `health-db-unreachable.json` | PostgreSQL stopped: HTTP 503 |",
        "",
        "`health-*.json`: `status_code`, `body` (raw text, exact), `json` (parsed, for convenience).",
        "",
        "## Memory of the server's node process (`/proc/<pid>/status`)",
        "",
        "| stage | VmRSS | VmHWM |",
        "|---|---|---|",
    ]
    for stage in ("cold_start_ok", "cold_start_ok_plus_5s", "after_first_admin_flow", "end",
                  "tsx_loader_cold_start_ok", "tsx_loader_after_first_admin_flow"):
        if stage in m:
            lines.append(f"| {stage} | {m[stage]['VmRSS_MiB']} MiB | {m[stage]['VmHWM_MiB']} MiB |")
    lines += ["", f"Cold start (empty database, all migrations) to `status: ok`: {m.get('seconds_to_ok_cold')} s"
              + (f"; `starting` first seen at {m['seconds_to_starting_cold']} s." if "seconds_to_starting_cold" in m else ".")]
    # The browser e2e (tests/e2e) writes its own number; include it when present.
    e2e = ROOT / "artifacts" / "e2e" / "memory.json"
    if e2e.exists():
        b = json.loads(e2e.read_text())["after_browser_first_admin_flow"]
        lines += ["", f"After the browser first-admin flow (tests/e2e, UI served to Chromium; "
                      f"artifacts/e2e/memory.json): VmRSS {b['VmRSS'] // MiB} MiB, VmHWM {b['VmHWM'] // MiB} MiB."]
    lines += ["", "NODE_ENV=production (JSON logs). Plain `node <server>/dist/index.js`, except the `tsx_loader_*` rows: "
                  "`node --import <server>/node_modules/tsx/dist/loader.mjs ...`, how the container image starts it "
                  "(about 200 MiB more). Agent runs (CLIs the server spawns) are not included."]
    if notes:
        lines += ["", "Notes:"] + [f"- {n}" for n in notes]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
