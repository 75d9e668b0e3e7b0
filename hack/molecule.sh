#!/usr/bin/env bash
# hack/molecule.sh SCENARIO [ACTION [ARGS...]]: `molecule ACTION -s SCENARIO` from the
# repo root (ACTION defaults to test; e.g. converge, verify, destroy while debugging), offline (the scenarios disable the Galaxy dependency step and the
# prerun install; collections come from .build/collections, made by `make setup`).
# `make molecule` runs it inside tests/cluster/with-cluster.sh for the default scenario.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scenario=${1:?usage: hack/molecule.sh SCENARIO [ACTION [ARGS...]]}
shift
action=${1:-test}
[ $# -eq 0 ] || shift

collections=$root/.build/collections
for c in kubernetes/core paperclip/kubernetes; do
  if [ ! -e "$collections/ansible_collections/$c" ]; then
    echo "hack/molecule.sh: $collections/ansible_collections/$c is missing: run make setup" >&2
    exit 2
  fi
done
if [ ! -f "$root/molecule/$scenario/molecule.yml" ]; then
  echo "hack/molecule.sh: no scenario molecule/$scenario" >&2
  exit 2
fi

export PATH=$root/.venv/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$collections
export ANSIBLE_CONFIG=$root/ansible.cfg
# Nothing may be fetched from Galaxy; fail at once instead of retrying.
export ANSIBLE_GALAXY_SERVER=http://127.0.0.1:9/

cd "$root"
start=$(date +%s)
rc=0
molecule "$action" -s "$scenario" "$@" || rc=$?
echo "hack/molecule.sh: molecule $action -s $scenario exited $rc after $(($(date +%s) - start)) s" >&2
exit "$rc"
