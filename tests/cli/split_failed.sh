#!/usr/bin/env bash
# A split file that fails after some of its ranges committed leaves none of its rows, and the
# same command loads it exactly once when it reads again. Two ways to fail:
#   zip  - a ZIP archive read by member in ranges, one of whose members is corrupt (its CRC
#          fails when that range reaches its end); the same command again does the same; once
#          the archive is whole the same command loads it once, like a load of it alone.
#   grow - a JSON-lines file that grows while it is read: BEAM_ETL_TEST_GROW_AFTER_RANGE (a
#          hook only tests set, transforms/src/etl/etl_test_hooks.h) appends a line to it once
#          its first range was read, so its other ranges see another content; the same command
#          without the hook (the file stable now) loads it once, like a load of it alone.
#   kill - the zip case with kill -9 at instants of the failing run (its ranges committing, its
#          retraction): the same command after it leaves none of the archive's rows, and once
#          the archive is whole loads it once.
# Either way another file of the run loads, the run exits 3, and --summary_json counts what
# stays (rows written minus those retracted). With "dedupe" (clean.dedupe_on kept) the failed
# file's rows never reach a table (DedupePick drops them): the summary counts them under
# dropped_with_failed_files instead of retracted, and its accounting holds.
# Usage: split_failed.sh FILE_ETL SOURCE_DIR [sqlite|postgres|jsonl] [zip|grow|kill] [dedupe]
# postgres: inside tests/postgres/with_postgres.sh (BEAM_PG_BINDIR, PGHOST...).
set -euo pipefail
etl=$1 src=$2 dest=${3:-sqlite} mode=${4:-zip} dedupe=${5:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir in good
export SRC=$src MODE=$mode DEDUPE=$dedupe
python3 - <<'PY'
import json, os, zipfile
def ev(prefix, n):
    return json.dumps({"event_id": f"{prefix}{n}", "event_type": ["order", "refund", "view"][n % 3],
                       "user_id": f"u{n % 97}", "amount": (n % 500) - 5, "ts": "2026-01-01T00:00:00Z", "country": "de"})
if os.environ["MODE"] != "grow":
    # Stored members of about 330 KB: each its own range at --split_size=100K.
    with zipfile.ZipFile("good/arch.zip", "w", zipfile.ZIP_STORED) as z:
        for m in range(4):
            z.writestr(f"part{m}.jsonl", "".join(ev("r", m * 2000 + i) + "\n" for i in range(2000)))
            if m == 1: z.writestr("bad.jsonl", "not json\n")  # a dead letter of the archive
    data = bytearray(open("good/arch.zip", "rb").read())
    with zipfile.ZipFile("good/arch.zip") as z:
        info = z.getinfo("part2.jsonl")
    at = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5000
    data[at] ^= 0x20  # a letter's case: the JSON still parses, the CRC does not match
    open("in/arch.zip", "wb").write(data)
else:
    # About 500 KB: 5 ranges at --split_size=100K; one dead letter in the third.
    lines = [ev("r", i) + "\n" for i in range(4000)]
    lines[2000] = "not json\n"
    open("in/arch.jsonl", "w").write("".join(lines))
with open("in/other.jsonl", "w") as f:
    f.write("".join(ev("o", i) + "\n" for i in range(500)))
s = json.load(open(os.environ["SRC"] + "/pipelines/file_etl/samples/spec.json"))
if os.environ["DEDUPE"] != "dedupe": s["clean"].pop("dedupe_on")
else: s["clean"]["dedupe_on"] = "event_id"  # every event_id once: nothing is a duplicate
json.dump(s, open("spec.json", "w"))
PY
[ -s spec.json ]
name=arch.zip
[ "$mode" = grow ] && name=arch.jsonl

. "$src/tests/cli/dest_sql.sh"
dest_sql "$dest" split
[ "$dest" = postgres ] && { fresh out; fresh ref; }

load() { # load DB: the same command every time; prints the exit status
  local rc=0
  "$etl" --input in --spec spec.json --sink "$(uri "$1")" --split_size=100K --parallelism="$threads" --quiet \
    --summary_json=summary.json > load.log 2>&1 || rc=$?
  echo "$rc"
}
# zip: two threads (a corrupt member fails whatever the order); grow: one, so that the ranges
# read after the first one see the grown file.
threads=2
[ "$mode" = grow ] && threads=1
rows_of() { # rows_of DB LIKE: rows of every table (but _files) whose first column matches
  local n=0 t
  for t in $(q "$1" "$tables_sql"); do
    n=$((n + $(q "$1" "select count(*) from \"$t\" where event_id like '$2'")))
  done
  n=$((n + $(q "$1" "select count(*) from _dead_letter where source like '%$2'")))
  echo "$n"
}
check_failed() { # check_failed RC RUN NEW: the file failed, none of its rows, the other file loaded (NEW: by this run; killed: after a killed run)
  local rc=$1 run=$2 new=$3
  [ "$rc" = 3 ] || { echo "$run: exit $rc, want 3"; cat load.log; exit 1; }
  local why="CRC-32 mismatch"
  [ "$mode" = grow ] && why="changed while being read"
  grep -q "$why" load.log || { echo "$run: the file's error ($why) is not logged"; cat load.log; exit 1; }
  [ "$(rows_of out 'r%')" = 0 ] || { echo "$run: rows of the failed file stayed: $(rows_of out 'r%')"; exit 1; }
  [ "$(rows_of out "%$name%")" = 0 ] || { echo "$run: dead letters of the failed file stayed"; exit 1; }
  [ "$(q out "select count(*) from _beam_ledger where file like '%$name'")" = 0 ] \
    || { echo "$run: ledger entries of the failed file stayed"; exit 1; }
  local last want="failed|5|0"
  last=$(q out "select status, ranges, written from _files where name like '%$name' order by finished_at desc limit 1")
  [ "$last" = "$want" ] || { echo "$run: _files row of the file is '$last', want $want"; exit 1; }
  [ "$(q out "select status from _files where name like '%other.jsonl'")" = loaded ] \
    || { echo "$run: the other file did not load"; exit 1; }
  [ "$new" = killed ] && return 0 # the counts are split between the killed run and this one
  # The summary counts what stays: rows written minus those retracted.
  local stays=0 retracted=$((3 * 1980 + 1)) t
  [ "$mode" = grow ] && retracted=-1 # what the ranges read before the failure committed: some
  if [ "$new" = yes ]; then
    stays=$(q out "select count(*) from _dead_letter")
    for t in $(q out "$tables_sql"); do stays=$((stays + $(q out "select count(*) from \"$t\""))); done
  fi
  python3 - "$stays" "$retracted" "$dedupe" <<'PY' || { echo "$run: the summary's counts are not what the tables hold"; cat summary.json; exit 1; }
import json, sys
t = json.load(open("summary.json"))["totals"]
want = int(sys.argv[2])
# With dedupe nothing of the file was written, so nothing is retracted: DedupePick dropped it.
got = t.get("dropped_with_failed_files", 0) if sys.argv[3] == "dedupe" else t["retracted"]
assert "retracted" not in t or sys.argv[3] != "dedupe", t
assert got == want if want >= 0 else got > 0, t
assert sum(t["written"].values()) == int(sys.argv[1]), (t["written"], sys.argv[1])
failed = [f for f in json.load(open("summary.json"))["files"] if f["name"].endswith(("arch.zip", "arch.jsonl"))]
assert failed and failed[0]["status"] == "failed" and failed[0]["written"] == 0, failed
PY
}
if [ "$mode" = grow ]; then
  size=$(stat -c %s in/arch.jsonl)
  rc=$(BEAM_ETL_TEST_GROW_AFTER_RANGE=in/arch.jsonl load out)
  check_failed "$rc" "first run" yes
  grep -q "ranges saw $size bytes, then $((size + $(head -n 1 in/arch.jsonl | wc -c))) bytes" load.log || { echo "the error does not name the sizes the ranges saw"; cat load.log; exit 1; }
  cp in/arch.jsonl good/arch.jsonl # as it is now, grown, for the reference load
elif [ "$mode" = zip ]; then
  rc=$(load out)
  check_failed "$rc" "first run" yes
  other=$(rows_of out 'o%')
  rc=$(load out)
  check_failed "$rc" "the same command again" no
  [ "$(rows_of out 'o%')" = "$other" ] || { echo "the other file loaded twice"; exit 1; }
  cp good/arch.zip in/arch.zip # the archive whole again
fi

# The file reads now: the same command loads it once, as a load of it alone does.
check_repaired() {
  rc=$(load out)
  [ "$rc" = 0 ] || { echo "repaired: exit $rc"; cat load.log; exit 1; }
  [ -e ref.log ] || "$etl" --input good --spec spec.json --sink "$(uri ref)" --split_size=0 --quiet > ref.log 2>&1
  for t in $(q ref "$tables_sql"); do
    diff <(q ref "select * from \"$t\"" | sort) <(q out "select * from \"$t\" where event_id like 'r%'" | sort) \
      || { echo "repaired: table $t differs from a load of the file alone"; exit 1; }
  done
  [ "$(rows_of out "%$name%")" = 1 ] || { echo "repaired: want the one dead letter of the file"; exit 1; }
  [ "$(q out "select ranges from _files where name like '%$name' and status = 'loaded'")" = 5 ] \
    || { echo "repaired: want one loaded _files row, in 5 ranges"; exit 1; }
}
if [ "$mode" = kill ]; then
  cp in/arch.zip corrupt.zip
  for at in 0.05 0.1 0.15 0.2 0.3 0.4 0.5 0.6 0.8 1.0 1.3; do
    fresh out
    cp corrupt.zip in/arch.zip
    { timeout -s KILL "$at" "$etl" --input in --spec spec.json --sink "$(uri out)" --split_size=100K --parallelism=2 \
      --quiet > killed.log 2>&1; } 2>/dev/null || true
    rc=$(load out)
    check_failed "$rc" "the same command after a kill at ${at}s" killed
    cp good/arch.zip in/arch.zip
    check_repaired
  done
  echo "split_failed ($dest, kill): after a kill at 11 instants, none of the failed file's rows, then once"
  exit 0
fi
check_repaired
rc=$(load out)
grep -q "nothing to load: 2 files already loaded" load.log || { echo "a fourth run loaded again"; cat load.log; exit 1; }
echo "split_failed ($dest, $mode): a failed split file left none of its rows, then loaded once"
