#!/usr/bin/env bash
# Build the local test cluster's container images as OCI image archives, with
# no registry and no Docker: a Debian rootfs from mmdebstrap (one, shared),
# packages added in a chroot, and tests/cluster/images/oci.py writing the archive.
#
#   stdout: IMAGE=<ref> <absolute path of the OCI archive>, one line per image
#   stderr: log lines with elapsed seconds
#
# Archives live in ${XDG_CACHE_HOME:-$HOME/.cache}/paperclip-kubernetes/images/,
# named <image>-<version>-<hash of the inputs>.oci.tar: an unchanged image
# returns at once; a version bump or a change to its build steps rebuilds it.
# Import one with `ctr -n k8s.io images import <archive>` (see README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
# shellcheck source=/dev/null
. "$here/versions.env"
# shellcheck source=/dev/null
. "$repo/tests/paperclip/versions.env"
CACHE=${PAPERCLIP_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paperclip-kubernetes/images}
umask 022
t0=${EPOCHREALTIME/./}
log() {
  local d=$(( (${EPOCHREALTIME/./} - t0) / 100000 ))
  printf 'images/build.sh [%d.%ds] %s\n' $((d / 10)) $((d % 10)) "$*" >&2
}
die() { echo "images/build.sh: $*" >&2; exit 1; }

PATH_DEFAULT=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
REF_PAUSE=localhost/pause-standin:$PAUSE_TAG
REF_DEBIAN=localhost/debian-standin:$DEBIAN_SUITE
REF_POSTGRES=localhost/postgres-standin:$POSTGRES_MAJOR
REF_PAPERCLIP=localhost/paperclip-standin:$PAPERCLIP_VERSION
REF_COREDNS=localhost/coredns:$COREDNS_VERSION
# Repository names of their own on purpose: the tests map images by repository name.
REF_PAPERCLIP_PREVIOUS=localhost/paperclip-standin-previous:$PAPERCLIP_PREVIOUS_VERSION
REF_PAPERCLIP_BROKEN=localhost/paperclip-standin-broken:$PAPERCLIP_VERSION
REF_VERSITYGW=localhost/versitygw:$VERSITYGW_VERSION

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
# Scratch space on the cache's filesystem (so `cp -al` from other caches works),
# made by the main shell before any build step and removed on exit.
work=
cleanup() { if [ -n "$work" ]; then rm -rf "$work"; fi; }
trap cleanup EXIT
ensure_work() { [ -n "$work" ] || work=$(mktemp -d "$CACHE/.work.XXXXXX"); }
workdir() { echo "$work"; }

# --- inputs and keys --------------------------------------------------------

# The host's Debian sources (so the rootfs comes from wherever apt works here)
# and the apt settings mmdebstrap's own apt needs to reach them.
host_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    grep -qE '^[[:space:]]*(deb[[:space:]]|URIs:).*debian' "$f" && echo "$f"
  done
  return 0
}
host_aptopts() {
  apt-config dump 2>/dev/null | grep -E '^Acquire::((https?::)?Proxy|Check-Valid-Until|Check-Date)[ :]' || true
}

# hash of: the named build functions' text, the given files, and extra strings.
key() {
  local fns=$1 files=$2; shift 2
  {
    for f in $fns; do declare -f "$f"; done
    for f in $files; do cat "$f"; done
    cat "$here/oci.py"
    printf '%s\n' "$@"
  } | sha256sum | cut -c1-12
}

base_key() {
  if [ -n "${BASE_KEY:-}" ]; then echo "$BASE_KEY"; return; fi
  local s=() f
  while read -r f; do s+=("$f"); done < <(host_sources)
  key "build_base chroot_apt" "${s[*]}" "$DEBIAN_SUITE" "$(host_aptopts)"
}

# --- host packages ----------------------------------------------------------

pkgs_checked=
need_host_pkgs() {
  [ -z "$pkgs_checked" ] || return 0
  pkgs_checked=1
  local want=()
  command -v mmdebstrap >/dev/null || want+=(mmdebstrap)
  command -v gcc >/dev/null || want+=(gcc)
  [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -n "$(compgen -G '/usr/lib/*/libc.a')" ] || want+=(libc6-dev)
  command -v python3 >/dev/null || want+=(python3)
  command -v unshare >/dev/null || want+=(util-linux)
  if [ "${#want[@]}" -gt 0 ]; then
    log "installing Debian packages: ${want[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${want[@]}" >&2 \
      || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${want[@]}" >&2; }
  fi
}

oci() { python3 "$here/oci.py" "$@"; }

# Keep only the newest archive of one image name.
publish() {
  local tmp=$1 out=$2 glob=$3 old
  mv "$tmp" "$out"
  for old in "$CACHE"/$glob; do
    [ "$old" = "$out" ] || rm -f "$old"
  done
}

# --- the shared Debian base -------------------------------------------------

# $CACHE/base/debian-<suite>-<key>/{rootfs,lists,apt.conf}: minbase rootfs,
# plus (outside it) the apt lists and apt settings for later chroot installs.
build_base() {
  local dir=$1 w srcs=() f
  w=$(workdir)/base
  mkdir -p "$w"
  while read -r f; do srcs+=("$f"); done < <(host_sources)
  host_aptopts >"$w/apt.conf"
  # merged /usr by mmdebstrap's hook rather than the usrmerge package (which pulls in perl).
  local hooks=() h=/usr/share/mmdebstrap/hooks/merged-usr
  if [ -d "$h" ]; then hooks=(--hook-dir="$h"); fi
  log "base: mmdebstrap --variant=minbase $DEBIAN_SUITE (sources: ${srcs[*]:-mmdebstrap default})"
  # A private mount namespace: whatever mmdebstrap mounts is gone when it exits.
  unshare --mount --propagation private -- \
    mmdebstrap --quiet --mode=root --variant=minbase --format=directory \
      --skip=cleanup/apt/lists --aptopt="$w/apt.conf" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/info/*' "${hooks[@]}" \
      "$DEBIAN_SUITE" "$w/rootfs" "${srcs[@]}" >&2
  # Host-specific bits stay out of the image; the runtime provides these files.
  mkdir -p "$w/lists"
  find "$w/rootfs/var/lib/apt/lists" -mindepth 1 -maxdepth 1 ! -name partial ! -name lock \
    -exec mv -t "$w/lists" '{}' +
  # (the dpkg excludes of docs/man/locales stay in etc/dpkg/dpkg.cfg.d/99mmdebstrap,
  # as in Debian's slim images, so later installs follow them too)
  mv "$w/rootfs/etc/apt/apt.conf.d/99mmdebstrap" "$w/apt.conf"
  : >"$w/rootfs/etc/resolv.conf"
  : >"$w/rootfs/etc/hostname"
  chmod 0644 "$w/rootfs/etc/resolv.conf" "$w/rootfs/etc/hostname"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$w/rootfs/etc/hosts"
  rm -rf "$dir"; mkdir -p "$(dirname "$dir")"
  mv "$w" "$dir"
}

# Run a command in a chroot of ROOTFS with apt usable (lists, settings, DNS),
# /proc and /dev mounted in a private mount namespace; undo the apt/DNS bits after.
chroot_apt() {
  local r=$1; shift
  local b=$BASE
  cp -a "$b/lists/." "$r/var/lib/apt/lists/"
  cp "$b/apt.conf" "$r/etc/apt/apt.conf.d/99standin-build"
  cp -L /etc/resolv.conf "$r/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"; chmod 755 "$r/usr/sbin/policy-rc.d"
  # shellcheck disable=SC2016  # expanded by the inner shell
  DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=$PATH_DEFAULT \
    unshare --mount --propagation private -- "$BASH" -c '
      set -e; r=$1; shift
      mount -t proc proc "$r/proc"
      mount --rbind /dev "$r/dev"
      exec chroot "$r" "$@"' chroot_apt "$r" "$@" >&2
  rm -f "$r/usr/sbin/policy-rc.d" "$r/etc/apt/apt.conf.d/99standin-build"
  cp -a "$b/rootfs/etc/resolv.conf" "$r/etc/resolv.conf"
  rm -rf "$r/var/lib/apt/lists"; cp -a "$b/rootfs/var/lib/apt/lists" "$r/var/lib/apt/lists"
  rm -f "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin
  rm -rf "$r/var/cache/apt/archives/partial"; mkdir -p "$r/var/cache/apt/archives/partial"
}

ensure_base() {
  [ -z "${BASE:-}" ] || return 0
  BASE_KEY=$(base_key)
  BASE=$CACHE/base/debian-$DEBIAN_SUITE-$BASE_KEY
  if [ ! -f "$BASE/.complete" ]; then
    need_host_pkgs
    ensure_work
    local old
    for old in "$CACHE"/base/debian-*; do [ "$old" = "$BASE" ] || rm -rf "$old"; done
    build_base "$BASE"
    touch "$BASE/.complete"
    log "base: done ($(du -sh "$BASE/rootfs" | cut -f1))"
  fi
}

# --- images -----------------------------------------------------------------

build_pause() {
  local out=$1 w
  w=$(workdir)/pause
  mkdir -p "$w/rootfs"
  gcc -static -Os -s -Wall -Wextra -Werror -o "$w/rootfs/pause" "$here/pause/pause.c"
  chmod 0755 "$w/rootfs/pause"
  oci --out "$out" --ref "$REF_PAUSE" --layer "$w/rootfs" \
    --config '{"Entrypoint":["/pause"],"User":"65535:65535","WorkingDir":"/","Env":[],"Labels":{"org.opencontainers.image.description":"pause stand-in, built locally by tests/cluster/images/build.sh"}}'
}

build_debian() {
  local out=$1 w
  w=$(workdir)/debian
  cp -a "$BASE/rootfs" "$w"
  # busybox-static (one 2 MB file) for nslookup, wget and nc in test pods.
  chroot_apt "$w" apt-get install -y -q --no-install-recommends busybox-static
  for t in nslookup wget nc; do ln -s /bin/busybox "$w/usr/local/bin/$t"; done
  oci --out "$out" --ref "$REF_DEBIAN" --layer "$BASE/rootfs" --diff-layer "$BASE/rootfs" "$w" \
    --config "{\"Cmd\":[\"/bin/bash\"],\"Env\":[\"PATH=$PATH_DEFAULT\"],\"Labels\":{\"org.opencontainers.image.description\":\"Debian $DEBIAN_SUITE minbase stand-in, built locally\"}}"
}

build_postgres() {
  local out=$1 w m=$POSTGRES_MAJOR
  w=$(workdir)/postgres
  cp -a "$BASE/rootfs" "$w"
  mkdir -p "$w/etc/postgresql-common/createcluster.d"
  echo 'create_main_cluster = false' >"$w/etc/postgresql-common/createcluster.d/standin.conf"
  # uid/gid 70 as in the alpine postgres images the collection defaults to.
  chroot_apt "$w" sh -ec "
    groupadd --system --gid 70 postgres
    useradd --system --uid 70 --gid 70 --home-dir /var/lib/postgresql --shell /bin/bash \
      --comment 'PostgreSQL administrator' postgres
    apt-get install -y -q --no-install-recommends postgresql-$m postgresql-client-$m
    sed -ri \"s!^#?(listen_addresses)\\s*=\\s*\\S+.*!\\1 = '*'!\" /usr/share/postgresql/$m/postgresql.conf.sample
    grep -qF \"listen_addresses = '*'\" /usr/share/postgresql/$m/postgresql.conf.sample
    mkdir -p /docker-entrypoint-initdb.d /var/lib/postgresql/data /run/postgresql
    chown postgres:postgres /var/lib/postgresql /var/lib/postgresql/data /run/postgresql
    chmod 1777 /var/lib/postgresql/data
    chmod 3777 /run/postgresql
    [ \"\$(id -u postgres):\$(id -g postgres)\" = 70:70 ]"
  install -m 0755 "$here/postgres/docker-entrypoint.sh" "$w/usr/local/bin/docker-entrypoint.sh"
  oci --out "$out" --ref "$REF_POSTGRES" --layer "$BASE/rootfs" --diff-layer "$BASE/rootfs" "$w" --config "$(cat <<EOF
{"Entrypoint":["docker-entrypoint.sh"],"Cmd":["postgres"],"User":"70:70",
 "Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/lib/postgresql/$m/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "PG_MAJOR=$m","LANG=C.UTF-8","PGDATA=/var/lib/postgresql/data"],
 "ExposedPorts":{"5432/tcp":{}},"Volumes":{"/var/lib/postgresql/data":{}},"StopSignal":"SIGINT",
 "Labels":{"org.opencontainers.image.description":"PostgreSQL $m from Debian $DEBIAN_SUITE, stand-in for the postgres image, built locally"}}
EOF
)"
}

# build_paperclip OUT REF VERSION: the stand-in for Paperclip VERSION (an npm
# release, which tests/paperclip/install.sh installs into its own cache directory).
build_paperclip() {
  local out=$1 ref=$2 version=$3 w inst node app
  w=$(workdir)/paperclip-$version
  inst=$(PAPERCLIP_INSTALL_VERSION=$version bash "$repo/tests/paperclip/install.sh")
  node=$(sed -n 's/^PAPERCLIP_NODE=//p' <<<"$inst")
  app=$(sed -n 's/^PAPERCLIP_APP_DIR=//p' <<<"$inst")
  { [ -x "$node" ] && [ -d "$app/node_modules" ]; } || die "tests/paperclip/install.sh gave no node/app"
  [ "$(sed -n 's/^PAPERCLIP_VERSION=//p' <<<"$inst")" = "$version" ] \
    || die "tests/paperclip/install.sh did not install Paperclip $version"
  # One added layer: user node (1000:1000, home /paperclip), node, /app, /paperclip.
  mkdir -p "$w/etc" "$w/usr/local/bin" "$w/app/cli/src" "$w/app/cli/node_modules" "$w/paperclip"
  for f in passwd group shadow gshadow; do cp -a "$BASE/rootfs/etc/$f" "$w/etc/$f"; done
  echo 'node:x:1000:' >>"$w/etc/group"
  echo 'node:!::' >>"$w/etc/gshadow"
  echo 'node:x:1000:1000::/paperclip:/bin/bash' >>"$w/etc/passwd"
  echo 'node:!:19000:0:99999:7:::' >>"$w/etc/shadow"
  cp "$node" "$w/usr/local/bin/node"
  # The npm install, hard-linked (same filesystem as the cache; nothing is modified).
  cp -al "$app/node_modules" "$w/app/node_modules"
  cp "$app/package.json" "$app/package-lock.json" "$w/app/"
  # Shims so the real image's paths run the published code:
  #   server/          the published @paperclipai/server, moved there (a real directory:
  #                    its dist/index.js starts only when argv[1] is its own real path);
  #                    node_modules/@paperclipai/server links back to it
  #   cli/src/index.ts imports the published CLI bundle (paperclipai/dist/index.js)
  #   cli/node_modules/tsx -> the tsx already in the server's dependency tree
  #                           (server/node_modules/tsx, or one linked there, below)
  mv "$w/app/node_modules/@paperclipai/server" "$w/app/server"
  ln -s ../../server "$w/app/node_modules/@paperclipai/server"
  local tsx=server/node_modules/tsx t
  if [ ! -e "$w/app/$tsx" ]; then
    # Releases whose server lists tsx among its devDependencies only (2026.831.1):
    # server/node_modules/tsx -> the tsx that another package of the tree depends on.
    t=$(cd "$w/app" && find node_modules -path '*/node_modules/tsx/package.json' | LC_ALL=C sort | sed -n 1p)
    [ -n "$t" ] || die "no tsx in the npm install of Paperclip $version"
    mkdir -p "$w/app/server/node_modules"
    ln -s "../../${t%/package.json}" "$w/app/$tsx"
    log "$ref: $tsx -> ../../${t%/package.json}"
  fi
  { [ -f "$w/app/$tsx/dist/cli.mjs" ] && [ -f "$w/app/$tsx/dist/loader.mjs" ]; } || die "no tsx at $tsx"
  ln -s "../../$tsx" "$w/app/cli/node_modules/tsx"
  printf '%s\n' '{"name":"paperclipai-cli-standin","private":true,"type":"module"}' >"$w/app/cli/package.json"
  printf '%s\n' '// Stand-in for the monorepo CLI source: run the CLI that npm publishes.' \
    'import "../../node_modules/paperclipai/dist/index.js";' >"$w/app/cli/src/index.ts"
  chmod -R u=rwX,go=rX "$w/app/cli"
  oci --out "$out" --ref "$ref" --layer "$BASE/rootfs" --layer "$w" \
    --chown /app=1000:1000 --chown /paperclip=1000:1000 --config "$(cat <<EOF
{"Cmd":["node","--import","./server/node_modules/tsx/dist/loader.mjs","server/dist/index.js"],
 "User":"1000:1000","WorkingDir":"/app",
 "Env":["PATH=$PATH_DEFAULT","NODE_VERSION=$NODE_VERSION","NODE_ENV=production","HOME=/paperclip",
        "HOST=0.0.0.0","PORT=3100","SERVE_UI=true","PAPERCLIP_HOME=/paperclip","PAPERCLIP_INSTANCE_ID=default",
        "PAPERCLIP_CONFIG=/paperclip/instances/default/config.json",
        "PAPERCLIP_DEPLOYMENT_MODE=authenticated","PAPERCLIP_DEPLOYMENT_EXPOSURE=private"],
 "ExposedPorts":{"3100/tcp":{}},"Volumes":{"/paperclip":{}},
 "Labels":{"org.opencontainers.image.description":"Paperclip $version from npm on Debian $DEBIAN_SUITE, stand-in for ghcr.io/paperclipai/paperclip, built locally","org.opencontainers.image.version":"$version"}}
EOF
)"
}

build_paperclip_current() { build_paperclip "$1" "$REF_PAPERCLIP" "$PAPERCLIP_VERSION"; }
build_paperclip_previous() { build_paperclip "$1" "$REF_PAPERCLIP_PREVIOUS" "$PAPERCLIP_PREVIOUS_VERSION"; }

# The paperclip-standin archive ($DERIVE_FROM) with only its config changed: the
# same layers, and a Cmd that says why it fails and exits 1. The collection's
# StatefulSet gives its own `command: [node, ...]` (so the Cmd never runs there):
# NODE_OPTIONS makes every node start print the same message and exit 1 before any
# other code loads. Shell steps (the pod's init containers) still run.
build_paperclip_broken() {
  local out=$1 js msg='paperclip-standin-broken: this image fails on purpose (upgrade rollback tests)'
  [ -s "${DERIVE_FROM:-}" ] || die "paperclip-standin-broken: no paperclip-standin archive to derive from"
  # An ES module in a data: URL; node's NODE_OPTIONS parser drops '"' and splits at
  # spaces, hence %22 and %20 (decoded in the URL).
  js="console.error(%22${msg// /%20}%22);process.exit(1)"
  oci --out "$out" --ref "$REF_PAPERCLIP_BROKEN" --from "$DERIVE_FROM" \
    --env "NODE_OPTIONS=--import=data:text/javascript,$js" --config "$(cat <<EOF
{"Cmd":["/bin/sh","-c","echo '$msg' >&2; exit 1"],
 "Labels":{"org.opencontainers.image.description":"BROKEN ON PURPOSE, for upgrade rollback tests: the layers of localhost/paperclip-standin:$PAPERCLIP_VERSION, but its Cmd and every node start print an error and exit 1; built locally","org.opencontainers.image.version":"$PAPERCLIP_VERSION"}}
EOF
)"
}

# go_bin NAME PACKAGE VERSION: a static binary built from the Go module proxy,
# cached at $CACHE/NAME-bin/VERSION/NAME (a version bump builds anew).
go_bin() {
  local name=$1 pkg=$2 version=$3 bin tmp
  bin=$CACHE/$name-bin/$version/$name
  if [ ! -x "$bin" ]; then
    command -v go >/dev/null || die "Go is required to build $name"
    log "$name: go install $pkg@$version (slow on 2 cores)"
    tmp=$(workdir)/$name-gobin
    mkdir -p "$tmp" "$(dirname "$bin")"
    (cd "$tmp" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOBIN="$tmp" \
      go install -trimpath -ldflags "-s -w" "$pkg@$version" >&2)
    mv "$tmp/$name" "$bin"
  fi
  echo "$bin"
}

coredns_bin() { go_bin coredns github.com/coredns/coredns "$COREDNS_VERSION"; }

build_coredns() {
  local out=$1 w bin
  bin=$(coredns_bin)
  w=$(workdir)/coredns
  mkdir -p "$w/rootfs"
  cp "$bin" "$w/rootfs/coredns"; chmod 0755 "$w/rootfs/coredns"
  # As upstream's image (setcap cap_net_bind_service=+ep /coredns): port 53 as uid 65532.
  # VFS_CAP_REVISION_2 | effective, permitted = 1 << CAP_NET_BIND_SERVICE (10).
  python3 -c 'import os, struct, sys; os.setxattr(sys.argv[1], "security.capability", struct.pack("<5I", 0x02000001, 1 << 10, 0, 0, 0))' "$w/rootfs/coredns"
  oci --out "$out" --ref "$REF_COREDNS" --layer "$w/rootfs" \
    --config '{"Entrypoint":["/coredns"],"User":"65532:65532","ExposedPorts":{"53/tcp":{},"53/udp":{}},"Labels":{"org.opencontainers.image.description":"CoreDNS built from the Go module proxy, built locally"}}'
}

versitygw_bin() { go_bin versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION"; }

# The real versitygw S3 gateway, posix backend on /data. Its metadata goes to user
# xattrs, so /data must be on a filesystem that has them (or give VGW_META_SIDECAR).
# Root credentials: ROOT_ACCESS_KEY and ROOT_SECRET_KEY (required, no default).
build_versitygw() {
  local out=$1 w bin
  bin=$(versitygw_bin)
  w=$(workdir)/versitygw
  mkdir -p "$w/rootfs/usr/local/bin" "$w/rootfs/data" "$w/rootfs/tmp"
  cp "$bin" "$w/rootfs/usr/local/bin/versitygw"
  chmod 0755 "$w/rootfs/usr/local/bin/versitygw" "$w/rootfs/data"
  chmod 1777 "$w/rootfs/tmp"
  oci --out "$out" --ref "$REF_VERSITYGW" --layer "$w/rootfs" --chown /data=65532:65532 --config "$(cat <<EOF
{"Entrypoint":["/usr/local/bin/versitygw"],"Cmd":["--port",":7070","posix","/data"],
 "User":"65532:65532","WorkingDir":"/","Env":["PATH=$PATH_DEFAULT"],
 "ExposedPorts":{"7070/tcp":{}},"Volumes":{"/data":{}},
 "Labels":{"org.opencontainers.image.description":"versitygw $VERSITYGW_VERSION S3 gateway (posix backend on /data), built locally from the Go module proxy","org.opencontainers.image.version":"$VERSITYGW_VERSION"}}
EOF
)"
}

# --- main -------------------------------------------------------------------

# image NAME REF VERSION base|nobase "BUILD_FN OTHER_FNS..." INPUT_FILES...
# Sets IMAGE_OUT to the archive. DERIVE_FROM (set for the call) names an archive
# the image is made from: that name, which carries its own key, joins the key.
image() {
  local name=$1 ref=$2 version=$3 uses_base=$4 fns=$5; shift 5
  local k out bk='' fn=${fns%% *}
  if [ "$uses_base" = base ]; then
    # The base key is cheap to compute; the base itself is only built on demand.
    [ -n "${BASE_KEY:-}" ] || BASE_KEY=$(base_key)
    bk=$BASE_KEY
  fi
  k=$(key "$fns oci" "$*" "$ref" "$version" "$bk" "$PATH_DEFAULT" "${DERIVE_FROM:-}")
  out=$CACHE/$name-$version-$k.oci.tar
  if [ ! -s "$out" ]; then
    need_host_pkgs
    ensure_work
    [ "$uses_base" != base ] || ensure_base
    log "$ref: building"
    "$fn" "$out.part"
    publish "$out.part" "$out" "$name-*.oci.tar"
    log "$ref: done ($(du -h "$out" | cut -f1))"
  fi
  IMAGE_OUT=$out
  echo "IMAGE=$ref $out"
}

image pause-standin "$REF_PAUSE" "$PAUSE_TAG" nobase build_pause "$here/pause/pause.c"
image debian-standin "$REF_DEBIAN" "$DEBIAN_SUITE" base "build_debian chroot_apt"
image postgres-standin "$REF_POSTGRES" "$POSTGRES_MAJOR" base "build_postgres chroot_apt" "$here/postgres/docker-entrypoint.sh"
image paperclip-standin "$REF_PAPERCLIP" "$PAPERCLIP_VERSION-node$NODE_VERSION" base \
  "build_paperclip_current build_paperclip"
paperclip_archive=$IMAGE_OUT
image coredns "$REF_COREDNS" "$COREDNS_VERSION" nobase "build_coredns coredns_bin go_bin"
image paperclip-standin-previous "$REF_PAPERCLIP_PREVIOUS" "$PAPERCLIP_PREVIOUS_VERSION-node$NODE_VERSION" base \
  "build_paperclip_previous build_paperclip"
DERIVE_FROM=$paperclip_archive image paperclip-standin-broken "$REF_PAPERCLIP_BROKEN" \
  "$PAPERCLIP_VERSION-node$NODE_VERSION" nobase build_paperclip_broken
image versitygw "$REF_VERSITYGW" "$VERSITYGW_VERSION" nobase "build_versitygw versitygw_bin go_bin"
log "done"
