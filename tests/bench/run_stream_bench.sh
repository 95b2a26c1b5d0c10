#!/usr/bin/env bash
# Streaming speed (issue 17, "Speed"): messages/s and publish-to-commit latency from the pstest
# emulator (tests/peers/pubsub/peer) into SQLite and JSON lines, file_etl
# --input=pubsub:... --bundle_max_ms=500 side by side with the Apache Beam Python SDK's
# streaming DirectRunner (ReadFromPubSub, the same ETL in a DoFn: stream_bench_beam.py), in
# one run, on the same emulator, the same kind of subscription and the same messages.
#
#   tests/bench/run_stream_bench.sh FILE_ETL [--emulator pstest|pstest-stock|google] [--messages N]
#       [--python-messages M] [--rate R] [--python-rate RP] [--seconds S] [--parallelism P]
#       [--work-dir DIR] [--only beam-c|beam-python]
#
# FILE_ETL: a Release build's pipelines/file_etl. --emulator: pstest (default: pubsub_peer,
# the tests' emulator, on its -batch-streaming-pull port, where a StreamingPull response
# carries what pstest's Pull returns, up to 1000 messages; built from tests/peers/pubsub/peer
# with go if the installed one lacks the flag), pstest-stock (pstest's own StreamingPull: one
# message per stream per 10 ms tick), or google (Google's Pub/Sub emulator,
# cloud-pubsub-emulator of the google-cloud-cli-pubsub-emulator package; PUBSUB_EMULATOR_BIN
# overrides where; it hands a stream 100 messages about every 50 ms). Beam Python's
# DirectRunner reads with unary Pull (10 messages a call), the same on every endpoint.
# Two loads per consumer and destination:
#  - backlog: N messages (default 100000, 3000 on pstest-stock; M for Beam Python, default
#    3000) published before the consumer starts; messages/s = messages / (last commit -
#    consumer start), startup included (and, beside it, the rate between the first and the
#    last commit);
#  - steady: the consumer started and warmed (10 messages committed; file_etl with
#    --max_idle_s=30, as the publisher's start can take seconds on a busy machine), then R messages/s
#    (default 1000, 50 on pstest-stock; RP for Beam Python, default 40, 50 on
#    pstest-stock) for S seconds (default 20); messages/s from the first publish to the last commit
#    (the offered rate if the consumer keeps up); latency per message = its commit time minus the time
#    its Publish request was sent (the server's publish time lies between that and the
#    response): p50, p99, max.
# Commit time: file_etl's ledger entry for the message (unit pubsub:<sub>#<message id>,
# committed_at, set in the bundle's commit: SQLite's transaction, the JSON-lines bundle log's
# line); Beam Python's DoFn takes it just before its bundle's commit. No fsync on either side
# (--no_sync; the disk is not what is measured). Peak RSS and CPU s (user+sys) from
# /usr/bin/time. Beam Python (apache-beam[gcp] at tests/peer_versions.env's version, for
# google-cloud-pubsub) is installed from PyPI into .peers/beam-gcp-venv if it is not there.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ETL=$(realpath "${1:?usage: run_stream_bench.sh FILE_ETL [options]}"); shift
EMU=pstest N= M=3000 RATE= PYRATE= SECS=20 PAR=$(nproc) WORK=/tmp/beam-stream-bench ONLY="beam-c beam-python"
while [ $# -gt 0 ]; do
  case "$1" in
    --emulator) EMU=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --messages) N=$2; shift 2 ;;
    --python-messages) M=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --python-rate) PYRATE=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --parallelism) PAR=$2; shift 2 ;;
    --work-dir) WORK=$2; shift 2 ;;
    *) echo "run_stream_bench: unknown option $1" >&2; exit 2 ;;
  esac
done
case $EMU in
  pstest) : "${N:=100000}" "${RATE:=1000}" "${PYRATE:=40}" ;;
  pstest-stock) : "${N:=3000}" "${RATE:=50}" "${PYRATE:=50}" ;;
  google) : "${N:=100000}" "${RATE:=1000}" "${PYRATE:=40}" ;;
  *) echo "run_stream_bench: --emulator pstest|pstest-stock|google" >&2; exit 2 ;;
esac
export PYTHONWARNINGS=ignore
source "$REPO/tests/peer_versions.env"
VENV="$REPO/.peers/beam-gcp-venv"
if ! "$VENV/bin/python" -c "import apache_beam, google.cloud.pubsub, sys; sys.exit(apache_beam.__version__ != '$APACHE_BEAM_VERSION')" 2>/dev/null; then
  echo "run_stream_bench: pip install apache-beam[gcp]==$APACHE_BEAM_VERSION ($VENV)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "apache-beam[gcp]==$APACHE_BEAM_VERSION"
fi
PY="$VENV/bin/python"
PEER=${PUBSUB_PEER:-$REPO/.peers/bin/pubsub_peer}
if [ "$EMU" = pstest ] && ! "$PEER" -h 2>&1 | grep -q batch-streaming-pull; then
  PEER="${TMPDIR:-/tmp}/beam-stream-bench-peer/pubsub_peer"
  echo "run_stream_bench: go build tests/peers/pubsub/peer -> $PEER (for -batch-streaming-pull)" >&2
  (cd "$REPO/tests/peers/pubsub/peer" && GOSUMDB=off GOFLAGS=-mod=mod go build -o "$PEER" .)
fi
GOOGLE_EMU=${PUBSUB_EMULATOR_BIN:-/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator}
[ "$EMU" = google ] || [ -x "$PEER" ] || { echo "run_stream_bench: no $PEER: scripts/install-deps.sh --with-go-peers" >&2; exit 2; }
[ "$EMU" != google ] || [ -x "$GOOGLE_EMU" ] ||
  { echo "run_stream_bench: no $GOOGLE_EMU: apt-get install google-cloud-cli-pubsub-emulator" >&2; exit 2; }

rm -rf "$WORK"; mkdir -p "$WORK"; cd "$WORK"
peer_pid= consumer_pid=
cleanup() {
  for p in $consumer_pid $peer_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
project=projects/beam-c-test
topics=()
for who in c py; do for kind in sqlite jsonl; do for load in backlog steady; do topics+=("${who}_${kind}_$load"); done; done; done
if [ "$EMU" != google ]; then
  batch=(); [ "$EMU" = pstest ] && batch=(-batch-streaming-pull)
  "$PEER" "${batch[@]}" -topic "$(IFS=,; echo "${topics[*]}")" -timeout 3600s </dev/zero >peer.out 2>peer.err &
  peer_pid=$!
  for _ in $(seq 100); do grep -q '^PORT=' peer.out 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/^PORT=//p' peer.out)
  [ "$EMU" = pstest ] && port=$(sed -n 's/^BATCH_PORT=//p' peer.out)
else
  port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$GOOGLE_EMU" --host=127.0.0.1 --port="$port" >peer.out 2>&1 &
  peer_pid=$!
  for _ in $(seq 300); do grep -q 'Server started' peer.out 2>/dev/null && break; sleep 0.1; done
fi
[ -n "$port" ] || { cat peer.out peer.err >&2; echo "run_stream_bench: the emulator did not start" >&2; exit 1; }
export PUBSUB_EMULATOR_HOST="127.0.0.1:$port"
[ "$EMU" != google ] || "$PY" "$HERE/stream_bench_publish.py" --create "${topics[@]/#/$project/topics/}"
cat >spec.json <<'JSON'
{
  "format": "jsonl",
  "schema": [
    {"name": "event_id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "event_type", "type": "STRING"},
    {"name": "amount", "type": "FLOAT64"},
    {"name": "ts", "type": "TIMESTAMP", "mode": "REQUIRED"}
  ],
  "clean": {"trim": true, "lowercase": ["event_type"]},
  "filter": "amount >= 0",
  "route": {"table": "events_{event_type}", "default": "events_other"}
}
JSON

publish() { "$PY" "$HERE/stream_bench_publish.py" "$project/topics/$1" "$2" "$3" "${@:4}" 2>>publish.log; }
committed() { "$PY" "$HERE/stream_bench_report.py" count "$1" "$2" "$project/subscriptions/$3-sub" "$4"; }
now_ns() { date +%s%N; }

# start_consumer WHO DEST TOPIC MAX_IDLE: in the background under /usr/bin/time (consumer_pid).
start_consumer() {
  local sub="$project/subscriptions/$3-sub"
  if [ "$1" = beam-c ]; then
    /usr/bin/time -f '%e %U %S %M' -o "$3.time" "$ETL" --input="pubsub:$sub" --spec=spec.json --sink="$2" \
      --bundle_max_ms=500 --max_idle_s="$4" --parallelism="$PAR" --no_sync --quiet >"$3.log" 2>&1 &
  else
    /usr/bin/time -f '%e %U %S %M' -o "$3.time" "$PY" "$HERE/stream_bench_beam.py" "$sub" "$2" >"$3.log" 2>&1 &
  fi
  consumer_pid=$!
}
# wait_committed WHO DEST TOPIC PUBLISHED COUNT: until COUNT of PUBLISHED are committed (the
# consumer still running; 30 minutes at most).
wait_committed() {
  local deadline=$((SECONDS + 1800))
  until [ "$(committed "$1" "$2" "$3" "$4")" -ge "$5" ]; do
    kill -0 "$consumer_pid" 2>/dev/null || { cat "$3.log" >&2; echo "run_stream_bench: $1 on $3 ended early" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "run_stream_bench: $1 on $3: not all committed in 30 min" >&2; exit 1; }
    sleep 1
  done
}
# finish_consumer WHO DEST TOPIC PUBLISHED COUNT: file_etl stops by itself (--max_idle_s) and
# is waited for (no polling to take CPU from it); Beam Python runs until stopped: polled once a
# second until all are committed, then SIGTERM. Either way all COUNT must be committed.
finish_consumer() {
  if [ "$1" = beam-python ]; then
    wait_committed "$@"
    local child; child=$(pgrep -P "$consumer_pid" || true)
    [ -n "$child" ] && kill "$child"
    wait "$consumer_pid" || true
  else
    wait "$consumer_pid" || { cat "$3.log" >&2; echo "run_stream_bench: file_etl on $3 failed" >&2; exit 1; }
  fi
  consumer_pid=
  local got; got=$(committed "$1" "$2" "$3" "$4")
  [ "$got" -ge "$5" ] || { cat "$3.log" >&2; echo "run_stream_bench: $1 on $3: $got of $5 committed" >&2; exit 1; }
}

results=()
# row WHO KIND LOAD TOPIC START_NS: one table row from the report and /usr/bin/time.
row() {
  local who=$1 kind=$2 load=$3 topic=$4 start=$5 dest=$6
  local r; r=$("$PY" "$HERE/stream_bench_report.py" report "$who" "$dest" "$project/subscriptions/$topic-sub" "$topic.ids" "$start")
  local t; t=$(tail -1 "$topic.time")
  read -r wall user sys rss <<<"$t"
  "$PY" - "$who" "$kind" "$load" "$r" "$user" "$sys" "$rss" <<'PYEOF'
import json, sys
who, kind, load, r, user, sys_s, rss = sys.argv[1:8]
r = json.loads(r)
cpu = float(user) + float(sys_s)
print(f"| {who} | {kind} | {load} | {r['committed']}/{r['published']} | {r['rate']:.0f} | {r['rate_after_first_commit']:.0f} "
      f"| {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | {r['max_ms']:.0f} | {cpu:.1f} | {r['committed'] / cpu:.0f} | {int(rss) // 1024} |")
PYEOF
}

echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo "emulator: $EMU; file_etl --parallelism=$PAR --bundle_max_ms=500 --no_sync; Beam Python $APACHE_BEAM_VERSION DirectRunner streaming=True"
echo "backlog: $N messages (Beam Python $M); steady: $RATE/s (Beam Python $PYRATE/s) for $SECS s"
echo
echo "| consumer | destination | load | committed | msg/s | msg/s after 1st commit | p50 ms | p99 ms | max ms | CPU s | msg per CPU s | peak RSS MB |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for who in $ONLY; do
  w=c n=$N rate=$RATE; [ "$who" = beam-python ] && w=py n=$M rate=$PYRATE
  for kind in sqlite jsonl; do
    dest="sqlite:$WORK/${w}_$kind.db"; [ "$kind" = jsonl ] && dest="jsonl:$WORK/${w}_jsonl_out"
    topic=${w}_${kind}_backlog
    publish "$topic" "$n" "$topic.ids"
    start=$(now_ns)
    start_consumer "$who" "$dest" "$topic" 2
    finish_consumer "$who" "$dest" "$topic" "$topic.ids" "$n"
    row "$who" "$kind" backlog "$topic" "$start" "$dest"
    topic=${w}_${kind}_steady
    start_consumer "$who" "$dest" "$topic" 30
    publish "$topic" 10 "$topic.warm"
    wait_committed "$who" "$dest" "$topic" "$topic.warm" 10
    start=first-publish
    publish "$topic" "$((rate * SECS))" "$topic.ids" --rate "$rate"
    finish_consumer "$who" "$dest" "$topic" "$topic.ids" "$((rate * SECS))"
    row "$who" "$kind" "steady $rate/s" "$topic" "$start" "$dest"
  done
done
