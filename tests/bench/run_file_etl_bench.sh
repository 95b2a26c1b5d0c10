#!/usr/bin/env bash
# File ETL benchmark (DESIGN.md "Performance yardsticks"): the C file_etl on the local
# runner vs the same pipeline in the Apache Beam Python SDK (DirectRunner), against the
# floors `wc -l` and `cat > /dev/null`, on generated JSON-lines events (~150 bytes each).
#
#   tests/bench/run_file_etl_bench.sh [options]
#
#   --build-dir DIR    Release build to use (default: <repo>/build-bench; configured and built
#                      here with -DCMAKE_BUILD_TYPE=Release -DBEAM_SANITIZE=OFF if needed)
#   --no-build         use the build dir as it is (no cmake)
#   --rows N           events for the main run (default 1000000)
#   --python-rows M    run the Python pipeline on the first M of them (default 200000; the
#                      DirectRunner is slow). When M < N the C pipeline is also run on the same
#                      M rows, so there is a same-data ratio as well. 0 skips Python.
#   --repeat R         runs per C/floor measurement, the median wall time is reported (default 3)
#   --rss-scan         also run the C pipeline on 1M, 3M and 10M events to show peak RSS is flat
#   --skip-10m         with --rss-scan: 1M and 3M only (10M needs ~1.5 GB input + ~1.4 GB output)
#   --work-dir DIR     where data and outputs go (default /tmp/beam-file-etl-bench)
#   --keep-data        keep the generated inputs (default: removed at the end)
#   --python PY        Python with apache-beam (default <repo>/.venv/bin/python, else python3)
#   --results FILE     markdown results (default tests/bench/results.md; overwritten)
#
# Every timed command runs pinned to one core (taskset -c 0) under /usr/bin/time -f '%e %M'
# (wall seconds, peak RSS KB). Inputs are read once before timing, so all tools read from the
# page cache. The spec is tests/bench/bench_spec.json, read by both pipelines: dedupe is OFF
# (it needs a GroupByKey over every row), validate has no rules.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD_DIR="$REPO/build-bench"
DO_BUILD=1
ROWS=1000000
PY_ROWS=200000
REPEAT=3
RSS_SCAN=0
SKIP_10M=0
WORK="/tmp/beam-file-etl-bench"
KEEP_DATA=0
PY=""
RESULTS="$HERE/results.md"
SPEC="$HERE/bench_spec.json"
CMDLINE="tests/bench/run_file_etl_bench.sh $*"

die() { echo "run_file_etl_bench: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR="$(realpath -m "$2")"; shift 2 ;;
    --build-dir=*) BUILD_DIR="$(realpath -m "${1#*=}")"; shift ;;
    --no-build) DO_BUILD=0; shift ;;
    --rows) ROWS="$2"; shift 2 ;;
    --rows=*) ROWS="${1#*=}"; shift ;;
    --python-rows) PY_ROWS="$2"; shift 2 ;;
    --python-rows=*) PY_ROWS="${1#*=}"; shift ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --repeat=*) REPEAT="${1#*=}"; shift ;;
    --rss-scan) RSS_SCAN=1; shift ;;
    --skip-10m) SKIP_10M=1; shift ;;
    --work-dir) WORK="$2"; shift 2 ;;
    --work-dir=*) WORK="${1#*=}"; shift ;;
    --keep-data) KEEP_DATA=1; shift ;;
    --python) PY="$2"; shift 2 ;;
    --python=*) PY="${1#*=}"; shift ;;
    --results) RESULTS="$(realpath -m "$2")"; shift 2 ;;
    --results=*) RESULTS="$(realpath -m "${1#*=}")"; shift ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (try --help)" ;;
  esac
done
[[ "$ROWS" =~ ^[0-9]+$ && "$ROWS" -gt 0 ]] || die "--rows must be a positive integer"
[[ "$PY_ROWS" =~ ^[0-9]+$ ]] || die "--python-rows must be a non-negative integer"
[[ "$REPEAT" =~ ^[0-9]+$ && "$REPEAT" -gt 0 ]] || die "--repeat must be a positive integer"
[ "$PY_ROWS" -le "$ROWS" ] || PY_ROWS="$ROWS"
if [ -z "$PY" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PY="$REPO/.venv/bin/python"; else PY="$(command -v python3)"; fi
fi
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"

# ---------------------------------------------------------------- tools
PIN=()
if command -v taskset >/dev/null 2>&1; then PIN=(taskset -c 0); else
  echo "note: taskset not found (apt-get install util-linux): runs are not pinned to one core" >&2
fi
TIMEFMT="%e %M"
if [ -x /usr/bin/time ]; then
  TIMER=(/usr/bin/time -f "$TIMEFMT" -o)
else
  echo "note: /usr/bin/time not found (apt-get install time): using a Python resource wrapper" >&2
  cat >"$WORK/ptime.py" <<'EOF'
import resource, subprocess, sys, time
out = sys.argv[1]
t = time.monotonic()
rc = subprocess.call(sys.argv[2:])
wall = time.monotonic() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(out, "w").write(f"{wall:.2f} {rss}\n")
sys.exit(rc)
EOF
  TIMER=(python3 "$WORK/ptime.py")
fi

# ---------------------------------------------------------------- build
FILE_ETL="$BUILD_DIR/pipelines/file_etl"
if [ "$DO_BUILD" = 1 ]; then
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    gen=(); command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
    cmake -S "$REPO" -B "$BUILD_DIR" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DBEAM_SANITIZE=OFF \
      -DBEAM_BUILD_TESTS=ON >"$WORK/cmake.log" 2>&1 || { cat "$WORK/cmake.log" >&2; die "cmake configure failed"; }
  fi
  cmake --build "$BUILD_DIR" -j2 --target file_etl bench_identity >"$WORK/build.log" 2>&1 \
    || { tail -30 "$WORK/build.log" >&2; die "build failed"; }
fi
[ -x "$FILE_ETL" ] || die "$FILE_ETL not found (build it, or drop --no-build)"
BUILD_TYPE="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)"
SANITIZE="$(sed -n 's/^BEAM_SANITIZE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)"
[ "$BUILD_TYPE" = Release ] || echo "WARNING: $BUILD_DIR is CMAKE_BUILD_TYPE='$BUILD_TYPE', not Release" >&2
[ "$SANITIZE" != ON ] || echo "WARNING: $BUILD_DIR is built with sanitizers: figures are meaningless" >&2

# The spec must have dedupe OFF and the same semantics the Python pipeline implements.
DEDUPE="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("clean",{}).get("dedupe_on") or "")' "$SPEC")"
[ -z "$DEDUPE" ] || die "$SPEC has clean.dedupe_on=$DEDUPE: the benchmark runs with dedupe OFF"
HAVE_BEAM=0
if [ "$PY_ROWS" -gt 0 ]; then
  if "$PY" -c 'import apache_beam' 2>/dev/null; then HAVE_BEAM=1; else
    echo "note: $PY has no apache_beam (pip install apache-beam): Python runs skipped" >&2
  fi
fi

# ---------------------------------------------------------------- helpers
gen() {  # gen N PATH: generate once (deterministic: seed 42), reuse if the line count matches
  local n="$1" path="$2"
  if [ -f "$path" ] && [ "$(wc -l <"$path")" = "$n" ]; then return; fi
  echo "generating $n events -> $path" >&2
  "$PY" "$HERE/gen_events.py" "$n" "$path"
}
subset() {  # subset M SRC DST: the first M lines of SRC (the generator is a prefix-stable stream)
  local m="$1" src="$2" dst="$3"
  if [ -f "$dst" ] && [ "$(wc -l <"$dst")" = "$m" ]; then return; fi
  head -n "$m" "$src" >"$dst"
}

# measure R LOG cmd...: runs the command R times pinned to one core; sets M_SECS (median wall)
# and M_RSS_KB (max peak RSS). Before each run (untimed) it calls the function named by $PRE,
# if set. Output of the last run goes to LOG. Fails loudly on rc != 0.
measure() {
  local reps="$1" log="$2"; shift 2
  local secs=() rss=0 i s k t0 t1
  for ((i = 0; i < reps; i++)); do
    if [ -n "${PRE:-}" ]; then "$PRE"; fi
    t0="$EPOCHREALTIME"
    if ! "${TIMER[@]}" "$WORK/time.out" "${PIN[@]}" "$@" >"$log" 2>&1; then
      cat "$log" >&2; die "failed: $*"
    fi
    t1="$EPOCHREALTIME"
    read -r s k <"$WORK/time.out"
    # wall from bash's microsecond clock (time's %e has 10 ms steps); RSS from time's %M
    secs+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
    if [ "$k" -gt "$rss" ]; then rss="$k"; fi
  done
  M_SECS="$(printf '%s\n' "${secs[@]}" | sort -g | sed -n "$(((reps + 1) / 2))p")"
  M_RSS_KB="$rss"
}

# Result rows: section|tool|rows|secs|rss_kb|ratio_key|python_key
# ratio_key names the Python result this row is compared to; python_key marks a Python row.
ROWS_OUT=()
declare -A PY_RATE=()
add() { ROWS_OUT+=("$1|$2|$3|$4|$5|${6:-}|${7:-}"); }
rate() { awk -v r="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", r / s; else print "inf" }'; }

# C checks: the summary reports every record as read
c_check() {
  local log="$1" n="$2"
  grep -q " $n records" "$log" || { cat "$log" >&2; die "file_etl did not report $n records"; }
}
clean_out() { rm -rf "$WORK/out_c" "$WORK/out_py" "$WORK"/c.db* "$WORK"/py.db*; }
clean_c_jsonl() { rm -rf "$WORK/out_c"; }
clean_c_db() { rm -f "$WORK"/c.db*; }

# run_c SECTION INPUT N REPS: the C pipeline to jsonl (fsync per commit, the default, and
# --no_sync), sqlite --no_sync (synchronous=OFF) and sqlite (synchronous=NORMAL). Outputs are
# removed before each run, untimed. Leaves out_c (jsonl) and c.db behind for the checks.
run_c() {
  local section="$1" input="$2" n="$3" reps="$4"
  PRE=clean_c_jsonl measure "$reps" "$WORK/c_jsonl.log" "$FILE_ETL" --input="$input" --spec="$SPEC" \
    --sink=jsonl:"$WORK/out_c" --progress=off
  c_check "$WORK/c_jsonl.log" "$n"
  add "$section" "C file_etl -> jsonl (fsync per commit)" "$n" "$M_SECS" "$M_RSS_KB" jsonl
  PRE=clean_c_jsonl measure "$reps" "$WORK/c_jsonl_nosync.log" "$FILE_ETL" --input="$input" --spec="$SPEC" \
    --sink=jsonl:"$WORK/out_c" --progress=off --no_sync
  c_check "$WORK/c_jsonl_nosync.log" "$n"
  add "$section" "C file_etl -> jsonl --no_sync" "$n" "$M_SECS" "$M_RSS_KB" jsonl
  PRE=clean_c_db measure "$reps" "$WORK/c_sqlite_nosync.log" "$FILE_ETL" --input="$input" --spec="$SPEC" \
    --sink=sqlite:"$WORK/c.db" --progress=off --no_sync
  c_check "$WORK/c_sqlite_nosync.log" "$n"
  add "$section" "C file_etl -> sqlite --no_sync" "$n" "$M_SECS" "$M_RSS_KB" sqlite_nosync
  PRE=clean_c_db measure "$reps" "$WORK/c_sqlite.log" "$FILE_ETL" --input="$input" --spec="$SPEC" \
    --sink=sqlite:"$WORK/c.db" --progress=off
  c_check "$WORK/c_sqlite.log" "$n"
  add "$section" "C file_etl -> sqlite (synchronous=NORMAL)" "$n" "$M_SECS" "$M_RSS_KB" sqlite
}

# Per-table row counts of a JSON-lines output dir / SQLite file, "table=count ..." sorted
# (_files and _bundles left out; empty tables left out).
counts_jsonl() {
  local f t out=()
  for f in "$1"/*.jsonl; do
    t="$(basename "$f" .jsonl)"
    if [ -s "$f" ] && [ "$t" != _files ]; then out+=("$t=$(wc -l <"$f")"); fi
  done
  printf '%s\n' "${out[@]}" | sort | tr '\n' ' '
}
counts_sqlite() {
  "$PY" - "$1" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
names = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
out = []
for t in sorted(names):
    if t in ("_files", "_bundles", "_beam_ledger"):
        continue
    n = db.execute('select count(*) from "%s"' % t).fetchone()[0]
    if n:
        out.append("%s=%d" % (t, n))
print(" ".join(out), end=" ")
EOF
}

# ---------------------------------------------------------------- main run
INPUT="$WORK/events_$ROWS.jsonl"
gen "$ROWS" "$INPUT"
BYTES="$(stat -c %s "$INPUT")"
cat "$INPUT" >/dev/null  # warm the page cache: every tool reads from memory
MAIN="main: $ROWS rows ($(awk -v b="$BYTES" 'BEGIN{printf "%.1f", b/1e6}') MB)"

measure "$REPEAT" "$WORK/wc.log" wc -l "$INPUT"
add "$MAIN" "floor: wc -l" "$ROWS" "$M_SECS" "$M_RSS_KB"
measure "$REPEAT" "$WORK/cat.log" sh -c 'cat "$1" >/dev/null' _ "$INPUT"
add "$MAIN" "floor: cat > /dev/null" "$ROWS" "$M_SECS" "$M_RSS_KB"
measure "$REPEAT" "$WORK/dd.log" dd if="$INPUT" of=/dev/null bs=1M
add "$MAIN" "floor: dd bs=1M (plain read loop)" "$ROWS" "$M_SECS" "$M_RSS_KB"
# The file identity (size + XXH3-128, file_identity.h): part of every C run below, timed alone
# inside bench_identity (median of REPEAT calls, program start-up not counted).
measure 1 "$WORK/identity.log" "$BUILD_DIR/tests/bench/bench_identity" "$INPUT" "$REPEAT"
add "$MAIN" "file identity alone (XXH3-128 read, included in every C run)" "$ROWS" \
  "$(awk '{print $2}' "$WORK/identity.log")" "$M_RSS_KB"
run_c "$MAIN" "$INPUT" "$ROWS" "$REPEAT"
C_COUNTS_JSONL=""
C_COUNTS_SQLITE=""
if [ "$PY_ROWS" = "$ROWS" ]; then
  C_COUNTS_JSONL="$(counts_jsonl "$WORK/out_c")"
  C_COUNTS_SQLITE="$(counts_sqlite "$WORK/c.db")"
fi

PY_NOTE=""
CHECKS=()
if [ "$HAVE_BEAM" = 1 ]; then
  PY_INPUT="$INPUT"
  SECTION="$MAIN"
  if [ "$PY_ROWS" -lt "$ROWS" ]; then
    PY_INPUT="$WORK/events_${ROWS}_first_$PY_ROWS.jsonl"
    subset "$PY_ROWS" "$INPUT" "$PY_INPUT"
    cat "$PY_INPUT" >/dev/null
    SECTION="same data: the first $PY_ROWS rows (Python's share)"
    PY_NOTE="Python ran on the first $PY_ROWS of the $ROWS rows (the DirectRunner is slow); its rows/s is compared with C's rows/s on all $ROWS rows in the main section and on the same $PY_ROWS rows in the same-data section."
    run_c "$SECTION" "$PY_INPUT" "$PY_ROWS" "$REPEAT"
    C_COUNTS_JSONL="$(counts_jsonl "$WORK/out_c")"
    C_COUNTS_SQLITE="$(counts_sqlite "$WORK/c.db")"
  fi
  # Startup cost: interpreter + apache_beam import + pipeline construction, on 10 rows.
  subset 10 "$INPUT" "$WORK/events_10.jsonl"
  measure 1 "$WORK/py_startup.log" "$PY" "$HERE/python_file_etl.py" --input="$WORK/events_10.jsonl" \
    --spec="$SPEC" --sink=jsonl:"$WORK/out_py"
  PY_STARTUP="$M_SECS"
  rm -rf "$WORK/out_py"
  measure 1 "$WORK/py_jsonl.log" "$PY" "$HERE/python_file_etl.py" --input="$PY_INPUT" --spec="$SPEC" \
    --sink=jsonl:"$WORK/out_py"
  add "$SECTION" "Python Beam DirectRunner -> jsonl" "$PY_ROWS" "$M_SECS" "$M_RSS_KB" "" jsonl
  PY_RATE[jsonl]="$(rate "$PY_ROWS" "$M_SECS")"
  PY_JSONL_SECS="$M_SECS"
  P="$(counts_jsonl "$WORK/out_py")"
  [ "$P" = "$C_COUNTS_JSONL" ] && CHECKS+=("jsonl per-table counts match: $P") \
    || CHECKS+=("MISMATCH jsonl: C: $C_COUNTS_JSONL / Python: $P")
  for mode in nosync sync; do
    flag=(); key=sqlite; label="Python Beam DirectRunner -> sqlite (synchronous=NORMAL)"
    if [ "$mode" = nosync ]; then flag=(--no_sync); key=sqlite_nosync; label="Python Beam DirectRunner -> sqlite --no_sync"; fi
    rm -f "$WORK/py.db" "$WORK/py.db-wal" "$WORK/py.db-shm"
    measure 1 "$WORK/py_$key.log" "$PY" "$HERE/python_file_etl.py" --input="$PY_INPUT" --spec="$SPEC" \
      --sink=sqlite:"$WORK/py.db" "${flag[@]}"
    add "$SECTION" "$label" "$PY_ROWS" "$M_SECS" "$M_RSS_KB" "" "$key"
    PY_RATE[$key]="$(rate "$PY_ROWS" "$M_SECS")"
    P="$(counts_sqlite "$WORK/py.db")"
    [ "$P" = "$C_COUNTS_SQLITE" ] && CHECKS+=("sqlite ($mode) per-table counts match: $P") \
      || CHECKS+=("MISMATCH sqlite ($mode): C: $C_COUNTS_SQLITE / Python: $P")
  done
fi
clean_out

# ---------------------------------------------------------------- RSS scan
SCAN=()
if [ "$RSS_SCAN" = 1 ]; then
  sizes=(1000000 3000000 10000000)
  [ "$SKIP_10M" = 1 ] && sizes=(1000000 3000000)
  for n in "${sizes[@]}"; do
    f="$WORK/events_$n.jsonl"
    gen "$n" "$f"
    cat "$f" >/dev/null
    mb="$(awk -v b="$(stat -c %s "$f")" 'BEGIN{printf "%.0f", b/1e6}')"
    for sink in "jsonl" "jsonl --no_sync" "sqlite --no_sync" "sqlite"; do
      case "$sink" in
        jsonl*) target=(--sink=jsonl:"$WORK/out_c") ;;
        *) target=(--sink=sqlite:"$WORK/c.db") ;;
      esac
      extra=(); [[ "$sink" == *--no_sync ]] && extra=(--no_sync)
      PRE=clean_out measure 1 "$WORK/scan.log" "$FILE_ETL" --input="$f" --spec="$SPEC" "${target[@]}" \
        --progress=off "${extra[@]}"
      c_check "$WORK/scan.log" "$n"
      SCAN+=("$n|$mb|$sink|$M_SECS|$M_RSS_KB")
    done
    clean_out
    if [ "$KEEP_DATA" = 0 ] && [ "$f" != "$INPUT" ]; then rm -f "$f"; fi
  done
fi
if [ "$KEEP_DATA" = 0 ]; then rm -f "$WORK"/events_*.jsonl "$WORK/ptime.py"; fi

# ---------------------------------------------------------------- report
CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
MACHINE="$(nproc) cores, ${CPU:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GB RAM", $2/1048576}' /proc/meminfo), $(uname -sr)"
VERSIONS="$(cc --version 2>/dev/null | head -1); SQLite $("$PY" -c 'import sqlite3; print(sqlite3.sqlite_version)') (Python side); $("$PY" -V 2>&1), apache-beam $("$PY" -c 'import apache_beam; print(apache_beam.__version__)' 2>/dev/null || echo none)"
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"

table() {  # table FORMAT(text|md)
  local fmt="$1" last="" row section tool n secs kb rkey pkey r ratio mb
  for row in "${ROWS_OUT[@]}"; do
    IFS='|' read -r section tool n secs kb rkey pkey <<<"$row"
    if [ "$section" != "$last" ]; then
      if [ "$fmt" = md ]; then
        printf '\n**%s**\n\n| tool | rows | seconds | rows/s | peak RSS MB | ratio vs Python |\n|---|---:|---:|---:|---:|---:|\n' "$section"
      else
        printf '\n%s\n%-56s %10s %8s %11s %8s %16s\n' "$section" tool rows seconds rows/s "RSS MB" "ratio vs Python"
      fi
      last="$section"
    fi
    r="$(rate "$n" "$secs")"
    ratio="-"
    if [ -n "$pkey" ]; then ratio="1.0 (baseline)"
    elif [ -n "$rkey" ] && [ -n "${PY_RATE[$rkey]:-}" ]; then
      ratio="$(awk -v a="$r" -v b="${PY_RATE[$rkey]}" 'BEGIN { printf "%.1fx", a / b }')"
    fi
    mb="$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')"
    if [ "$fmt" = md ]; then printf '| %s | %s | %s | %s | %s | %s |\n' "$tool" "$n" "$secs" "$r" "$mb" "$ratio"
    else printf '%-56s %10s %8s %11s %8s %16s\n' "$tool" "$n" "$secs" "$r" "$mb" "$ratio"; fi
  done
}
scan_table() {
  local fmt="$1" row n mb sink secs kb
  [ "${#SCAN[@]}" -gt 0 ] || return 0
  if [ "$fmt" = md ]; then
    printf '\n**RSS scan (C file_etl, one run each)**\n\n| rows | input MB | sink | seconds | rows/s | peak RSS MB |\n|---:|---:|---|---:|---:|---:|\n'
  else
    printf '\nRSS scan (C file_etl, one run each)\n%10s %9s %-17s %8s %10s %8s\n' rows "input MB" sink seconds rows/s "RSS MB"
  fi
  for row in "${SCAN[@]}"; do
    IFS='|' read -r n mb sink secs kb <<<"$row"
    if [ "$fmt" = md ]; then
      printf '| %s | %s | %s | %s | %s | %.1f |\n' "$n" "$mb" "$sink" "$secs" "$(rate "$n" "$secs")" "$(awk -v k="$kb" 'BEGIN{print k/1024}')"
    else
      printf '%10s %9s %-17s %8s %10s %8.1f\n' "$n" "$mb" "$sink" "$secs" "$(rate "$n" "$secs")" "$(awk -v k="$kb" 'BEGIN{print k/1024}')"
    fi
  done
}
# The issue's targets, judged on the main section and the scan.
targets() {
  local row section tool n secs kb rkey pkey r best_j=0 best_s=0 max_kb=0 verdict
  for row in "${ROWS_OUT[@]}"; do
    IFS='|' read -r section tool n secs kb rkey pkey <<<"$row"
    [ "$section" = "$MAIN" ] || continue
    case "$tool" in
      "C file_etl -> jsonl"*) r="$(rate "$n" "$secs")"; [ "$r" -gt "$best_j" ] && best_j="$r"; [ "$kb" -gt "$max_kb" ] && max_kb="$kb" ;;
      "C file_etl -> sqlite"*) r="$(rate "$n" "$secs")"; [ "$r" -gt "$best_s" ] && best_s="$r"; [ "$kb" -gt "$max_kb" ] && max_kb="$kb" ;;
    esac
  done
  verdict() { if [ "$1" = 1 ]; then echo met; else echo "NOT met"; fi; }
  echo "- Target >= 1,000,000 rows/s to JSON lines: best C jsonl $best_j rows/s: $(verdict "$((best_j >= 1000000))")."
  echo "- Target >= 500,000 rows/s to SQLite: best C sqlite $best_s rows/s: $(verdict "$((best_s >= 500000))")."
  local scan_max=0 scan_min=0 sink j_min=0 j_at="" s_min=0 s_at=""
  for row in "${SCAN[@]}"; do
    IFS='|' read -r n _ sink secs kb <<<"$row"
    [ "$kb" -gt "$scan_max" ] && scan_max="$kb"
    { [ "$scan_min" = 0 ] || [ "$kb" -lt "$scan_min" ]; } && scan_min="$kb"
    r="$(rate "$n" "$secs")"
    case "$sink" in
      jsonl*) if [ "$j_min" = 0 ] || [ "$r" -lt "$j_min" ]; then j_min="$r"; j_at="$n rows, $sink"; fi ;;
      sqlite*) if [ "$s_min" = 0 ] || [ "$r" -lt "$s_min" ]; then s_min="$r"; s_at="$n rows, $sink"; fi ;;
    esac
  done
  if [ "${#SCAN[@]}" -gt 0 ]; then
    echo "- Across the scan the slowest C jsonl run did $j_min rows/s ($j_at): 1M rows/s target $(verdict "$((j_min >= 1000000))") at every size; the slowest C sqlite run did $s_min rows/s ($s_at): 500k rows/s target $(verdict "$((s_min >= 500000))") at every size."
  fi
  [ "$scan_max" -gt "$max_kb" ] && max_kb="$scan_max"
  echo "- Target peak RSS < 64 MB: max C peak RSS $(awk -v k="$max_kb" 'BEGIN{printf "%.1f", k/1024}') MB: $(verdict "$((max_kb < 65536))")."
  if [ "${#SCAN[@]}" -gt 0 ]; then
    echo "- Flat as the file grows: the scan's peak RSS ranges $(awk -v a="$scan_min" -v b="$scan_max" 'BEGIN{printf "%.1f-%.1f MB", a/1024, b/1024}') over ${#SCAN[@]} runs (all sinks, all sizes)."
  fi
  return 0
}
notes() {
  targets
  echo "- Pipeline: parse JSON lines -> clean (trim, null tokens, lowercase event_type) -> type-check 6 fields -> filter amount >= 0 -> route events_{event_type} -> sink; spec tests/bench/bench_spec.json, read by both pipelines; dedupe OFF in both (it needs a GroupByKey over every row), no validate rules."
  echo "- Data: tests/bench/gen_events.py (seed 42), ~149 bytes/row, 1% dead letters, 5% filtered."
  echo "- Every command pinned to one core (${PIN[*]:-not pinned}), wall time and peak RSS from ${TIMER[0]} ('%e %M'); C and floors: median of $REPEAT runs (wall from bash \$EPOCHREALTIME around the timed command); Python: one run. Inputs read from the page cache."
  echo "- rows/s = input rows / wall seconds, process start to exit (includes startup, pipeline construction and the final commit/rename)."
  echo "- Ratio vs Python = rows/s over the Python rows/s for the same sink: both C jsonl rows against Python jsonl (WriteToText does not fsync, so C jsonl --no_sync is the like-for-like row), sqlite --no_sync against sqlite --no_sync, sqlite (synchronous=NORMAL) against the same."
  echo "- Sinks: C jsonl stages each bundle (the whole file, on the local runner) in memory/spill files and appends it at commit under a bundle log; C sqlite writes one transaction per bundle in WAL mode. Python writes with WriteToText (temp file + rename) and, for sqlite, one DoFn with one connection, one transaction per bundle, executemany in batches of 10,000, the same pragmas."
  [ -n "$PY_NOTE" ] && echo "- $PY_NOTE"
  if [ "$HAVE_BEAM" = 1 ]; then
    echo "- Python startup (interpreter + apache_beam import + pipeline construction, 10 rows): ${PY_STARTUP}s, included in its wall time; Python jsonl rows/s without it: $(awk -v n="$PY_ROWS" -v w="$PY_JSONL_SECS" -v s="$PY_STARTUP" 'BEGIN { printf "%.0f", (w > s) ? n / (w - s) : 0 }')."
  fi
  local c
  for c in "${CHECKS[@]}"; do echo "- Check: $c"; done
  return 0
}

{
  echo "Machine: $MACHINE"
  echo "Toolchain: $VERSIONS; build $BUILD_DIR ($BUILD_TYPE, sanitizers ${SANITIZE:-OFF})"
  echo "Date: $DATE"
  echo "Command: $CMDLINE"
  table text
  scan_table text
  echo
  notes
}

{
  echo "# File ETL benchmark results"
  echo
  echo "Generated by \`tests/bench/run_file_etl_bench.sh\` (overwritten per run)."
  echo
  echo "- Command: \`$CMDLINE\`"
  echo "- Machine: $MACHINE"
  echo "- Toolchain: $VERSIONS; build \`$(realpath --relative-to="$REPO" "$BUILD_DIR" 2>/dev/null || echo "$BUILD_DIR")\` ($BUILD_TYPE, sanitizers ${SANITIZE:-OFF})"
  echo "- Date: $DATE"
  table md
  scan_table md
  echo
  echo "Notes:"
  echo
  notes
} >"$RESULTS"
echo
echo "wrote $RESULTS"
