"""`ansible-galaxy collection build` makes a tarball that installs offline next to
kubernetes.core, and the installed collection's modules and roles are usable."""

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CORE = ROOT / ".build" / "collections" / "ansible_collections" / "kubernetes" / "core"


def _run(*argv, cwd=ROOT, env=None):
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


def test_build_and_offline_install(tmp_path):
    # A clean environment: under make, ANSIBLE_COLLECTIONS_PATH already holds this
    # collection, and galaxy would call the install done without doing it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    _run(str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), ".", env=env)
    tarball = next(tmp_path.glob("paperclip-kubernetes-*.tar.gz"))
    names = tarfile.open(tarball).getnames()
    assert "roles/paperclip/tasks/main.yml" in names and "plugins/modules/paperclip_invite.py" in names
    assert not any(n.startswith((".venv", ".build", ".cluster", "tests/output")) for n in names), names[:20]

    dest = tmp_path / "installed"
    (dest / "ansible_collections" / "kubernetes").mkdir(parents=True)
    shutil.copytree(CORE, dest / "ansible_collections" / "kubernetes" / "core", symlinks=False)
    _run(str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(dest), str(tarball), env=env)
    installed = dest / "ansible_collections" / "paperclip" / "kubernetes"
    assert (installed / "MANIFEST.json").exists()

    env = {**env, "ANSIBLE_COLLECTIONS_PATH": str(dest)}
    doc = _run(str(BIN / "ansible-doc"), "-t", "module", "paperclip.kubernetes.paperclip_invite", cwd=tmp_path, env=env)
    assert str(installed) in doc and "invite_url" in doc
    roles = _run(str(BIN / "ansible-doc"), "-t", "role", "-l", "paperclip.kubernetes", cwd=tmp_path, env=env)
    for role in ("bootstrap", "paperclip", "postgres", "storage"):
        assert f"paperclip.kubernetes.{role}" in roles
