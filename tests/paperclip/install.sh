#!/usr/bin/env bash
# Install a real Paperclip server for the tests, outside the repo:
#   ~/.cache/paperclip-kubernetes/paperclip-<version>/node-<nodeversion>/  Node 24 (npm package `node`)
#   ~/.cache/paperclip-kubernetes/paperclip-<version>/app/                 paperclipai + @paperclipai/server
# plus Debian's postgresql when no /usr/lib/postgresql/*/bin/initdb exists.
# Idempotent: a complete install (stamp file) returns at once.
# stdout: KEY=VALUE lines with the paths it provides (logs go to stderr).
# PAPERCLIP_INSTALL_VERSION=<version> installs that paperclipai version instead of
# PAPERCLIP_VERSION (e.g. PAPERCLIP_PREVIOUS_VERSION for the upgrade tests), into
# its own paperclip-<that version>/ directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. "$here/versions.env"
version=${PAPERCLIP_INSTALL_VERSION:-$PAPERCLIP_VERSION}
[[ $version =~ ^[0-9]+(\.[0-9]+)*([-+][0-9A-Za-z.-]+)?$ ]] \
  || { echo "install.sh: bad PAPERCLIP_INSTALL_VERSION '$version'" >&2; exit 1; }
cache=${XDG_CACHE_HOME:-$HOME/.cache}/paperclip-kubernetes
dest=${PAPERCLIP_INSTALL_DIR:-$cache/paperclip-$version}
nodedir=$dest/node-$NODE_VERSION
app=$dest/app
t0=$(date +%s)
log() { echo "install.sh [$(( $(date +%s) - t0 ))s] $*" >&2; }

# System packages, one apt-get update only when something is missing:
# postgresql (initdb/pg_ctl for the test clusters); npm (to fetch node@24 and paperclipai).
pg_initdb() { compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1; }
pkgs=()
[ -n "$(pg_initdb || true)" ] || pkgs+=(postgresql)
command -v npm >/dev/null || pkgs+=(npm)
if [ "${#pkgs[@]}" -gt 0 ]; then
  log "installing Debian packages: ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q "${pkgs[@]}" >&2
fi
initdb=$(pg_initdb)
[ -x "$initdb" ] || { echo "install.sh: no initdb after installing postgresql" >&2; exit 1; }

# A private HOME and npm cache: nothing lands in ~/.npm, ~/.paperclip or ~/.npmrc.
# nodedir=/usr (what the machine npmrc sets) keeps node-gyp from trying to
# download headers from nodejs.org (unreachable); the only native build,
# cpu-features, is an optional dependency of ssh2 and may not load. Harmless.
npm_env=(env HOME="$dest/home" npm_config_cache="$cache/npm-cache" npm_config_nodedir=/usr
         npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
         PAPERCLIP_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1)

if [ ! -f "$nodedir/.complete" ]; then
  log "installing node@$NODE_VERSION from npm into $nodedir"
  rm -rf "$nodedir"; mkdir -p "$nodedir" "$dest/home"
  (cd "$nodedir" && "${npm_env[@]}" npm init -y >/dev/null && "${npm_env[@]}" npm install --no-save "node@$NODE_VERSION" >&2)
  "$nodedir/node_modules/node/bin/node" --version | grep -qx "v$NODE_VERSION"
  touch "$nodedir/.complete"
fi
nodebin=$nodedir/node_modules/node/bin

if [ ! -f "$app/.complete" ]; then
  log "installing paperclipai@$version from npm into $app (about 1.4 GB, ~1 min)"
  rm -rf "$app"; mkdir -p "$app" "$dest/home"
  # npm itself is the system one, run under Node 24 so install scripts see Node 24.
  (cd "$app" && PATH="$nodebin:$PATH" "${npm_env[@]}" npm init -y >/dev/null \
     && PATH="$nodebin:$PATH" "${npm_env[@]}" npm install "paperclipai@$version" >&2)
  for f in node_modules/paperclipai/dist/index.js node_modules/@paperclipai/server/dist/index.js; do
    [ -f "$app/$f" ] || { echo "install.sh: missing $app/$f after npm install" >&2; exit 1; }
  done
  got=$(cd "$app" && "$nodebin/node" -p 'require("./node_modules/paperclipai/package.json").version')
  [ "$got" = "$version" ] || { echo "install.sh: installed paperclipai $got, want $version" >&2; exit 1; }
  touch "$app/.complete"
fi
log "done"

echo "PAPERCLIP_VERSION=$version"
echo "PAPERCLIP_NODE=$nodebin/node"
echo "PAPERCLIP_APP_DIR=$app"
echo "PAPERCLIP_CLI=$app/node_modules/paperclipai/dist/index.js"
echo "PAPERCLIP_SERVER=$app/node_modules/@paperclipai/server/dist/index.js"
echo "PG_BINDIR=$(dirname "$initdb")"
