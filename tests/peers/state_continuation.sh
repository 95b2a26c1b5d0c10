#!/usr/bin/env bash
# Starts Beam's Python state service with continuation tokens (state_servicer.py) on a free
# loopback port, runs state_continuation against it, stops the service whatever happens.
# Usage: state_continuation.sh PYTHON STATE_CONTINUATION_BINARY
set -euo pipefail
python=$1 program=$2
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
fifo=$(mktemp -u)
mkfifo "$fifo"
"$python" "$here/state_servicer.py" 120 <"$fifo" >"$out" 2>&1 &
pid=$!
exec 3>"$fifo" # the service stops when this closes
trap 'rc=$?; exec 3>&-; kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$out" "$fifo"; exit $rc' EXIT
port=
for _ in $(seq 300); do
  port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$out")
  [[ -n "$port" ]] && break
  kill -0 $pid 2>/dev/null || { echo "state service exited:"; cat "$out"; exit 1; }
  sleep 0.1
done
[[ -n "$port" ]] || { echo "state service did not start:"; cat "$out"; exit 1; }
timeout 60 "$program" "127.0.0.1:$port"
