#!/usr/bin/env python3
"""Checks that a PostgreSQL database holds row for row what a SQLite database of the same
file ETL run holds: every table of the SQLite file (but its bundle bookkeeping), with values
compared by the PostgreSQL column type (timestamps as instants, numerics as decimals, bytea
as bytes, booleans as truth values); _files by its counts (runner and times differ).

Usage: compare_pg_sqlite.py SQLITE_DB PSQL DBNAME   (libpq variables name the server)"""
import base64
import collections
import datetime
import decimal
import json
import sqlite3
import subprocess
import sys

FILES_COUNTS = ("name", "size_bytes", "records", "written", "dead_lettered", "filtered", "deduplicated")


def psql_json(psql, db, query):
    out = subprocess.run([psql, "-X", "-q", "-At", "-d", db, "-c", query], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    return json.loads(out.strip() or "null", parse_float=decimal.Decimal)


def instant(v):
    if isinstance(v, str):
        return datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(datetime.timezone.utc)
    return v


def norm(pg_type, v, side):
    if v is None:
        return None
    if pg_type == "timestamp with time zone":
        return instant(v)
    if pg_type == "date":
        return datetime.date.fromisoformat(v)
    if pg_type == "numeric":
        return decimal.Decimal(str(v))
    if pg_type == "double precision":
        return float(v)
    if pg_type == "boolean":
        return bool(v)
    if pg_type == "bytea":
        if side == "pg":
            return bytes.fromhex(v[2:])  # "\\x0a0b"
        return bytes(v)
    if pg_type == "bigint":
        return int(v)
    return v


def main():
    sqlite_path, psql, db = sys.argv[1:4]
    lite = sqlite3.connect(sqlite_path)
    tables = [r[0] for r in lite.execute(
        "select name from sqlite_master where type='table' and name not in ('_bundles', '_beam_ledger') order by name")]
    status = 0
    total = 0
    for t in tables:
        cols = psql_json(psql, db, f"select json_agg(json_build_array(column_name, data_type) order by ordinal_position) "
                                   f"from information_schema.columns where table_name = '{t}'")
        if not cols:
            print(f"compare: table {t} is missing in PostgreSQL")
            status = 1
            continue
        types = dict(cols)
        names = [c for c, _ in cols if t != "_files" or c in FILES_COUNTS]
        quoted = ", ".join('"' + n + '"' for n in names)
        pg_rows = psql_json(psql, db, f'select json_agg(json_build_array({quoted})) from "{t}"') or []
        lite_rows = lite.execute(f'select {quoted} from "{t}"').fetchall()
        pg = collections.Counter(tuple(norm(types[n], v, "pg") for n, v in zip(names, r)) for r in pg_rows)
        li = collections.Counter(tuple(norm(types[n], v, "lite") for n, v in zip(names, r)) for r in lite_rows)
        if pg != li:
            status = 1
            print(f"compare: table {t} differs: {len(pg_rows)} rows in PostgreSQL, {len(lite_rows)} in SQLite")
            for row in list((pg - li).elements())[:3]:
                print(f"  only in PostgreSQL: {row}")
            for row in list((li - pg).elements())[:3]:
                print(f"  only in SQLite:     {row}")
        else:
            total += len(pg_rows)
            print(f"compare: {t}: {len(pg_rows)} rows identical")
    bad = psql_json(psql, db, "select json_agg(name) from _files "
                              "where records <> written + dead_lettered + filtered + deduplicated")
    if bad:
        print(f"compare: _files counts do not add up for {bad}")
        status = 1
    print(f"compare: {len(tables)} tables, {total} rows: {'identical' if status == 0 else 'DIFFERENT'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
