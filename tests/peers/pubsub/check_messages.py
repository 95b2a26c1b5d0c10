#!/usr/bin/env python3
"""Checks what pubsub_peer's subscriptions received against file_etl's jsonl output.

Each --plain subscription: every line of every <table>.jsonl in the reference directory arrives
exactly once as a message whose data is that line and whose `table` attribute is <table>
(the _files table: its started_at, finished_at and runner fields describe the run, so they
are left out of the comparison); every beam_c_row_id is distinct, and a record's own id
("rec:...") for every row but _files'; nothing else arrives.
Each --keyed subscription (ordering_key=user_id): the same rows; a routed row's ordering key is
its user_id (none when null or when its table has no user_id); per key, the messages were
published (message ids are sequential in pstest) in the order the rows reached the sink.
The peer's summary: no request broke Pub/Sub's rules, and the injected failures happened.
"""
import argparse
import collections
import json
import os
import re
import sys

RUN_FIELDS = ("started_at", "finished_at", "runner")  # _files fields that name the run


def normalize(table, data):
    row = json.loads(data)
    if table == "_files":
        for k in RUN_FIELDS:
            row.pop(k, None)
    return json.dumps(row, sort_keys=True)


def reference_rows(directory):
    rows = collections.Counter()
    for name in sorted(os.listdir(directory)):
        if name.startswith(".") or not name.endswith(".jsonl"):
            continue
        table = name[: -len(".jsonl")]
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            for line in f:
                # The data must be the jsonl sink's text itself, not just equal JSON.
                rows[(table, normalize(table, line.rstrip("\n")), line.rstrip("\n") if table != "_files" else "")] += 1
    return rows


def seq_of(row_id):
    m = re.fullmatch(r"(.+)#(\d+)", row_id)
    return (m.group(1), int(m.group(2))) if m else None


def well_formed(row_id):
    """A record's id in the run ("rec:" and 32 hex digits) or a bundle's row ("<bundle>#<n>")."""
    return re.fullmatch(r"rec:[0-9a-f]{32}", row_id) is not None or seq_of(row_id) is not None


def reference_positions(directory):
    """(table, line text) -> the line's position in its table's jsonl file: the bundle order."""
    pos = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".jsonl") and not name.startswith("."):
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                for i, line in enumerate(f):
                    pos.setdefault((name[: -len(".jsonl")], line.rstrip("\n")), i)
    return pos


def check_subscription(name, messages, reference, positions, keyed, problems):
    got = collections.Counter()
    ids = collections.Counter()
    for m in messages:
        table = m["attributes"].get("table")
        row_id = m["attributes"].get("beam_c_row_id")
        if table is None or row_id is None or not well_formed(row_id):
            problems.append(f"{name}: message {m['message_id']} lacks table or a well-formed beam_c_row_id: {m['attributes']}")
            continue
        ids[row_id] += 1
        # file_etl gives every sink a run id: rows read from a record carry its identity.
        if table != "_files" and not row_id.startswith("rec:"):
            problems.append(f"{name}: {table} row with a bundle-based id {row_id}, not its record's")
        got[(table, normalize(table, m["data"]), m["data"] if table != "_files" else "")] += 1
        if keyed:
            user = json.loads(m["data"]).get("user_id") if table != "_files" and table != "_dead_letter" else None
            want = user if user is not None else ""
            if m["ordering_key"] != want:
                problems.append(f"{name}: {table} row {row_id}: ordering key {m['ordering_key']!r}, want {want!r}")
        elif m["ordering_key"]:
            problems.append(f"{name}: unexpected ordering key {m['ordering_key']!r}")
    dup_ids = [i for i, n in ids.items() if n > 1]
    if dup_ids:
        problems.append(f"{name}: {len(dup_ids)} beam_c_row_id values arrived more than once, e.g. {dup_ids[0]}")
    missing = reference - got
    extra = got - reference
    for (table, row, _), n in list(missing.items())[:5]:
        problems.append(f"{name}: {table}: {n} x row missing: {row}")
    for (table, row, _), n in list(extra.items())[:5]:
        problems.append(f"{name}: {table}: {n} x unexpected row: {row}")
    if keyed:
        # Per key (and table), messages were published in the order the rows reached the
        # sink, which is their order in the jsonl reference.
        by_key = collections.defaultdict(list)
        for m in messages:
            if m["ordering_key"]:
                where = positions.get((m["attributes"].get("table"), m["data"]), -1)
                by_key[(m["ordering_key"], m["attributes"].get("table"))].append((int(m["message_id"].lstrip("m")), where))
        for (key, table), published in by_key.items():
            rows = [w for _, w in sorted(published)]
            if rows != sorted(rows):
                problems.append(f"{name}: ordering key {key!r}, {table}: rows published out of bundle order: {rows}")
        print(f"check_messages: {name}: {len(by_key)} ordering keys, order kept within each")
    tables = collections.Counter(t for (t, _, _) in got.elements())
    print(f"check_messages: {name}: {sum(got.values())} messages, "
          + ", ".join(f"{t} {n}" for t, n in sorted(tables.items())))


def check_sinkcheck(name, messages, problems):
    """pubsub_sink_check's bundles: bundle-r twice (its retry on a new sink), with the same
    row ids; bundle-big's small row; bundle-early's seven rows (published in three parts);
    bundle-tls's two rows; nothing else."""
    got = collections.Counter(m["attributes"].get("beam_c_row_id") for m in messages)
    want = collections.Counter({"bundle-r#0": 2, "bundle-r#1": 2, "bundle-r#2": 2, "bundle-big#0": 1,
                                "bundle-tls#0": 1, "bundle-tls#1": 1})
    want.update(f"bundle-early#{i}" for i in range(7))
    if got != want:
        problems.append(f"{name}: row ids {dict(got)}, want {dict(want)}")
    for m in messages:
        if m["attributes"].get("table") != "t" or json.loads(m["data"]).get("payload") not in ("small", "pppp", "small-row-payload"):
            problems.append(f"{name}: unexpected message {m}")
    print(f"check_messages: {name}: {len(messages)} messages: {dict(got)}")


def check_bigrow(name, messages, problems):
    """A 6 MB row and a small one: the small one published, the big one a sink-stage dead
    letter whose error gives the sizes (raw cut to its first MiB), _files counting both."""
    by_table = collections.defaultdict(list)
    for m in messages:
        by_table[m["attributes"].get("table")].append(json.loads(m["data"]))
    dead = by_table.get("_dead_letter", [])
    files = by_table.get("_files", [])
    ok = ([r["event_id"] for r in by_table.get("events_order", [])] == ["ev-ok"] and len(dead) == 1
          and dead[0]["stage"] == "sink" and "limit" in dead[0]["error"] and len(dead[0]["raw"]) == 1 << 20
          and len(files) == 1 and files[0]["written"] == 1 and files[0]["dead_lettered"] == 1
          and len(messages) == 3)
    if not ok:
        problems.append(f"{name}: unexpected messages: " + str({t: [str(r)[:200] for r in rows] for t, rows in by_table.items()}))
    print(f"check_messages: {name}: {len(messages)} messages; dead letter: {dead[0]['error'] if dead else None}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", required=True)
    ap.add_argument("--received", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--injected", type=int, default=0)
    ap.add_argument("--plain", action="append", default=[], help="a subscription of a topic without ordering keys")
    ap.add_argument("--bigrow", action="append", default=[], help="the subscription of the too-large-row run")
    ap.add_argument("--sinkcheck", action="append", default=[], help="the subscription pubsub_sink_check published to")
    ap.add_argument("--keyed", action="append", default=[], help="a subscription of a topic with ordering_key=user_id")
    a = ap.parse_args()
    reference = reference_rows(a.reference)
    positions = reference_positions(a.reference)
    by_sub = collections.defaultdict(list)
    with open(a.received, encoding="utf-8") as f:
        for line in f:
            m = json.loads(line)
            by_sub[m["subscription"].rsplit("/", 1)[1]].append(m)
    problems = []
    print(f"check_messages: reference: {sum(reference.values())} rows in {a.reference}")
    for sub in a.plain:
        check_subscription(sub, by_sub.pop(sub, []), reference, positions, False, problems)
    for sub in a.keyed:
        check_subscription(sub, by_sub.pop(sub, []), reference, positions, True, problems)
    for sub in a.bigrow:
        check_bigrow(sub, by_sub.pop(sub, []), problems)
    for sub in a.sinkcheck:
        check_sinkcheck(sub, by_sub.pop(sub, []), problems)
    for sub in by_sub:
        problems.append(f"messages on an unexpected subscription {sub}")
    with open(a.stats, encoding="utf-8") as f:
        stats = json.load(f)
    print(f"check_messages: peer: {stats}")
    if stats.get("violations"):
        problems.append(f"requests broke Pub/Sub's rules: {stats['violations']}")
    if stats.get("injected_failures") != a.injected:
        problems.append(f"{stats.get('injected_failures')} injected failures happened, expected {a.injected}")
    for p in problems:
        print(f"check_messages: FAIL: {p}")
    print(f"check_messages: {0 if problems else 1} passed, {1 if problems else 0} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
