"""Unit tests for plugins/plugin_utils/controller.py's import-time effect: the objects
ansible-playbook's task workers inherit (the kubernetes client among them) are frozen out
of the garbage collector once the action plugins are loaded (issue 10)."""

import os
import subprocess
import sys

PROBE = """
import gc
before = gc.get_freeze_count(), len(gc.get_objects())
from ansible_collections.paperclip.kubernetes.plugins.plugin_utils import controller
print(*before, gc.get_freeze_count(), len(gc.get_objects()), controller.get_api_client is not None)
"""


def test_importing_it_freezes_what_a_forked_worker_would_collect_again():
    # A fresh interpreter: pytest's own process may have imported the module already.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout
    frozen_before, tracked_before, frozen, tracked, client = out.split()
    assert frozen_before == "0" and client == "True", out
    # The import brings the kubernetes client (tens of thousands of objects here, several
    # times what the interpreter had); a full collection walks what is left unfrozen.
    assert int(frozen) > 4 * int(tracked_before), out
    assert int(tracked) < 1000, out
