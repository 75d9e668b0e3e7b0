# shellcheck shell=sh
# shellcheck disable=SC2010  # the names listed are the ones this script writes
# Find the dump named by RESTORE_FROM in /backups ("latest", "pre-upgrade",
# "pre-restore" or a file name), read it through completely, and unless
# CHECK_ONLY=true restore it into the database in one transaction: it either
# applies completely or not at all. The last line is the outcome:
# RESTORE_CHECKED file=..., RESTORE_OK file=... or RESTORE_FAILED <why>.
# Env: PGHOST PGPORT PGUSER PGPASSWORD DB_NAME (connection Secret), INSTANCE,
# RESTORE_FROM, CHECK_ONLY.
dir=${BACKUP_DIR:-/backups}
newest() { ls "$dir" | grep -E "^$1[0-9]{8}T[0-9]{6}Z[.]dump\$" | sort | tail -n 1; }
case "$RESTORE_FROM" in
  latest) file=$(newest "$INSTANCE-") ;;
  pre-upgrade | pre-restore) file=$(newest "$INSTANCE-$RESTORE_FROM-") ;;
  */* | .*) echo "RESTORE_FAILED restore_from must be a dump file name, not a path: $RESTORE_FROM"; exit 2 ;;
  *) file=$RESTORE_FROM ;;
esac
if [ -z "$file" ] || [ ! -f "$dir/$file" ]; then
  echo "RESTORE_FAILED no dump '$RESTORE_FROM' in the backup target; dumps there: $(ls "$dir" | grep '[.]dump$' | tr '\n' ' ')"
  exit 2
fi
# Reading the whole archive (to /dev/null) catches truncated or corrupt dumps
# before anything is touched.
if ! pg_restore --file=/dev/null "$dir/$file"; then
  echo "RESTORE_FAILED $file is not a complete pg_dump archive (corrupt or truncated); nothing was changed"
  exit 3
fi
if [ "$CHECK_ONLY" = true ]; then
  echo "RESTORE_CHECKED file=$file"
  exit 0
fi
# The schemas the dump holds (and public) are dropped and rebuilt from it, in one
# transaction with the restore: what a newer release added and the dump does not
# know goes too, so a downgrade after migrations gets exactly the old schema.
schemas=$(pg_restore --list "$dir/$file" | awk '$4 == "SCHEMA" && $5 == "-" {print $6}')
sql=${TMPDIR:-/tmp}/restore.sql
trap 'rm -f "$sql"' EXIT
{
  echo "SET client_min_messages = warning;"
  for s in public $schemas; do echo "DROP SCHEMA IF EXISTS \"$s\" CASCADE;"; done
  echo "CREATE SCHEMA public;"
} >"$sql"
if ! pg_restore --no-owner --no-privileges --file=- "$dir/$file" >>"$sql"; then
  echo "RESTORE_FAILED pg_restore could not read $file; nothing was changed"
  exit 3
fi
if ! psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --single-transaction --dbname="$DB_NAME" --file="$sql" >/dev/null; then
  echo "RESTORE_FAILED the restore of $file stopped; its transaction was rolled back, the database is as it was"
  exit 1
fi
echo "RESTORE_OK file=$file"
