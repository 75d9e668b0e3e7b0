#!/usr/bin/env bash
# Static checks: yamllint, ansible-lint (production profile, offline),
# antsibull-changelog lint, and ansible-test sanity. Run through `make lint`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH=$root/.venv/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$root/.build/collections ANSIBLE_LINT_SKIP_SCHEMA_UPDATE=1
echo "== yamllint"; yamllint -s .
echo "== ansible-lint"; ansible-lint --offline --profile production
echo "== antsibull-changelog lint"; antsibull-changelog lint
echo "== ansible-test sanity"; bash hack/sanity.sh
