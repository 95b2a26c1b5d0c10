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
  # A second run of the same input holds the same records (file identity, byte offset): its
  # bundle's content key is already in _beam_bundles, so the data tables do not double.
  before=$("$psql" -X -At -d etl_local -c "select count(*) from events_order")
  etl again "postgres:host=$PGHOST port=$PGPORT user=$PGUSER dbname=etl_local" --runner=local
  after=$("$psql" -X -At -d etl_local -c "select count(*) from events_order")
  [[ "$after" == "$before" ]] || { echo "file_etl_postgres: second run: events_order $before -> $after"; status=1; }
  # The server drops the connection in the middle of the load (the backend is terminated
  # inside the bundle's transaction, once rows are written). A bundle small enough for the sink's replay log (16 MB of rows) is
  # replayed on a new connection and the run succeeds; a bigger one fails loudly naming the
  # cause, nothing of it is visible, and the rerun loads everything once.
  mkdir -p "$work/big"
  # The failing case needs one bundle past the replay log: without dedupe a file is one
  # bundle; with it the local runner cuts the grouped rows into bundles of a few MB.
  python3 -c "
import json; s = json.load(open('$spec')); s['clean'].pop('dedupe_on')
json.dump(s, open('$work/spec_plain.json', 'w'))"
  fault() { # rows expect(recover|fail) heap_mb: terminate once the tables hold heap_mb MB (written, uncommitted)
    local rows=$1 expect=$2 heap=$(($3 << 20)) db=etl_fault_$2
    [[ $heap -gt 0 ]] || heap=1
    "$psql" -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    rm -f "$work/big/"*
    python3 "$root/tests/bench/gen_events.py" "$rows" "$work/big/events.jsonl"
    local sink="postgres:host=$PGHOST port=$PGPORT user=$PGUSER dbname=$db" killed=0 rc=0 pid spec=$spec
    [[ $expect == fail ]] && spec=$work/spec_plain.json
    "$file_etl" --input="$work/big" --spec="$spec" --sink="$sink" --quiet --split_size=0 >"$work/fault.out" 2>&1 &
    pid=$!
    for _ in $(seq 1000); do
      if [[ $("$psql" -X -At -d $db -c "select coalesce(sum(pg_relation_size(oid)), 0) >= $heap from pg_class where relname like 'events%' and relkind = 'r'") != t ]]; then
        kill -0 $pid 2>/dev/null || break
        sleep 0.05
        continue
      fi
      # Rows are in the tables (uncommitted): end the rows writer's session inside its
      # transaction, in a COPY or between two (idle in transaction while file_etl parses on);
      # its last statement is a COPY into a routed table or _dead_letter (not the _files writer).
      killed=$("$psql" -X -At -d postgres -c "select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = '$db' and application_name = 'beam-c' and xact_start is not null and (query like '%COPY \"events%' or query like '%COPY \"_dead_letter\"%')")
      [[ "$killed" -gt 0 ]] && break
      kill -0 $pid 2>/dev/null || break
      sleep 0.02
    done
    wait $pid || rc=$?
    if [[ "$killed" -eq 0 ]]; then
      echo "file_etl_postgres: fault ($rows rows): the run ended before a COPY could be interrupted (rc $rc)"; status=1; return
    fi
    local counts="select sum(records) = sum(written + dead_lettered + filtered + deduplicated) and sum(records) = $rows from _files"
    if [[ $expect == recover ]]; then
      if [[ $rc != 0 || $("$psql" -X -At -d $db -c "$counts") != t ]]; then
        echo "file_etl_postgres: fault ($rows rows): expected the bundle replayed after the reconnect, got exit $rc:"; cat "$work/fault.out"; status=1; return
      fi
      local written
      written=$("$psql" -X -At -d $db -c "select (select count(*) from events_order) + (select count(*) from events_inventory) + (select count(*) from events_user_activity) = (select sum(written) from _files)")
      [[ $written == t ]] || { echo "file_etl_postgres: fault ($rows rows): rows written twice or lost"; status=1; return; }
      echo "file_etl_postgres: fault ($rows rows): backend terminated mid-bundle, the bundle was replayed on a new connection, every row once"
      return
    fi
    if [[ $rc != 1 ]] || ! grep -q "too big to replay" "$work/fault.out"; then
      echo "file_etl_postgres: fault ($rows rows): expected exit 1 naming the lost connection, got $rc:"; cat "$work/fault.out"; status=1; return
    fi
    local visible
    visible=$("$psql" -X -At -d $db -c "select (select count(*) from events_order) + (select count(*) from _dead_letter)" 2>/dev/null || echo 0)
    [[ "$visible" == 0 ]] || { echo "file_etl_postgres: fault: $visible rows of the failed bundle are visible"; status=1; }
    echo "file_etl_postgres: fault ($rows rows): backend terminated mid-bundle: exit 1, nothing visible; file_etl said:"
    sed 's/^/  /' "$work/fault.out"
    "$file_etl" --input="$work/big" --spec="$spec" --sink="$sink" --quiet --split_size=0 >"$work/fault2.out" 2>&1 || { cat "$work/fault2.out"; status=1; }
    [[ $("$psql" -X -At -d $db -c "$counts") == t ]] || { echo "file_etl_postgres: fault: the rerun's _files counts are wrong"; status=1; }
  }
  # Rows the server refuses (a CHECK constraint the table carries) become dead letters with
  # the server's message, stage "sink"; the rest commit, and _files still adds up.
  "$psql" -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS etl_check" -c "CREATE DATABASE etl_check"
  "$psql" -X -q -d etl_check -c "CREATE TABLE events_order (event_id text NOT NULL, event_type text, user_id text,
    amount double precision, ts timestamp with time zone NOT NULL, country text, CONSTRAINT amount_below_100 CHECK (amount < 100))"
  etl check "postgres:host=$PGHOST port=$PGPORT user=$PGUSER dbname=etl_check" --runner=local
  refused=$("$psql" -X -At -d etl_check -c "select count(*) from _dead_letter where stage = 'sink' and error like '%amount_below_100%'")
  want=$(sqlite3 "$work/reference.db" "select count(*) from events_order where amount >= 100")
  kept=$("$psql" -X -At -d etl_check -c "select count(*) from events_order")
  all=$(sqlite3 "$work/reference.db" "select count(*) from events_order")
  adds_up=$("$psql" -X -At -d etl_check -c "select bool_and(records = written + dead_lettered + filtered + deduplicated) from _files")
  if [[ "$refused" != "$want" || $((kept + refused)) != "$all" || "$adds_up" != t || "$want" == 0 ]]; then
    echo "file_etl_postgres: check: $refused rows dead-lettered by the server (want $want), $kept kept of $all, _files adds up: $adds_up"
    status=1
  else
    echo "file_etl_postgres: check: the server refused $refused of $all events_order rows (CHECK amount < 100): dead letters with its message, $kept committed, _files adds up"
    "$psql" -X -At -d etl_check -c "select '  e.g. ' || source || ':' || line || ': ' || error from _dead_letter where stage = 'sink' limit 1"
  fi

  fault 100000 recover 0
  fault 600000 fail 32

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
