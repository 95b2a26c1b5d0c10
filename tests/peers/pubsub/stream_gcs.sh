#!/usr/bin/env bash
# A stream into GCS exactly once (fake-gcs-server and pstest, both on loopback): file_etl reads
# a subscription into gcs:gs://beam-test/land and a second destination, SQLite, that another
# process holds locked, so the GCS bundles commit and nothing is acked; kill -9; the lock
# released, the same command again: the messages come back, the GCS destination finds the
# ones it committed in its message ledger (its bundle markers, read back through the GCS
# listing) and writes the rest, so every message's row is in GCS exactly once (counting the
# parts of committed bundles only, as a reader must) and in SQLite once.
# Run under tests/gcp/with_fake_gcs.sh (FAKE_GCS_URL, STORAGE_EMULATOR_HOST).
# Usage: stream_gcs.sh PUBSUB_PEER FILE_ETL PUBLISH_LINES
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/start_peer.sh"
peer=$1 file_etl=$2 publish=$3
enter_workdir
start_peer "$peer" land
topic=projects/beam-c-test/topics/land sub=projects/beam-c-test/subscriptions/land-sub
cat >spec.json <<'EOF'
{"format": "auto",
 "schema": [{"name": "event_id", "type": "STRING", "mode": "REQUIRED"}, {"name": "event_type", "type": "STRING"}],
 "route": {"table": "events_{event_type}", "default": "events_other"}}
EOF
python3 -c "
for i in range(12): print('{\"event_id\": \"w%d\", \"event_type\": \"%s\"}' % (i, 'ab'[i % 2]))" >warm.txt
python3 -c "
for i in range(300): print('{\"event_id\": \"m%d\", \"event_type\": \"%s\"}' % (i, 'ab'[i % 2]))" >msgs.txt
sinks=(--sink=gcs:gs://beam-test/land --sink=sqlite:b.db)
"$publish" "$topic" warm.txt # every table exists in b.db after this run: the lock only stops commits
timeout 120 "$file_etl" --spec=spec.json --input="pubsub:$sub" "${sinks[@]}" --max_idle_s=1 --quiet >/dev/null
"$publish" "$topic" msgs.txt
hold_sqlite_lock b.db
markers() { # committed stream bundles in GCS
  curl -fsS "$FAKE_GCS_URL/storage/v1/b/beam-test/o?prefix=land/.bundles/s&maxResults=1000" |
    python3 -c "import json, sys; print(sum(o['name'].endswith('.committed') for o in json.load(sys.stdin).get('items', [])))"
}
before=$(markers)
"$file_etl" --spec=spec.json --input="pubsub:$sub" "${sinks[@]}" --parallelism=1 --bundle_max_records=40 \
  --bundle_max_ms=100 >run1.out 2>run1.err &
etl_pid=$!
for _ in $(seq 300); do (($(markers) > before)) && break; sleep 0.1; done
(($(markers) > before)) || { echo "FAIL: no bundle committed to GCS while SQLite was locked"; cat run1.err; exit 1; }
kill -9 "$etl_pid"; wait "$etl_pid" 2>/dev/null || true; etl_pid=
kill -9 "$lock_pid"; wait "$lock_pid" 2>/dev/null || true; lock_pid=
echo "killed after $(($(markers) - before)) GCS bundles of the 300 messages committed"
# Nothing was acked: the messages come back once their ack deadline (10 s) passes.
timeout 120 "$file_etl" --spec=spec.json --input="pubsub:$sub" "${sinks[@]}" --max_idle_s=15 | tee run2.out
grep -q "messages committed before" run2.out || { echo "FAIL: GCS's ledger found no redelivered message"; exit 1; }
python3 - <<'PY'
import json, os, re, sqlite3, urllib.parse, urllib.request
base = os.environ["FAKE_GCS_URL"] + "/storage/v1/b/beam-test/o"
names, token = [], None
while True:
    q = {"prefix": "land/", "maxResults": "1000"}
    if token: q["pageToken"] = token
    page = json.load(urllib.request.urlopen(base + "?" + urllib.parse.urlencode(q)))
    names += [o["name"] for o in page.get("items", [])]
    token = page.get("nextPageToken")
    if not token: break
committed = {n[len("land/.bundles/"):-len(".committed")] for n in names if n.endswith(".committed")}
got = {}
for n in names:
    m = re.match(r"land/(events_\w+)/\d{4}/\d\d/\d\d/\d\d/part-(s?[0-9a-f]+)(-ingest)?\.jsonl$", n)
    if not m or m.group(2) not in committed: continue
    body = urllib.request.urlopen(base + "/" + urllib.parse.quote(n, safe="") + "?alt=media").read().decode()
    for line in body.splitlines():
        eid = json.loads(line)["event_id"]
        assert eid not in got, f"{eid} twice in GCS ({got[eid]}, {n})"
        got[eid] = n
want = {f"w{i}" for i in range(12)} | {f"m{i}" for i in range(300)}
assert set(got) == want, f"GCS rows differ: missing {sorted(want - set(got))[:5]}, extra {sorted(set(got) - want)[:5]}"
con = sqlite3.connect("b.db")
rows = [r for t in ("events_a", "events_b") for (r,) in con.execute(f"SELECT event_id FROM {t}")]
assert sorted(rows) == sorted(want), f"SQLite: {len(rows)} rows, {len(set(rows))} distinct, want {len(want)}"
print(f"gcs: {len(got)} rows once in committed bundles; sqlite: {len(rows)}: ok")
PY
echo "stream_gcs: ok"
