#!/usr/bin/env bash
# ansible-test sanity for this collection.
#
# ansible-test only runs inside ansible_collections/<ns>/<name> and ignores
# ANSIBLE_COLLECTIONS_PATH, so dependencies must be siblings in the same tree.
# This copies the files git knows about (tracked + untracked, not ignored) to
#   <tmp>/ansible_collections/paperclip/kubernetes
# next to a copy of kubernetes.core, and runs the sanity tests there.
# Extra arguments go to ansible-test (e.g. --test validate-modules).
# The first run builds ansible-test's venvs from PyPI (~1 min); later runs are quick.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/.venv
core=$root/.build/collections/ansible_collections/kubernetes/core

if [ ! -x "$venv/bin/ansible-test" ] || [ ! -e "$core/MANIFEST.json" ]; then
  bash "$root/hack/setup.sh"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/ansible_collections/paperclip/kubernetes
mkdir -p "$dest" "$tmp/ansible_collections/kubernetes"
# -L: kubernetes.core is a symlink into the cache; copy the real files.
cp -rL "$core" "$tmp/ansible_collections/kubernetes/core"

cd "$root"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do
      # Skip files deleted from the work tree but still in the index.
      if [ -e "$f" ]; then printf '%s\0' "$f"; fi
    done \
  | (cd "$root" && xargs -0 cp --parents -t "$dest")

cd "$dest"
# ansible-test wants a git repo or none; a fresh one that lists exactly these files.
git init -q . && git add -A && git -c user.email=sanity@localhost -c user.name=sanity commit -qm sanity
echo "sanity: $(git ls-files | wc -l) files in $dest"
PATH=$venv/bin:$PATH ansible-test sanity --python 3.11 --local --color no "$@"
