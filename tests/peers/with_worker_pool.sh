#!/usr/bin/env bash
# Starts PROGRAM --worker_pool on a free loopback port (a BeamFnExternalWorkerPool whose
# workers are PROGRAM --worker), runs the command with WORKER_POOL=127.0.0.1:PORT, stops the
# pool (and its workers) whatever happens.
# Usage: with_worker_pool.sh PROGRAM command [args...]
set -euo pipefail
program=$1
shift
out=$(mktemp)
"$program" --worker_pool=127.0.0.1:0 >"$out" 2>&1 &
pid=$!
trap 'rc=$?; kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$out"; exit $rc' EXIT
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$out")
  [[ -n "$port" ]] && break
  kill -0 $pid 2>/dev/null || { echo "worker pool exited:"; cat "$out"; exit 1; }
  sleep 0.1
done
[[ -n "$port" ]] || { echo "worker pool did not start:"; cat "$out"; exit 1; }
export WORKER_POOL="127.0.0.1:$port"
"$@"
