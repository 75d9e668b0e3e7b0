#!/usr/bin/env bash
# docker-entrypoint.sh of localhost/postgres-standin: a small re-implementation
# of the official `postgres` image's documented contract (see README.md for
# what is and is not covered). If the first argument is `postgres` (or an
# option), initialise an empty $PGDATA, then exec postgres; otherwise exec the
# arguments. Never prints the password.
set -Eeo pipefail

log() { echo "docker-entrypoint.sh: $*" >&2; }

# VAR or VAR_FILE (the file's content), as the official image reads secrets.
file_env() {
  local var=$1 file_var="${1}_FILE" def=${2:-} val
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    log "both $var and $file_var are set (but are exclusive)"; exit 1
  fi
  val=$def
  if [ -n "${!var:-}" ]; then val=${!var}
  elif [ -n "${!file_var:-}" ]; then val=$(<"${!file_var}"); fi
  export "$var=$val"
  unset "$file_var"
}

want_help() {
  local a
  for a; do
    case $a in -'?'|--help|--describe-config|-V|--version) return 0 ;; esac
  done
  return 1
}

setup_env() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=}"
  export PGDATA=${PGDATA:-/var/lib/postgresql/data}
  DATABASE_ALREADY_EXISTS=
  if [ -s "$PGDATA/PG_VERSION" ]; then DATABASE_ALREADY_EXISTS=true; fi
}

create_dirs() {
  local uid
  uid=$(id -u)
  # PGDATA may be a not yet existing subdirectory of a mounted volume.
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" || :
  mkdir -p /var/run/postgresql || :
  chmod 03775 /var/run/postgresql 2>/dev/null || :
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    [ "$uid" != 0 ] || chown postgres:postgres "$POSTGRES_INITDB_WALDIR"
    chmod 700 "$POSTGRES_INITDB_WALDIR"
  fi
  if [ "$uid" = 0 ]; then
    find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
  fi
}

verify_env() {
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    cat >&2 <<'EOE'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.
EOE
    exit 1
  fi
  if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
    log "WARNING: POSTGRES_HOST_AUTH_METHOD=trust: every host connection is allowed without a password"
  fi
}

init_db_dir() {
  local args=()
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then args+=(--waldir "$POSTGRES_INITDB_WALDIR"); fi
  # initdb's local defaults stay (trust for the socket and 127.0.0.1/::1, as in the
  # official image); the password goes in through a pipe, never on a command line.
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is word-split on purpose, as upstream
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    "${args[@]}" $POSTGRES_INITDB_ARGS
}

setup_hba() {
  local method=$POSTGRES_HOST_AUTH_METHOD
  if [ -z "$method" ]; then
    method=$(postgres -C password_encryption -D "$PGDATA" 2>/dev/null || echo scram-sha-256)
  fi
  { echo; echo "host all all all $method"; } >>"$PGDATA/pg_hba.conf"
}

temp_start() {
  PGUSER=$POSTGRES_USER pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
}

temp_stop() {
  PGUSER=$POSTGRES_USER pg_ctl -D "$PGDATA" -m fast -w stop
}

psql_init() {
  PGHOST=/var/run/postgresql PGPORT=5432 PGUSER=$POSTGRES_USER \
    psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc "$@"
}

setup_db() {
  local exists
  if [ "$POSTGRES_DB" != postgres ]; then
    exists=$(psql_init --dbname postgres --set db="$POSTGRES_DB" --tuples-only \
      <<<"SELECT 1 FROM pg_database WHERE datname = :'db' ;")
    if [ -z "${exists// /}" ]; then
      psql_init --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;'
      log "created database $POSTGRES_DB"
    fi
  fi
}

# /docker-entrypoint-initdb.d: *.sh (run if executable, else sourced) and *.sql.
init_files() {
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case $f in
      *.sh)
        if [ -x "$f" ]; then log "running $f"; "$f"
        else log "sourcing $f"; # shellcheck disable=SC1090
          . "$f"; fi ;;
      *.sql) log "running $f"; psql_init --dbname "$POSTGRES_DB" -f "$f" ;;
      *) log "ignoring $f (only .sh and .sql are supported here)" ;;
    esac
  done
}

main() {
  if [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi
  if [ "$1" = postgres ] && ! want_help "$@"; then
    setup_env
    create_dirs
    if [ "$(id -u)" = 0 ]; then
      # The official image uses gosu; setpriv (util-linux) does the same here.
      exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
    fi
    if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
      verify_env
      init_db_dir
      setup_hba
      temp_start
      setup_db
      init_files
      temp_stop
      log "PostgreSQL init process complete; ready for start up."
    else
      log "PostgreSQL Database directory appears to contain a database; Skipping initialization"
    fi
  fi
  exec "$@"
}

main "$@"
