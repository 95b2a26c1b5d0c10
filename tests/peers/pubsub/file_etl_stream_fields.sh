#!/usr/bin/env bash
# file_etl --input=pubsub:... with message fields, bad messages and event times, against
# pubsub_peer (pstest on loopback, started here).
#  1. fields: a spec whose event_type is the message's attribute, whose `published` column is
#     its publish time, whose filter reads attribute env and whose event_time_field is ts, into
#     SQLite and a file: object destination. Good messages (JSON and CSV, the CSV columns being
#     the data fields only) land in their tables and in the hour folder of their ts; a filtered
#     one is counted; a message without the attribute the route needs, one without ts, one not
#     UTF-8 and an empty one are dead-lettered once each with the reason; all acked (a second
#     run gets nothing).
#  2. publish time: the same without event_time_field: rows in the hour folder of their
#     publish time (the `published` column says which).
#  3. a file input with the spec: exit 2 naming the key that uses a message field.
# Usage: file_etl_stream_fields.sh PUBSUB_PEER FILE_ETL PUBLISH_LINES
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/start_peer.sh"
peer=$1 file_etl=$2 publish=$3
enter_workdir

start_peer "$peer" fields,pubtime
project=projects/beam-c-test

cat >spec.json <<'EOF'
{
  "format": "auto",
  "schema": [
    {"name": "event_id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "event_type", "type": "STRING", "source": "_attributes.event_type"},
    {"name": "amount", "type": "FLOAT64"},
    {"name": "ts", "type": "TIMESTAMP"},
    {"name": "published", "type": "TIMESTAMP", "source": "_publish_time"}
  ],
  "clean": {"lowercase": ["event_type"]},
  "filter": "_attributes.env != 'test'",
  "route": {"table": "events_{event_type}"},
  "event_time_field": "ts"
}
EOF
python3 -c "
import json; s = json.load(open('spec.json')); del s['event_time_field']; json.dump(s, open('pubtime.json', 'w'))"

# ATTRIBUTES<TAB>DATA lines (publish_lines -a); e6 is not UTF-8, e7 empty.
printf '%s\t%s\n' \
  'event_type=Order;env=prod' '{"event_id": "e1", "event_type": "ignored", "amount": 1, "ts": "2026-11-01T05:30:00Z"}' \
  'event_type=click;env=prod' 'e2,2.5,2026-11-01T06:10:00Z' \
  'event_type=order;env=test' '{"event_id": "e3", "amount": 1, "ts": "2026-11-01T05:00:00Z"}' \
  'env=prod' '{"event_id": "e4", "amount": 1, "ts": "2026-11-01T05:00:00Z"}' \
  'event_type=order;env=prod' '{"event_id": "e5", "amount": 1}' \
  'event_type=order;env=prod' $'{"event_id": "e6\xff"}' \
  'event_type=order;env=prod' '' >fields.txt

echo "== 1. fields: attributes, publish time, bad messages, event_time_field hour folders"
"$publish" -a "$project/topics/fields" fields.txt
sub=$project/subscriptions/fields-sub
timeout 120 "$file_etl" --spec=spec.json --input="pubsub:$sub" --sink=sqlite:fields.db --sink=file:objects \
  --max_idle_s=2 --bundle_max_ms=200 --quiet
python3 - fields.db objects "$sub" <<'PY'
import glob, sqlite3, sys
db, objects, sub = sys.argv[1:]
con = sqlite3.connect(db)
rows = {r[0]: r for r in con.execute("SELECT event_id, event_type, amount, ts, published FROM events_order UNION ALL "
                                      "SELECT event_id, event_type, amount, ts, published FROM events_click")}
assert sorted(rows) == ["e1", "e2"], f"rows {sorted(rows)}"
assert rows["e1"][1] == "order" and rows["e2"][1] == "click", rows   # the attribute, lowercased; not the data's
assert rows["e2"][2] == 2.5, rows["e2"]                               # CSV: event_id, amount, ts
for r in rows.values():
    assert r[4] and r[4][:4] >= "2026", f"published {r[4]!r}: not the publish time"
dead = {mid: (stage, err) for mid, stage, err in con.execute("SELECT message_id, stage, error FROM _dead_letter")}
assert len(dead) == 4, dead
reasons = sorted((stage, err) for stage, err in dead.values())
want = [("event_time", 'field "ts"'), ("parse", "no data"), ("parse", "not valid UTF-8 (byte 0xFF at offset 16)"),
        ("route", 'no attribute "event_type"')]
for (stage, err), (wstage, wtext) in zip(reasons, want):
    assert stage == wstage and wtext in err, f"dead letter {stage}: {err!r}, want {wstage}: {wtext!r}"
m, w, d, f = con.execute("SELECT sum(messages), sum(written), sum(dead_lettered), sum(filtered) FROM _stream_bundles").fetchone()
assert (m, w, d, f) == (7, 2, 4, 1), (m, w, d, f)
for table, hour in (("events_order", "2026/11/01/05"), ("events_click", "2026/11/01/06")):
    parts = glob.glob(f"{objects}/{table}/{hour}/part-*.jsonl")
    assert len(parts) == 1, f"{table}: {glob.glob(objects + '/' + table + '/**', recursive=True)}"
    assert "-ingest" not in parts[0], parts
print("fields: 2 rows in their event-time hours, 4 dead letters with reasons, 1 filtered: ok")
PY
echo "== 1b. again: everything was acked"
timeout 60 "$file_etl" --spec=spec.json --input="pubsub:$sub" --sink=sqlite:fields.db --max_idle_s=1 | tee again.out
grep -q "0 messages" again.out || { echo "FAIL: a second run got messages (not acked)"; exit 1; }

echo "== 2. publish time: rows in the hour folder of their publish time"
printf '%s\t%s\n' 'event_type=order;env=prod' '{"event_id": "p1", "amount": 1}' 'event_type=view;env=prod' 'p2,3,' >pubtime.txt
"$publish" -a "$project/topics/pubtime" pubtime.txt
timeout 120 "$file_etl" --spec=pubtime.json --input="pubsub:$project/subscriptions/pubtime-sub" \
  --sink=sqlite:pubtime.db --sink=file:pubobjects --max_idle_s=2 --quiet
python3 - pubtime.db pubobjects <<'PY'
import glob, sqlite3, sys
db, objects = sys.argv[1:]
con = sqlite3.connect(db)
for table, eid in (("events_order", "p1"), ("events_view", "p2")):
    (published,) = con.execute(f"SELECT published FROM {table} WHERE event_id = ?", (eid,)).fetchone()
    hour = published[:13].replace("-", "/").replace("T", "/")   # 2026-12-07T10 -> 2026/12/07/10
    parts = glob.glob(f"{objects}/{table}/{hour}/part-*.jsonl")
    assert len(parts) == 1 and "-ingest" not in parts[0], f"{table} published {published}: {glob.glob(objects + '/**', recursive=True)}"
print("publish time: rows in their publish hour: ok")
PY

echo "== 3. a file input with message fields: exit 2 naming the key"
echo '{"event_id": "x"}' >in.jsonl
rc=0
"$file_etl" --spec=spec.json --input=in.jsonl --sink=sqlite:x.db --quiet 2>bad.err || rc=$?
cat bad.err
[[ $rc -eq 2 ]] || { echo "FAIL: exit $rc, want 2"; exit 1; }
grep -q "spec.json: schema\[1\].source: _attributes.NAME and _publish_time are a Pub/Sub message's" bad.err ||
  { echo "FAIL: the error does not name schema[1].source"; exit 1; }
[[ ! -e x.db ]] || { echo "FAIL: the refused run created its destination"; exit 1; }
echo "file_etl_stream_fields: ok"
