# shellcheck shell=sh
# Prepended to backup.sh and restore.sh: wait up to $DB_WAIT_SECONDS for the
# database to accept connections before the real work. A new pod's first
# connections can be refused for a moment while a NetworkPolicy controller
# admits its address (kube-router does this after the pod starts), and
# PostgreSQL may be restarting. $FAILED is the outcome word (BACKUP_FAILED,
# RESTORE_FAILED).
waited=0
until pg_isready --quiet --timeout=2 --dbname="$DB_NAME"; do
  if [ "$waited" -ge "${DB_WAIT_SECONDS:-60}" ]; then
    echo "$FAILED the database at $PGHOST:$PGPORT did not accept connections within ${waited}s (is it running, and does a NetworkPolicy admit this pod?)"
    exit 1
  fi
  sleep 2
  waited=$((waited + 2))
done
