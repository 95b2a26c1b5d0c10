#!/usr/bin/env bash
# File ETL into PostgreSQL (binary COPY) against the local SQLite figure: the same generated
# events, the same spec, the same build, in the same run, on a private PostgreSQL server
# (tests/postgres/with_postgres.sh: loopback TCP, fsync on, default settings otherwise).
#
#   tests/bench/run_postgres_bench.sh [options]
#
#   --build-dir DIR   Release build to use (default <repo>/build-bench; configured and built
#                     here with -DCMAKE_BUILD_TYPE=Release -DBEAM_SANITIZE=OFF if needed)
#   --no-build        use the build dir as it is
#   --rows N          events (default 1000000)
#   --repeat R        runs per measurement, the median wall time is reported (default 3)
#   --work-dir DIR    data and outputs (default /tmp/beam-postgres-bench)
#   --results FILE    markdown results (default tests/bench/results_postgres.md; overwritten)
#
# file_etl is pinned to one core (taskset -c 0); the PostgreSQL server is not pinned (on
# this 2-core machine it runs mostly on the other core), so the PostgreSQL rows/s is the
# whole client + server pipeline's, and the file_etl CPU seconds are reported beside it.
# Each PostgreSQL run loads into a freshly created database (untimed), each SQLite run into
# a new file. Per-table row counts must agree between the two sinks.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
if [ -z "${BEAM_PG_CONNINFO:-}" ]; then
  # Start the server (fsync on, like a real one) and come back in here with it.
  BEAM_PG_FSYNC=on BEAM_PG_TIMEOUT=3600 exec bash "$REPO/tests/postgres/with_postgres.sh" bash "$0" "$@"
fi
BUILD_DIR="$REPO/build-bench"
DO_BUILD=1
ROWS=1000000
REPEAT=3
WORK="/tmp/beam-postgres-bench"
RESULTS="$HERE/results_postgres.md"
SPEC="$HERE/bench_spec.json"
CMDLINE="tests/bench/run_postgres_bench.sh $*"
PSQL="$BEAM_PG_BINDIR/psql"

die() { echo "run_postgres_bench: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR="$(realpath -m "$2")"; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --rows) ROWS="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --work-dir) WORK="$2"; shift 2 ;;
    --results) RESULTS="$(realpath -m "$2")"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (try --help)" ;;
  esac
done
[[ "$ROWS" =~ ^[0-9]+$ && "$ROWS" -gt 0 ]] || die "--rows must be a positive integer"
[[ "$REPEAT" =~ ^[0-9]+$ && "$REPEAT" -gt 0 ]] || die "--repeat must be a positive integer"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"

FILE_ETL="$BUILD_DIR/pipelines/file_etl"
if [ "$DO_BUILD" = 1 ]; then
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    gen=(); command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
    cmake -S "$REPO" -B "$BUILD_DIR" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DBEAM_SANITIZE=OFF \
      >"$WORK/cmake.log" 2>&1 || { cat "$WORK/cmake.log" >&2; die "cmake configure failed"; }
  fi
  cmake --build "$BUILD_DIR" -j2 --target file_etl >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log" >&2; die "build failed"; }
fi
[ -x "$FILE_ETL" ] || die "$FILE_ETL not found (build it, or drop --no-build)"
grep -q '^CMAKE_BUILD_TYPE:[A-Z]*=Release' "$BUILD_DIR/CMakeCache.txt" || echo "WARNING: $BUILD_DIR is not a Release build" >&2
grep -q '^BEAM_SANITIZE:[A-Z]*=ON' "$BUILD_DIR/CMakeCache.txt" && echo "WARNING: $BUILD_DIR has sanitizers: figures are meaningless" >&2

PIN=()
command -v taskset >/dev/null 2>&1 && PIN=(taskset -c 0)
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (apt-get install time)"

INPUT="$WORK/events_$ROWS.jsonl"
if ! [ -f "$INPUT" ] || [ "$(wc -l <"$INPUT")" != "$ROWS" ]; then
  echo "generating $ROWS events -> $INPUT" >&2
  python3 "$HERE/gen_events.py" "$ROWS" "$INPUT"
fi
cat "$INPUT" >/dev/null

fresh_db() { "$PSQL" -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"; }
fresh_file() { rm -f "$WORK"/bench.db*; }

# CPU seconds the server has used so far: the postmaster's own plus its reaped children's
# (each session's backend is a child that exits when file_etl disconnects).
server_cpu() {
  local pid
  pid="$(head -n 1 "$BEAM_PG_DATA/postmaster.pid")"
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13 + $14 + $15) / hz }' "/proc/$pid/stat"
}

# measure LABEL PRE sink flags...: R runs; median wall seconds, with file_etl's and the
# server's CPU seconds and file_etl's peak RSS of that run.
RESULT_ROWS=()
measure() {
  local label="$1" pre="$2"
  shift 2
  local lines=() i t0 t1 wall usr sys rss c0 c1
  for ((i = 0; i < REPEAT; i++)); do
    "$pre"
    sleep 1 # let the server finish the untimed setup's work (and reap its backends)
    c0="$(server_cpu)"
    t0="$EPOCHREALTIME"
    if ! /usr/bin/time -f '%M %U %S' -o "$WORK/time.out" "${PIN[@]}" "$FILE_ETL" --input="$INPUT" --spec="$SPEC" \
        --progress=off "$@" >"$WORK/run.log" 2>&1; then
      cat "$WORK/run.log" >&2; die "failed: $label"
    fi
    t1="$EPOCHREALTIME"
    sleep 0.5 # the backend exits after file_etl disconnects
    c1="$(server_cpu)"
    grep -q " $ROWS records" "$WORK/run.log" || { cat "$WORK/run.log" >&2; die "$label did not report $ROWS records"; }
    read -r rss usr sys <"$WORK/time.out"
    wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
    lines+=("$wall $(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }') $rss $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')")
  done
  local median best
  median="$(printf '%s\n' "${lines[@]}" | sort -g | sed -n "$(((REPEAT + 1) / 2))p")"
  best="$(printf '%s\n' "${lines[@]}" | sort -g | head -n 1 | cut -d' ' -f1)"
  RESULT_ROWS+=("$label|$median $best")
  echo "$label: $median (wall s, file_etl CPU s, peak RSS KB, server CPU s)" >&2
}

counts_sqlite() {
  python3 - "$1" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
names = sorted(r[0] for r in db.execute("select name from sqlite_master where type='table'"))
print(" ".join("%s=%d" % (t, db.execute('select count(*) from "%s"' % t).fetchone()[0])
               for t in names if t not in ("_files", "_bundles", "_beam_ledger")))
EOF
}
counts_pg() {
  local t out=()
  for t in $("$PSQL" -X -At -d bench -c "select tablename from pg_tables where schemaname = 'public' and tablename not in ('_files', '_beam_bundles', '_beam_ledger') order by tablename collate \"C\""); do
    out+=("$t=$("$PSQL" -X -At -d bench -c "select count(*) from \"$t\"")")
  done
  echo "${out[*]}"
}

SQLITE="sqlite:$WORK/bench.db"
PG="postgres:$BEAM_PG_CONNINFO"
PG="${PG/dbname=beam_test/dbname=bench}"
measure "sqlite (synchronous=NORMAL)" fresh_file --sink="$SQLITE"
measure "sqlite --no_sync (synchronous=OFF)" fresh_file --sink="$SQLITE" --no_sync
LITE_COUNTS="$(counts_sqlite "$WORK/bench.db")"
measure "postgres COPY (synchronous_commit=on)" fresh_db --sink="$PG"
measure "postgres COPY --no_sync (synchronous_commit=off)" fresh_db --sink="$PG" --no_sync
PG_COUNTS="$(counts_pg)"
fresh_file
rm -f "$INPUT"
CHECK="per-table counts match: $PG_COUNTS"
[ "$LITE_COUNTS" = "$PG_COUNTS" ] || CHECK="MISMATCH: sqlite: $LITE_COUNTS / postgres: $PG_COUNTS"

CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
MACHINE="$(nproc) cores, ${CPU:-unknown CPU}, $(uname -sr)"
SERVER="$("$BEAM_PG_BINDIR/postgres" --version), fsync on, shared_buffers $("$PSQL" -X -At -d postgres -c 'show shared_buffers'), loopback TCP"
SQLITE_VERSION="$(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)')"
report() {
  local row label wall cpu rss server best first=""
  printf '| sink | seconds (median) | rows/s (median) | rows/s (best run) | file_etl CPU s | server CPU s | file_etl peak RSS MB | median rows/s vs SQLite (synchronous=NORMAL) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n'
  for row in "${RESULT_ROWS[@]}"; do
    IFS='|' read -r label rest <<<"$row"
    read -r wall cpu rss server best <<<"$rest"
    [ -z "$first" ] && first="$wall"
    case "$label" in sqlite*) server="-" ;; esac
    printf '| %s | %s | %s | %s | %s | %s | %.1f | %s |\n' "$label" "$wall" \
      "$(awk -v n="$ROWS" -v s="$wall" 'BEGIN { printf "%.0f", n / s }')" \
      "$(awk -v n="$ROWS" -v s="$best" 'BEGIN { printf "%.0f", n / s }')" "$cpu" "$server" \
      "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$(awk -v a="$first" -v b="$wall" 'BEGIN { printf "%.2fx", a / b }')"
  done
}
{
  echo "# File ETL into PostgreSQL vs SQLite"
  echo
  echo "Generated by \`tests/bench/run_postgres_bench.sh\` (overwritten per run)."
  echo
  echo "- Command: \`$CMDLINE\`"
  echo "- Machine: $MACHINE"
  echo "- Server: $SERVER; SQLite $SQLITE_VERSION"
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Data: $ROWS events from tests/bench/gen_events.py (seed 42), spec tests/bench/bench_spec.json; median of $REPEAT runs; file_etl pinned to core 0, the server unpinned."
  echo "- Check: $CHECK"
  echo
  report
} | tee "$RESULTS"
echo
echo "wrote $RESULTS"
