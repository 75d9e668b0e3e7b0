#!/usr/bin/env bash
# Install Debian's chromium for the browser e2e test (driven by Playwright from
# PyPI with executable_path; we never run `playwright install`). Idempotent.
# stdout: CHROMIUM=<path>
set -euo pipefail
bin=/usr/bin/chromium
# e2e files run side by side (pytest-xdist): one apt at a time.
exec 9>"/tmp/paperclip-kubernetes-e2e-install.lock"
flock 9
if ! [ -x "$bin" ]; then
  echo "e2e/install.sh: installing Debian chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends chromium fonts-liberation >&2
fi
"$bin" --version >&2
echo "CHROMIUM=$bin"
