#!/usr/bin/env bash
# Starts the Python SDK's portable job service (apache_beam local_job_service_main, the
# FnApiRunner behind a JobService) on a free loopback port, runs the given command with
# PYTHON_JOB_ENDPOINT set, and stops the service whatever happens.
# Usage: run_with_python_runner.sh PYTHON command [args...]
#   PYTHON: an interpreter with apache-beam installed (.venv/bin/python).
# The service has no PROCESS environment: SDK workers reach it through EXTERNAL
# environments (a BeamFnExternalWorkerPool such as beam_worker_pool_start).
set -euo pipefail
python=$1
shift
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
staging=$(mktemp -d)
# Its own process group, so stopping it also stops anything it started.
setsid "$python" -m apache_beam.runners.portability.local_job_service_main \
  --port "$port" --staging_dir "$staging" >"$log" 2>&1 &
pid=$!
cmd=
cleanup() {
  rc=$?
  if [ -n "$cmd" ]; then kill -TERM "$cmd" 2>/dev/null || true; wait "$cmd" 2>/dev/null || true; fi
  kill -TERM -- -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- -"$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$rc" -ne 0 ]; then echo "== python job service log"; tail -n 50 "$log"; fi
  rm -rf "$log" "$staging"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# Importing apache_beam takes a few seconds.
for _ in $(seq 600); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { echo "python job service exited:"; cat "$log"; exit 1; }
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "python job service did not listen on $port:"; cat "$log"; exit 1; }
export PYTHON_JOB_ENDPOINT="127.0.0.1:$port"
export RUNNER_STAGING_DIR="$staging" # where the service keeps staged artifacts
# In the background and waited for, so a TERM (ctest's timeout) runs the cleanup at once
# instead of after the command.
timeout 120 "$@" <&0 &
cmd=$!
status=0
wait "$cmd" || status=$?
cmd=
exit "$status"
