#!/usr/bin/env bash
# file_etl into PostgreSQL writes exactly what it writes into SQLite: the bundled sample
# (plus, with a runner, ROWS generated events so a big file goes to the runner) is loaded
# into a SQLite file (the reference, local runner) and into a fresh PostgreSQL database per
# mode; every table must hold the same rows and _files the same counts, adding up.
# A second run of the same inputs into the same database must double every count (a new
# run is not a retry), and the bundle bookkeeping must list every committed bundle.
# Run under with_postgres.sh. Usage: file_etl_postgres.sh FILE_ETL [JOB_ENDPOINT]
set -euo pipefail
file_etl=$1 endpoint=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
psql="$BEAM_PG_BINDIR/psql"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"
cp -r "$root/pipelines/file_etl/samples/landing/." "$work/in/"
[[ -n "$endpoint" ]] && python3 "$root/tests/bench/gen_events.py" "${ROWS:-20000}" "$work/in/generated.jsonl"
spec="$root/pipelines/file_etl/samples/spec.json"
export PGTZ=UTC

etl() { # name sink flags...
  local name=$1 sink=$2
  shift 2
  if ! "$file_etl" --input="$work/in" --spec="$spec" --sink="$sink" --quiet "$@" >"$work/$name.out" 2>&1; then
    echo "file_etl_postgres: the $name run failed:"
    cat "$work/$name.out"
    exit 1
  fi
  grep -E "^file_etl:|rows went" "$work/$name.out" | sed "s/^/file_etl_postgres: $name: /"
}

etl reference "sqlite:$work/reference.db" --runner=local
modes=(local)
[[ -n "$endpoint" ]] && modes=(portable auto)
status=0
for mode in "${modes[@]}"; do
  db="etl_$mode"
  "$psql" -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  sink="postgres:host=$PGHOST port=$PGPORT user=$PGUSER dbname=$db"
  case $mode in
    local) etl "$mode" "$sink" --runner=local ;;
    portable) etl "$mode" "$sink" --runner=portable --job_endpoint="$endpoint" ;;
    auto) etl "$mode" "$sink" --runner=auto --big_runner=portable --size_threshold=100K --job_endpoint="$endpoint" ;;
  esac
  python3 "$here/compare_pg_sqlite.py" "$work/reference.db" "$psql" "$db" || status=1
  bundles=$("$psql" -X -At -d "$db" -c "select count(*) from _beam_bundles")
  echo "file_etl_postgres: $mode: $bundles bundles recorded in _beam_bundles"
  [[ "$bundles" -ge 2 ]] || { echo "file_etl_postgres: $mode: expected bundles in _beam_bundles"; status=1; }
done

if [[ -z "$endpoint" ]]; then
  # A second run is new work, not a retry: every table doubles.
  before=$("$psql" -X -At -d etl_local -c "select count(*) from events_order")
  etl again "postgres:host=$PGHOST port=$PGPORT user=$PGUSER dbname=etl_local" --runner=local
  after=$("$psql" -X -At -d etl_local -c "select count(*) from events_order")
  [[ "$after" == $((2 * before)) ]] || { echo "file_etl_postgres: second run: events_order $before -> $after"; status=1; }
  # A bad connection string fails before any work, with libpq's message, exit 1.
  if "$file_etl" --input="$work/in" --spec="$spec" --sink="postgres:host=127.0.0.1 port=1 connect_timeout=2" \
      --quiet >"$work/bad.out" 2>&1; then
    echo "file_etl_postgres: a bad connection string did not fail"; status=1
  elif ! grep -q "cannot connect" "$work/bad.out"; then
    echo "file_etl_postgres: unclear error for a bad connection string:"; cat "$work/bad.out"; status=1
  fi
fi
[[ $status == 0 ]] && echo "file_etl_postgres: PostgreSQL tables equal the SQLite reference (${modes[*]})"
exit $status
