#!/usr/bin/env bash
# Worker staging through the Python job service, which resolves every environment's artifacts
# and fetches them into its staging dir before the job runs: the file ETL (EXTERNAL, our
# worker pool) with --stage_worker must pass, and the staging dir must hold a byte-identical
# copy of the launcher, staged as "beam-c-worker".
# Usage: stage_on_python_runner.sh FILE_ETL JOB_ENDPOINT   (RUNNER_STAGING_DIR: the service's)
set -euo pipefail
file_etl=$1 endpoint=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash "$here/with_worker_pool.sh" "$file_etl" sh -c "\"$file_etl\" --input=\"$root/pipelines/file_etl/samples/landing\" \
  --spec=\"$root/pipelines/file_etl/samples/spec.json\" --sink=sqlite:$work/out.db --runner=portable \
  --job_endpoint=$endpoint --environment_type=EXTERNAL --environment_config=\"\$WORKER_POOL\" --stage_worker --quiet"
want=$(sha256sum "$file_etl" | cut -d' ' -f1)
staged=$(find "$RUNNER_STAGING_DIR" -type f -name '*-beam-c-worker')
[[ -n "$staged" ]] || { echo "stage_on_python_runner: nothing staged as beam-c-worker in $RUNNER_STAGING_DIR"; exit 1; }
for f in $staged; do
  got=$(sha256sum "$f" | cut -d' ' -f1)
  [[ "$got" == "$want" ]] || { echo "stage_on_python_runner: $f has sha256 $got, the launcher $want"; exit 1; }
done
echo "stage_on_python_runner: the job service staged the launcher as $(basename "$staged") (sha256 $want)"
