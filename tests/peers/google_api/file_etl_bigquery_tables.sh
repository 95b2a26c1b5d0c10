#!/usr/bin/env bash
# file_etl --sink=bigquery with a spec whose "tables" give three event types their own
# schemas, partitioning and clustering (tests/cli/tables): through the discovery-checking
# fake, every table is created with its own schema, timePartitioning (MONTH on a DATE, HOUR,
# YEAR; DAY for the tables without an entry, from the top-level partition_field) and
# clustering, the bookkeeping tables with neither; the rows stored equal the SQLite output.
# Usage: file_etl_bigquery_tables.sh FILE_ETL SOURCE_DIR DISCOVERY_DIR
set -euo pipefail
etl=$1 src=$2 discovery=$3
here=$src/tests/peers/google_api
tables=$src/tests/cli/tables
work=$(mktemp -d)
fake_pid=
cleanup() {
  rc=$?
  [[ -z $fake_pid ]] || { kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; }
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
mkdir "$work/in"
cp "$tables/events.jsonl" "$work/in/"
run() { timeout 120 "$etl" --spec="$tables/spec.json" --quiet --input="$work/in" "$@" >"$work/last.out" 2>&1 || { cat "$work/last.out"; return 1; }; }

run --sink="sqlite:$work/expected.db"
timeout 200 python3 "$here/fake_google_api.py" --discovery "$discovery" --port-file "$work/port" \
  --service bigquery --log "$work/fake.log" --bigquery-rows "$work/rows" >"$work/fake.out" 2>&1 &
fake_pid=$!
for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.1; done
[[ -s $work/port ]] || { echo "the fake did not start"; cat "$work/fake.out"; exit 1; }
touch "$work/rows"
run --sink="bigquery:test-proj.etl_ds?endpoint=http://127.0.0.1:$(cat "$work/port")"
kill "$fake_pid"
wait "$fake_pid" 2>/dev/null || true
fake_pid=
if grep -q '"violations"' "$work/fake.log"; then
  echo "requests that do not conform to bigquery.v2.json:"; grep '"violations"' "$work/fake.log" | head -5; exit 1
fi
python3 "$here/check_bigquery_rows.py" "$work/rows" "$work/expected.db"
python3 - "$work/fake.log" <<'PY'
import json, sys
bodies = {}
for e in map(json.loads, open(sys.argv[1])):
  if e['method'] == 'bigquery.tables.insert':
    b = json.loads(e['body'])
    bodies[b['tableReference']['tableId']] = b
def fields(t):
  return [(f['name'], f['type'], f['mode']) for f in bodies[t]['schema']['fields']]
want = {
  'events_order': ([('event_id', 'STRING', 'REQUIRED'), ('event_type', 'STRING', 'NULLABLE'),
                    ('order_date', 'DATE', 'REQUIRED'), ('status', 'STRING', 'NULLABLE'),
                    ('customer_id', 'STRING', 'NULLABLE'), ('amount', 'NUMERIC', 'NULLABLE')],
                   {'type': 'MONTH', 'field': 'order_date'}, ['status', 'customer_id']),
  'events_inventory': ([('event_id', 'STRING', 'REQUIRED'), ('event_type', 'STRING', 'NULLABLE'),
                        ('ts', 'TIMESTAMP', 'REQUIRED'), ('product_id', 'STRING', 'NULLABLE'),
                        ('warehouse_id', 'STRING', 'NULLABLE'), ('quantity', 'INTEGER', 'NULLABLE')],
                       {'type': 'HOUR', 'field': 'ts'}, ['product_id', 'warehouse_id']),
  'events_user_activity': ([('event_id', 'STRING', 'REQUIRED'), ('event_type', 'STRING', 'NULLABLE'),
                            ('ts', 'TIMESTAMP', 'REQUIRED'), ('user_id', 'STRING', 'REQUIRED'),
                            ('activity_type', 'STRING', 'NULLABLE')],
                           {'type': 'YEAR', 'field': 'ts'}, ['activity_type', 'user_id']),
  'events_refund': ([('event_id', 'STRING', 'REQUIRED'), ('event_type', 'STRING', 'NULLABLE'),
                     ('ts', 'TIMESTAMP', 'NULLABLE')], {'type': 'DAY', 'field': 'ts'}, None),
}
want['events_other'] = want['events_refund']
for t, (cols, part, cluster) in want.items():
  assert t in bodies, (t, sorted(bodies))
  assert fields(t) == cols, (t, fields(t))
  assert bodies[t].get('timePartitioning') == part, (t, bodies[t].get('timePartitioning'))
  assert (bodies[t].get('clustering') or {}).get('fields') == cluster, (t, bodies[t].get('clustering'))
for t in ('_files', '_dead_letter'):
  assert 'timePartitioning' not in bodies[t] and 'clustering' not in bodies[t], bodies[t]
print('ok: %d tables created, each with its own schema, partitioning (MONTH, HOUR, YEAR, DAY) and clustering'
      % len(bodies))
PY
