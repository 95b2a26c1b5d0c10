#!/usr/bin/env bash
# Starts Prism (the Beam Go SDK's portable runner) on a free loopback port, runs the given
# command with PRISM_ENDPOINT set, and stops Prism whatever happens.
# Usage: run_with_prism.sh PRISM_BINARY command [args...]
set -euo pipefail
prism=$1
shift
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
"$prism" --job_port="$port" --serve_http=false --log_level=warn >"$log" 2>&1 &
pid=$!
trap 'rc=$?; kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$log"; exit $rc' EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { echo "prism exited:"; cat "$log"; exit 1; }
  sleep 0.1
done
export PRISM_ENDPOINT="127.0.0.1:$port"
export RUNNER_LOG="$log" # Prism's stderr, with its workers' (boot_on_runner.sh reads it)
timeout 120 "$@"
