# Sourced by the split-file tests (split_failed.sh, unfinished_changed.sh): dest_sql DEST PREFIX
# defines, for a destination kind DEST (sqlite, postgres, jsonl) and a destination NAME,
#   uri NAME       its sink URI,
#   fresh NAME     an empty one (PostgreSQL: database PREFIX_NAME dropped and created),
#   q NAME SQL     a query's rows (JSON lines: through jsonl_sql.py),
# and tables_sql, the query listing its data tables (not the _ bookkeeping ones).
# postgres: inside tests/postgres/with_postgres.sh (BEAM_PG_BINDIR, PGHOST...); SRC: the repo.
dest_sql() {
  db_prefix=$2
  case "$1" in
    sqlite)
      uri() { echo "sqlite:$1.db"; }
      fresh() { rm -f "$1.db" "$1.db-wal" "$1.db-shm"; }
      q() { sqlite3 "$1.db" "$2"; }
      tables_sql="select name from sqlite_master where type='table' and name not like '\_%' escape '\'" ;;
    postgres)
      psql() { "$BEAM_PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
      fresh() {
        psql -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS ${db_prefix}_$1" \
          -c "CREATE DATABASE ${db_prefix}_$1"
      }
      uri() { echo "postgres:host=$PGHOST port=$PGPORT user=$PGUSER dbname=${db_prefix}_$1"; }
      q() { psql -d "${db_prefix}_$1" -c "$2"; }
      tables_sql="select tablename from pg_tables where schemaname = 'public' and tablename not like '\_%'" ;;
    jsonl)
      uri() { echo "jsonl:$1"; }
      fresh() { rm -rf "$1"; }
      q() { python3 "$SRC/tests/cli/jsonl_sql.py" "$1" "$2"; }
      tables_sql="select name from sqlite_master where type='table' and name not like '\_%' escape '\'" ;;
    *) echo "unknown destination $1"; exit 2 ;;
  esac
}
