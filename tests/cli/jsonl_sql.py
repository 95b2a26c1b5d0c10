"""Runs one SQL query over a JSON-lines destination directory, for the CLI tests: each
<table>.jsonl is a table (columns: the union of its rows' keys, sorted), and _beam_ledger the
ledger the directory's bundle log holds (unit, file), replayed as the sink applies it
(committed records only; a record's "retracts" remove entries). Prints rows as sqlite3 does
(values joined by '|'). Usage: jsonl_sql.py DIR SQL"""
import json
import os
import sqlite3
import sys

directory, query = sys.argv[1], sys.argv[2]
db = sqlite3.connect(":memory:")
for name in sorted(os.listdir(directory)):
    if name.startswith(".") or not name.endswith(".jsonl"):
        continue
    rows = [json.loads(line) for line in open(os.path.join(directory, name)) if line.strip()]
    # An empty file has no keys to name columns: it gets those the tests ask of any table.
    cols = sorted({k for r in rows for k in r}) or ["event_id", "name", "source", "status"]
    table = name[: -len(".jsonl")]
    db.execute('create table "%s" (%s)' % (table, ", ".join('"%s"' % c for c in cols)))
    def cell(v):
        return json.dumps(v) if isinstance(v, (dict, list)) else (int(v) if isinstance(v, bool) else v)
    db.executemany('insert into "%s" values (%s)' % (table, ", ".join("?" * len(cols))),
                   [[cell(r.get(c)) for c in cols] for r in rows])
ledger, committing = {}, {}
log = os.path.join(directory, ".bundles.jsonl")
for line in open(log) if os.path.exists(log) else []:
    rec = json.loads(line)
    state, bundle = rec.get("state"), rec.get("bundle")
    if state == "committing":
        committing[bundle] = rec
        continue
    if state != "committed":
        committing.pop(bundle, None)
        continue
    full = committing.pop(bundle, rec)
    for key in full.get("retracts", []):
        ledger.pop(key, None)
    for e in full.get("ledger", []):
        if e.get("replace") or e["key"] not in ledger:
            ledger[e["key"]] = e.get("file")
db.execute("create table _beam_ledger (unit, file)")
db.executemany("insert into _beam_ledger values (?, ?)", ledger.items())
for row in db.execute(query):
    print("|".join("" if v is None else str(v) for v in row))
