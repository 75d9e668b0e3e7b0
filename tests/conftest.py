"""Root pytest configuration for every test suite in this repository.

sys.path: `<repo>/.build/collections` (made by `make setup`) so that
`import ansible_collections.paperclip.kubernetes...` works, and the repo root
so that `import tests.support...` works.

Fixtures for the real Paperclip server (see tests/support/paperclip.py):
- `paperclip_install` (session): runs tests/paperclip/install.sh (idempotent,
  cold ~1-2 min). If it fails, every test using it FAILS with the reason.
- `postgres` (module): a fresh PostgreSQL cluster on 127.0.0.1 per test module.
- `paperclip_server` (module): a Paperclip server on that database, already
  healthy (`status == "ok"`), fresh database (so `bootstrap_pending`) per test
  module. Tests in one module share it, in file order: write them as one story.
  Need a pristine instance in the middle of a module? Use the context managers
  directly (`Postgres(...)`, `PaperclipServer(...)`).
Everything is stopped by PID in the fixture finalizers, also when a test fails.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / ".build" / "collections"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import pytest  # noqa: E402

from tests.support import paperclip as pc  # noqa: E402

# kubeconfig, api_client and namespace: the local control plane (tests/support/cluster.py).
pytest_plugins = ["tests.support.cluster"]


@pytest.fixture(scope="session")
def paperclip_install() -> pc.Install:
    try:
        return pc.install()
    except pc.HarnessError as exc:
        pytest.fail(f"cannot install the real Paperclip server: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def postgres(paperclip_install):
    with pc.Postgres(paperclip_install.pg_bindir) as pg:
        yield pg


@pytest.fixture(scope="module")
def paperclip_server(paperclip_install, postgres):
    with pc.PaperclipServer(paperclip_install, postgres.dsn) as server:
        yield server


def pytest_configure(config):
    config.addinivalue_line("markers", "serial: runs alone, after the other e2e files (hack/e2e.sh)")


def pytest_runtest_logreport(report):
    """A failure is printed when it happens, not only in the summary at the end: a run cut
    short (CI's time budget) still shows what failed and why. Under pytest-xdist this runs
    in the controller, which prints the workers' reports."""
    if not report.failed or os.environ.get("PYTEST_XDIST_WORKER"):  # a worker's: the controller prints it
        return
    text = str(report.longrepr or "")
    tail = "\n".join(text.splitlines()[-25:])
    sys.stderr.write(f"\n--- FAILED {report.nodeid} ({report.when}, {report.duration:.0f} s):\n{tail}\n---\n")
    sys.stderr.flush()
