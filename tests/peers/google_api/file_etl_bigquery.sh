#!/usr/bin/env bash
# file_etl --sink=bigquery: through the discovery-checking fake (fake_google_api.py --service
# bigquery): every request must conform to bigquery.v2.json, and the rows stored must equal
# the SQLite output of the same input row for row, with _files adding up, also when the
# server drops connections, answers 503 three times, loses an answer after storing, refuses
# a whole request with 400, refuses one row (dead-lettered with BigQuery's reason), and on
# the load-job path. A table that exists with another schema fails the run naming the
# difference.
# Usage: file_etl_bigquery.sh FILE_ETL SOURCE_DIR DISCOVERY_DIR
set -euo pipefail
etl=$1
src=$2
discovery=$3
here=$src/tests/peers/google_api
work=$(mktemp -d)
fake_pid=
stop_fake() {
  [[ -n $fake_pid ]] || return 0
  kill "$fake_pid" 2>/dev/null || true
  wait "$fake_pid" 2>/dev/null || true
  fake_pid=
}
cleanup() {
  rc=$?
  stop_fake
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
samples=$src/pipelines/file_etl/samples
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); s['partition_field']='ts'; s['cluster_fields']=['event_type','country']; json.dump(s, open(sys.argv[2],'w'))" \
  "$samples/spec.json" "$work/spec.json"

# start_fake NAME [fake args...]: a fresh fake (empty BigQuery) logging to $work/NAME.*
start_fake() {
  local name=$1
  shift
  rm -f "$work/port"
  timeout 200 python3 "$here/fake_google_api.py" --discovery "$discovery" --port-file "$work/port" \
    --service bigquery --log "$work/$name.log" --bigquery-rows "$work/$name.rows" "$@" >"$work/$name.fake" 2>&1 &
  fake_pid=$!
  for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.1; done
  [[ -s $work/port ]] || { echo "the fake did not start"; cat "$work/$name.fake"; exit 1; }
  touch "$work/$name.rows"
  sink="bigquery:test-proj.etl_ds?endpoint=http://127.0.0.1:$(cat "$work/port")"
}
run() { timeout 120 "$etl" --spec="$work/spec.json" --quiet --input="$samples/landing" "$@" >"$work/last.out" 2>&1 || { cat "$work/last.out"; return 1; }; }
conforming() {
  local log=$1
  if grep -q '"violations"' "$log"; then
    echo "requests that do not conform to bigquery.v2.json:"; grep '"violations"' "$log" | head -5; exit 1
  fi
}
count() { grep -c "\"method\": \"$2\"" "$work/$1.log" || true; }
check() { python3 "$here/check_bigquery_rows.py" "$@"; }

echo "== expected rows: the SQLite sink"
run --sink="sqlite:$work/expected.db"

echo "== the sample into BigQuery (insertAll)"
start_fake plain
run --sink="$sink"
stop_fake
conforming "$work/plain.log"
check "$work/plain.rows" "$work/expected.db"
python3 - "$work/plain.log" <<'EOF'
import json, sys
bodies = [json.loads(e['body']) for e in map(json.loads, open(sys.argv[1]))
          if e['method'] == 'bigquery.tables.insert']
routed = [b for b in bodies if b['tableReference']['tableId'] == 'events_order'][0]
assert routed['timePartitioning'] == {'type': 'DAY', 'field': 'ts'}, routed
assert routed['clustering'] == {'fields': ['event_type', 'country']}, routed
assert {'name': 'ts', 'type': 'TIMESTAMP', 'mode': 'REQUIRED'} in routed['schema']['fields'], routed
files = [b for b in bodies if b['tableReference']['tableId'] == '_files'][0]
assert 'timePartitioning' not in files and 'clustering' not in files, files
print('ok: tables created with DAY partitioning on ts and clustering on event_type, country')
EOF
gets=$(count plain bigquery.tables.get)
[[ $gets -le 12 ]] || { echo "tables.get asked $gets times: existence must be cached"; exit 1; }

echo "== a second run of the same input: tables found, not recreated; rows sent with the same insertIds"
start_fake twice
run --sink="$sink"
run --sink="$sink"
stop_fake
conforming "$work/twice.log"
[[ $(count twice bigquery.tables.insert) -eq 6 ]] || { echo "tables created again"; exit 1; }
n=$(grep -c '"table": "events_order"' "$work/twice.rows")
[[ $n -eq 40 ]] || { echo "two runs stored $n events_order rows, expected 40 (the second run's insertIds are the first's)"; exit 1; }
echo "ok: two runs, 40 events_order rows (record insertIds: file identity + byte offset)"

echo "== faults: 503 x3 and dropped connections on every kind of request"
start_fake faults --fault bigquery.tabledata.insertAll:503x3 --fault bigquery.tables.insert:dropx2 \
  --fault bigquery.datasets.get:503x3 --fault bigquery.tables.get:drop --fault bigquery.datasets.insert:drop
run --sink="$sink"
stop_fake
conforming "$work/faults.log"
check "$work/faults.rows" "$work/expected.db"
injected=$(grep -c '"fault"' "$work/faults.log" || true)
[[ $injected -ge 10 ]] || { echo "only $injected faults injected"; exit 1; }
echo "ok: $injected faults injected"

echo "== insertAll: connections dropped mid-request, answers lost after the rows were stored"
start_fake lost --fault bigquery.tabledata.insertAll:dropx2 --bigquery-lose-response 3
run --sink="$sink"
stop_fake
conforming "$work/lost.log"
check "$work/lost.rows" "$work/expected.db"

echo "== a whole request refused with 400 once: split, nothing lost or doubled"
start_fake split --fault bigquery.tabledata.insertAll:400x1
run --sink="$sink"
stop_fake
check "$work/split.rows" "$work/expected.db"

echo "== one row refused (insertErrors invalid): dead-lettered with BigQuery's reason, the rest written once"
start_fake reject --bigquery-reject-field event_id=ev-0012
run --sink="$sink"
stop_fake
conforming "$work/reject.log"
grep -q '"stopped"' "$work/reject.log" || true
check "$work/reject.rows" "$work/expected.db" \
  --moved-to-dead-letter "events_order:event_id=ev-0012:row rejected by the test rule event_id=ev-0012"

echo "== bundles sent in parts while written (bundle_bytes=1024), one row refused in a part"
start_fake parts --bigquery-reject-field event_id=ev-0012
run --sink="$sink&bundle_bytes=1024"
stop_fake
conforming "$work/parts.log"
[[ $(count parts bigquery.tabledata.insertAll) -ge 12 ]] || { echo "the bundle was not sent in parts"; exit 1; }
check "$work/parts.rows" "$work/expected.db" \
  --moved-to-dead-letter "events_order:event_id=ev-0012:row rejected by the test rule event_id=ev-0012"

echo "== load jobs (load_threshold=5), with 503s on jobs.insert and jobs.get"
start_fake load --fault bigquery.jobs.insert:503x3 --fault bigquery.jobs.get:dropx2
run --sink="$sink&load_threshold=5"
stop_fake
conforming "$work/load.log"
check "$work/load.rows" "$work/expected.db"
jobs=$(count load bigquery.jobs.insert)
[[ $jobs -ge 3 ]] || { echo "only $jobs jobs.insert calls: the load path was not taken"; exit 1; }
echo "ok: load path ($jobs jobs.insert calls)"

echo "== a load job failing on one invalid row: no rows loaded, streamed instead, the row dead-lettered"
start_fake loadreject --bigquery-reject-field event_id=ev-0012
run --sink="$sink&load_threshold=5"
stop_fake
conforming "$work/loadreject.log"
check "$work/loadreject.rows" "$work/expected.db" \
  --moved-to-dead-letter "events_order:event_id=ev-0012:row rejected by the test rule event_id=ev-0012"

echo "== an existing table with another schema fails the run, naming the difference"
start_fake schema
port=$(cat "$work/port")
base=http://127.0.0.1:$port/bigquery/v2/projects/test-proj
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d '{"datasetReference":{"projectId":"test-proj","datasetId":"etl_ds"}}' "$base/datasets"
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d '{"tableReference":{"projectId":"test-proj","datasetId":"etl_ds","tableId":"events_order"},"schema":{"fields":[{"name":"event_id","type":"STRING","mode":"REQUIRED"},{"name":"amount","type":"STRING"}]}}' \
  "$base/datasets/etl_ds/tables"
if timeout 120 "$etl" --spec="$work/spec.json" --quiet --input="$samples/landing" --sink="$sink" >"$work/last.out" 2>&1; then
  echo "a run into a table with another schema must fail"; exit 1
fi
stop_fake
grep -q 'column amount is STRING, the schema wants FLOAT' "$work/last.out" || { cat "$work/last.out"; exit 1; }
grep -q 'missing REQUIRED column ts TIMESTAMP' "$work/last.out" || { cat "$work/last.out"; exit 1; }
echo "ok: $(grep -o 'exists with different columns.*' "$work/last.out" | head -1 | cut -c1-160)"
echo "file_etl_bigquery: all checks passed"
