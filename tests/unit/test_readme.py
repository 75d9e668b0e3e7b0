"""The README's variable tables are generated from the argument specs; keep them in sync."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_variable_tables_are_current():
    block = subprocess.run([sys.executable, str(ROOT / "hack" / "vars_table.py")], check=True,
                           capture_output=True, text=True).stdout.strip()
    assert block in (ROOT / "README.md").read_text(), "run: python hack/vars_table.py --write"


def test_readme_shows_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make deploy" in text and "make test" in text
