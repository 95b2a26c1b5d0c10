#!/usr/bin/env bash
# kill -9 at many instants of a load, then the same command again: every row exactly once and
# one _files row per file, the same as one uninterrupted load. Also: a third run skips every
# file and changes nothing. With "split", every file is read in byte ranges of 64K (units of
# their own: a rerun keeps the ranges committed before the kill). With "split_changed", the
# killed run reads ranges of 64K and the reruns ranges of 100K (as another --split_size, another
# CPU count or a runner's dynamic split would): a rerun still skips every row the killed run
# committed, whatever range it came in. With "zip" the files are members of one ZIP archive
# (16 members of 10,000 events) read in ranges of one member each (1M); "zip_changed" reruns
# with ranges of two members (3M).
# "fanout" loads into two destinations at once (SQLite and JSON lines), each with its own
# ledger: after every kill the rerun completes both, each exactly once.
# Usage: kill_rerun.sh FILE_ETL SOURCE_DIR sqlite|jsonl|postgres|fanout [dedupe|plain] [split|split_changed|zip|zip_changed]
set -euo pipefail
etl=$1 src=$2 kind=$3 mode=${4:-dedupe}
split=--split_size=0 killed_split=--split_size=0
case "${5:-}" in
  split) split=--split_size=64K killed_split=$split ;;
  split_changed) split=--split_size=100K killed_split=--split_size=64K ;;
  zip) split=--split_size=1M killed_split=$split ;;
  zip_changed) split=--split_size=3M killed_split=--split_size=1M ;;
esac
files=4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir in
# Four files of 40,000 events: big enough that a kill lands inside reading, writing and
# committing; ids repeat across files so dedupe has work.
python3 - <<'PY'
import json
for f in range(4):
    with open(f"in/part{f}.jsonl", "w") as out:
        for i in range(40000):
            n = f * 30000 + i
            out.write(json.dumps({"event_id": f"e{n}", "event_type": ["order", "refund", "view"][n % 3],
                                  "user_id": f"u{n % 97}", "amount": (n % 500) - 5,
                                  "ts": "2026-01-01T00:00:00Z", "country": "de"}) + "\n")
    if f == 1:
        out = open(f"in/part{f}.jsonl", "a"); out.write("not json\n"); out.close()
PY
if [[ ${5:-} == zip* ]]; then
  files=1
  python3 - <<'PY'
import glob, os, zipfile
with zipfile.ZipFile("in/all.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for path in sorted(glob.glob("in/part*.jsonl")):
        lines = open(path).read().splitlines(keepends=True)
        for k in range(0, len(lines), 10000):
            z.writestr(f"{os.path.basename(path)[:-6]}_{k // 10000}.jsonl", "".join(lines[k:k + 10000]))
        os.remove(path)
PY
fi
if [ "$mode" = dedupe ]; then spec="$src/pipelines/file_etl/samples/spec.json"
else python3 -c "
import json; s = json.load(open('$src/pipelines/file_etl/samples/spec.json')); s['clean'].pop('dedupe_on')
json.dump(s, open('spec.json', 'w'))"; spec=spec.json; fi

psql() { "$BEAM_PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
sink_of() {
  case $kind in
    sqlite) echo "sqlite:$1.db" ;;
    jsonl) echo "jsonl:$1" ;;
    postgres) echo "postgres:host=$PGHOST port=$PGPORT user=$PGUSER dbname=kill_$1" ;;
  esac
}
# The --sink flags of destination $1, into the array named $2.
sink_flags() {
  local -n flags=$2
  if [ "$kind" = fanout ]; then flags=(--sink="sqlite:$1.db" --sink="jsonl:$1")
  else flags=(--sink="$(sink_of "$1")"); fi
}
# A fresh, empty destination named $1.
fresh() {
  case $kind in
    postgres) psql -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS kill_$1" -c "CREATE DATABASE kill_$1" ;;
    *) rm -rf "$1" "$1.db"* ;;
  esac
}
# Every table's content, sorted, without the columns that differ between runs.
. "$src/tests/cli/dump_tables.sh"
dump() {
  if [ "$kind" = fanout ]; then
    dump_sqlite "$1.db"
    dump_jsonl "$1"
  elif [ "$kind" = sqlite ]; then
    dump_sqlite "$1.db"
  elif [ "$kind" = postgres ]; then
    local db=kill_$1
    for t in $(psql -d "$db" -c "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE '\_%' ORDER BY 1"); do
      echo "== $t"; psql -d "$db" -c "SELECT * FROM \"$t\"" | sort
    done
    echo "== _dead_letter"; psql -d "$db" -c "SELECT source, line, stage, error FROM _dead_letter" | sort
    echo "== _files"; psql -d "$db" -c "SELECT name, records, written, dead_lettered, filtered, deduplicated, status FROM _files" | sort
  else
    dump_jsonl "$1"
  fi
}

fresh ref
sink_flags ref ref_sinks
sink_flags out out_sinks
start=$(date +%s.%N)
"$etl" --spec "$spec" --input in "${ref_sinks[@]}" --quiet $split > /dev/null
took=$(python3 -c "print($(date +%s.%N) - $start)")
dump ref > ref.txt
test "$(grep -c . ref.txt)" -gt 1000
kills=0
# Kill instants spread over the clean load's duration (sanitizer builds are slower), from
# reading through the commits to the last _files row.
for delay in $(python3 -c "print(' '.join(f'{$took * k / 16:.3f}' for k in range(1, 16)))"); do
  fresh out
  "$etl" --spec "$spec" --input in "${out_sinks[@]}" --quiet $killed_split > /dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  "$etl" --spec "$spec" --input in "${out_sinks[@]}" --quiet $split > rerun.log 2>&1 || { cat rerun.log; exit 1; }
  dump out > out.txt
  if ! cmp -s ref.txt out.txt; then
    echo "kill -9 after ${delay}s, then a rerun: the destination differs from one clean load" >&2
    diff ref.txt out.txt | head -20 >&2
    exit 1
  fi
  # A third run skips everything and changes nothing.
  "$etl" --spec "$spec" --input in "${out_sinks[@]}" --quiet $split > third.log 2>&1
  grep -Eq "nothing to load: $files files? already loaded" third.log || { cat third.log; exit 1; }
  dump out | cmp -s ref.txt - || { echo "a third run changed the destination" >&2; exit 1; }
done
echo "kill_rerun $kind $mode ${5:-}: a clean load took ${took}s; $kills of 15 kills landed mid-run; every rerun equals one clean load"
