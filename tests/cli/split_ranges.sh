#!/usr/bin/env bash
# Big files read in byte ranges load exactly what a whole read loads: every table the same
# multiset of rows, _files the same counts (and `ranges` > 1), whatever the split size and
# the number of threads, for JSON lines, a CSV with a BOM, CRLF line ends and quoted commas, a
# CSV with a newline inside a quoted field (read in one range), a ZIP archive (split by member:
# CSV and JSON lines members, an empty one, a directory, an unsupported file, a bad line, a
# member larger than the split size), with and without dedupe.
# Usage: split_ranges.sh FILE_ETL SOURCE_DIR SINK_KIND(sqlite|jsonl)
set -uo pipefail
etl=$1 src=$2 kind=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/in"
python3 "$src/tests/bench/gen_events.py" 30000 "$tmp/in/events.jsonl"
head -n 500 "$tmp/in/events.jsonl" >> "$tmp/in/events.jsonl" # duplicates for dedupe
python3 - "$tmp/in" <<'EOF'
import json, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(f"{d}/events.jsonl") if l.strip()]
def cell(v):
    s = "" if v is None else str(v)
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\n') else s
keys = ["event_id", "event_type", "user_id", "amount", "ts", "country"]
with open(f"{d}/events.csv", "w", newline="") as f:
    f.write("\ufeff" + ",".join(keys) + "\r\n")
    for i, r in enumerate(rows):
        if i % 7 == 0: r["country"] = f"{r['country']}, region {i % 3}"  # a quoted comma
        f.write(",".join(cell(r[k]) for k in keys) + "\r\n")
with open(f"{d}/quoted_newline.csv", "w", newline="") as f:
    f.write(",".join(keys) + "\n")
    for i, r in enumerate(rows[:20000]):
        r["event_id"] = "q" + r["event_id"]
        if i == 15000: r["country"] = "line one\nline two"  # deep in the file, past the first ranges
        f.write(",".join(cell(r[k]) for k in keys) + "\n")
import zipfile
with zipfile.ZipFile(f"{d}/archive.zip", "w", zipfile.ZIP_DEFLATED) as z:
    zrows = [dict(r, event_id="z" + r["event_id"]) for r in rows[:14000]]
    at = 0
    for m, n in enumerate([700, 1300, 0, 9000, 900, 1100, 1000]):  # member 3: over 1M
        part = zrows[at:at + n]
        at += n
        if m % 2:
            z.writestr(f"csv/part{m}.csv", ",".join(keys) + "\n" + "".join(",".join(cell(r[k]) for k in keys) + "\n" for r in part))
        else:
            lines = [json.dumps(r) for r in part]
            if m == 4: lines.insert(17, "not json")
            z.writestr(f"part{m}.jsonl", "".join(l + "\n" for l in lines))
        if m == 1: z.writestr("csv/", ""); z.writestr("README.md", "not data")
EOF
python3 -c "
import json; s = json.load(open('$src/pipelines/file_etl/samples/spec.json')); del s['clean']['dedupe_on']
json.dump(s, open('$tmp/plain.json', 'w'))"
cp "$src/pipelines/file_etl/samples/spec.json" "$tmp/dedupe.json"

# dump NAME: every table of output NAME as sorted text, dead letters without line numbers.
dump() {
  local name=$1
  if [[ $kind == sqlite ]]; then
    for t in $(sqlite3 "$tmp/$name.db" "select name from sqlite_master where type='table' and name not like '\\_%' escape '\\' order by name"); do
      echo "== $t"; sqlite3 "$tmp/$name.db" "select * from \"$t\"" | sort
    done
    echo "== _dead_letter"; sqlite3 "$tmp/$name.db" "select source, raw, error, stage, \"offset\" from _dead_letter" | sort
    echo "== _files"
    sqlite3 "$tmp/$name.db" "select name, size_bytes, records, written, dead_lettered, filtered, deduplicated, status, file_id from _files" | sort
  else
    for f in "$tmp/$name"/*.jsonl; do
      local t; t=$(basename "$f" .jsonl)
      echo "== $t"
      case $t in
        _dead_letter) python3 -c "
import json, sys
for l in open(sys.argv[1]): r = json.loads(l); r.pop('line', None); print(json.dumps(r, sort_keys=True))" "$f" | sort ;;
        _files) python3 -c "
import json, sys
keep = ('name', 'size_bytes', 'records', 'written', 'dead_lettered', 'filtered', 'deduplicated', 'status', 'file_id')
for l in open(sys.argv[1]): r = json.loads(l); print(json.dumps({k: r[k] for k in keep}, sort_keys=True))" "$f" | sort ;;
        *) sort "$f" ;;
      esac
    done
  fi
}
ranges_of() { # ranges_of NAME FILE: the _files.ranges of FILE in output NAME
  if [[ $kind == sqlite ]]; then sqlite3 "$tmp/$1.db" "select ranges from _files where name like '%/$2'"
  else python3 -c "
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r['name'].endswith('/' + sys.argv[2]): print(r['ranges'])" "$tmp/$1/_files.jsonl" "$2"; fi
}
zip_dead_letter() { # zip_dead_letter NAME: source, line and offset of the line that is not JSON in the ZIP
  if [[ $kind == sqlite ]]; then
    sqlite3 "$tmp/$1.db" "select source, line, \"offset\" from _dead_letter where source like '%!part4.jsonl' and error like 'bad JSON%'"
  else python3 -c "
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r['source'].endswith('!part4.jsonl') and r['error'].startswith('bad JSON'): print('%s|%s|%s' % (r['source'], r['line'], r['offset']))" "$tmp/$1/_dead_letter.jsonl"; fi
}
sink() { if [[ $kind == sqlite ]]; then echo "sqlite:$tmp/$1.db"; else echo "jsonl:$tmp/$1"; fi; }
load() { # load NAME SPEC FLAGS...
  local name=$1 spec=$2
  shift 2
  "$etl" --input="$tmp/in" --spec="$spec" --sink="$(sink "$name")" --quiet --no_sync "$@" > "$tmp/$name.out" 2>&1
}

for mode in plain dedupe; do
  load "ref_$mode" "$tmp/$mode.json" --split_size=0 --parallelism=1
  rc=$?
  [[ $rc == 0 ]] || { fail "$mode reference run exited $rc"; cat "$tmp/ref_$mode.out"; continue; }
  dump "ref_$mode" > "$tmp/ref_$mode.txt"
  for variant in "64K 1" "100003 2" "1M 2" "auto 2"; do
    read -r size threads <<< "$variant"
    name="${mode}_${size}_${threads}"
    load "$name" "$tmp/$mode.json" --split_size="$size" --parallelism="$threads"
    rc=$?
    if [[ $rc != 0 ]]; then fail "$name exited $rc"; sed 's/^/    /' "$tmp/$name.out"; continue; fi
    dump "$name" > "$tmp/$name.txt"
    if ! diff -q "$tmp/ref_$mode.txt" "$tmp/$name.txt" > /dev/null; then
      fail "$name: tables differ from the whole read"; diff "$tmp/ref_$mode.txt" "$tmp/$name.txt" | head -10 | sed 's/^/    /'
      continue
    fi
    r_jsonl=$(ranges_of "$name" events.jsonl) r_csv=$(ranges_of "$name" events.csv) r_q=$(ranges_of "$name" quoted_newline.csv)
    r_zip=$(ranges_of "$name" archive.zip)
    if [[ $size != auto && ( $r_jsonl -lt 2 || $r_csv -lt 2 || $r_zip -lt 2 ) ]] || [[ $r_q != 1 ]]; then
      fail "$name: ranges jsonl=$r_jsonl csv=$r_csv zip=$r_zip quoted_newline=$r_q (want >1, >1, >1, 1)"
      continue
    fi
    dl=$(zip_dead_letter "$name")
    if [[ $dl != "$tmp/in/archive.zip!part4.jsonl|18|"* ]]; then
      fail "$name: the ZIP member's bad line is dead-lettered as '$dl' (want archive.zip!part4.jsonl, line 18)"
      continue
    fi
    echo "ok   $name (ranges: jsonl $r_jsonl, csv $r_csv, zip $r_zip, quoted newline $r_q)"
  done
  # The same command again: every file is in the ledger.
  load "${mode}_64K_1" "$tmp/$mode.json" --split_size=64K --parallelism=1
  rc=$?
  if [[ $rc != 0 ]] || ! grep -q "nothing to load: 4 files already loaded" "$tmp/${mode}_64K_1.out"; then
    fail "$mode rerun: rc=$rc"; sed 's/^/    /' "$tmp/${mode}_64K_1.out"
  else
    echo "ok   $mode rerun skips every file"
  fi
done
[[ $failures == 0 ]] && echo "split_ranges ($kind): all passed" || echo "split_ranges ($kind): $failures failed"
exit $((failures > 0))
