#!/usr/bin/env bash
# Install everything the Makefile targets need that is not a system package:
# the Python venv, kubernetes.core (taken from the `ansible` wheel on PyPI,
# since Galaxy is not reachable), and a collections tree that puts this repo
# at ansible_collections/paperclip/kubernetes. Idempotent and quick when warm.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/paperclip-kubernetes
ansible_bundle=12.3.0   # ships kubernetes.core 6.2.0
venv=$root/.venv
py=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then "$py" -m venv "$venv"; fi
stamp=$venv/.requirements.sha
want=$(sha256sum "$root/requirements-dev.txt" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/pip" install -q -U pip
  "$venv/bin/pip" install -q -r "$root/requirements-dev.txt"
  # Kept out of the venv that runs the playbooks (see below); an older venv had it.
  "$venv/bin/pip" uninstall -q -y kubernetes-validate 2>/dev/null || true
  echo "$want" > "$stamp"
fi

# kubernetes-validate (the render tests' schema check, tests/unit/roles/test_render.py)
# lives in a directory of its own that only those tests put on sys.path: when it is
# installed next to the kubernetes client, the client imports it (and jsonschema) in
# every ansible-playbook run, 0.16 s each here, which no user of the collection pays.
schemas=$root/.build/python-test-only
schemas_want="kubernetes-validate==1.37.0 importlib-resources==7.1.0"
if [ "$(cat "$schemas/.stamp" 2>/dev/null)" != "$schemas_want" ]; then
  rm -rf "$schemas"
  # shellcheck disable=SC2086 # two requirement words
  "$venv/bin/pip" install -q --no-deps --target "$schemas" $schemas_want
  echo "$schemas_want" > "$schemas/.stamp"
fi

core=$cache/kubernetes.core-from-ansible-$ansible_bundle
if [ ! -f "$core/ansible_collections/kubernetes/core/MANIFEST.json" ]; then
  dl=$(mktemp -d)
  "$venv/bin/pip" download -q --no-deps -d "$dl" "ansible==$ansible_bundle"
  rm -rf "$core.tmp"; mkdir -p "$core.tmp"
  "$venv/bin/python" - "$dl"/ansible-*.whl "$core.tmp" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("ansible_collections/kubernetes/core/")])
PY
  rm -rf "$core" "$dl"; mv "$core.tmp" "$core"
fi

# .build/collections/ansible_collections/{kubernetes/core,paperclip/kubernetes}
coll=$root/.build/collections/ansible_collections
mkdir -p "$coll/kubernetes" "$coll/paperclip"
ln -sfn "$core/ansible_collections/kubernetes/core" "$coll/kubernetes/core"
ln -sfn "$root" "$coll/paperclip/kubernetes"

# ansible-test downloads get-pip from a host we cannot reach; this stand-in
# bootstraps pip with ensurepip, then installs from PyPI as the real one would.
shim=$HOME/.ansible/test/cache/get_pip_24_2.py
if [ ! -f "$shim" ]; then
  mkdir -p "$(dirname "$shim")"
  cat > "$shim" <<'PY'
import subprocess, sys
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
PY
fi
echo "setup: ok ($venv, kubernetes.core $(python3 -c "import json;print(json.load(open('$core/ansible_collections/kubernetes/core/MANIFEST.json'))['collection_info']['version'])"))"
