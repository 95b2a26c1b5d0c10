"""The streaming benchmark's load on the Apache Beam Python SDK: ReadFromPubSub (the emulator via
PUBSUB_EMULATOR_HOST) on the streaming DirectRunner, then the same ETL as the benchmark's spec
(parse the JSON event, trim, lowercase event_type, type amount and ts, drop amount < 0, route
to events_<event_type>) written per bundle to SQLite or JSON lines.

  stream_bench_beam.py SUBSCRIPTION sqlite:PATH|jsonl:DIR

Each bundle commits at the end of the bundle: SQLite, one transaction holding its rows and a
_commits row (message_id, committed_at_ns) per message; JSON lines, the rows appended to
DIR/<table>.jsonl and DIR/_commits.tsv (message_id, committed_at_ns), flushed. committed_at_ns
is taken just before the commit (time.time_ns()). No fsync (file_etl runs with --no_sync).
It runs until killed.
"""
import datetime
import json
import os
import sqlite3
import sys
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions


def clean(data):
    """The spec's ETL on one message: (table, row) or None (filtered or bad)."""
    try:
        rec = json.loads(data)
        event_id = str(rec["event_id"]).strip()
        event_type = str(rec.get("event_type") or "").strip().lower()
        amount = float(rec["amount"]) if rec.get("amount") is not None else None
        ts = datetime.datetime.fromisoformat(str(rec["ts"]).strip().replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        return None
    if amount is None or amount < 0:
        return None
    row = {"event_id": event_id, "event_type": event_type, "amount": amount,
           "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    return "events_" + (event_type or "other"), row


class WriteBundle(beam.DoFn):
    def __init__(self, sink):
        self.kind, self.path = sink.split(":", 1)

    def setup(self):
        if self.kind == "sqlite":
            self.con = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute("PRAGMA synchronous=OFF")
            self.con.execute("CREATE TABLE IF NOT EXISTS _commits (message_id TEXT PRIMARY KEY, committed_at_ns INTEGER)")
            self.tables = set()
        else:
            os.makedirs(self.path, exist_ok=True)
            self.files = {}

    def start_bundle(self):
        self.rows, self.ids = {}, []

    def process(self, msg):
        self.ids.append(msg.message_id)
        out = clean(msg.data)
        if out:
            self.rows.setdefault(out[0], []).append(out[1])

    def finish_bundle(self):
        if not self.ids:
            return
        if self.kind == "sqlite":
            self.con.execute("BEGIN IMMEDIATE")
            for table, rows in self.rows.items():
                if table not in self.tables:
                    self.con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (event_id TEXT, event_type TEXT, amount REAL, ts TEXT)')
                    self.tables.add(table)
                self.con.executemany(f'INSERT INTO "{table}" VALUES (?, ?, ?, ?)',
                                     [(r["event_id"], r["event_type"], r["amount"], r["ts"]) for r in rows])
            now = time.time_ns()
            self.con.executemany("INSERT OR REPLACE INTO _commits VALUES (?, ?)", [(m, now) for m in self.ids])
            self.con.execute("COMMIT")
        else:
            for table, rows in self.rows.items():
                f = self.files.get(table) or self.files.setdefault(table, open(os.path.join(self.path, table + ".jsonl"), "a"))
                f.write("".join(json.dumps(r) + "\n" for r in rows))
                f.flush()
            f = self.files.get("_commits") or self.files.setdefault("_commits", open(os.path.join(self.path, "_commits.tsv"), "a"))
            now = time.time_ns()
            f.write("".join(f"{m}\t{now}\n" for m in self.ids))
            f.flush()
        self.rows, self.ids = {}, []


def main():
    subscription, sink = sys.argv[1], sys.argv[2]
    options = PipelineOptions(flags=[], streaming=True, runner="DirectRunner")
    with beam.Pipeline(options=options) as p:
        (p
         | beam.io.ReadFromPubSub(subscription=subscription, with_attributes=True)
         | beam.ParDo(WriteBundle(sink)))


if __name__ == "__main__":
    main()
