#!/usr/bin/env bash
# BigQuery sink benchmark: file_etl on the local runner writing the same generated events
# (gen_events.py, bench_spec.json) into SQLite (--no_sync) and into a loopback BigQuery
# endpoint (tests/peers/google_api/fake_google_api.py --service bigquery: it checks every
# request against bigquery.v2.json and every row against the table schema, in Python), by
# tabledata.insertAll (500 rows / 5 MB per request) and by load jobs (load_threshold=1).
#
#   tests/bench/run_bigquery_sink_bench.sh [--build-dir DIR] [--rows N] [--work-dir DIR]
#
# Reports wall seconds and rows/s per sink, plus file_etl's own CPU seconds (user+sys): the
# wall figure into the loopback endpoint is bounded by the Python fake (one process parsing
# and checking every request), the CPU figure is what the C side spends to encode and send.
# file_etl runs pinned to core 0, the fake to core 1 (when there is one).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD_DIR="$REPO/build-bench"
ROWS=200000
WORK=/tmp/beam-bigquery-bench
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR="$(realpath -m "$2")"; shift 2 ;;
    --rows) ROWS="$2"; shift 2 ;;
    --work-dir) WORK="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
FILE_ETL="$BUILD_DIR/pipelines/file_etl"
[ -x "$FILE_ETL" ] || {
  cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBEAM_SANITIZE=OFF >/dev/null
  cmake --build "$BUILD_DIR" --target file_etl -j2 >/dev/null
}
DISCOVERY="$REPO/.peers/discovery"
[ -f "$DISCOVERY/bigquery.v2.json" ] || { echo "no $DISCOVERY/bigquery.v2.json (scripts/install-deps.sh --with-python-peers)" >&2; exit 2; }
mkdir -p "$WORK"
fake_pid=
trap '[[ -n $fake_pid ]] && kill $fake_pid 2>/dev/null; wait 2>/dev/null || true' EXIT
CORE1=0
[ "$(nproc)" -gt 1 ] && CORE1=1

input="$WORK/events_$ROWS.jsonl"
[ -s "$input" ] || python3 "$HERE/gen_events.py" "$ROWS" "$input"
cat "$input" >/dev/null

# timed LABEL cmd...: prints "LABEL wall cpu"
timed() {
  local label=$1
  shift
  /usr/bin/time -f '%e %U %S' -o "$WORK/time" taskset -c 0 "$@" >"$WORK/out" 2>&1 || { cat "$WORK/out"; exit 1; }
  read -r wall user sys <"$WORK/time"
  echo "$label $wall $(echo "$user + $sys" | bc)"
}

start_fake() {
  rm -f "$WORK/port" "$WORK/rows.jsonl"
  taskset -c "$CORE1" python3 "$REPO/tests/peers/google_api/fake_google_api.py" --discovery "$DISCOVERY" \
    --port-file "$WORK/port" --service bigquery --bigquery-rows "$WORK/rows.jsonl" >"$WORK/fake.out" 2>&1 &
  fake_pid=$!
  for _ in $(seq 100); do [[ -s $WORK/port ]] && break; sleep 0.1; done
  [[ -s $WORK/port ]] || { cat "$WORK/fake.out"; exit 1; }
}
stop_fake() { kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null || true; fake_pid=; }

results=()
rm -f "$WORK/out.db"*
results+=("$(timed sqlite "$FILE_ETL" --quiet --no_sync --input="$input" --spec="$HERE/bench_spec.json" --sink="sqlite:$WORK/out.db")")
written=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(sum(r[0] for r in c.execute('select written from _files')))" "$WORK/out.db")
for mode in insertAll load; do
  start_fake
  opt=""
  [ $mode = load ] && opt="&load_threshold=1"
  results+=("$(timed "bigquery-$mode" "$FILE_ETL" --quiet --input="$input" --spec="$HERE/bench_spec.json" \
    --sink="bigquery:bench.ds?endpoint=http://127.0.0.1:$(cat "$WORK/port")$opt")")
  stop_fake
  stored=$(grep -vc '"table": "_' "$WORK/rows.jsonl" || true)
  [ "$stored" -eq "$written" ] || { echo "bigquery-$mode stored $stored rows, sqlite wrote $written" >&2; exit 1; }
done

echo "BigQuery sink benchmark: $ROWS events ($(du -m "$input" | cut -f1) MB), $written rows written, $(date -u +%F)"
echo "| sink | wall s | rows/s | file_etl CPU s | rows/CPU-s |"
echo "|---|---:|---:|---:|---:|"
for r in "${results[@]}"; do
  read -r label wall cpu <<<"$r"
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$wall" "$(echo "$written / $wall" | bc)" "$cpu" \
    "$(echo "$written / ($cpu + 0.001)" | bc)"
done
