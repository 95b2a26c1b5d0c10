#!/usr/bin/env bash
# file_etl --sink=pubsub:... against a real Pub/Sub emulator (pubsub_peer: pstest plus the
# service's request rules). One peer serves every case; it fails the first 3 Publish calls
# with UNAVAILABLE, so the first publishing run must retry (3 + 8 for the "down" topic are
# the injected failures the summary must show).
#  1. The sample to jsonl:DIR (the reference) and to topic "rows": each routed row arrives
#     exactly once, with its table attribute, its JSON equal to the jsonl sink's line.
#  2. A topic that does not exist: file_etl fails, naming the topic. A topic that answers
#     UNAVAILABLE forever: file_etl retries a bounded number of times, then fails.
#  3. A row too large for a message: dead-lettered with the reason, the other row published.
#  4. ?ordering_key=user_id to topic "keyed": keys set from the rows, one key per request,
#     a key's rows published in bundle order.
#  5. pubsub_sink_check (the sink API: a bundle retried on the same and on a new sink, an
#     aborted bundle, a row too large, TLS with a bearer token) to topic "sinkcheck".
#  6. With PRISM given: the same on a real runner (Prism, PROCESS workers) to topic
#     "onprism"; the workers reach the emulator through the inherited PUBSUB_EMULATOR_HOST.
# Usage: file_etl_pubsub.sh PUBSUB_PEER FILE_ETL PUBSUB_SINK_CHECK SAMPLES_DIR [PRISM]
set -euo pipefail
peer=$1 file_etl=$2 sink_check=$3 samples=$4 prism=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
peer_pid=
cleanup() {
  rc=$?
  exec 3>&- 2>/dev/null || true
  if [[ -n $peer_pid ]]; then kill "$peer_pid" 2>/dev/null || true; wait "$peer_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

mkfifo "$work/peer_stdin"
"$peer" -topic rows,keyed,onprism,sinkcheck,down,bigrow -down-topic down -fail-publish 3 -timeout 300s -tls-cert-out "$work/tls.pem" -out "$work/received.jsonl" -stats "$work/stats.json" \
  <"$work/peer_stdin" >"$work/peer.out" 2>"$work/peer.err" &
peer_pid=$!
exec 3>"$work/peer_stdin" # the peer dumps what it received when this closes
for _ in $(seq 100); do
  grep -q '^PORT=' "$work/peer.out" 2>/dev/null && break
  kill -0 "$peer_pid" 2>/dev/null || { echo "pubsub_peer exited:"; cat "$work/peer.err"; exit 1; }
  sleep 0.1
done
port=$(sed -n 's/^PORT=//p' "$work/peer.out")
tls_port=$(sed -n 's/^TLS_PORT=//p' "$work/peer.out")
[[ -n $port ]] || { echo "pubsub_peer printed no port"; cat "$work/peer.err"; exit 1; }
export PUBSUB_EMULATOR_HOST="127.0.0.1:$port"
topic=projects/beam-c-test/topics
run() { timeout 120 "$file_etl" --input="$samples/landing" --spec="$samples/spec.json" --quiet "$@"; }

echo "== reference: jsonl"
run --sink="jsonl:$work/reference" >/dev/null
echo "== pubsub: $topic/rows (the first 3 publish calls fail with UNAVAILABLE)"
run --sink="pubsub:$topic/rows" >"$work/rows.out"
cat "$work/rows.out"

echo "== pubsub: a missing topic fails loudly"
if run --sink="pubsub:$topic/missing" >"$work/missing.out" 2>"$work/missing.err"; then
  echo "FAIL: file_etl succeeded publishing to a topic that does not exist"; exit 1
fi
cat "$work/missing.err"
grep -q "$topic/missing" "$work/missing.err" || { echo "FAIL: the error does not name the topic"; exit 1; }
grep -q "does not exist" "$work/missing.err" || { echo "FAIL: the error does not say the topic is missing"; exit 1; }

echo "== pubsub: a topic that stays UNAVAILABLE: bounded retries, then a loud failure"
started=$SECONDS
if run --sink="pubsub:$topic/down" >"$work/down.out" 2>"$work/down.err"; then
  echo "FAIL: file_etl succeeded publishing to a topic that is down"; exit 1
fi
cat "$work/down.err"
grep -q "gave up after 8 attempts" "$work/down.err" || { echo "FAIL: the error does not say it gave up"; exit 1; }
echo "gave up after $((SECONDS - started)) s"

echo "== pubsub: a 6 MB row cannot be a message: it becomes a dead letter, the rest is published"
mkdir -p "$work/big"
python3 - "$work/big/big.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for event_id, country in (("ev-big", "x" * 6000000), ("ev-ok", "US")):
        f.write(json.dumps({"event_id": event_id, "event_type": "order", "user_id": "u1", "amount": 1.5,
                            "ts": "2026-11-01T00:00:00Z", "country": country}) + "\n")
PY
timeout 120 "$file_etl" --input="$work/big" --spec="$samples/spec.json" --sink="pubsub:$topic/bigrow" --quiet

echo "== pubsub: $topic/keyed?ordering_key=user_id"
run --sink="pubsub:$topic/keyed?ordering_key=user_id" >/dev/null

echo "== the sink API: retried and aborted bundles, a row too large, TLS with a token"
GRPC_DEFAULT_SSL_ROOTS_FILE_PATH="$work/tls.pem" timeout 120 "$sink_check" "$topic/sinkcheck" "localhost:$tls_port"

subs=(--plain rows-sub --keyed keyed-sub --sinkcheck sinkcheck-sub --bigrow bigrow-sub)
if [[ -n $prism ]]; then
  echo "== pubsub on Prism: $topic/onprism"
  bash "$here/../run_with_prism.sh" "$prism" sh -c "'$file_etl' --input='$samples/landing' --spec='$samples/spec.json' \
    --sink=pubsub:$topic/onprism --runner=portable --job_endpoint=\$PRISM_ENDPOINT --environment_type=PROCESS --quiet"
  subs+=(--plain onprism-sub)
fi

exec 3>&- # the peer pulls its subscriptions dry and exits
for _ in $(seq 300); do kill -0 "$peer_pid" 2>/dev/null || break; sleep 0.1; done
wait "$peer_pid" || { echo "pubsub_peer failed:"; cat "$work/peer.err"; exit 1; }
peer_pid=
python3 "$here/check_messages.py" --reference "$work/reference" --received "$work/received.jsonl" \
  --stats "$work/stats.json" --injected 11 "${subs[@]}"
