#!/usr/bin/env bash
# The boot program on a real runner (PROCESS environment whose command is boot): the launcher
# stages its own binary as the artifact "beam-c-worker", the runner hands it to boot, boot
# downloads it (sha256 checked) and execs it as the worker. The runner checks and the file
# ETL (tables identical to the local runner's) must pass that way.
# Usage: boot_on_runner.sh BOOT RUNNER_CHECKS FILE_ETL JOB_ENDPOINT
# With RUNNER_LOG set (the runner's stderr, where Prism forwards the workers'), the boot lines
# there must show the staged worker was fetched, checked and started. Flink keeps its workers'
# output to itself: there, boot having no other worker (no /opt/apache/beam/worker, no
# $BEAM_C_WORKER_BINARY) is what shows the staged one ran.
set -euo pipefail
boot=$1 runner_checks=$2 file_etl=$3 endpoint=$4
here=$(cd "$(dirname "$0")" && pwd)
config="{\"command\": \"$boot\"}"
if [[ -z "${RUNNER_LOG:-}" && ( -e /opt/apache/beam/worker || -n "${BEAM_C_WORKER_BINARY:-}" ) ]]; then
  echo "boot_on_runner: a baked-in worker exists here, so passing would not show the staged one ran"
  exit 1
fi

"$runner_checks" "$endpoint" PROCESS "$config"
ROWS=${ROWS:-20000} bash "$here/file_etl_on_runner.sh" "$file_etl" "$endpoint" PROCESS "$config"

if [[ -n "${RUNNER_LOG:-}" ]]; then
  fetched=$(grep -c "beam-c boot: worker .*: fetched .*/staged/beam-c-worker (.* bytes, sha256 checked)" "$RUNNER_LOG" || true)
  started=$(grep -c "beam-c boot: worker .*: starting .*/staged/beam-c-worker (staged)" "$RUNNER_LOG" || true)
  if ((fetched == 0 || started == 0)); then
    echo "boot_on_runner: the runner's log shows no staged worker fetched ($fetched) and started ($started):"
    grep "beam-c boot" "$RUNNER_LOG" || tail -20 "$RUNNER_LOG"
    exit 1
  fi
  echo "boot_on_runner: boot fetched the staged worker (sha256 checked) and started it $started times"
fi
