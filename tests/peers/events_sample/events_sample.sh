#!/usr/bin/env bash
# The events sample (pipelines/file_etl/samples/events: orders, inventory and user activity,
# each table with its own schema, partitioning and clustering) in ONE file_etl run into the
# three destinations the README shows, against fake-gcs-server, the discovery-checked
# BigQuery fake and the pstest emulator together (run under tests/gcp/with_fake_gcs.sh with
# GCS_TEST_BUCKETS=my-lake):
#  1. GCS holds every table as JSON under table/yyyy/mm/dd/hh/ by each table's own partition
#     field (orders by order_date, the others by timestamp), rows equal to a jsonl run, and
#     _dead_letter naming table and field; BigQuery created each event table with its own
#     schema, DAY partitioning and clustering, and _files, with rows equal to a SQLite run
#     of the same selection; the Pub/Sub subscription (created before the run) received
#     exactly the profile_update events.
#  2. The same command again: no GCS object written or replaced, no BigQuery row stored
#     (the same insertIds sent), the same events published under the same beam_c_row_ids.
#  3. With the Pub/Sub emulator down the run fails (exit 1) naming that destination; the
#     same command once it is up publishes the events once, GCS and BigQuery not doubled.
# Usage: events_sample.sh FILE_ETL SOURCE_DIR PUBSUB_PEER DISCOVERY_DIR
set -euo pipefail
etl=$1 src=$2 peer=$3 discovery=$4
: "${FAKE_GCS_URL:?run under tests/gcp/with_fake_gcs.sh}"
samples=$src/pipelines/file_etl/samples/events
here=$(cd "$(dirname "$0")" && pwd)
check() { python3 "$here/check_events_sample.py" "$@"; }
work=$(mktemp -d)
bq_pid= peer_pid=
stop_peer() { # closes the peer's stdin: it pulls its subscription dry into $work/received.jsonl
  exec 3>&-
  wait "$peer_pid" || { echo "pubsub_peer failed:"; cat "$work/peer.err"; exit 1; }
  peer_pid=
}
cleanup() {
  rc=$?
  exec 3>&- 2>/dev/null || true
  for p in $bq_pid $peer_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
fail() { echo "events_sample: FAIL: $*"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_peer() { # start_peer PORT: topic profile-updates with subscription profile-updates-sub
  rm -f "$work/peer_stdin" "$work/peer.out" "$work/received.jsonl"
  mkfifo "$work/peer_stdin"
  "$peer" -port "$1" -project my-project -topic profile-updates -timeout 300s -out "$work/received.jsonl" \
    -stats "$work/stats.json" <"$work/peer_stdin" >"$work/peer.out" 2>"$work/peer.err" &
  peer_pid=$!
  exec 3>"$work/peer_stdin"
  for _ in $(seq 100); do
    grep -q '^PORT=' "$work/peer.out" 2>/dev/null && return
    kill -0 "$peer_pid" 2>/dev/null || { echo "pubsub_peer exited:"; cat "$work/peer.err"; exit 1; }
    sleep 0.1
  done
  fail "pubsub_peer did not start"
}

# The README's command: one run, three destinations (the emulators come from the environment).
run_sample() { # run_sample GCS_PREFIX DATASET (its summary in $work/run.out)
  timeout 120 "$etl" --input="$samples/landing" --spec="$samples/spec.json" --quiet \
    --sink="gcs:gs://my-lake/$1" \
    --sink="bigquery:my-project.$2?tables=events_order,events_inventory,events_user_activity,_files" \
    --sink="pubsub:projects/my-project/topics/profile-updates?tables=events_user_activity&where=activity_type%20%3D%3D%20'profile_update'" >"$work/run.out"
}
run_ok() { run_sample "$@" || { cat "$work/run.out"; fail "file_etl failed"; }; }
check_gcs() { # check_gcs PREFIX: rows equal to the jsonl run, each table under its own field's hour
  python3 "$src/tests/gcp/check_object_rows.py" "$work/expected" --gcs "$FAKE_GCS_URL" my-lake "$1" \
    --partition-field events_order=order_date --partition-field events_inventory=timestamp \
    --partition-field events_user_activity=timestamp
}
bq_rows() { # bq_rows DATASET: how many rows the fake stored there
  python3 -c 'import json,sys; print(sum(json.loads(l)["dataset"] == sys.argv[2] for l in open(sys.argv[1])))' "$work/bq_rows" "$1"
}

echo "== references: the sample into JSON lines, and into SQLite with BigQuery's selection"
timeout 120 "$etl" --input="$samples/landing" --spec="$samples/spec.json" --quiet --sink="jsonl:$work/expected"
timeout 120 "$etl" --input="$samples/landing" --spec="$samples/spec.json" --quiet \
  --sink="sqlite:$work/expected.db?tables=events_order,events_inventory,events_user_activity,_files"

timeout 280 python3 "$src/tests/peers/google_api/fake_google_api.py" --discovery "$discovery" --port-file "$work/bq_port" \
  --service bigquery --log "$work/bq.log" --bigquery-rows "$work/bq_rows" >"$work/bq.out" 2>&1 &
bq_pid=$!
for _ in $(seq 100); do [[ -s $work/bq_port ]] && break; sleep 0.1; done
[[ -s $work/bq_port ]] || { cat "$work/bq.out"; fail "the BigQuery fake did not start"; }
touch "$work/bq_rows"
export BIGQUERY_EMULATOR_HOST="127.0.0.1:$(cat "$work/bq_port")"
port=$(free_port)
export PUBSUB_EMULATOR_HOST="127.0.0.1:$port"
start_peer "$port"

echo "== 1. one run: GCS landing + BigQuery + Pub/Sub"
run_ok landing events
cat "$work/run.out"
check_gcs landing
want_folders="events_inventory/2026/11/30/08 events_inventory/2026/11/30/09 events_inventory/2026/11/30/14
events_order/2026/11/29/00 events_order/2026/11/30/00 events_order/2026/12/01/00
events_user_activity/2026/11/30/09 events_user_activity/2026/11/30/10 events_user_activity/2026/11/30/11"
got_folders=$(check gcs-objects "$FAKE_GCS_URL" my-lake landing | sed -n 's#^landing/\(events_[a-z_]*/[0-9/]*\)/part-.*#\1#p' | sort -u)
[[ $got_folders == "$(tr ' ' '\n' <<<"$want_folders")" ]] || fail "GCS hour folders: $got_folders"
echo "ok   gcs hour folders: $(wc -l <<<"$got_folders") (orders by order_date at hour 00, the others by timestamp)"
check dead-letters "$FAKE_GCS_URL" my-lake landing
check bigquery-tables "$work/bq.log" events "$samples/spec.json"
python3 "$src/tests/peers/google_api/check_bigquery_rows.py" "$work/bq_rows" "$work/expected.db" --dataset events

echo "== 2. the same command again writes nothing new"
check gcs-objects "$FAKE_GCS_URL" my-lake landing >"$work/objects.before"
rows_before=$(bq_rows events)
log_lines=$(wc -l <"$work/bq.log")
check insert-ids "$work/bq.log" 0 >"$work/ids.first"
run_ok landing events
check gcs-objects "$FAKE_GCS_URL" my-lake landing >"$work/objects.after"
diff "$work/objects.before" "$work/objects.after" || fail "the rerun wrote or replaced GCS objects"
echo "ok   gcs: the same $(wc -l <"$work/objects.after") objects, no generation changed"
[[ $(bq_rows events) == "$rows_before" ]] || fail "the rerun stored rows in BigQuery: $(bq_rows events), was $rows_before"
check insert-ids "$work/bq.log" "$log_lines" >"$work/ids.rerun"
diff "$work/ids.first" "$work/ids.rerun" || fail "the rerun sent other insertIds"
echo "ok   bigquery: still $rows_before rows; the rerun sent the same $(wc -l <"$work/ids.rerun") insertIds"
stop_peer
check pubsub "$work/received.jsonl" "$work/expected" profile-updates-sub 2

echo "== 3. Pub/Sub down: the run fails naming it; the same command once it is up completes it"
port=$(free_port)
export PUBSUB_EMULATOR_HOST="127.0.0.1:$port"
rc=0
run_sample landing-b events_b 2>"$work/down.err" || rc=$?
[[ $rc == 1 ]] || { cat "$work/down.err"; fail "with Pub/Sub down: exit $rc, want 1"; }
grep -q "destination 3 (pubsub:projects/my-project/topics/profile-updates)" "$work/down.err" ||
  { cat "$work/down.err"; fail "the error does not name the Pub/Sub destination"; }
echo "ok   exit 1: $(cut -c1-160 "$work/down.err")"
check gcs-objects "$FAKE_GCS_URL" my-lake landing-b >"$work/objects.down"
start_peer "$port"
run_ok landing-b events_b
stop_peer
check pubsub "$work/received.jsonl" "$work/expected" profile-updates-sub 1
check_gcs landing-b
check gcs-objects "$FAKE_GCS_URL" my-lake landing-b >"$work/objects.up"
[[ -z $(comm -23 "$work/objects.down" "$work/objects.up") ]] || fail "objects of the failed run were replaced"
echo "ok   gcs: the $(wc -l <"$work/objects.down") objects of the failed run kept, $(($(wc -l <"$work/objects.up") - $(wc -l <"$work/objects.down"))) added"
check bigquery-tables "$work/bq.log" events_b "$samples/spec.json" >/dev/null
python3 "$src/tests/peers/google_api/check_bigquery_rows.py" "$work/bq_rows" "$work/expected.db" --dataset events_b
kill "$bq_pid"; wait "$bq_pid" 2>/dev/null || true; bq_pid=
if grep -q '"violations"' "$work/bq.log"; then
  grep '"violations"' "$work/bq.log" | head -5; fail "requests that do not conform to bigquery.v2.json"
fi
echo "events_sample: all ok"
