#!/usr/bin/env python3
"""The file ETL of pipelines/file_etl written with the Apache Beam Python SDK, for the
benchmark in run_file_etl_bench.sh. It reads the same spec file as the C pipeline and does
the same work per row:

  read JSON lines -> parse (json.loads) -> clean (trim every string cell, null tokens,
  lowercase the spec's fields) -> coerce/type-check every schema field (REQUIRED, STRING,
  FLOAT64, TIMESTAMP; a failure is a dead letter) -> filter (the spec's "FIELD OP NUMBER")
  -> route (the spec's "prefix{field}suffix" template, default table when null) -> sink:
  one JSON-lines file per table plus _dead_letter and _files, or one SQLite table each.

It runs on the SDK's default local runner (DirectRunner, which runs batch pipelines on the
in-process FnApiRunner) with one worker. Deliberate simplifications, all in Python's favour:
  * dedupe is not supported: a spec with clean.dedupe_on is refused (the benchmark spec has
    it OFF in both pipelines: it needs a GroupByKey over every row);
  * validate rules are not supported (the benchmark spec has none);
  * JSON-lines routing uses a Partition over the tables declared with --tables (default: the
    benchmark's tables); a row naming any other table goes to the default table, where the C
    pipeline would open a new table. The SQLite sink creates tables on demand like C does;
  * dead letters carry source, raw, error and stage but no line number (ReadFromText does not
    expose one).

Usage: python_file_etl.py --input=PATH --spec=SPEC.json --sink=jsonl:DIR|sqlite:PATH
                          [--no_sync] [--tables=t1,t2,...]
Prints one line per table with its row count (JSON) when done."""
import argparse
import json
import math
import os
import re
import sqlite3
import sys
from datetime import datetime, timezone

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

DEFAULT_NULL_TOKENS = ("", "NULL", "null", "N/A")
SPACE = " \t\n\r\f\v"
FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
FLOAT_SPECIAL = {"nan": math.nan, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
                 "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf}
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FILTER_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|!=|=|>|<)\s*([-+]?[0-9.eE+-]+)\s*")
SQL_TYPES = {"STRING": "TEXT", "FLOAT64": "REAL", "TIMESTAMP": "TEXT", "INT64": "INTEGER"}
DEAD_COLUMNS = (("source", "TEXT NOT NULL"), ("line", "INTEGER"), ("raw", "TEXT"), ("error", "TEXT NOT NULL"),
                ("stage", "TEXT NOT NULL"))
FILES_COLUMNS = (("name", "TEXT NOT NULL"), ("size_bytes", "INTEGER"), ("records", "INTEGER"),
                 ("written", "INTEGER"), ("dead_lettered", "INTEGER"), ("filtered", "INTEGER"),
                 ("deduplicated", "INTEGER"), ("runner", "TEXT"))
BENCH_TABLES = ("events_order", "events_inventory", "events_user_activity", "events_other")


class RowError(Exception):
    def __init__(self, msg, stage="parse"):
        super().__init__(msg)
        self.stage = stage


def load_spec(path):
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    clean = spec.get("clean", {})
    if clean.get("dedupe_on"):
        sys.exit("python_file_etl: clean.dedupe_on is not supported (the benchmark runs with dedupe OFF)")
    if spec.get("validate", {}).get("rules"):
        sys.exit("python_file_etl: validate.rules are not supported (the benchmark spec has none)")
    fields = []
    for f in spec["schema"]:
        if f["type"] not in ("STRING", "FLOAT64", "TIMESTAMP"):
            sys.exit(f"python_file_etl: type {f['type']} is not supported")
        fields.append((f["name"], f["type"], f.get("mode", "NULLABLE") == "REQUIRED"))
    m = FILTER_RE.fullmatch(spec.get("filter", "") or "")
    if spec.get("filter") and not m:
        sys.exit("python_file_etl: only filters of the form FIELD OP NUMBER are supported")
    tmpl = spec["route"]["table"]
    rm = re.fullmatch(r"([^{}]*)\{([^{}]+)\}([^{}]*)", tmpl)
    return {
        "fields": fields,
        "trim": clean.get("trim", True),
        "null_tokens": tuple(clean.get("null_tokens", DEFAULT_NULL_TOKENS)),
        "lower": set(clean.get("lowercase", [])),
        "upper": set(clean.get("uppercase", [])),
        "filter": (m.group(1), m.group(2), float(m.group(3))) if m else None,
        "route": (rm.group(1), rm.group(2), rm.group(3)) if rm else (tmpl, None, ""),
        "default": spec["route"].get("default"),
    }


def format_ts(dt):
    """UTC ISO text like the C sinks: 2026-11-05T01:15:00Z, microseconds only when non-zero."""
    return dt.isoformat() + "Z"


class Process(beam.DoFn):
    """Parse, clean, coerce, filter and route one line; per-file counters per bundle."""

    def __init__(self, spec):
        self.spec = spec

    def setup(self):
        s = self.spec
        self.fields = s["fields"]
        self.trim = s["trim"]
        self.null_tokens = frozenset(s["null_tokens"])
        self.lower, self.upper = s["lower"], s["upper"]
        self.filter = s["filter"]
        if self.filter:
            self.filter_index = [f[0] for f in self.fields].index(self.filter[0])
        prefix, field, suffix = s["route"]
        self.route = (prefix, [f[0] for f in self.fields].index(field) if field else None, suffix)
        self.default = s["default"]

    def start_bundle(self):
        self.stats = {}

    def coerce(self, name, ftype, required, v):
        if isinstance(v, str):
            if self.trim:
                v = v.strip(SPACE)
            if v in self.null_tokens:
                v = None
            elif name in self.lower:
                v = v.lower()
            elif name in self.upper:
                v = v.upper()
        if v is None:
            if required:
                raise RowError(f'field "{name}": required but null')
            return None
        if ftype == "STRING":
            return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
        if ftype == "FLOAT64":
            if isinstance(v, str):
                sp = FLOAT_SPECIAL.get(v.lower())
                if sp is not None:
                    return sp
                if FLOAT_RE.fullmatch(v):
                    return float(v)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
            raise RowError(f'field "{name}": {json.dumps(v)} is not a FLOAT64')
        # TIMESTAMP: ISO text, or a number of seconds since the epoch.
        try:
            if isinstance(v, str):
                dt = datetime.fromisoformat(v)
                if dt.tzinfo is not None:
                    dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
                return dt
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return datetime.fromtimestamp(v, timezone.utc).replace(tzinfo=None)
        except (ValueError, OverflowError, OSError):
            pass
        raise RowError(f'field "{name}": {json.dumps(v)} is not a TIMESTAMP')

    def parse(self, line):
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise RowError(f"bad JSON: {e}") from None
        if not isinstance(obj, dict):
            raise RowError("bad JSON: expected a JSON object ('{') at the start of the record")
        values = []
        for name, ftype, required in self.fields:
            if name not in obj:
                if required:
                    raise RowError(f'field "{name}": required but missing')
                values.append(None)
            else:
                values.append(self.coerce(name, ftype, required, obj[name]))
        return values

    def keep(self, values):
        if not self.filter:
            return True
        v = values[self.filter_index]
        if v is None:
            return False  # comparing with null is unknown: the row is filtered, as in C
        op, k = self.filter[1], self.filter[2]
        return (v >= k if op == ">=" else v <= k if op == "<=" else v > k if op == ">" else
                v < k if op == "<" else v == k if op == "=" else v != k)

    def table(self, values):
        prefix, index, suffix = self.route
        if index is None:
            return prefix
        v = values[index]
        if v is None:
            if self.default:
                return self.default
            raise RowError(f'route: field "{self.fields[index][0]}" is null and route.default is not set', "route")
        name = f"{prefix}{v}{suffix}"
        if not NAME_RE.fullmatch(name) or name.startswith("_"):
            raise RowError(f'route: value "{v}" makes invalid table name "{name}"', "route")
        return name

    def process(self, element):
        source, line = element
        st = self.stats.get(source)
        if st is None:
            st = self.stats[source] = [0, 0, 0, 0]  # records, written, dead_lettered, filtered
        st[0] += 1
        try:
            values = self.parse(line)
            if not self.keep(values):
                st[3] += 1
                return
            table = self.table(values)
        except RowError as e:
            st[2] += 1
            yield beam.pvalue.TaggedOutput("dead", ("_dead_letter", (source, None, line, str(e), e.stage)))
            return
        st[1] += 1
        yield table, values

    def finish_bundle(self):
        for source, counts in self.stats.items():
            yield beam.pvalue.TaggedOutput(
                "stats", WindowedValue((source, tuple(counts)), MIN_TIMESTAMP, [GlobalWindow()]))


class SumCounts(beam.CombineFn):
    def create_accumulator(self):
        return (0, 0, 0, 0)

    def add_input(self, acc, x):
        return tuple(a + b for a, b in zip(acc, x))

    def merge_accumulators(self, accs):
        out = (0, 0, 0, 0)
        for a in accs:
            out = self.add_input(out, a)
        return out

    def extract_output(self, acc):
        return acc


def files_row(kv):
    source, (records, written, dead, filtered) = kv
    size = os.path.getsize(source) if os.path.exists(source) else None
    return "_files", (source, size, records, written, dead, filtered, 0, "DirectRunner")


class RowToJson(beam.DoFn):
    """(table, values) -> one JSON line, fields in schema order, like the C JSON-lines sink."""

    def __init__(self, names, columns):
        self.names, self.columns = names, columns

    def process(self, element):
        table, values = element
        names = self.names if not table.startswith("_") else self.columns[table]
        d = {}
        for n, v in zip(names, values):
            d[n] = format_ts(v) if isinstance(v, datetime) else v
        yield json.dumps(d, separators=(",", ":"))


class SqliteWrite(beam.DoFn):
    """(table, values) -> SQLite, one connection, one transaction per bundle, tables created
    on first sight, executemany in batches of 10,000 (WAL, synchronous NORMAL/OFF: like C)."""

    BATCH = 10000

    def __init__(self, path, no_sync, schema_columns, columns):
        self.path, self.no_sync = path, no_sync
        self.schema_columns, self.columns = schema_columns, columns

    def setup(self):
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=" + ("OFF" if self.no_sync else "NORMAL"))
        self.db.execute("PRAGMA cache_size=-16384")
        self.db.execute("PRAGMA temp_store=MEMORY")
        self.known = {}

    def start_bundle(self):
        self.pending = {}
        self.in_txn = False

    def flush(self, table, rows):
        if not self.in_txn:
            self.db.execute("BEGIN IMMEDIATE")
            self.in_txn = True
        sql = self.known.get(table)
        if sql is None:
            cols = self.columns.get(table, self.schema_columns)
            self.db.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (' +
                            ", ".join(f'"{n}" {t}' for n, t in cols) + ")")
            sql = self.known[table] = (f'INSERT INTO "{table}" VALUES (' + ", ".join("?" * len(cols)) + ")")
        self.db.executemany(sql, rows)

    def process(self, element):
        table, values = element
        rows = self.pending.get(table)
        if rows is None:
            rows = self.pending[table] = []
        rows.append(tuple(format_ts(v) if isinstance(v, datetime) else v for v in values))
        if len(rows) >= self.BATCH:
            self.flush(table, rows)
            self.pending[table] = []
        return ()

    def finish_bundle(self):
        for table, rows in self.pending.items():
            if rows:
                self.flush(table, rows)
        if self.in_txn:
            self.db.execute("COMMIT")

    def teardown(self):
        self.db.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True)
    ap.add_argument("--spec", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_spec.json"))
    ap.add_argument("--sink", required=True, help="jsonl:DIR or sqlite:PATH")
    ap.add_argument("--no_sync", action="store_true")
    ap.add_argument("--tables", default=",".join(BENCH_TABLES),
                    help="tables the JSON-lines sink partitions into (the last is the fallback)")
    args = ap.parse_args()
    spec = load_spec(args.spec)
    kind, _, target = args.sink.partition(":")
    if kind not in ("jsonl", "sqlite") or not target:
        sys.exit("python_file_etl: --sink must be jsonl:DIR or sqlite:PATH")
    names = [f[0] for f in spec["fields"]]
    schema_columns = [(n, SQL_TYPES[t] + (" NOT NULL" if req else "")) for n, t, req in spec["fields"]]
    columns = {"_dead_letter": DEAD_COLUMNS, "_files": FILES_COLUMNS}

    with beam.Pipeline(options=PipelineOptions(["--direct_num_workers=1"])) as p:
        out = (p | "Read" >> beam.io.ReadFromTextWithFilename(args.input)
               | "ReadAndProcess" >> beam.ParDo(Process(spec)).with_outputs("dead", "stats", main="rows"))
        files = (out.stats | "SumFileStats" >> beam.CombinePerKey(SumCounts())
                 | "FilesRow" >> beam.Map(files_row))
        if kind == "sqlite":
            ((out.rows, out.dead, files) | "All" >> beam.Flatten()
             | "Write" >> beam.ParDo(SqliteWrite(target, args.no_sync, schema_columns, columns)))
        else:
            os.makedirs(target, exist_ok=True)
            tables = args.tables.split(",")
            index = {t: i for i, t in enumerate(tables)}
            fallback = len(tables) - 1
            parts = out.rows | "Route" >> beam.Partition(lambda kv, n: index.get(kv[0], fallback), len(tables))
            col_names = {t: [c[0] for c in cols] for t, cols in columns.items()}
            for i, table in enumerate(tables):
                (parts[i] | f"Json_{table}" >> beam.ParDo(RowToJson(names, col_names))
                 | f"Write_{table}" >> beam.io.WriteToText(f"{target}/{table}", file_name_suffix=".jsonl",
                                                          shard_name_template=""))
            for name, pc in (("_dead_letter", out.dead), ("_files", files)):
                (pc | f"Json{name}" >> beam.ParDo(RowToJson(names, col_names))
                 | f"Write{name}" >> beam.io.WriteToText(f"{target}/{name}", file_name_suffix=".jsonl",
                                                        shard_name_template=""))


if __name__ == "__main__":
    main()
