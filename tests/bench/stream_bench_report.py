"""Reads when each published message was committed, for the streaming benchmark.

  stream_bench_report.py count|report WHO DEST SUBSCRIPTION PUBLISHED [START_NS]

WHO: beam-c (file_etl: the destination's ledger, unit pubsub:<subscription>#<message id>, whose
committed_at is set in the bundle's commit) or beam-python (stream_bench_beam.py's _commits).
DEST: sqlite:PATH or jsonl:DIR. PUBLISHED: stream_bench_publish.py's record. count prints how
many of PUBLISHED are committed; report prints, as JSON, the messages committed (each once),
messages/s from START_NS (the consumer's start, or "first-publish") to the last commit, messages/s between the
first and the last commit, and publish-to-commit latency per message (commit time minus the
time its Publish request was sent): p50, p99, max, in ms.
"""
import datetime
import json
import os
import sqlite3
import sys


def iso_ns(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1e6) * 1000


def commits(who, dest, subscription):
    """{message id: commit time (Unix ns)}."""
    kind, path = dest.split(":", 1)
    out = {}
    if who == "beam-c":
        prefix = f"pubsub:{subscription}#"
        if kind == "sqlite":
            if not os.path.exists(path):
                return out
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            try:
                rows = con.execute("SELECT unit, committed_at FROM _beam_ledger WHERE unit LIKE ?", (prefix + "%",)).fetchall()
            except sqlite3.OperationalError:
                return out
            for unit, at in rows:
                out[unit[len(prefix):]] = iso_ns(at)
        else:
            log = os.path.join(path, ".bundles.jsonl")
            if not os.path.exists(log):
                return out
            for line in open(log):
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line being written
                for e in rec.get("ledger") or []:
                    if e["key"].startswith(prefix):
                        out[e["key"][len(prefix):]] = iso_ns(e["committed_at"])
    else:
        if kind == "sqlite":
            if not os.path.exists(path):
                return out
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            try:
                out = dict(con.execute("SELECT message_id, committed_at_ns FROM _commits").fetchall())
            except sqlite3.OperationalError:
                return out
        else:
            f = os.path.join(path, "_commits.tsv")
            if os.path.exists(f):
                for line in open(f):
                    parts = line.split("\t")
                    if len(parts) == 2 and parts[1].endswith("\n"):
                        out[parts[0]] = int(parts[1])
    return out


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def main():
    what, who, dest, subscription, published = sys.argv[1:6]
    sent = {}
    for line in open(published):
        mid, _eid, t0, _t1 = line.split("\t")
        sent[mid] = int(t0)
    done = commits(who, dest, subscription)
    mine = {m: t for m, t in done.items() if m in sent}
    if what == "count":
        print(len(mine))
        return
    start = min(sent.values()) if sys.argv[6] == "first-publish" else int(sys.argv[6])
    lat = sorted((t - sent[m]) / 1e6 for m, t in mine.items())
    first, last = min(mine.values()), max(mine.values())
    print(json.dumps({
        "published": len(sent), "committed": len(mine),
        "rate": len(mine) / ((last - start) / 1e9),
        "rate_after_first_commit": sum(1 for t in mine.values() if t > first) / max((last - first) / 1e9, 1e-9),
        "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99), "max_ms": lat[-1],
    }))


if __name__ == "__main__":
    main()
