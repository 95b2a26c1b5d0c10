#!/usr/bin/env python3
"""Checks for events_sample.sh (the events sample in one run into GCS, BigQuery and Pub/Sub).

  check_events_sample.py bigquery-tables FAKE_LOG DATASET SPEC
      every event table of SPEC's "tables" was created in DATASET (tables.insert bodies the
      discovery-checked fake logged) with its own schema, DAY timePartitioning on its
      partition_field and its cluster_fields; _files with neither; nothing else created.
  check_events_sample.py insert-ids FAKE_LOG SKIP_LINES
      prints the sorted insertIds of the tabledata.insertAll requests logged after the first
      SKIP_LINES lines, one per line (two runs of the same command send the same ones).
  check_events_sample.py pubsub RECEIVED EXPECTED_JSONL_DIR SUBSCRIPTION RUNS
      the subscription received, from each of RUNS runs (pstest numbers messages in publish
      order), exactly the events_user_activity rows of the reference whose activity_type is
      profile_update: data byte-equal to the jsonl sink's line, attribute table, one
      beam_c_row_id per row, the same ids at every run (subscribers dedupe on them).
  check_events_sample.py dead-letters GCS_URL BUCKET PREFIX
      the _dead_letter rows under gs://BUCKET/PREFIX are the sample's bad records, each
      naming its stage, table and field.
  check_events_sample.py gcs-objects GCS_URL BUCKET PREFIX
      prints "name generation" of every object under the prefix (a rerun must change none).
  check_events_sample.py local FILE_ETL SAMPLES_DIR
      without any peer: the sample into JSON lines has the README's rows per table and the
      same dead letters (keeps the sample and its README table true where no emulator is).
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "gcp"))
from check_object_rows import list_gcs  # noqa: E402  (tests/gcp: one GCS lister for the tests)

BQ_TYPES = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN"}


def fail(msg):
    sys.exit("check_events_sample: FAIL: " + msg)


def logged(path, method, skip=0):
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i < skip:
                continue
            e = json.loads(line)
            if e.get("method") == method:
                yield json.loads(e["body"]) if e.get("body") else {}, e


def bigquery_tables(log, dataset, spec_path):
    spec = json.load(open(spec_path, encoding="utf-8"))
    bodies = {}
    for body, _ in logged(log, "bigquery.tables.insert"):
        ref = body["tableReference"]
        if ref["datasetId"] == dataset:
            if ref["tableId"] in bodies:
                fail("table %s.%s created twice" % (dataset, ref["tableId"]))
            bodies[ref["tableId"]] = body
    want_tables = set(spec["tables"]) | {"_files"}
    if set(bodies) != want_tables:
        fail("tables created in %s: %s, want %s" % (dataset, sorted(bodies), sorted(want_tables)))
    for table, entry in spec["tables"].items():
        b = bodies[table]
        got = [(f["name"], f["type"], f["mode"]) for f in b["schema"]["fields"]]
        want = [(f["name"], BQ_TYPES.get(f["type"], f["type"]), f.get("mode", "NULLABLE")) for f in entry["schema"]]
        if got != want:
            fail("%s: schema %s, want %s" % (table, got, want))
        part = {"type": entry.get("partition_granularity", "DAY"), "field": entry["partition_field"]}
        if b.get("timePartitioning") != part:
            fail("%s: timePartitioning %s, want %s" % (table, b.get("timePartitioning"), part))
        if (b.get("clustering") or {}).get("fields") != entry["cluster_fields"]:
            fail("%s: clustering %s, want %s" % (table, b.get("clustering"), entry["cluster_fields"]))
        print("ok   bigquery %s.%s: own schema (%d fields), partitioned %s by %s, clustered by %s"
              % (dataset, table, len(got), part["type"], part["field"], ", ".join(entry["cluster_fields"])))
    if "timePartitioning" in bodies["_files"] or "clustering" in bodies["_files"]:
        fail("_files created with partitioning or clustering: %s" % bodies["_files"])


def insert_ids(log, skip):
    ids = [r.get("insertId") for body, _ in logged(log, "bigquery.tabledata.insertAll", int(skip))
           for r in body.get("rows", [])]
    for i in sorted(ids, key=str):
        print(i)


def pubsub(received, expected_dir, subscription, runs):
    runs = int(runs)
    want = set()
    with open(os.path.join(expected_dir, "events_user_activity.jsonl"), encoding="utf-8") as f:
        for line in f:
            if json.loads(line)["activity_type"] == "profile_update":
                want.add(line.rstrip("\n"))
    msgs = []
    with open(received, encoding="utf-8") as f:
        for line in f:
            m = json.loads(line)
            if m["subscription"].rsplit("/", 1)[1] != subscription:
                fail("a message on another subscription: %s" % m["subscription"])
            msgs.append(m)
    msgs.sort(key=lambda m: int(m["message_id"].lstrip("m")))
    if len(msgs) != runs * len(want):
        fail("%d messages, want %d (%d selected rows x %d runs): %s"
             % (len(msgs), runs * len(want), len(want), runs, [m["data"] for m in msgs]))
    first_ids = None
    for r in range(runs):
        part = msgs[r * len(want):(r + 1) * len(want)]
        data = {m["data"] for m in part}
        if data != want or len(part) != len(want):
            fail("run %d published %s, want %s" % (r + 1, sorted(data), sorted(want)))
        ids = {}
        for m in part:
            a = m["attributes"]
            if a.get("table") != "events_user_activity" or not a.get("beam_c_row_id", "").startswith("rec:"):
                fail("message %s: attributes %s" % (m["message_id"], a))
            ids[m["data"]] = a["beam_c_row_id"]
        if len(set(ids.values())) != len(want):
            fail("run %d: row ids not distinct: %s" % (r + 1, ids))
        if first_ids is None:
            first_ids = ids
        elif ids != first_ids:
            fail("run %d published under other ids than run 1: %s vs %s" % (r + 1, ids, first_ids))
    events = sorted(json.loads(d)["event_id"] for d in want)
    print("ok   pubsub %s: %d run(s), each exactly the profile_update events %s, the same beam_c_row_id each time"
          % (subscription, runs, ", ".join(events)))


DEAD = [  # (file, line, stage, error): the sample's bad records, one line each in the README
    ("inventory.csv", 6, "table", 'table "events_inventory": field "warehouse_id": required but null'),
    ("inventory.csv", 7, "parse", 'field "quantity_change": "ten" is not an INT64'),
    ("inventory.csv", 8, "table", 'table "events_warehouse_audit": no entry in tables and the spec has no top-level schema'),
    ("orders.jsonl", 7, "table", 'table "events_order": field "order_date": required but missing'),
    ("orders.jsonl", 8, "parse", 'field "total_amount": "12,50" is not a NUMERIC'),
    ("orders.jsonl", 9, "table", 'table "events_refund": no entry in tables and the spec has no top-level schema'),
    ("user_activity.jsonl", 8, "table", 'table "events_user_activity": field "user_id": required but missing'),
    ("user_activity.jsonl", 9, "parse", 'field "timestamp": "yesterday" is not a TIMESTAMP'),
    ("user_activity.jsonl", 10, "table", 'table "events_ad_click": no entry in tables and the spec has no top-level schema'),
]


def check_dead(lines):
    got = []
    for line in lines:
        r = json.loads(line)
        got.append((os.path.basename(r["source"]), r["line"], r["stage"], r["error"]))
    if sorted(got) != sorted(DEAD):
        fail("dead letters %s, want %s" % (sorted(got), sorted(DEAD)))
    print("ok   _dead_letter: the %d bad records, each naming its stage, table and field" % len(got))


def dead_letters(url, bucket, prefix):
    check_dead(line for name, data in list_gcs(url, bucket, prefix).items() if name.startswith("_dead_letter/")
               for line in data.decode().splitlines())


ROWS = {"events_order": 6, "events_inventory": 5, "events_user_activity": 7, "_dead_letter": 9, "_files": 3}


def local(file_etl, samples):
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([file_etl, "--input=" + os.path.join(samples, "landing"), "--quiet",
                        "--spec=" + os.path.join(samples, "spec.json"), "--sink=jsonl:" + out],
                       check=True, stdout=subprocess.DEVNULL)
        rows = {}
        for name in os.listdir(out):
            if name.endswith(".jsonl") and not name.startswith("."):
                with open(os.path.join(out, name), encoding="utf-8") as f:
                    rows[name[:-len(".jsonl")]] = f.read().splitlines()
        got = {t: len(r) for t, r in rows.items()}
        if got != ROWS:
            fail("rows per table %s, want %s (the README's table)" % (got, ROWS))
        print("ok   rows per table: %s" % got)
        check_dead(rows["_dead_letter"])


def gcs_objects(url, bucket, prefix):
    token = None
    while True:
        q = {"prefix": prefix.strip("/") + "/"}
        if token:
            q["pageToken"] = token
        with urllib.request.urlopen("%s/storage/v1/b/%s/o?%s" % (url, bucket, urllib.parse.urlencode(q)), timeout=30) as r:
            page = json.load(r)
        for item in page.get("items", []):
            print(item["name"], item["generation"])
        token = page.get("nextPageToken")
        if not token:
            return


def main():
    cmds = {"gcs-objects": gcs_objects, "bigquery-tables": bigquery_tables, "insert-ids": insert_ids, "pubsub": pubsub,
            "dead-letters": dead_letters, "local": local}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
