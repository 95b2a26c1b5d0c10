#!/usr/bin/env bash
# The file ETL on a real runner writes exactly what the local runner writes: the bundled
# sample plus a generated file of ROWS events (dedupe = a GroupByKey on the runner, the
# per-file counts = a combine the runner lifts), run three ways into three SQLite files:
#   local      --runner=local                         (the reference)
#   portable   --runner=portable                      (every file on the runner)
#   auto       --runner=auto --big_runner=portable    (the big file on the runner, the rest local)
#   split      --runner=portable --split_size=2M      (the generated file in byte ranges)
# Every table must hold the same rows (order aside); _files must agree on every count and
# status. A JSON array file among the inputs fails alone on every runner (exit 3, _files
# status 'failed', none of its rows), and a second run on the runner skips the loaded files.
# Usage: file_etl_on_runner.sh FILE_ETL JOB_ENDPOINT [ENVIRONMENT_TYPE [ENVIRONMENT_CONFIG]]
set -euo pipefail
file_etl=$1 endpoint=$2 env_type=${3:-PROCESS} env_config=${4:-}
rows=${ROWS:-120000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"
cp -r "$root/pipelines/file_etl/samples/landing/." "$work/in/"
python3 "$root/tests/bench/gen_events.py" "$rows" "$work/in/generated.jsonl"
echo '[{"event_id": "a1", "ts": "2026-01-01T00:00:00Z"}]' >"$work/in/array.jsonl"
spec="$root/pipelines/file_etl/samples/spec.json"
remote=(--job_endpoint="$endpoint" --environment_type="$env_type")
[[ -n "$env_config" ]] && remote+=(--environment_config="$env_config")

run() { # name, flags...
  local name=$1
  shift
  local started=$SECONDS
  local rc=0
  "$file_etl" --input="$work/in" --spec="$spec" --sink="sqlite:$work/$name.db" --quiet "$@" >"$work/$name.out" 2>&1 || rc=$?
  if [[ $rc != 3 ]]; then # 3: completed, array.jsonl failed
    echo "file_etl_on_runner: the $name run exited $rc (want 3: array.jsonl fails alone):"
    cat "$work/$name.out"
    exit 1
  fi
  echo "file_etl_on_runner: $name run: $((SECONDS - started)) s"
  grep -E "^file_etl:" "$work/$name.out" || true
}

run local --runner=local
run portable --runner=portable "${remote[@]}"
run auto --runner=auto --big_runner=portable --size_threshold=100K "${remote[@]}"
# The generated file in 2M byte ranges: read by the runner's splittable-DoFn expansion in
# bundles of their own (and split further by runners that split dynamically).
run split --runner=portable --split_size=2M "${remote[@]}"

tables=$(sqlite3 "$work/local.db" "select name from sqlite_master where type='table' and name not in ('_bundles', '_files', '_beam_ledger') order by name")
status=0
for other in portable auto split; do
  for t in $tables; do
    # A dead letter's line number is known only when its file was read from the start (not
    # in a byte range past 0: local runs split big files, a runner splits at 64M): compare
    # the rest, the byte offset included.
    cols='*'; [[ $t == _dead_letter ]] && cols='source, raw, error, stage, "offset"'
    if ! diff <(sqlite3 "$work/local.db" "select $cols from \"$t\"" | sort) \
              <(sqlite3 "$work/$other.db" "select $cols from \"$t\"" | sort) >/dev/null; then
      echo "file_etl_on_runner: table $t differs between the local and the $other run"
      status=1
    fi
  done
  counts="select name, size_bytes, records, written, dead_lettered, filtered, deduplicated, status, file_id from _files"
  if ! diff <(sqlite3 "$work/local.db" "$counts" | sort) <(sqlite3 "$work/$other.db" "$counts" | sort); then
    echo "file_etl_on_runner: _files differs between the local and the $other run"
    status=1
  fi
done
ranges=$(sqlite3 "$work/split.db" "select ranges from _files where name like '%/generated.jsonl'")
if [[ ! $ranges -gt 1 ]]; then echo "file_etl_on_runner: split: generated.jsonl read in '$ranges' ranges (want several)"; status=1; fi
failed=$(sqlite3 "$work/portable.db" "select name from _files where status = 'failed' and error like '%JSON array%'")
if [[ $failed != */array.jsonl ]]; then echo "file_etl_on_runner: portable: array.jsonl not recorded as failed ($failed)"; status=1; fi
# Again on the runner: the loaded files are skipped before the job, array.jsonl fails again.
run portable --runner=portable "${remote[@]}"
skipped=$(grep -c "skipped, loaded at" "$work/portable.out" || true)
if [[ $skipped != 4 ]]; then echo "file_etl_on_runner: second portable run skipped $skipped files (want 4)"; status=1; fi
n=$(sqlite3 "$work/portable.db" "select sum(records) from _files where status = 'loaded'")
echo "file_etl_on_runner: $(echo "$tables" | wc -w) tables and _files identical across local, portable, auto and split ($n records; $ranges ranges)"
sqlite3 "$work/auto.db" "select runner, count(*), sum(records) from _files group by runner" | sed 's/^/file_etl_on_runner: auto: /'
exit $status
