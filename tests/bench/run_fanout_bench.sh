#!/usr/bin/env bash
# One run into two destinations against two runs, one per destination (issue 16, "Speed"):
# the file ETL on one generated JSON-lines file into SQLite + JSON lines (--sink twice), and
# the same load as two runs (SQLite, then JSON lines). The records are parsed, cleaned,
# validated and routed once in the first case, twice in the second.
#
#   tests/bench/run_fanout_bench.sh FILE_ETL [--rows N] [--repeat R] [--parallelism P]
#                                   [--dedupe] [--work-dir DIR]
#
# FILE_ETL: a Release build's pipelines/file_etl. --rows: events (default 1000000, ~150 MB).
# Each figure is the median of R runs (default 3) of wall time and of CPU time (user + sys,
# what the runs cost whatever else the machine does), peak RSS the largest. The input is read
# once before timing (page cache); outputs are removed before each run, untimed. --no_sync
# (the disk is not what is measured). --dedupe adds clean.dedupe_on (the grouped pipeline).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ETL=$(realpath "${1:?usage: run_fanout_bench.sh FILE_ETL [options]}"); shift
ROWS=1000000 REPEAT=3 WORK=/tmp/beam-fanout-bench PAR=1 DEDUPE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --parallelism) PAR=$2; shift 2 ;;
    --dedupe) DEDUPE=1; shift ;;
    --work-dir) WORK=$2; shift 2 ;;
    *) echo "run_fanout_bench: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$WORK"
in="$WORK/events_$ROWS.jsonl"
[ -f "$in" ] || python3 "$HERE/gen_events.py" "$ROWS" "$in"
cat "$in" > /dev/null
python3 -c "
import json; s = json.load(open('$HERE/bench_spec.json'))
if $DEDUPE: s.setdefault('clean', {})['dedupe_on'] = 'event_id'
json.dump(s, open('$WORK/spec.json', 'w'))"
common=(--input="$in" --spec="$WORK/spec.json" --no_sync --quiet --parallelism="$PAR")

# run SINK... : one file_etl run; sets WALL, CPU, RSS_KB.
run() {
  local sinks=()
  for s in "$@"; do sinks+=(--sink="$s"); done
  rm -rf "$WORK/out.db"* "$WORK/out_j"
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$ETL" "${common[@]}" "${sinks[@]}" > "$WORK/last.log" 2>&1 ||
    { cat "$WORK/last.log" >&2; echo "run_fanout_bench: failed: $*" >&2; exit 1; }
  read -r WALL u s RSS_KB < "$WORK/time"
  CPU=$(echo "$u + $s" | bc -l)
}
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }

# case LABEL: REPEAT times, either one run with both sinks or the two runs back to back.
declare -A MW MC MR
for label in sqlite jsonl two_runs one_run; do
  walls=() cpus=() rss=0
  for _ in $(seq 1 "$REPEAT"); do
    case $label in
      sqlite) run "sqlite:$WORK/out.db"; w=$WALL c=$CPU r=$RSS_KB ;;
      jsonl) run "jsonl:$WORK/out_j"; w=$WALL c=$CPU r=$RSS_KB ;;
      two_runs)
        run "sqlite:$WORK/out.db"; w=$WALL c=$CPU r=$RSS_KB
        run "jsonl:$WORK/out_j"; w=$(echo "$w + $WALL" | bc -l) c=$(echo "$c + $CPU" | bc -l)
        [ "$RSS_KB" -gt "$r" ] && r=$RSS_KB ;;
      one_run) run "sqlite:$WORK/out.db" "jsonl:$WORK/out_j"; w=$WALL c=$CPU r=$RSS_KB ;;
    esac
    walls+=("$w") cpus+=("$c"); [ "$r" -gt "$rss" ] && rss=$r
  done
  MW[$label]=$(median "${walls[@]}") MC[$label]=$(median "${cpus[@]}") MR[$label]=$((rss / 1024))
done

echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
echo "$ROWS events, --parallelism=$PAR, dedupe $([ $DEDUPE = 1 ] && echo on || echo off), median of $REPEAT"
echo
echo "| load | wall s | CPU s | rows/s (wall) | peak RSS MB |"
echo "|---|---:|---:|---:|---:|"
for label in sqlite jsonl two_runs one_run; do
  case $label in
    sqlite) name="SQLite alone" ;; jsonl) name="JSON lines alone" ;;
    two_runs) name="two runs: SQLite, then JSON lines" ;; one_run) name="one run, --sink SQLite --sink JSON lines" ;;
  esac
  printf '| %s | %.2f | %.2f | %.0f | %d |\n' "$name" "${MW[$label]}" "${MC[$label]}" \
    "$(echo "$ROWS / ${MW[$label]}" | bc -l)" "${MR[$label]}"
done
printf '\none run / two runs: wall %.2f, CPU %.2f\n' "$(echo "${MW[one_run]} / ${MW[two_runs]}" | bc -l)" \
  "$(echo "${MC[one_run]} / ${MC[two_runs]}" | bc -l)"
