# shellcheck shell=sh
# shellcheck disable=SC2010  # the names listed are the ones this script writes
# pg_dump of the instance's database, custom format, to /backups as
# <instance>-[<label>-]<UTC timestamp>.dump; with KEEP_LOCAL=true (the backup volume)
# keep the newest $RETENTION dumps of that kind. The last line is the outcome:
# BACKUP_OK file=... bytes=... kept=... or BACKUP_FAILED <why>.
# Env: PGHOST PGPORT PGUSER PGPASSWORD DB_NAME (connection Secret), INSTANCE, LABEL,
# RETENTION, KEEP_LOCAL. Runs under busybox (alpine postgres images) and Debian.
dir=${BACKUP_DIR:-/backups}
prefix="$INSTANCE-${LABEL:+$LABEL-}"
pattern="^${prefix}[0-9]{8}T[0-9]{6}Z[.]dump\$"
name="$prefix$(date -u +%Y%m%dT%H%M%SZ).dump"
tmp="$dir/.$name.partial"
trap 'rm -f "$tmp"' EXIT
if ! touch "$tmp" 2>/dev/null; then
  echo "BACKUP_FAILED the backup target $dir is not writable by uid $(id -u)"
  exit 2
fi
if [ -e "$dir/$name" ]; then
  echo "BACKUP_FAILED $name exists already (two backups in the same second); run it again"
  exit 2
fi
if ! pg_dump --format=custom --compress=6 --file="$tmp" --dbname="$DB_NAME"; then
  echo "BACKUP_FAILED pg_dump of database $DB_NAME failed (its error is above): $(df -h "$dir" | tail -n 1 | awk '{print "target " $6 " has " $4 " free of " $2}')"
  exit 1
fi
mv "$tmp" "$dir/$name"
bytes=$(wc -c <"$dir/$name" | tr -d ' ')
kept=1
if [ "$KEEP_LOCAL" = true ]; then
  ls "$dir" | grep -E "$pattern" | sort -r | tail -n "+$((RETENTION + 1))" | while read -r old; do
    rm -f "$dir/$old"
    echo "removed $old (backup_retention $RETENTION)"
  done
  kept=$(ls "$dir" | grep -cE "$pattern" || true)
fi
echo "$name" >"$dir/.latest-name"
echo "BACKUP_OK file=$name bytes=$bytes kept=$kept"
