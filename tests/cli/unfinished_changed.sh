#!/usr/bin/env bash
# A run stopped in the middle of a split file (BEAM_ETL_TEST_EXIT_AFTER_RANGES=2: the process
# ends after its second range commit, as a kill -9 would), then:
#   changed - the file gets another line before the same command runs again: the new content
#             loads whole and the rows the first content's ranges committed are removed (the
#             output says so), so the tables equal a load of the new file alone;
#   same    - the file as it was: the same command reads the ranges not committed, nothing is
#             removed, and the tables equal a load of the file alone.
# Usage: unfinished_changed.sh FILE_ETL SOURCE_DIR [sqlite|postgres|jsonl]
# postgres: inside tests/postgres/with_postgres.sh (BEAM_PG_BINDIR, PGHOST...).
set -euo pipefail
etl=$1 src=$2 dest=${3:-sqlite}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export SRC=$src
python3 - <<'PY'
import json, os
def ev(n):
    return json.dumps({"event_id": f"r{n}", "event_type": ["order", "refund", "view"][n % 3],
                       "user_id": f"u{n % 97}", "amount": (n % 500) - 5, "ts": "2026-01-01T00:00:00Z", "country": "de"})
lines = [ev(i) + "\n" for i in range(4000)]  # about 500 KB: 5 ranges at --split_size=100K
lines[3000] = "not json\n"
open("base.jsonl", "w").write("".join(lines))
s = json.load(open(os.environ["SRC"] + "/pipelines/file_etl/samples/spec.json"))
s["clean"].pop("dedupe_on")
json.dump(s, open("spec.json", "w"))
PY

. "$src/tests/cli/dest_sql.sh"
dest_sql "$dest" unf

load() { # load DIR DB [env...]: prints the exit status
  local dir=$1 db=$2 rc=0
  shift 2
  env "$@" "$etl" --input "$dir" --spec spec.json --sink "$(uri "$db")" --split_size=100K --parallelism=1 --quiet \
    --summary_json=summary.json \
    > load.log 2>&1 || rc=$?
  echo "$rc"
}
same_as_ref() { # same_as_ref CASE: every table of out equals ref's (a load of the file alone)
  for t in $(q ref "$tables_sql"); do
    diff <(q ref "select event_id from \"$t\"" | sort) <(q out "select event_id from \"$t\"" | sort) >/dev/null \
      || { echo "$1: table $t differs from a load of the file alone"; exit 1; }
  done
  [ "$(q out "select count(*) from _dead_letter")" = 1 ] || { echo "$1: want the one dead letter"; exit 1; }
  [ "$(q out "select status || '|' || ranges from _files")" = "loaded|5" ] \
    || { echo "$1: want one loaded _files row in 5 ranges: $(q out "select status, ranges from _files")"; exit 1; }
}

for case in changed same; do
  fresh out; fresh ref
  rm -rf in && mkdir in && cp base.jsonl in/events.jsonl
  rc=$(load in out BEAM_ETL_TEST_EXIT_AFTER_RANGES=2)
  [ "$rc" = 137 ] || { echo "$case: the stopped run exited $rc, want 137"; cat load.log; exit 1; }
  [ "$(q out "select count(*) from _files" 2>/dev/null || echo 0)" = 0 ] || { echo "$case: the stopped run wrote a _files row"; exit 1; }
  [ "$case" = changed ] && echo '{"event_id": "late1", "event_type": "order", "amount": 3, "ts": "2026-01-01T00:00:00Z"}' >> in/events.jsonl
  rc=$(load in out)
  [ "$rc" = 0 ] || { echo "$case: the same command again exited $rc"; cat load.log; exit 1; }
  if [ "$case" = changed ]; then
    grep -q "in/events.jsonl changed after a run stopped in the middle of it: the [1-9][0-9]* rows" load.log \
      || { echo "changed: the output does not say what was removed"; cat load.log; exit 1; }
    python3 -c "import json; r = json.load(open('summary.json')); assert r['unfinished_rows_removed'] > 0 and len(r['unfinished_loads_removed']) == 1, r" \
      || { echo "changed: --summary_json does not count the rows removed"; exit 1; }
  elif grep -q "changed after a run stopped" load.log; then
    echo "same: rows were removed though the file did not change"; cat load.log; exit 1
  fi
  mkdir -p alone && cp in/events.jsonl alone/events.jsonl
  "$etl" --input alone --spec spec.json --sink "$(uri ref)" --split_size=0 --quiet > ref.log 2>&1
  same_as_ref "$case"
  rc=$(load in out)
  grep -q "nothing to load: 1 file already loaded" load.log || { echo "$case: a third run loaded again"; cat load.log; exit 1; }
  echo "unfinished_changed ($dest, $case): ok"
done
