#!/usr/bin/env bash
# Faults of the streaming ETL (file_etl --input=pubsub:...) against pubsub_peer (pstest on
# loopback, started and restarted here). Each case has its own topic and subscription
# "<topic>-sub"; every check is "each published message's row exactly once" (check.py).
#  1. restart: the emulator is killed (-9) after the run committed the first 120 messages and
#     started again on the same port. pstest keeps nothing: it comes back with the topics and
#     subscriptions the peer creates and numbers its message ids from m0 again, so the
#     messages published after the restart reuse the ids of messages already committed. The
#     run reconnects with backoff and writes the new ones (a message's unit holds its publish
#     time as well as its id), each exactly once.
#  2. down for good: the emulator is killed and stays down: the run fails loudly once
#     --pubsub_retry_budget_s passes (exit 1, "no working stream"), it does not hang.
#  3. destination outage: the SQLite destination is locked by another process mid-run for 5 s
#     while messages keep coming: nothing commits meanwhile (the writers wait on the lock, up
#     to the sink's busy timeout, then the bundle fails and is retried with backoff), nothing
#     is acked (a message acked without its rows would be missing at the end), and once the
#     lock goes every row is there exactly once.
#  4. poison: bad messages (not JSON, a bad type) are dead-lettered once and acked: a second
#     run gets nothing back.
# Usage: file_etl_stream_faults.sh PUBSUB_PEER FILE_ETL PUBLISH_LINES
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/start_peer.sh"
peer=$1 file_etl=$2 publish=$3
enter_workdir
topics=restart,down,outage,poison
peer_port=0
kill_peer() { kill -9 "$peer_pid"; wait "$peer_pid" 2>/dev/null || true; peer_pid=; }
start_peer "$peer" "$topics" "$peer_port"
project=projects/beam-c-test

cat >spec.json <<'EOF'
{
  "format": "jsonl",
  "schema": [
    {"name": "event_id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "amount", "type": "FLOAT64"}
  ],
  "route": {"table": "events"}
}
EOF

# messages.py PREFIX N OUT [BAD_EVERY]: N messages (every BAD_EVERY-th a poison one) and, in
# OUT.expect, what each must become.
cat >messages.py <<'PY'
import json, sys
prefix, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
bad = int(sys.argv[4]) if len(sys.argv) > 4 else 0
with open(out, "w") as f, open(out + ".expect", "w") as e:
    for i in range(n):
        eid = f"{prefix}{i}"
        if bad and i % bad == bad - 1:
            line = ["{not json " + eid, json.dumps({"event_id": eid, "amount": "x"})][i // bad % 2]
            what = "dead"
        else:
            line, what = json.dumps({"event_id": eid, "amount": i}), "row"
        f.write(line + "\n")
        e.write(f"{eid}\t{what}\t{line}\n")
PY

# check.py DB EXPECT...: every row once, every dead letter once, nothing else.
cat >check.py <<'PY'
import collections, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
rows, dead = set(), collections.Counter()
for path in sys.argv[2:]:
    for rec in open(path):
        eid, what, line = rec.rstrip("\n").split("\t", 2)
        (rows.add(eid) if what == "row" else dead.update([line]))
got = collections.Counter(eid for (eid,) in con.execute("SELECT event_id FROM events"))
twice = [k for k, v in got.items() if v > 1]
assert not twice, f"written twice: {twice[:5]}"
assert set(got) == rows, f"missing {sorted(rows - set(got))[:5]} ({len(rows - set(got))}), extra {sorted(set(got) - rows)[:5]}"
have = collections.Counter(raw for (raw,) in con.execute("SELECT raw FROM _dead_letter"))
assert have == dead, f"dead letters differ: missing {list((dead - have).elements())[:3]}, extra {list((have - dead).elements())[:3]}"
m, = con.execute("SELECT coalesce(sum(messages), 0) FROM _stream_bundles").fetchone()
assert m == len(rows) + sum(dead.values()), f"_stream_bundles count {m} messages, want {len(rows) + sum(dead.values())}"
print(f"{sys.argv[1]}: {len(got)} rows, {sum(have.values())} dead letters, each once: ok")
PY

committed() {
  python3 -c "
import sqlite3, sys
try: print(sqlite3.connect('file:$1?mode=ro', uri=True, timeout=0.2).execute('SELECT coalesce(sum(messages), 0) FROM _stream_bundles').fetchone()[0])
except sqlite3.Error: print(0)"
}
wait_committed() { # DB N SECONDS
  local n=0
  for _ in $(seq $((${3} * 10))); do
    n=$(committed "$1")
    ((n >= $2)) && return 0
    kill -0 "$etl_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: $1: $n of $2 messages committed"; cat etl.err; exit 1
}

echo "== 1. restart: the emulator killed and started again on the same port mid-run"
python3 messages.py before 120 before.txt
python3 messages.py after 120 after.txt
"$publish" "$project/topics/restart" before.txt
"$file_etl" --spec=spec.json --input="pubsub:$project/subscriptions/restart-sub" --sink=sqlite:restart.db \
  --parallelism=2 --bundle_max_records=20 --bundle_max_ms=100 --max_idle_s=20 >etl.out 2>etl.err &
etl_pid=$!
wait_committed restart.db 120 60
kill_peer
sleep 2 # the run's stream fails and retries against nothing
old_port=$peer_port
start_peer "$peer" "$topics" "$peer_port"
[[ $peer_port == "$old_port" ]] || { echo "FAIL: the peer came back on another port"; exit 1; }
"$publish" "$project/topics/restart" after.txt
wait_committed restart.db 240 60
kill -TERM "$etl_pid"
rc=0
wait "$etl_pid" || rc=$?
etl_pid=
cat etl.out
[[ $rc -eq 0 ]] || { echo "FAIL: the run across the restart exited $rc"; cat etl.err; exit 1; }
python3 check.py restart.db before.txt.expect after.txt.expect
grep -q "messages committed before" etl.out && { echo "FAIL: new messages were taken for redeliveries"; exit 1; }

echo "== 2. down for good: a clear failure once the retry budget is spent, no hang"
python3 messages.py down 30 down.txt
"$publish" "$project/topics/down" down.txt
"$file_etl" --spec=spec.json --input="pubsub:$project/subscriptions/down-sub" --sink=sqlite:down.db \
  --bundle_max_records=10 --bundle_max_ms=100 --pubsub_retry_budget_s=3 >etl.out 2>etl.err &
etl_pid=$!
wait_committed down.db 30 60
kill_peer
started=$SECONDS
rc=0
timeout 60 tail --pid="$etl_pid" -f /dev/null || true
wait "$etl_pid" || rc=$?
etl_pid=
echo "exit $rc after $((SECONDS - started)) s: $(tail -1 etl.err)"
[[ $rc -eq 1 ]] || { echo "FAIL: emulator gone: exit $rc, want 1"; cat etl.err; exit 1; }
grep -q "no working stream" etl.err || { echo "FAIL: the error does not say the stream is gone"; cat etl.err; exit 1; }
python3 check.py down.db down.txt.expect
start_peer "$peer" "$topics" "$peer_port"

echo "== 3. destination outage: SQLite locked for 5 s mid-run"
python3 messages.py o1 100 o1.txt
python3 messages.py o2 100 o2.txt
"$publish" "$project/topics/outage" o1.txt
"$file_etl" --spec=spec.json --input="pubsub:$project/subscriptions/outage-sub" --sink=sqlite:outage.db \
  --parallelism=2 --bundle_max_records=10 --bundle_max_ms=100 --max_idle_s=8 >etl.out 2>etl.err &
etl_pid=$!
wait_committed outage.db 100 60
python3 - outage.db <<'PY' &
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")  # no writer gets in until it ends
open("locked", "w").close()
time.sleep(5)
# what got in while it was locked: nothing
open("during", "w").write(str(con.execute("SELECT sum(messages) FROM _stream_bundles").fetchone()[0]))
con.execute("ROLLBACK")
PY
lock_pid=$!
for _ in $(seq 100); do [[ -f locked ]] && break; sleep 0.1; done
"$publish" "$project/topics/outage" o2.txt
wait "$lock_pid"
lock_pid=
rc=0
wait "$etl_pid" || rc=$?
etl_pid=
cat etl.out
[[ $rc -eq 0 ]] || { echo "FAIL: the run through the outage exited $rc"; cat etl.err; exit 1; }
[[ $(cat during) == 100 ]] || { echo "FAIL: $(cat during) messages committed with the destination locked"; exit 1; }
python3 check.py outage.db o1.txt.expect o2.txt.expect

echo "== 4. poison messages: dead-lettered once, acked"
python3 messages.py p 60 poison.txt 6
"$publish" "$project/topics/poison" poison.txt
timeout 120 "$file_etl" --quiet --spec=spec.json --input="pubsub:$project/subscriptions/poison-sub" \
  --sink=sqlite:poison.db --bundle_max_records=7 --bundle_max_ms=100 --max_idle_s=2 >poison1.out
python3 check.py poison.db poison.txt.expect
# Acked: past the ack deadline (10 s) nothing comes back.
timeout 120 "$file_etl" --quiet --spec=spec.json --input="pubsub:$project/subscriptions/poison-sub" \
  --sink=sqlite:poison.db --max_idle_s=12 >poison2.out
grep -q "^file_etl: 0 messages" poison2.out || { echo "FAIL: messages came back"; cat poison2.out; exit 1; }
python3 check.py poison.db poison.txt.expect
echo "file_etl_stream_faults: ok"
