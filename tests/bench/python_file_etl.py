#!/usr/bin/env python3
"""The benchmark's ETL written with the Apache Beam Python SDK, run on its default local
runner: read JSON lines, parse, trim/lowercase, type-check, filter amount >= 0, route to
events_{event_type}, write one JSON-lines output per table plus the dead letters.

Usage: python_file_etl.py INPUT OUTDIR"""
import json
import sys
from datetime import datetime

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

TABLES = ("events_order", "events_inventory", "events_user_activity", "events_other")


def parse(line):
    try:
        row = json.loads(line)
        row["event_type"] = row["event_type"].strip().lower()
        amount = row.get("amount")
        if amount is not None and not isinstance(amount, (int, float)):
            raise ValueError(f'field "amount": {amount!r} is not a FLOAT64')
        datetime.fromisoformat(row["ts"].replace("Z", "+00:00"))
        return [beam.pvalue.TaggedOutput("rows", row)]
    except Exception as e:  # noqa: BLE001 - a dead letter records any failure
        return [beam.pvalue.TaggedOutput("dead", json.dumps({"raw": line, "error": str(e)}))]


def route(row, n):
    table = f"events_{row['event_type']}" if row["event_type"] else "events_other"
    return TABLES.index(table) if table in TABLES else 3


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    with beam.Pipeline(options=PipelineOptions(["--direct_num_workers=1"])) as p:
        parsed = (p | beam.io.ReadFromText(src)
                  | beam.FlatMap(parse).with_outputs("rows", "dead"))
        kept = parsed.rows | beam.Filter(lambda r: r.get("amount") is not None and r["amount"] >= 0)
        parts = kept | beam.Partition(route, len(TABLES))
        for i, table in enumerate(TABLES):
            (parts[i] | f"Json{table}" >> beam.Map(json.dumps)
             | f"Write{table}" >> beam.io.WriteToText(f"{outdir}/{table}", file_name_suffix=".jsonl"))
        parsed.dead | beam.io.WriteToText(f"{outdir}/_dead_letter", file_name_suffix=".jsonl")


if __name__ == "__main__":
    main()
