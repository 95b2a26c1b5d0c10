#!/usr/bin/env bash
# file_etl with GCS for real (run under with_fake_gcs.sh): the sample through the file: and
# gcs: sinks equals the jsonl sink's rows; gs:// inputs (a prefix with CSV, JSON lines and a
# ZIP read by ranged GETs; a single object; a gzip object) give the same rows; through a fault-injecting
# proxy (dropped connections, 503 three times then success) everything is written exactly
# once and _files adds up; a sink whose uploads always fail leaves no visible object.
# Usage: file_etl_gcs.sh FILE_ETL SOURCE_DIR
set -euo pipefail
etl=$1
src=$2
: "${FAKE_GCS_URL:?run under tests/gcp/with_fake_gcs.sh}"
work=$(mktemp -d)
proxy_pid=
cleanup() {
  rc=$?
  [[ -n $proxy_pid ]] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
samples=$src/pipelines/file_etl/samples
check() { python3 "$src/tests/gcp/check_object_rows.py" "$@"; }
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); s['partition_field']='ts'; json.dump(s, open(sys.argv[2],'w'))" \
  "$samples/spec.json" "$work/spec.json"
run() { "$etl" --spec="$work/spec.json" --quiet "$@" >"$work/last.out" 2>&1 || { cat "$work/last.out"; return 1; }; }

echo "== expected rows: the jsonl sink"
run --input="$samples/landing" --sink="jsonl:$work/expected"
run --input="$samples/landing/events_archive.zip" --sink="jsonl:$work/expected_zip"

echo "== file: sink"
run --input="$samples/landing" --sink="file:$work/files"
check "$work/expected" --dir "$work/files" --partition-field ts

echo "== gcs: sink"
run --input="$samples/landing" --sink="gcs:gs://beam-test/out1/"
check "$work/expected" --gcs "$FAKE_GCS_URL" beam-test out1 --partition-field ts

echo "== gs:// inputs"
for f in "$samples"/landing/*; do
  curl -fsS -o /dev/null -X POST --data-binary "@$f" \
    "$FAKE_GCS_URL/upload/storage/v1/b/beam-test/o?uploadType=media&name=in/$(basename "$f")"
done
run --input=gs://beam-test/in --sink="gcs:gs://beam-test/out2"
check "$work/expected" --gcs "$FAKE_GCS_URL" beam-test out2 --partition-field ts --basenames
run --input=gs://beam-test/in/events_archive.zip --sink="file:$work/zip_only"
check "$work/expected_zip" --dir "$work/zip_only" --partition-field ts --basenames
gzip -c "$samples/landing/events.csv" >"$work/events.csv.gz"
run --input="$work/events.csv.gz" --sink="jsonl:$work/expected_gz"
curl -fsS -o /dev/null -X POST --data-binary "@$work/events.csv.gz" \
  "$FAKE_GCS_URL/upload/storage/v1/b/beam-test/o?uploadType=media&name=gz/events.csv.gz"
run --input=gs://beam-test/gz/ --sink="file:$work/gz_only"
check "$work/expected_gz" --dir "$work/gz_only" --partition-field ts --basenames
if "$etl" --spec="$work/spec.json" --quiet --input=gs://beam-test/no-such --sink="file:$work/none" >"$work/last.out" 2>&1; then
  echo "a missing gs:// input must fail"; exit 1
fi
grep -q "gs://beam-test/no-such" "$work/last.out" || { cat "$work/last.out"; exit 1; }

start_proxy() {
  rm -f "$work/port" "$work/proxy.log"
  python3 "$src/tests/gcp/fault_proxy.py" --upstream "$FAKE_GCS_URL" --port-file "$work/port" \
    --log "$work/proxy.log" --lifetime 170 "$@" &
  proxy_pid=$!
  for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.1; done
  [[ -s $work/port ]] || { echo "fault proxy did not start"; exit 1; }
}
stop_proxy() { kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null || true; proxy_pid=; }

echo "== faults: dropped connections and 503 x3 on every kind of request"
start_proxy \
  --rule 'POST /upload/=503,503,503' \
  --rule 'PUT upload_id=drop,503,503,503' \
  --rule 'GET alt=media=drop,503,503,503' \
  --rule 'GET /o/=503,503,503' \
  --rule 'GET /o?=drop'
STORAGE_EMULATOR_HOST=127.0.0.1:$(cat "$work/port") run --input=gs://beam-test/in --sink="gcs:gs://beam-test/out3"
stop_proxy
check "$work/expected" --gcs "$FAKE_GCS_URL" beam-test out3 --partition-field ts --basenames
drops=$(grep -c ' drop$' "$work/proxy.log" || true)
errors=$(grep -c ' 503$' "$work/proxy.log" || true)
echo "faults injected: $drops dropped connections, $errors 503 answers"
[[ $drops -ge 3 && $errors -ge 12 ]] || { echo "the proxy did not inject every fault"; cat "$work/proxy.log"; exit 1; }

echo "== uploads that always fail leave no visible object"
start_proxy --rule 'PUT upload_id=forever503'
if STORAGE_EMULATOR_HOST=127.0.0.1:$(cat "$work/port") "$etl" --spec="$work/spec.json" --quiet \
     --input="$samples/landing" --sink="gcs:gs://beam-test/out4" >"$work/last.out" 2>&1; then
  echo "the run must fail when no upload can finish"; exit 1
fi
stop_proxy
grep -q "HTTP 503" "$work/last.out" || { cat "$work/last.out"; exit 1; }
check "$work/expected" --gcs "$FAKE_GCS_URL" beam-test out4 --expect-empty
echo "file_etl_gcs: all checks passed"
