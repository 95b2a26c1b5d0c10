#!/usr/bin/env bash
# The file ETL on a real runner (Prism), reading gs:// inputs and writing through the gcs:
# sink, run under with_fake_gcs.sh and run_with_prism.sh: the runner's workers (our binary,
# started by the runner) inherit STORAGE_EMULATOR_HOST, and what they write equals the local
# jsonl sink's rows, each bundle once.
# Usage: file_etl_gcs_on_runner.sh FILE_ETL SOURCE_DIR JOB_ENDPOINT
set -euo pipefail
etl=$1 src=$2 endpoint=$3
: "${FAKE_GCS_URL:?run under tests/gcp/with_fake_gcs.sh}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
samples=$src/pipelines/file_etl/samples
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); s['partition_field']='ts'; json.dump(s, open(sys.argv[2],'w'))" \
  "$samples/spec.json" "$work/spec.json"
for f in "$samples"/landing/*; do
  curl -fsS -o /dev/null -X POST --data-binary "@$f" \
    "$FAKE_GCS_URL/upload/storage/v1/b/beam-test/o?uploadType=media&name=in/$(basename "$f")"
done
"$etl" --spec="$work/spec.json" --quiet --input="$samples/landing" --sink="jsonl:$work/expected" >/dev/null
if ! "$etl" --spec="$work/spec.json" --quiet --input=gs://beam-test/in --sink=gcs:gs://beam-test/on-runner \
     --runner=portable --job_endpoint="$endpoint" --environment_type=PROCESS >"$work/run.out" 2>&1; then
  cat "$work/run.out"
  exit 1
fi
python3 "$src/tests/gcp/check_object_rows.py" "$work/expected" --gcs "$FAKE_GCS_URL" beam-test on-runner \
  --partition-field ts --basenames
