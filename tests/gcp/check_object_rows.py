#!/usr/bin/env python3
"""Compares what an object-file sink (file:DIR or gcs:gs://BUCKET/PREFIX) wrote with what the
jsonl sink wrote for the same input, row for row (as multisets), and checks the layout:

  * every row of every table is in {table}/{yyyy}/{mm}/{dd}/{hh}/part-<32 hex>[-ingest].jsonl;
  * with --partition-field F, a row whose table has F non-null sits under F's UTC hour in a
    part without "-ingest"; other rows sit in "-ingest" parts (--partition-field TABLE=F,
    repeated, gives each table its own field, as a spec's "tables" do);
  * every bundle that wrote parts has its .bundles/<hash>.committed marker, no .pending is left;
  * _files counts add up: per file records = written + dead_lettered + filtered + deduplicated,
    sum(written) = rows in the routed tables, sum(dead_lettered) = _dead_letter rows.

_files rows are compared on their counts (times and runner differ between runs); with
--basenames, file names in _files.name and _dead_letter.source are compared by basename
(gs:// inputs against local ones).

Usage: check_object_rows.py EXPECTED_JSONL_DIR (--dir DIR | --gcs URL BUCKET PREFIX)
                            [--partition-field F | --partition-field TABLE=F ...]
                            [--basenames] [--expect-empty]
"""
import argparse
import collections
import datetime
import json
import os
import re
import sys
import urllib.parse
import urllib.request

PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)/(\d{4})/(\d\d)/(\d\d)/(\d\d)/part-([0-9a-f]{32})(-ingest)?\.jsonl$")
FILES_KEYS = ("name", "size_bytes", "records", "written", "dead_lettered", "filtered", "deduplicated")


def list_dir(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            path = os.path.join(d, f)
            rel = os.path.relpath(path, root)
            with open(path, "rb") as fh:
                out[rel] = fh.read()
    return out


def list_gcs(url, bucket, prefix):
    out, token = {}, None
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
    while True:
        q = {"prefix": prefix}
        if token:
            q["pageToken"] = token
        with urllib.request.urlopen("%s/storage/v1/b/%s/o?%s" % (url, bucket, urllib.parse.urlencode(q)), timeout=30) as r:
            page = json.load(r)
        for item in page.get("items", []):
            name = item["name"]
            media = "%s/storage/v1/b/%s/o/%s?alt=media" % (url, bucket, urllib.parse.quote(name, safe=""))
            with urllib.request.urlopen(media, timeout=30) as r:
                out[name[len(prefix):]] = r.read()
        token = page.get("nextPageToken")
        if not token:
            return out


def normalize(table, row, basenames):
    if table == "_files":
        row = {k: row.get(k) for k in FILES_KEYS}
        if basenames:
            row["name"] = os.path.basename(row["name"])
    elif table == "_dead_letter" and basenames:
        head, bang, member = row["source"].partition("!")  # "archive.zip!member.csv"
        row = dict(row, source=os.path.basename(head) + bang + member)
    return json.dumps(row, sort_keys=True)


def hour_of(value):
    if len(value) == 10:  # DATE
        d = datetime.date.fromisoformat(value)
        return (d.year, d.month, d.day, 0)
    t = datetime.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
    return (t.year, t.month, t.day, t.hour)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("expected")
    p.add_argument("--dir")
    p.add_argument("--gcs", nargs=3)
    p.add_argument("--partition-field", action="append", default=[])
    p.add_argument("--basenames", action="store_true")
    p.add_argument("--expect-empty", action="store_true")
    a = p.parse_args()
    objects = list_dir(a.dir) if a.dir else list_gcs(*a.gcs)
    field_of = dict(f.split("=", 1) if "=" in f else ("", f) for f in a.partition_field)
    errors = []
    if a.expect_empty:
        visible = sorted(n for n in objects if not n.startswith(".tmp/"))
        if visible:
            sys.exit("expected no objects, found: %s" % visible[:10])
        print("check_object_rows: no objects, as expected")
        return
    got = collections.defaultdict(collections.Counter)
    bundles, committed, pending = set(), set(), set()
    for name, data in objects.items():
        if name.startswith(".bundles/"):
            m = re.match(r"^\.bundles/([0-9a-f]{32})\.(committed|pending)$", name)
            if not m:
                errors.append("unexpected marker %s" % name)
            elif m.group(2) == "committed":
                committed.add(m.group(1))
            else:
                pending.add(m.group(1))
            continue
        if name.startswith(".tmp/"):
            errors.append("temporary file left behind: %s" % name)
            continue
        m = PART.match(name)
        if not m:
            errors.append("object outside the layout: %s" % name)
            continue
        table, ingest = m.group(1), m.group(7)
        bundles.add(m.group(6))
        path_hour = tuple(int(x) for x in m.group(2, 3, 4, 5))
        for line in data.decode().splitlines():
            row = json.loads(line)
            got[table][normalize(table, row, a.basenames)] += 1
            pf = field_of.get(table, field_of.get(""))
            if pf and row.get(pf) is not None:
                if ingest or hour_of(row[pf]) != path_hour:
                    errors.append("%s: row with %s=%s is in the wrong place" % (name, pf, row[pf]))
            elif not ingest:
                errors.append("%s: a row without a partition value outside an -ingest part" % name)
    if bundles - committed:
        errors.append("bundles with parts but no committed marker: %s" % sorted(bundles - committed))
    if pending:
        errors.append("pending markers left: %s" % sorted(pending))
    expected = collections.defaultdict(collections.Counter)
    for f in os.listdir(a.expected):
        if f.endswith(".jsonl") and not f.startswith("."):
            table = f[:-6]
            with open(os.path.join(a.expected, f)) as fh:
                for line in fh:
                    if line.strip():
                        expected[table][normalize(table, json.loads(line), a.basenames)] += 1
    for table in sorted(set(expected) | set(got)):
        if expected[table] != got[table]:
            missing = expected[table] - got[table]
            extra = got[table] - expected[table]
            errors.append("table %s: %d rows missing, %d extra (e.g. %s)" % (
                table, sum(missing.values()), sum(extra.values()), (list(missing) or list(extra))[:1]))
    files = [json.loads(r) for r in got["_files"].elements()]
    routed = sum(sum(c.values()) for t, c in got.items() if not t.startswith("_"))
    for f in files:
        if f["records"] != f["written"] + f["dead_lettered"] + f["filtered"] + f["deduplicated"]:
            errors.append("_files counts do not add up for %s" % f["name"])
    if sum(f["written"] for f in files) != routed:
        errors.append("_files written %d != %d routed rows" % (sum(f["written"] for f in files), routed))
    if sum(f["dead_lettered"] for f in files) != sum(got["_dead_letter"].values()):
        errors.append("_files dead_lettered != _dead_letter rows")
    if errors:
        sys.exit("check_object_rows: FAILED\n  " + "\n  ".join(errors))
    print("check_object_rows: %d tables, %d rows, %d objects, %d bundles committed: equal to %s" % (
        len(got), sum(sum(c.values()) for c in got.values()), len(objects), len(committed), a.expected))


if __name__ == "__main__":
    main()
