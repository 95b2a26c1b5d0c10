#!/usr/bin/env bash
# A destination outage in the streaming ETL: file_etl --input=pubsub:... into PostgreSQL
# (pubsub_peer, i.e. pstest, started here; the server by with_postgres.sh). After the first
# 100 messages are committed the server is stopped while 100 more are published: the writers'
# connections are lost and reconnect with backoff (the sink's own, for up to its reconnect
# budget; past it the bundle fails and the runner retries it in place), nothing is acked (a
# message acked without its rows would be missing at the end); 4 s later the server is
# started again, the run goes on, and every message's row is in PostgreSQL exactly once.
# Run under with_postgres.sh. Usage: stream_outage_postgres.sh PUBSUB_PEER FILE_ETL PUBLISH_LINES
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/start_peer.sh"
peer=$1 file_etl=$2 publish=$3
enter_workdir
psql() { "$BEAM_PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
die() { echo "stream_outage_postgres: FAIL: $*" >&2; cat etl.err >&2 || true; exit 1; }

start_peer "$peer" outage
topic=projects/beam-c-test/topics/outage sub=projects/beam-c-test/subscriptions/outage-sub

cat >spec.json <<'JSON'
{"format": "jsonl", "schema": [{"name": "event_id", "type": "STRING", "mode": "REQUIRED"}, {"name": "amount", "type": "FLOAT64"}],
 "route": {"table": "events"}}
JSON
for part in 1 2; do
  for i in $(seq 0 99); do echo "{\"event_id\": \"p$part-$i\", \"amount\": $i}"; done >"part$part.txt"
done
committed() { psql -c "SELECT coalesce(sum(messages), 0) FROM _stream_bundles" 2>/dev/null || echo 0; }

"$publish" "$topic" part1.txt
"$file_etl" --spec=spec.json --input="pubsub:$sub" --sink="postgres:$BEAM_PG_CONNINFO" --parallelism=2 \
  --bundle_max_records=10 --bundle_max_ms=100 --max_idle_s=10 >etl.out 2>etl.err &
etl_pid=$!
n=0
for _ in $(seq 600); do n=$(committed); ((n >= 100)) && break; sleep 0.1; done
((n >= 100)) || die "$n of the first 100 messages committed"
eval "$BEAM_PG_STOP"
"$publish" "$topic" part2.txt
sleep 4
kill -0 "$etl_pid" 2>/dev/null || die "the run ended while the server was down"
eval "$BEAM_PG_START"
rc=0
wait "$etl_pid" || rc=$?
etl_pid=
cat etl.out
[[ $rc -eq 0 ]] || die "the run through the outage exited $rc"
read -r rows distinct messages < <(psql -F ' ' -c \
  "SELECT (SELECT count(*) FROM events), (SELECT count(DISTINCT event_id) FROM events), (SELECT sum(messages) FROM _stream_bundles)")
[[ $rows == 200 && $distinct == 200 && $messages == 200 ]] ||
  die "PostgreSQL holds $rows rows ($distinct distinct), _stream_bundles $messages messages; want 200 each"
echo "stream_outage_postgres: ok (200 rows, each once)"
