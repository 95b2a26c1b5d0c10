#!/usr/bin/env bash
# What exactly-once costs (issue "exactly-once": identities and ledgers, target under 5%): the
# file ETL loading generated events into a fresh SQLite database and into a JSON-lines
# directory, with this build and with a baseline build of the release before ledgers, side by
# side on the same data; and what a rerun over files already loaded costs (they are hashed and
# skipped).
#
#   tests/bench/run_ledger_bench.sh FILE_ETL [--baseline OLD_FILE_ETL] [--rows N] [--files F]
#                                   [--repeat R] [--work-dir DIR]
#
# Each timed command runs pinned to one core (taskset -c 0) under /usr/bin/time (wall seconds,
# peak RSS KB); the median of R runs is reported. Inputs are read once before timing (page
# cache). The spec is tests/bench/bench_spec.json (dedupe off) and, for "dedupe on", the same
# with clean.dedupe_on = event_id. --no_sync for both builds (the disk is not what is measured).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ETL=$(realpath "$1"); shift
BASE="" ROWS=1000000 FILES=4 REPEAT=3 WORK=/tmp/beam-ledger-bench
while [ $# -gt 0 ]; do
  case "$1" in
    --baseline) BASE=$(realpath "$2"); shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    --files) FILES=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --work-dir) WORK=$2; shift 2 ;;
    *) echo "run_ledger_bench: unknown option $1" >&2; exit 2 ;;
  esac
done
rm -rf "$WORK" && mkdir -p "$WORK/in"
# One generated stream cut into FILES files at line boundaries (files of equal content would
# be one file to the ledger).
python3 "$HERE/gen_events.py" "$ROWS" "$WORK/all.jsonl"
(cd "$WORK/in" && split -n "l/$FILES" -d --additional-suffix=.jsonl "$WORK/all.jsonl" events && rm "$WORK/all.jsonl")
cat "$WORK"/in/* > /dev/null
python3 -c "
import json; s = json.load(open('$HERE/bench_spec.json')); s.setdefault('clean', {})['dedupe_on'] = 'event_id'
json.dump(s, open('$WORK/dedupe_spec.json', 'w'))"
MB=$(du -m -c "$WORK"/in/* | tail -1 | cut -f1)

# One run: wall seconds and peak RSS KB of: etl spec sink-kind fresh [extra flags]
one_run() {
  local etl=$1 spec=$2 kind=$3 fresh=$4; shift 4
  if [ "$fresh" = 1 ]; then rm -rf "$WORK/out" "$WORK/out.db"*; fi
  local sink="sqlite:$WORK/out.db"; [ "$kind" = jsonl ] && sink="jsonl:$WORK/out"
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/time" taskset -c 0 "$etl" --input="$WORK/in" --spec="$spec" \
    --sink="$sink" --no_sync --quiet "$@" > /dev/null
  awk '{printf "%s %s %.2f\n", $1, $2, $3 + $4}' "$WORK/time" # wall, peak RSS KB, CPU seconds
}
median() { sort -n | sed -n "$(( (REPEAT + 1) / 2 ))p"; }
# The median of column 3 (CPU seconds): steadier than wall time on a shared machine.
median_cpu() { awk '{print $3}' | sort -n | sed -n "$(( (REPEAT + 1) / 2 ))p"; }

echo "| load | rows | MB | this build s | CPU s | peak RSS MB | baseline s | CPU s | ratio (wall) | ratio (CPU) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for kind in sqlite jsonl; do
  for spec in "$HERE/bench_spec.json" "$WORK/dedupe_spec.json"; do
    label="$kind, dedupe $([ "$spec" = "$HERE/bench_spec.json" ] && echo off || echo on)"
    : > "$WORK/new.txt"; : > "$WORK/old.txt"
    for _ in $(seq 1 "$REPEAT"); do # interleaved, so a noisy moment hits both builds
      one_run "$ETL" "$spec" "$kind" 1 >> "$WORK/new.txt"
      [ -n "$BASE" ] && one_run "$BASE" "$spec" "$kind" 1 >> "$WORK/old.txt"
    done
    read -r t rss _ < <(median < "$WORK/new.txt")
    cpu=$(median_cpu < "$WORK/new.txt")
    if [ -n "$BASE" ]; then
      read -r bt _ < <(median < "$WORK/old.txt")
      bcpu=$(median_cpu < "$WORK/old.txt")
      ratio=$(python3 -c "print(f'{$t / $bt:.3f}')")
      cratio=$(python3 -c "print(f'{$cpu / $bcpu:.3f}')")
    else bt=- bcpu=- ratio=- cratio=-; fi
    echo "| $label | $ROWS | $MB | $t | $cpu | $((rss / 1024)) | $bt | $bcpu | $ratio | $cratio |"
  done
done
# A rerun over loaded files: each is hashed and skipped (the ledger holds it).
rm -rf "$WORK/out.db"*
taskset -c 0 "$ETL" --input="$WORK/in" --spec="$HERE/bench_spec.json" --sink="sqlite:$WORK/out.db" --no_sync --quiet > /dev/null
for _ in $(seq 1 "$REPEAT"); do one_run "$ETL" "$HERE/bench_spec.json" sqlite 0; done > "$WORK/new.txt"
read -r t rss _ < <(median < "$WORK/new.txt")
echo "| rerun, all $FILES files skipped (hash + ledger lookup) | $ROWS | $MB | $t | $(median_cpu < "$WORK/new.txt") | $((rss / 1024)) | - | - | - | - |"
rm -rf "$WORK"
