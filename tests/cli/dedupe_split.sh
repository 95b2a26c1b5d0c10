#!/usr/bin/env bash
# Dedupe on a key most rows share (the combine is lifted, so a key's rows are folded before
# the shuffle, not held as one group): the kept rows are the first in record order whatever
# the split size and thread count (dead letters of ranges know no line: both loads split), every file's _files row accounts for its records, and
# of two inputs with the same content (the same file identity) one loads, the first by name:
# the other is already loaded (no _files row, none of its dead letters), as without dedupe.
# The same command again adds nothing.
# Usage: dedupe_split.sh FILE_ETL SOURCE_DIR
set -euo pipefail
etl=$1 src=$2
. "$src/tests/cli/dump_tables.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir in
export SRC=$src
python3 - <<'PY'
import json, os, shutil
def ev(n):
    return json.dumps({"event_id": f"e{n}", "event_type": ["order", "refund", "view"][n % 3],
                       "user_id": f"u{n % 3}", "amount": (n % 500) - 5, "ts": "2026-01-01T00:00:00Z", "country": "de"})
for f in range(2):
    with open(f"in/part{f}.jsonl", "w") as out:
        for i in range(30000):
            out.write(ev(f * 30000 + i) + "\n")
            if i % 7000 == 5: out.write("not json\n")
shutil.copy("in/part1.jsonl", "in/same_as_part1.jsonl")
s = json.load(open(os.environ["SRC"] + "/pipelines/file_etl/samples/spec.json"))
s["clean"]["dedupe_on"] = "user_id"  # three values over 90000 rows
json.dump(s, open("spec.json", "w"))
PY
inputs=(--input in/part0.jsonl --input in/part1.jsonl --input in/same_as_part1.jsonl)
"$etl" --spec spec.json "${inputs[@]}" --sink=sqlite:whole.db --parallelism=1 --split_size=100K --quiet
"$etl" --spec spec.json "${inputs[@]}" --sink=sqlite:split.db --parallelism=2 --split_size=256K \
  --memory_budget=1M > split.log
grep -Eq "^  files already loaded +1 " split.log || { cat split.log; echo "FAIL: the copy is not already loaded"; exit 1; }
grep -Eq "^file_etl: 3 files, 60010 records" split.log || { cat split.log; echo "FAIL: the copy's records counted"; exit 1; }
files=$(sqlite3 split.db "SELECT group_concat(name) FROM (SELECT name FROM _files ORDER BY name)")
[ "$files" = "in/part0.jsonl,in/part1.jsonl" ] || { echo "FAIL: _files rows $files"; exit 1; }
copies=$(sqlite3 split.db "SELECT count(*) FROM _dead_letter WHERE source LIKE '%same_as%'")
[ "$copies" = 0 ] || { echo "FAIL: $copies dead letters of the copy"; exit 1; }
dump_sqlite whole.db > whole.txt
dump_sqlite split.db > split.txt
cmp whole.txt split.txt || { diff whole.txt split.txt | head -20; echo "FAIL: split and whole loads differ"; exit 1; }
kept=$(sqlite3 split.db "SELECT group_concat(event_id) FROM (SELECT event_id FROM events_order UNION ALL
  SELECT event_id FROM events_refund UNION ALL SELECT event_id FROM events_view ORDER BY event_id)")
# The first row of each user in record order (e0..e4 have a negative amount: filtered).
[ "$kept" = "e5,e6,e7" ] || { echo "FAIL: kept $kept, want the first row of each user"; exit 1; }
sqlite3 split.db "SELECT name, records, written + dead_lettered + filtered + deduplicated, status FROM _files" |
  awk -F'|' '$2 != $3 || $4 != "loaded" { print "FAIL: _files row does not account for its records: " $0; bad = 1 }
             END { exit bad }'
"$etl" --spec spec.json "${inputs[@]}" --sink=sqlite:split.db --parallelism=2 --split_size=256K --quiet
dump_sqlite split.db > again.txt
cmp split.txt again.txt || { echo "FAIL: the same command again changed the tables"; exit 1; }

echo "ok: dedupe on a hot key: first rows kept, split = whole, files accounted, a rerun adds nothing"
