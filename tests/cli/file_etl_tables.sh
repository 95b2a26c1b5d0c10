#!/usr/bin/env bash
# file_etl with a spec whose "tables" give three event types their own schemas (orders,
# inventory, user activity): each table is created with its own columns (and NOT NULL on its
# REQUIRED ones), a row routed to a table whose REQUIRED field it lacks is dead-lettered
# naming the table and the field (stage "table"), a table without an entry gets the top-level
# schema, and dedupe_on works across tables. A bad spec fails before anything is created.
# The spec and events are tables/ beside this script (the BigQuery test loads them too).
# Usage: file_etl_tables.sh FILE_ETL [sqlite|postgres]   (postgres: run under with_postgres.sh)
# ETL_FLAGS: more file_etl flags (e.g. --runner=portable --job_endpoint=HOST:PORT).
set -euo pipefail
etl=$1 kind=${2:-sqlite}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PGTZ=UTC

cp "$(dirname "$0")/tables/spec.json" "$work/spec.json"
mkdir "$work/in"
cp "$(dirname "$0")/tables/events.jsonl" "$work/in/"

case $kind in
  sqlite)
    sink() { echo "sqlite:$work/$1.db"; }
    q() { sqlite3 -batch -noheader -separator '|' "$work/$1.db" "$2"; }
    columns() { q "$1" "select group_concat(name || case when \"notnull\" then '!' else '' end, ',') from pragma_table_info('$2')"; }
    ;;
  postgres)
    psql="$BEAM_PG_BINDIR/psql"
    sink() {
      "$psql" -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
      echo "postgres:host=$PGHOST port=$PGPORT user=$PGUSER dbname=$1"
    }
    q() { "$psql" -X -A -t -F '|' -d "$1" -c "$2"; }
    columns() {
      q "$1" "select string_agg(column_name || case when is_nullable = 'NO' then '!' else '' end, ',' order by ordinal_position) from information_schema.columns where table_name = '$2'"
    }
    ;;
  *) echo "unknown kind $kind"; exit 2 ;;
esac

fail() { echo "file_etl_tables ($kind): FAIL: $*"; exit 1; }
want() { # want WHAT GOT EXPECTED
  [[ "$2" == "$3" ]] || fail "$1: got [$2], want [$3]"
  echo "ok   $1: $2"
}
run() { # run DB [spec]
  local db=$1 spec=${2:-$work/spec.json}
  # shellcheck disable=SC2086 # ETL_FLAGS is a list of flags
  "$etl" --input="$work/in" --spec="$spec" --sink="$(sink "$db")" --quiet ${ETL_FLAGS:-} >"$work/$db.out" 2>&1 || {
    cat "$work/$db.out"
    fail "the run into $db failed"
  }
}

run tables
want "events_order columns" "$(columns tables events_order)" "event_id!,event_type,order_date!,status,customer_id,amount"
want "events_inventory columns" "$(columns tables events_inventory)" \
  "event_id!,event_type,ts!,product_id,warehouse_id,quantity"
want "events_user_activity columns" "$(columns tables events_user_activity)" \
  "event_id!,event_type,ts!,user_id!,activity_type"
want "events_refund (no entry: the top-level schema)" "$(columns tables events_refund)" "event_id!,event_type,ts"
want "events_other (route.default, no entry)" "$(columns tables events_other)" "event_id!,event_type,ts"
want "events_order rows" "$(q tables "select event_id, order_date, status, customer_id, amount from events_order")" \
  "o-1|2026-01-02|paid|c-1|12.5"
want "events_inventory rows" "$(q tables "select event_id, product_id, quantity from events_inventory")" "i-1|p-1|7"
want "events_user_activity rows" "$(q tables "select event_id, user_id from events_user_activity")" "u-1|usr-1"
want "events_refund rows" "$(q tables "select event_id, event_type from events_refund")" "r-1|refund"
want "dead letters" "$(q tables "select line, stage, error from _dead_letter order by line")" \
  "2|table|table \"events_order\": field \"order_date\": required but missing
5|table|table \"events_user_activity\": field \"user_id\": required but null"
want "_files" "$(q tables "select records, written, dead_lettered, filtered from _files")" "8|5|2|1"

# dedupe_on across tables: the first record of an event_id wins, whatever its table.
python3 - "$work/spec.json" "$work/dedupe.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
s['clean']['dedupe_on'] = 'event_id'
json.dump(s, open(sys.argv[2], 'w'))
EOF
echo '{"event_id": "o-1", "event_type": "inventory", "ts": "2026-01-03T00:00:00Z", "product_id": "p-9"}' >>"$work/in/events.jsonl"
run dedupe "$work/dedupe.json"
want "dedupe across tables" "$(q dedupe "select count(*) from events_inventory")|$(q dedupe "select count(*) from events_order")" "1|1"
want "_files with dedupe" "$(q dedupe "select records, written, dead_lettered, filtered, deduplicated from _files")" "9|5|2|1|1"

# A destination's where, written against the union, selects rows in their tables' shapes
# (quantity and status sit at other columns in each table, or not at all).
if [[ $kind == sqlite ]]; then
  # shellcheck disable=SC2086 # ETL_FLAGS is a list of flags
  "$etl" --input="$work/in" --spec="$work/spec.json" --sink="sqlite:$work/where_all.db" --quiet ${ETL_FLAGS:-} \
    "--sink=jsonl:$work/where_sel?where=quantity%20%3E%205%20%7C%7C%20status%20%3D%3D%20'paid'" >"$work/where.out" 2>&1 ||
    { cat "$work/where.out"; fail "the run with a where destination failed"; }
  want "where on table-shaped rows" "$(cat "$work"/where_sel/events_*.jsonl | python3 -c 'import json,sys; print(",".join(sorted(json.loads(l)["event_id"] for l in sys.stdin)))')" "i-1,o-1"
fi

# A bad spec fails at the check (exit 2) naming the key, before any output exists.
python3 - "$work/spec.json" "$work/bad.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
s['tables']['events_order']['schema'] = [f for f in s['tables']['events_order']['schema'] if f['name'] != 'event_type']
json.dump(s, open(sys.argv[2], 'w'))
EOF
rc=0
"$etl" --input="$work/in" --spec="$work/bad.json" --sink="sqlite:$work/bad.db" >"$work/bad.out" 2>&1 || rc=$?
[[ $rc == 2 ]] || { cat "$work/bad.out"; fail "a bad spec: exit $rc, want 2"; }
grep -q 'tables.events_order.schema: no field "event_type", which route.table "events_{event_type}" names this table by' \
  "$work/bad.out" || { cat "$work/bad.out"; fail "a bad spec: the message does not name the key"; }
[[ ! -e $work/bad.db ]] || fail "a bad spec created the database"
echo "ok   a table lacking the route's field: exit 2 naming tables.events_order.schema"
echo "file_etl_tables ($kind): all ok"
