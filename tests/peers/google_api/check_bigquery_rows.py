#!/usr/bin/env python3
"""Compares the rows a BigQuery endpoint stored (fake_bigquery.py's --bigquery-rows file)
with a SQLite output of the same run, table by table, as sorted JSON; checks that every
_files row adds up (records = written + dead_lettered + filtered + deduplicated) and that
the written counts equal the rows stored.

  check_bigquery_rows.py ROWS.jsonl EXPECTED.db [--dataset DS]
      [--moved-to-dead-letter TABLE:FIELD=VALUE:REASON_TEXT]...

--moved-to-dead-letter: that row is expected in _dead_letter (stage "sink", the reason
containing REASON_TEXT, raw holding the row) instead of TABLE, and the _files counts of its
file one written less, one dead-lettered more."""

import argparse
import collections
import json
import sqlite3
import sys

VOLATILE = {'_files': ('started_at', 'finished_at')}


def canon(table, row):
  row = {k: v for k, v in row.items() if k not in VOLATILE.get(table, ())}
  # SQLite REAL 13.0 and JSON 13 are one value; compare numbers as floats.
  return json.dumps({k: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                     for k, v in row.items()}, sort_keys=True)


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument('rows')
  ap.add_argument('db')
  ap.add_argument('--dataset')
  ap.add_argument('--moved-to-dead-letter', action='append', default=[])
  args = ap.parse_args()

  got = collections.defaultdict(list)
  with open(args.rows) as f:
    for line in f:
      e = json.loads(line)
      if args.dataset and e['dataset'] != args.dataset:
        continue
      got[e['table']].append(e['row'])

  con = sqlite3.connect(args.db)
  con.row_factory = sqlite3.Row
  want = {}
  for (name,) in con.execute("select name from sqlite_master where type='table' and name not in ('_bundles', '_beam_ledger')"):
    want[name] = [dict(r) for r in con.execute('select * from "%s"' % name)]

  moved = []
  for m in args.moved_to_dead_letter:
    table, cond, reason = m.split(':', 2)
    field, value = cond.split('=', 1)
    hit = [r for r in want.get(table, []) if str(r.get(field)) == value]
    if len(hit) != 1:
      sys.exit('FAIL: expected one %s row with %s=%s in the SQLite output, found %d' % (table, field, value, len(hit)))
    want[table].remove(hit[0])
    moved.append((table, hit[0], reason))

  failures = []
  dead = got.get('_dead_letter', [])
  for table, row, reason in moved:
    match = [d for d in dead if d['stage'] == 'sink' and reason in (d['error'] or '') and
             row['event_id'] in (d['raw'] or '')]
    if len(match) != 1:
      failures.append('%s row %s: expected one sink dead letter with %r, found %d' %
                      (table, row.get('event_id'), reason, len(match)))
    else:
      dead.remove(match[0])
      print('ok: %s row %s dead-lettered: %s' % (table, row.get('event_id'), match[0]['error']))
  got['_dead_letter'] = dead

  for table in sorted(set(want) | set(got)):
    if table == '_files':
      continue
    w = sorted(canon(table, r) for r in want.get(table, []))
    g = sorted(canon(table, r) for r in got.get(table, []))
    if w != g:
      extra = collections.Counter(g) - collections.Counter(w)
      missing = collections.Counter(w) - collections.Counter(g)
      failures.append('table %s: %d rows stored, %d expected; extra %s; missing %s' %
                      (table, len(g), len(w), list(extra)[:3], list(missing)[:3]))
    else:
      print('ok: table %s: %d rows equal' % (table, len(g)))

  files = {r['name']: r for r in got.get('_files', [])}
  expected_files = {r['name']: dict(r) for r in want.get('_files', [])}
  written_total = sum(len(v) for k, v in got.items() if not k.startswith('_'))
  if set(files) != set(expected_files):
    failures.append('_files names %s, expected %s' % (sorted(files), sorted(expected_files)))
  for name, f in files.items():
    total = f['written'] + f['dead_lettered'] + f['filtered'] + f['deduplicated']
    if f['records'] != total:
      failures.append('_files %s: records %d != %d written + dead-lettered + filtered + deduplicated' %
                      (name, f['records'], total))
    e = expected_files.get(name)
    if e and (f['records'], f['filtered'], f['deduplicated']) != (e['records'], e['filtered'], e['deduplicated']):
      failures.append('_files %s: %s, expected %s' % (name, f, e))
  if sum(f['written'] for f in files.values()) != written_total:
    failures.append('_files written %d != %d rows stored in the routed tables' %
                    (sum(f['written'] for f in files.values()), written_total))
  moved_n = len(moved)
  if sum(f['dead_lettered'] for f in files.values()) != sum(e['dead_lettered'] for e in expected_files.values()) + moved_n:
    failures.append('_files dead_lettered %d, expected %d' % (sum(f['dead_lettered'] for f in files.values()),
                    sum(e['dead_lettered'] for e in expected_files.values()) + moved_n))
  if not failures:
    print('ok: _files adds up (%d files, %d rows written)' % (len(files), written_total))
  if failures:
    sys.exit('FAIL:\n  ' + '\n  '.join(failures))


if __name__ == '__main__':
  main()
