#!/usr/bin/env bash
# Does a big file scale (issue "scale")? The file ETL on one generated JSON-lines file, on all
# cores (--parallelism=CPUS, split into byte ranges) and pinned to one core
# (taskset -c 0 --parallelism=1), to JSON lines and to SQLite, dedupe off and on; and DuckDB
# (from PyPI) running the same load - read_json -> trim/lowercase -> filter -> COPY (FORMAT JSON,
# PARTITION_BY event_type) - on the same file and the same cores, side by side in one run.
#
#   tests/bench/run_scale_bench.sh FILE_ETL [--rows N[,N...]] [--repeat R] [--work-dir DIR]
#                                  [--python PY] [--no-duckdb]
#
# FILE_ETL: a Release build's pipelines/file_etl. --rows: event counts to run (default
# 1000000; 10000000 needs ~1.5 GB of input and as much output). Each figure is the median wall
# time of R runs (default 3) under /usr/bin/time (peak RSS is the largest of the runs). The
# input is read once before timing (page cache); outputs are removed before each run,
# untimed. --no_sync for file_etl (the disk is not what is measured; DuckDB does not fsync).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ETL=$(realpath "${1:?usage: run_scale_bench.sh FILE_ETL [options]}"); shift
ROWS=1000000 REPEAT=3 WORK=/tmp/beam-scale-bench DUCK=1 PY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --work-dir) WORK=$2; shift 2 ;;
    --python) PY=$2; shift 2 ;;
    --no-duckdb) DUCK=0; shift ;;
    *) echo "run_scale_bench: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$PY" ] || { [ -x "$REPO/.venv/bin/python" ] && PY="$REPO/.venv/bin/python" || PY=python3; }
if [ "$DUCK" = 1 ] && ! "$PY" -c 'import duckdb' 2>/dev/null; then
  echo "run_scale_bench: $PY has no duckdb: $PY -m pip install duckdb (or --no-duckdb)" >&2
  exit 2
fi
CPUS=$(nproc)
mkdir -p "$WORK"
"$PY" -c "
import json; s = json.load(open('$HERE/bench_spec.json')); s.setdefault('clean', {})['dedupe_on'] = 'event_id'
json.dump(s, open('$WORK/dedupe_spec.json', 'w'))"

cat > "$WORK/duck.py" <<'EOF'
import sys, duckdb
src, out, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
cols = "{event_id: 'VARCHAR', event_type: 'VARCHAR', user_id: 'VARCHAR', amount: 'VARCHAR', ts: 'VARCHAR', country: 'VARCHAR'}"
con.execute(f"""
COPY (
  SELECT trim(event_id) AS event_id, 'events_' || lower(trim(event_type)) AS event_type, trim(user_id) AS user_id,
         TRY_CAST(amount AS DOUBLE) AS amount, TRY_CAST(ts AS TIMESTAMP) AS ts, trim(country) AS country
  FROM read_json('{src}', format = 'newline_delimited', columns = {cols})
  WHERE TRY_CAST(amount AS DOUBLE) >= 0
) TO '{out}' (FORMAT JSON, PARTITION_BY (event_type))""")
EOF

# timed LABEL ROWS PIN -- cmd...: median wall and max RSS of REPEAT runs; prints a table row.
timed() {
  local label=$1 rows=$2 pin=$3; shift 4
  local walls=() rss=0
  for _ in $(seq 1 "$REPEAT"); do
    rm -rf "$WORK/out" "$WORK/out.db"*
    local pinning=(); [ "$pin" = 1 ] && pinning=(taskset -c 0)
    /usr/bin/time -f '%e %M' -o "$WORK/time" "${pinning[@]}" "$@" > "$WORK/last.log" 2>&1 \
      || { cat "$WORK/last.log" >&2; echo "run_scale_bench: failed: $*" >&2; exit 1; }
    read -r w k < "$WORK/time"
    walls+=("$w"); [ "$k" -gt "$rss" ] && rss=$k
  done
  local wall; wall=$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "$(( (REPEAT + 1) / 2 ))p")
  RESULT_WALL=$wall
  printf '| %s | %s | %s | %.0f | %d |\n' "$label" "$rows" "$wall" "$(echo "$rows / $wall" | bc -l)" $((rss / 1024))
}

echo "machine: $CPUS CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%F)"
echo
echo "| run | rows | wall s | rows/s | peak RSS MB |"
echo "|---|---|---|---|---|"
declare -A W
for n in ${ROWS//,/ }; do
  in="$WORK/events_$n.jsonl"
  [ -f "$in" ] && [ "$(wc -l < "$in")" = "$n" ] || "$PY" "$HERE/gen_events.py" "$n" "$in"
  cat "$in" > /dev/null
  for kind in jsonl sqlite; do
    sink="jsonl:$WORK/out"; [ "$kind" = sqlite ] && sink="sqlite:$WORK/out.db"
    for dd in off on; do
      spec="$HERE/bench_spec.json"; [ "$dd" = on ] && spec="$WORK/dedupe_spec.json"
      common=(--input="$in" --spec="$spec" --sink="$sink" --no_sync --quiet)
      timed "file_etl -> $kind, dedupe $dd, 1 core" "$n" 1 -- "$ETL" "${common[@]}" --parallelism=1
      W["$n $kind $dd 1"]=$RESULT_WALL
      timed "file_etl -> $kind, dedupe $dd, $CPUS cores" "$n" 0 -- "$ETL" "${common[@]}" --parallelism="$CPUS"
      W["$n $kind $dd N"]=$RESULT_WALL
    done
  done
  if [ "$DUCK" = 1 ]; then
    timed "DuckDB -> JSON, 1 thread" "$n" 1 -- "$PY" "$WORK/duck.py" "$in" "$WORK/out" 1
    W["$n duck 1"]=$RESULT_WALL
    timed "DuckDB -> JSON, $CPUS threads" "$n" 0 -- "$PY" "$WORK/duck.py" "$in" "$WORK/out" "$CPUS"
    W["$n duck N"]=$RESULT_WALL
  fi
done
echo
echo "| ratio | rows | value |"
echo "|---|---|---|"
ratio() { printf '| %s | %s | %.2f |\n' "$1" "$2" "$(echo "$3 / $4" | bc -l)"; }
for n in ${ROWS//,/ }; do
  for kind in jsonl sqlite; do
    ratio "$kind: $CPUS cores vs 1 core (dedupe off)" "$n" "${W["$n $kind off 1"]}" "${W["$n $kind off N"]}"
    ratio "$kind: dedupe on / dedupe off ($CPUS cores, time)" "$n" "${W["$n $kind on N"]}" "${W["$n $kind off N"]}"
  done
  if [ "$DUCK" = 1 ]; then
    ratio "jsonl: file_etl rows/s vs DuckDB rows/s, $CPUS cores" "$n" "${W["$n duck N"]}" "${W["$n jsonl off N"]}"
    ratio "jsonl: file_etl rows/s vs DuckDB rows/s, 1 core" "$n" "${W["$n duck 1"]}" "${W["$n jsonl off 1"]}"
  fi
done
