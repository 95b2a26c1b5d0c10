#!/usr/bin/env bash
# Starts fake_google_api.py --service bigquery on a free loopback port (rows with event_id
# "bad" refused), runs the command with BIGQUERY_TEST_ENDPOINT and BIGQUERY_TEST_ROWS set,
# fails if any request did not conform to bigquery.v2.json, and stops the fake whatever
# happens. Usage: with_fake_bigquery.sh DISCOVERY_DIR command [args...]
set -euo pipefail
discovery=$1
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
timeout 300 python3 "$here/fake_google_api.py" --discovery "$discovery" --port-file "$work/port" \
  --service bigquery --log "$work/log" --bigquery-rows "$work/rows" --bigquery-reject-field event_id=bad \
  >"$work/fake.out" 2>&1 &
pid=$!
trap 'rc=$?; kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$work"; exit $rc' EXIT
for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.1; done
[[ -s $work/port ]] || { echo "the fake did not start"; cat "$work/fake.out"; exit 1; }
touch "$work/rows"
export BIGQUERY_TEST_ENDPOINT="http://127.0.0.1:$(cat "$work/port")"
export BIGQUERY_TEST_ROWS="$work/rows"
timeout 240 "$@"
if grep -q '"violations"' "$work/log"; then
  echo "requests that do not conform to bigquery.v2.json:"; grep '"violations"' "$work/log" | head -5; exit 1
fi
