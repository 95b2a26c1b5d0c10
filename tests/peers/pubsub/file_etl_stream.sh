#!/usr/bin/env bash
# file_etl --input=pubsub:... (the streaming ETL on the local runner) against pubsub_peer
# (pstest on loopback, started here). Each case has its own topic and subscription "<topic>-sub".
#  1. basic: 240 messages (JSON objects, headerless CSV lines, and bad ones: truncated JSON, a
#     CSV line with too few fields, a bad type; some filtered) into SQLite with --max_idle_s=2:
#     every good message's row once, each bad one in _dead_letter with source = the
#     subscription and its message_id, _stream_bundles adding up (messages = written +
#     dead_lettered + filtered per row, 240 in all), one ledger entry per message. A second
#     run finds nothing and changes nothing. --summary_json has the stream's totals, matching
#     _stream_bundles, and the publish-to-commit latency.
#  2. crash: four destinations (SQLite, a file: directory of JSON objects, a JSON-lines
#     directory whose bundle log is compacted every few commits, SQLite), the last locked by
#     another process, so the first bundles commit to the first three and then wait; kill -9;
#     the lock released, the same command again: the messages come back (nothing was acked),
#     the first three destinations drop the ones they committed (their ledgers hold their ids:
#     "messages committed before"; file:'s is in its bundle markers), and all end with every
#     row exactly once.
#  3. drain: SIGTERM while messages stream in: exit 0; a later run gets the rest and none of
#     what the first committed (it was acked), every row exactly once. --progress=on draws the
#     stream's progress line (messages, rate, in flight, commit latency).
#  4. bad usage: a pubsub: input beside a file, a bad subscription name, dedupe_on, a
#     subscription that does not exist, one the caller may not read (the peer answers
#     PERMISSION_DENIED for "denied-sub"): exit 2 before anything runs, naming what is wrong.
# Usage: file_etl_stream.sh PUBSUB_PEER FILE_ETL PUBLISH_LINES
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/start_peer.sh"
peer=$1 file_etl=$2 publish=$3
enter_workdir

PUBSUB_PEER_ARGS="-deny-subscription denied-sub" start_peer "$peer" basic,crash,drain,denied
project=projects/beam-c-test

cat >spec.json <<'EOF'
{
  "format": "auto",
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
EOF

# messages.py PREFIX N OUT: N messages and, in OUT.expect, what each must become.
cat >messages.py <<'PY'
import json, sys
prefix, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(out, "w") as f, open(out + ".expect", "w") as e:
    for i in range(n):
        eid, kind = f"{prefix}{i}", ["Order", "click", "view"][i % 3]
        if i % 12 == 5: line, what = '{"event_id": "' + eid + '", "amount": ', "dead"        # truncated JSON
        elif i % 12 == 7: line, what = f"{eid},order", "dead"                                 # CSV, 2 of 4 fields
        elif i % 12 == 9: line, what = json.dumps({"event_id": eid, "amount": "abc", "ts": "2026-11-01T00:00:00Z"}), "dead"
        elif i % 12 == 11: line, what = json.dumps({"event_id": eid, "event_type": kind, "amount": -1, "ts": "2026-11-01T00:00:00Z"}), "filtered"
        elif i % 4 == 0: line, what = f"{eid},{kind},{i * 0.5},2026-11-01T00:00:00Z", "events_" + kind.lower()  # CSV
        else: line, what = json.dumps({"event_id": eid, "event_type": kind, "amount": i * 0.5, "ts": "2026-11-01T00:00:00Z"}), "events_" + kind.lower()
        f.write(line + "\n")
        e.write(f"{eid}\t{what}\t{line}\n")
PY

# check.py DB SUBSCRIPTION EXPECT...: every expected row exactly once, dead letters with their
# message ids, _stream_bundles adding up, one ledger entry per message.
cat >check.py <<'PY'
import sqlite3, sys
db, sub, expects = sys.argv[1], sys.argv[2], sys.argv[3:]
con = sqlite3.connect(db)
want_rows, want_dead, want_filtered, lines = {}, {}, 0, 0
for path in expects:
    for rec in open(path):
        eid, what, line = rec.rstrip("\n").split("\t", 2)
        lines += 1
        if what == "dead": want_dead[line] = want_dead.get(line, 0) + 1
        elif what == "filtered": want_filtered += 1
        else: want_rows[eid] = what
tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'events_%'")]
got = {}
for t in tables:
    for (eid,) in con.execute(f'SELECT event_id FROM "{t}"'):
        assert eid not in got, f"{eid} written twice ({got[eid]}, {t})"
        got[eid] = t
assert got == want_rows, f"rows differ: missing {sorted(set(want_rows) - set(got))[:5]}, extra {sorted(set(got) - set(want_rows))[:5]}, wrong table {[k for k in got if k in want_rows and got[k] != want_rows[k]][:5]}"
dead = con.execute("SELECT source, raw, stage, message_id, offset FROM _dead_letter").fetchall()
assert len(dead) == sum(want_dead.values()), f"{len(dead)} dead letters, want {sum(want_dead.values())}"
ids = set()
for source, raw, stage, mid, offset in dead:
    assert source == sub, f"dead letter source {source!r}, want {sub!r}"
    assert raw in want_dead, f"dead letter raw {raw!r} is none of the bad messages"
    assert stage == "parse", f"stage {stage!r}"
    assert mid and mid not in ids, f"message_id {mid!r} missing or repeated"
    assert offset is None, "a message's dead letter has no byte offset"
    ids.add(mid)
rows = con.execute("SELECT subscription, messages, written, dead_lettered, filtered, first_publish_time, "
                   "last_publish_time, committed_at FROM _stream_bundles").fetchall()
for s, m, w, d, f, first, last, at in rows:
    assert s == sub and m == w + d + f and m > 0, f"_stream_bundles row does not add up: {(s, m, w, d, f)}"
    assert first <= last and at, f"_stream_bundles times: {(first, last, at)}"
total = [sum(r[i] for r in rows) for i in range(1, 5)]
assert total == [lines, len(want_rows), sum(want_dead.values()), want_filtered], f"_stream_bundles sums {total}"
units = con.execute("SELECT count(*), count(DISTINCT unit) FROM _beam_ledger WHERE unit LIKE ?", (f"pubsub:{sub}@%#%",)).fetchone()
assert units == (lines, lines), f"ledger: {units}, want {lines} message units"
for (mid,) in con.execute("SELECT message_id FROM _dead_letter"):
    assert con.execute("SELECT 1 FROM _beam_ledger WHERE unit LIKE ?", (f"pubsub:{sub}@%#{mid}",)).fetchone(), mid
print(f"{db}: {len(got)} rows, {len(dead)} dead letters, {want_filtered} filtered, {len(rows)} bundles: ok")
PY

# stream_expect.py: what check_objects.py and check_jsonl.py share - the expected outcome of
# each message, and the checks of what a directory destination holds against it.
cat >stream_expect.py <<'PY'
def check(root, expects, rows, dead_ids, bundles):
    """rows: (table, event_id) of every data row; dead_ids: the dead letters' message ids;
    bundles: the _stream_bundles rows. Every expected row once, in its table."""
    want_rows, dead, filtered, lines = {}, 0, 0, 0
    for path in expects:
        for rec in open(path):
            eid, what, line = rec.rstrip("\n").split("\t", 2)
            lines += 1
            if what == "dead": dead += 1
            elif what == "filtered": filtered += 1
            else: want_rows[eid] = what
    got = {}
    for table, eid in rows:
        assert eid not in got, f"{eid} written twice ({got[eid]}, {table})"
        got[eid] = table
    assert got == want_rows, f"rows differ: missing {sorted(set(want_rows) - set(got))[:5]}, extra {sorted(set(got) - set(want_rows))[:5]}"
    assert len(dead_ids) == dead == len(set(dead_ids)), f"{len(dead_ids)} dead letters ({len(set(dead_ids))} ids), want {dead}"
    total = [sum(b[k] for b in bundles) for k in ("messages", "written", "dead_lettered", "filtered")]
    assert total == [lines, len(want_rows), dead, filtered], f"_stream_bundles sums {total}"
    return f"{root}: {len(got)} rows, {len(dead_ids)} dead letters, {len(bundles)} bundles"
PY

# check_objects.py DIR SUBSCRIPTION EXPECT...: the same as check.py for a file: directory -
# the rows of committed bundles (a reader takes a part once .bundles/H.committed is there).
cat >check_objects.py <<'PY'
import glob, json, os, re, sys
from stream_expect import check
root, sub, expects = sys.argv[1], sys.argv[2], sys.argv[3:]
committed = {os.path.basename(p)[:-len(".committed")] for p in glob.glob(f"{root}/.bundles/*.committed")}
rows, dead_ids, bundles = [], [], []
for path in glob.glob(f"{root}/*/*/*/*/*/part-*.jsonl"):
    table, h = path[len(root) + 1:].split("/")[0], re.match(r"part-(s?[0-9a-f]+)", os.path.basename(path)).group(1)
    assert h in committed, f"{path}: its bundle has no committed marker"
    for rec in map(json.loads, open(path)):
        if table == "_dead_letter": dead_ids.append(rec["message_id"])
        elif table == "_stream_bundles": bundles.append(rec)
        else: rows.append((table, rec["event_id"]))
summary = check(root, expects, rows, dead_ids, bundles)
assert not glob.glob(f"{root}/.bundles/*.pending"), "a pending marker was left"
print(summary + ": ok")
PY

# check_jsonl.py DIR SUBSCRIPTION EXPECT...: the same for a JSON-lines directory, whose bundle
# log the crash case has compacted (BEAM_JSONL_LOG_COMPACT_BYTES below) many times.
cat >check_jsonl.py <<'PY'
import glob, json, os, sys
from stream_expect import check
root, sub, expects = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = [(os.path.basename(p)[:-len(".jsonl")], rec["event_id"])
        for p in glob.glob(f"{root}/events_*.jsonl") for rec in map(json.loads, open(p))]
dead_ids = [r["message_id"] for r in map(json.loads, open(f"{root}/_dead_letter.jsonl"))]
bundles = list(map(json.loads, open(f"{root}/_stream_bundles.jsonl")))
summary = check(root, expects, rows, dead_ids, bundles)
first = json.loads(open(f"{root}/.bundles.jsonl").readline())
assert first.get("state") == "snapshot", f"the bundle log was never compacted: {first}"
print(summary + ", compacted log: ok")
PY

stream() { timeout 120 "$file_etl" --spec=spec.json --quiet "$@"; }

echo "== 1. basic: 240 messages into SQLite, --max_idle_s=2"
python3 messages.py b 240 basic.txt
"$publish" "$project/topics/basic" basic.txt
sub=$project/subscriptions/basic-sub
started=$SECONDS
timeout 120 "$file_etl" --spec=spec.json --input="pubsub:$sub" --sink=sqlite:basic.db --max_idle_s=2 \
  --bundle_max_records=50 --bundle_max_ms=200 --summary_json=basic.json | tee basic.out
python3 check.py basic.db "$sub" basic.txt.expect
grep -q "publish to commit *p50 <= " basic.out || { echo "FAIL: the summary shows no commit latency"; exit 1; }
python3 - basic.json basic.db "$sub" <<'PY'
import json, sqlite3, sys
r, con, sub = json.load(open(sys.argv[1])), sqlite3.connect(sys.argv[2]), sys.argv[3]
s, d = r["stream"], r["destinations"][0]
assert r["exit_status"] == 0 and s["input"] == "pubsub:" + sub and s["messages"] == 240, s
assert s["elapsed_seconds"] > 0 and s["messages_per_second"] > 0, s
m, w, dl, f, b = con.execute("SELECT sum(messages), sum(written), sum(dead_lettered), sum(filtered), count(*) FROM _stream_bundles").fetchone()
assert s["filtered"] == f, (s, f)
assert d["messages_committed"] == m == 240 and d["messages_committed_before"] == 0, d
assert sum(d["written"].values()) == w and d["dead_lettered"] == dl and d["bundles"] == b, (d, w, dl, b)
lat = d["commit_latency_ms"]
assert lat["messages"] == 240 and 0 < lat["p50"] <= lat["p99"] < 120000, lat
print("summary_json:", json.dumps(s), json.dumps(lat))
PY
grep -q "240 messages" basic.out || { echo "FAIL: the summary does not count 240 messages"; exit 1; }
grep -q "_stream_bundles" basic.out || { echo "FAIL: the summary does not show _stream_bundles"; exit 1; }
echo "== 1b. again: nothing left, nothing changes"
stream --input="pubsub:$sub" --sink=sqlite:basic.db --max_idle_s=1 | tee basic2.out
grep -q "0 messages" basic2.out || { echo "FAIL: a second run got messages"; exit 1; }
python3 check.py basic.db "$sub" basic.txt.expect

echo "== 2. crash: kill -9 while destination 4 is locked, then again"
export BEAM_JSONL_LOG_COMPACT_BYTES=4096 # destination 3's log compacted every few commits
python3 messages.py c 300 crash.txt
sub=$project/subscriptions/crash-sub
python3 messages.py warm 12 warm.txt # creates every table in destination 4, so the lock only stops commits
"$publish" "$project/topics/crash" warm.txt
stream --input="pubsub:$sub" --sink=sqlite:a.db --sink=file:objs --sink=jsonl:jl --sink=sqlite:b.db --max_idle_s=1 >/dev/null
"$publish" "$project/topics/crash" crash.txt
hold_sqlite_lock b.db
"$file_etl" --spec=spec.json --input="pubsub:$sub" --sink=sqlite:a.db --sink=file:objs --sink=jsonl:jl --sink=sqlite:b.db --parallelism=1 \
  --bundle_max_records=40 --bundle_max_ms=100 >crash1.out 2>crash1.err &
etl_pid=$!
committed=0
for _ in $(seq 300); do
  committed=$(python3 -c "import sqlite3; print(sqlite3.connect('a.db').execute(\"SELECT coalesce(sum(messages), 0) FROM _stream_bundles\").fetchone()[0])")
  ((committed > 12)) && break # the 12 warm-up messages, then the first bundle
  sleep 0.1
done
((committed > 12)) || { echo "FAIL: destination 1 committed nothing while destination 2 was locked"; cat crash1.err; exit 1; }
sleep 0.5
kill -9 "$etl_pid"; wait "$etl_pid" 2>/dev/null || true; etl_pid=
kill -9 "$lock_pid"; wait "$lock_pid" 2>/dev/null || true; lock_pid=
echo "killed after destination 1 committed $((committed - 12)) of 300 messages"
# The killed run acked nothing of them: they come back once their ack deadline (10 s) passes.
stream --input="pubsub:$sub" --sink=sqlite:a.db --sink=file:objs --sink=jsonl:jl --sink=sqlite:b.db --max_idle_s=15 | tee crash2.out
[[ $(grep -c "messages committed before" crash2.out) -ge 3 ]] ||
  { echo "FAIL: redelivered messages were not found in the ledgers of destinations 1 to 3"; exit 1; }
python3 check.py a.db "$sub" warm.txt.expect crash.txt.expect
python3 check_objects.py objs "$sub" warm.txt.expect crash.txt.expect
python3 check_jsonl.py jl "$sub" warm.txt.expect crash.txt.expect
python3 check.py b.db "$sub" warm.txt.expect crash.txt.expect
unset BEAM_JSONL_LOG_COMPACT_BYTES

echo "== 3. drain: SIGTERM while messages stream in"
python3 messages.py d 600 drain.txt
sub=$project/subscriptions/drain-sub
head -300 drain.txt >drain1.txt
tail -300 drain.txt >drain2.txt
"$publish" "$project/topics/drain" drain1.txt
"$file_etl" --spec=spec.json --input="pubsub:$sub" --sink=sqlite:drain.db --parallelism=2 --bundle_max_records=25 \
  --bundle_max_ms=100 --progress=on >drain1.out 2>drain1.err &
etl_pid=$!
"$publish" "$project/topics/drain" drain2.txt
sleep 1
kill -TERM "$etl_pid"
rc=0
wait "$etl_pid" || rc=$?
etl_pid=
cat drain1.out
[[ $rc -eq 0 ]] || { echo "FAIL: SIGTERM: exit $rc, want 0 (drain)"; cat drain1.err; exit 1; }
# --progress=on draws the stream's line (a terminal would get it by default)
progress=$(tr '\r' '\n' <drain1.err | grep -E "^$sub: [0-9]+ messages, [0-9]+/s, [0-9]+ in flight.*commit p50 [0-9.]+ s p99 [0-9.]+ s" | tail -1)
[[ -n $progress ]] || { echo "FAIL: no stream progress line"; cat drain1.err; exit 1; }
echo "progress: $progress"
# What the drained run committed was acked: a later run waits past the ack deadline and gets
# only the rest, none of it committed before.
stream --input="pubsub:$sub" --sink=sqlite:drain.db --max_idle_s=12 | tee drain2.out
if grep -q "messages committed before" drain2.out; then
  echo "FAIL: messages committed by the drained run came back (not acked)"; exit 1
fi
python3 check.py drain.db "$sub" drain.txt.expect

echo "== 4. bad usage"
expect_exit() {
  local want=$1 text=$2 rc=0
  shift 2
  timeout 60 "$file_etl" --quiet "$@" >bad.out 2>bad.err || rc=$?
  [[ $rc -eq $want ]] || { echo "FAIL: $*: exit $rc, want $want"; cat bad.err; exit 1; }
  grep -q -- "$text" bad.err || { echo "FAIL: $*: the error does not say \"$text\":"; cat bad.err; exit 1; }
  cat bad.err
}
expect_exit 2 "must be the only --input" --spec=spec.json --input="pubsub:$sub" --input=spec.json --sink=sqlite:x.db
expect_exit 2 "pubsub:projects/PROJECT/subscriptions/SUBSCRIPTION" --spec=spec.json --input=pubsub:projects/p/topics/t \
  --sink=sqlite:x.db
python3 -c "
import json; s = json.load(open('spec.json')); s['clean']['dedupe_on'] = 'event_id'; json.dump(s, open('dedupe.json', 'w'))"
expect_exit 2 "dedupe_on is not supported with a pubsub: input" --spec=dedupe.json --input="pubsub:$sub" --sink=sqlite:x.db
expect_exit 2 "$project/subscriptions/nope does not exist" --spec=spec.json --input="pubsub:$project/subscriptions/nope" \
  --sink=sqlite:x.db --max_idle_s=1
expect_exit 2 "$project/subscriptions/denied-sub: permission denied (the caller needs roles/pubsub.subscriber" \
  --spec=spec.json --input="pubsub:$project/subscriptions/denied-sub" --sink=sqlite:x.db --max_idle_s=1
[[ ! -e x.db ]] || { echo "FAIL: a refused run created its destination"; exit 1; }
echo "file_etl_stream: ok"
