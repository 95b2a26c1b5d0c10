#!/usr/bin/env bash
# file_etl --runner=portable --sink=bigquery: on a real runner (run under run_with_prism.sh):
# the runner's workers write through the discovery-checking fake, and the rows stored equal
# the local SQLite run row for row, with one row refused by the fake dead-lettered with its
# reason and _files adding up.
# Usage: file_etl_bigquery_on_runner.sh FILE_ETL SOURCE_DIR DISCOVERY_DIR JOB_ENDPOINT
set -euo pipefail
etl=$1 src=$2 discovery=$3 endpoint=$4
here=$src/tests/peers/google_api
work=$(mktemp -d)
fake_pid=
trap 'rc=$?; [[ -n $fake_pid ]] && kill $fake_pid 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; exit $rc' EXIT
samples=$src/pipelines/file_etl/samples
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); s['partition_field']='ts'; json.dump(s, open(sys.argv[2],'w'))" \
  "$samples/spec.json" "$work/spec.json"
timeout 120 "$etl" --spec="$work/spec.json" --quiet --input="$samples/landing" --sink="sqlite:$work/expected.db" >"$work/local.out" 2>&1 ||
  { cat "$work/local.out"; exit 1; }
timeout 200 python3 "$here/fake_google_api.py" --discovery "$discovery" --port-file "$work/port" --service bigquery \
  --log "$work/log" --bigquery-rows "$work/rows" --bigquery-reject-field event_id=ev-0012 >"$work/fake.out" 2>&1 &
fake_pid=$!
for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.1; done
[[ -s $work/port ]] || { cat "$work/fake.out"; exit 1; }
touch "$work/rows"
if ! timeout 180 "$etl" --spec="$work/spec.json" --quiet --input="$samples/landing" --runner=portable \
     --job_endpoint="$endpoint" --environment_type=PROCESS \
     --sink="bigquery:runner-proj.etl?endpoint=http://127.0.0.1:$(cat "$work/port")" >"$work/portable.out" 2>&1; then
  cat "$work/portable.out"; exit 1
fi
if grep -q '"violations"' "$work/log"; then grep '"violations"' "$work/log" | head -5; exit 1; fi
python3 "$here/check_bigquery_rows.py" "$work/rows" "$work/expected.db" \
  --moved-to-dead-letter "events_order:event_id=ev-0012:row rejected by the test rule event_id=ev-0012"
n=$(grep -c '"table": "_files".*"runner": "portable' "$work/rows" || true)
[[ $n -eq 3 ]] || { echo "expected 3 _files rows from the portable runner, found $n"; grep '"_files"' "$work/rows"; exit 1; }
echo "file_etl_bigquery_on_runner: the runner's workers wrote what the local run wrote"
