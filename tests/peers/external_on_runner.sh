#!/usr/bin/env bash
# The runner checks and the file ETL in an EXTERNAL environment: each program serves as its
# own worker pool (--worker_pool) and the runner asks it for workers.
# Usage: external_on_runner.sh RUNNER_CHECKS FILE_ETL JOB_ENDPOINT
set -euo pipefail
checks=$1 file_etl=$2 endpoint=$3
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/with_worker_pool.sh" "$checks" sh -c "\"$checks\" \"$endpoint\" EXTERNAL \"\$WORKER_POOL\""
ROWS=${ROWS:-20000} bash "$here/with_worker_pool.sh" "$file_etl" \
  sh -c "bash \"$here/file_etl_on_runner.sh\" \"$file_etl\" \"$endpoint\" EXTERNAL \"\$WORKER_POOL\""
