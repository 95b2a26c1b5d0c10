#!/usr/bin/env bash
# Starts fake-gcs-server (github.com/fsouza/fake-gcs-server, in memory) on a free loopback
# port, creates the buckets named in GCS_TEST_BUCKETS (default "beam-test"), runs the command
# with STORAGE_EMULATOR_HOST and FAKE_GCS_URL set, and stops the server whatever happens.
# Usage: with_fake_gcs.sh FAKE_GCS_SERVER_BINARY command [args...]
set -euo pipefail
server=$1
shift
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
"$server" -scheme http -backend memory -host 127.0.0.1 -port "$port" \
  -external-url "${FAKE_GCS_EXTERNAL_URL:-http://127.0.0.1:$port}" -log-level warn >"$log" 2>&1 &
pid=$!
trap 'rc=$?; kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$log"; exit $rc' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -fsS -o /dev/null "$url/storage/v1/b" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { echo "fake-gcs-server exited:"; cat "$log"; exit 1; }
  sleep 0.1
done
for b in ${GCS_TEST_BUCKETS:-beam-test}; do
  curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d "{\"name\":\"$b\"}" "$url/storage/v1/b?project=test"
done
export FAKE_GCS_URL="$url"
export STORAGE_EMULATOR_HOST="${STORAGE_EMULATOR_HOST_OVERRIDE:-127.0.0.1:$port}"
timeout "${FAKE_GCS_TIMEOUT:-180}" "$@"
