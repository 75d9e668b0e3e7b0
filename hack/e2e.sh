#!/usr/bin/env bash
# make e2e, on the cluster with-cluster.sh provides. The files run side by side in
# $E2E_WORKERS processes (pytest-xdist, one file per worker at a time: a file's tests
# share one instance and run in order); most of their time is spent waiting for pods
# and Jobs, not on the CPU. The tests marked serial run afterwards, alone:
# test_faults.py stops the API server under everyone, and test_first_admin_browser.py's
# local Paperclip server needs the CPU for its first page loads. Both parts always run; the status is
# the first failure's. Extra arguments go to both pytest runs.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
py=(.venv/bin/python -m pytest -q -p no:cacheprovider --durations=25)
rc=0
"${py[@]}" -n "${E2E_WORKERS:-3}" --dist loadfile -m "not serial" tests/e2e "$@" || rc=$?
"${py[@]}" -m serial tests/e2e "$@" || { r=$?; [ "$rc" -ne 0 ] || rc=$r; }
exit "$rc"
