"""Browser fixtures for the e2e tests: Debian's chromium driven by Playwright (PyPI).

`chromium_path` (session) runs tests/e2e/install.sh (installs Debian `chromium`
if missing; we never run `playwright install`); if that fails the tests FAIL.
`browser` (module) launches it headless; closed in the finalizer, also on failure.
`page` (function): a fresh context that fails the test if the UI reached any non-loopback host.
`artifacts_dir` is <repo>/artifacts/e2e (git-ignored): screenshots, memory numbers.
The Paperclip server fixtures come from tests/conftest.py.
"""

import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 30_000
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    script = ROOT / "tests" / "e2e" / "install.sh"
    try:
        proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{script} timed out", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(f"{script} failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}", pytrace=False)
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)["CHROMIUM"]


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    d = ROOT / "artifacts" / "e2e"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture
def page(browser):
    """A fresh browser context; records every request so we can assert it stayed on loopback."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    pg = ctx.new_page()
    pg.requests_seen = []
    pg.on("request", lambda r: pg.requests_seen.append(r.url))
    try:
        yield pg
    finally:
        ctx.close()
    foreign = [u for u in pg.requests_seen
               if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).hostname != "127.0.0.1"]
    assert not foreign, f"the UI tried to reach non-loopback hosts: {foreign}"
