#!/bin/sh
# migrate.sh <conninfo>
# Apply sql/NNN_*.sql in order, each once, each in one transaction that
# records itself in schema_migrations.  Safe to run again.
set -eu

conn=$1
root=$(cd "$(dirname "$0")/.." && pwd)
psql_() { psql -X -q -v ON_ERROR_STOP=1 -d "$conn" "$@"; }

psql_ -c "CREATE TABLE IF NOT EXISTS schema_migrations (
            version text PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now())" 2>&1 | grep -v NOTICE || true

for f in "$root"/sql/[0-9][0-9][0-9]_*.sql; do
    v=$(basename "$f" .sql)
    done=$(psql_ -tA -c "SELECT 1 FROM schema_migrations WHERE version = '$v'")
    [ "$done" = 1 ] && continue
    { echo "BEGIN;"; cat "$f";
      echo "INSERT INTO schema_migrations (version) VALUES ('$v');";
      echo "COMMIT;"; } | psql_ -f - >/dev/null
    echo "migrate: applied $v"
done
