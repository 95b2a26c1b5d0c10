#!/usr/bin/env bash
# Several destinations in one file_etl run (--sink repeated, the spec's "outputs", ?tables= and
# ?where= selection): each destination gets what a run of its own would give it; a destination
# that fails fails the run naming it, and the same command again completes it without writing
# the others twice; bad selections are errors at spec-check time naming the key.
set -uo pipefail
etl=$1 src=$2
samples="$src/pipelines/file_etl/samples"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }

# Two specs: the sample's (with dedupe_on: the grouped pipeline) and the same without dedupe
# (units: each file committed with its ledger entry).
cp "$samples/spec.json" "$tmp/dedupe.json"
python3 - "$samples/spec.json" "$tmp/plain.json" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["clean"].pop("dedupe_on", None)
json.dump(spec, open(sys.argv[2], "w"))
PY

. "$src/tests/cli/dump_tables.sh"
same() { # same NAME FILE_A FILE_B
  if cmp -s "$2" "$3"; then ok "$1"; else fail "$1: differs:"; diff "$2" "$3" | head -20 | sed 's/^/    /'; fi
}
count() { sqlite3 "$1" "SELECT count(*) FROM \"$2\""; }

for mode in plain dedupe; do
  spec="$tmp/$mode.json"
  d="$tmp/$mode"
  mkdir -p "$d"
  # 1. Two destinations get what two single runs give them.
  "$etl" --input="$samples/landing" --spec="$spec" --sink="sqlite:$d/single.db" --quiet >"$d/single.out" 2>&1 ||
    fail "$mode single sqlite run"
  "$etl" --input="$samples/landing" --spec="$spec" --sink="jsonl:$d/single_j" --quiet >/dev/null 2>&1 ||
    fail "$mode single jsonl run"
  if "$etl" --input="$samples/landing" --spec="$spec" --sink="sqlite:$d/both.db" --sink="jsonl:$d/both_j" \
      --quiet >"$d/both.out" 2>&1; then
    grep -q "^destination 2: jsonl:$d/both_j (every table)" "$d/both.out" || fail "$mode summary names destination 2"
    grep -q "rows went to sqlite:$d/both.db, jsonl:$d/both_j" "$d/both.out" || fail "$mode summary lists both"
  else
    fail "$mode two destinations: rc=$?"; sed 's/^/    /' "$d/both.out"
  fi
  dump_sqlite "$d/single.db" >"$d/single.dump"; dump_sqlite "$d/both.db" >"$d/both.dump"
  same "${mode}_two_destinations_sqlite_as_single" "$d/single.dump" "$d/both.dump"
  dump_jsonl "$d/single_j" >"$d/single_j.dump"; dump_jsonl "$d/both_j" >"$d/both_j.dump"
  same "${mode}_two_destinations_jsonl_as_single" "$d/single_j.dump" "$d/both_j.dump"
  # The same command again: every file is in both ledgers, so nothing is read.
  out=$("$etl" --input="$samples/landing" --spec="$spec" --sink="sqlite:$d/both.db" --sink="jsonl:$d/both_j" 2>&1)
  [[ $out == *"nothing to load: 3 files already loaded"* ]] && ok "${mode}_rerun_skips" || fail "${mode}_rerun_skips: $out"

  # 2. Selection: tables= on one, where= on another (percent-encoded), both in one run.
  "$etl" --input="$samples/landing" --spec="$spec" --sink="sqlite:$d/all.db" \
    --sink="sqlite:$d/orders.db?tables=events_order,_files" \
    --sink="sqlite:$d/big.db?where=amount%20%3E%2050%20%26%26%20event_type%20!%3D%20'order'" \
    --summary_json="$d/summary.json" --quiet >"$d/select.out" 2>&1 || { fail "$mode selection run"; cat "$d/select.out"; }
  tables=$(sqlite3 "$d/orders.db" "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type='table' ORDER BY name)")
  [[ $tables == "_beam_ledger _bundles _files events_order" ]] && ok "${mode}_tables_selects" ||
    fail "${mode}_tables_selects: tables are \"$tables\""
  [[ $(count "$d/orders.db" events_order) == $(count "$d/all.db" events_order) && $(count "$d/orders.db" _files) == 3 ]] &&
    ok "${mode}_tables_rows" || fail "${mode}_tables_rows"
  want=$(sqlite3 "$d/all.db" "SELECT (SELECT count(*) FROM events_inventory WHERE amount > 50) + (SELECT count(*) FROM events_user_activity WHERE amount > 50)")
  got=$(sqlite3 "$d/big.db" "SELECT (SELECT count(*) FROM events_inventory) + (SELECT count(*) FROM events_user_activity)")
  orders=$(sqlite3 "$d/big.db" "SELECT count(*) FROM sqlite_master WHERE name = 'events_order'")
  [[ $want == "$got" && $want -gt 0 && $orders == 0 ]] && ok "${mode}_where_selects" ||
    fail "${mode}_where_selects: want $want rows and no events_order, got $got ($orders)"
  # _files.written is the run's outcome, the same in every destination whatever it takes.
  a=$(sqlite3 "$d/all.db" "SELECT name, written FROM _files ORDER BY name")
  b=$(sqlite3 "$d/orders.db" "SELECT name, written FROM _files ORDER BY name")
  [[ $a == "$b" ]] && ok "${mode}_files_written_run_wide" || fail "${mode}_files_written_run_wide: $a vs $b"
  python3 - "$d/summary.json" "$d/orders.db" <<'PY' && ok "${mode}_summary_json_destinations" || fail "${mode}_summary_json_destinations"
import json, sqlite3, sys
s = json.load(open(sys.argv[1]))
dests = s["destinations"]
assert len(dests) == 3, dests
assert dests[1]["selection"] == "tables events_order, _files", dests[1]
n = sqlite3.connect(sys.argv[2]).execute("SELECT count(*) FROM events_order").fetchone()[0]
assert dests[1]["written"] == {"events_order": n}, dests[1]
assert dests[1]["not_taken"] > 0 and dests[1]["files_rows"] == 3, dests[1]
PY

  # 3. The spec's outputs, with a --sink added: the same rows as the flags.
  python3 - "$spec" "$d/outputs.json" "$d" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["outputs"] = [{"sink": f"sqlite:{sys.argv[3]}/out_orders.db", "tables": ["events_order", "_files"]},
                   {"sink": f"sqlite:{sys.argv[3]}/out_big.db",
                    "where": "amount > 50 && event_type != 'order'"}]
json.dump(spec, open(sys.argv[2], "w"))
PY
  "$etl" --input="$samples/landing" --spec="$d/outputs.json" --sink="sqlite:$d/out_all.db" --quiet >"$d/outputs.out" 2>&1 ||
    { fail "$mode spec outputs run"; cat "$d/outputs.out"; }
  for pair in "orders out_orders" "big out_big" "all out_all"; do
    set -- $pair
    dump_sqlite "$d/$1.db" | grep -v '^_files\|written' >"$d/$1.cmp"
    dump_sqlite "$d/$2.db" | grep -v '^_files\|written' >"$d/$2.cmp"
    same "${mode}_spec_outputs_$1" "$d/$1.cmp" "$d/$2.cmp"
  done
  grep -q "^destination 1: sqlite:$d/out_orders.db (tables events_order, _files)" "$d/outputs.out" &&
    grep -q "^destination 3: sqlite:$d/out_all.db (every table)" "$d/outputs.out" && ok "${mode}_spec_outputs_first" ||
    { fail "${mode}_spec_outputs_first"; cat "$d/outputs.out"; }

  # 4. A destination that fails mid-run (a table of another shape in its database): the run
  # fails naming it; once mended, the same command completes it and leaves the other as it was.
  sqlite3 "$d/broken.db" "CREATE TABLE events_user_activity (x INTEGER NOT NULL)"
  cmd=("$etl" --input="$samples/landing" --spec="$spec" --sink="sqlite:$d/first.db" --sink="sqlite:$d/broken.db" --quiet)
  out=$("${cmd[@]}" 2>&1)
  rc=$?
  [[ $rc == 1 && $out == *"destination 2 (sqlite:$d/broken.db): "*"table events_user_activity exists with different columns"* ]] &&
    ok "${mode}_failing_destination_named" || fail "${mode}_failing_destination_named: rc=$rc: $out"
  sqlite3 "$d/broken.db" "DROP TABLE events_user_activity"
  out=$("${cmd[@]}" 2>&1) || fail "${mode}_rerun_completes: $out"
  dump_sqlite "$d/first.db" >"$d/first.dump"; dump_sqlite "$d/broken.db" >"$d/broken.dump"
  same "${mode}_rerun_first_not_doubled" "$d/single.dump" "$d/first.dump"
  same "${mode}_rerun_completes_second" "$d/single.dump" "$d/broken.dump"

  # 5. A destination added later gets every file; the one that had them is not written again.
  cp "$d/single.db" "$d/had.db"
  out=$("$etl" --input="$samples/landing" --spec="$spec" --sink="sqlite:$d/had.db" --sink="sqlite:$d/new.db" 2>&1) ||
    fail "${mode}_added_destination: $out"
  [[ $out == *"files already loaded                        3"* ]] && ok "${mode}_added_destination_skips_held" ||
    fail "${mode}_added_destination_skips_held: $out"
  dump_sqlite "$d/had.db" >"$d/had.dump"; dump_sqlite "$d/new.db" >"$d/new.dump"
  same "${mode}_added_destination_old_unchanged" "$d/single.dump" "$d/had.dump"
  same "${mode}_added_destination_new_complete" "$d/single.dump" "$d/new.dump"
done

# 6. Bad selections and options: exit 2 at spec-check time, naming the key, nothing created.
expect() { # expect NAME WANT_TEXT -- command...
  local name=$1 want=$2
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -ne 2 || $out != *"$want"* ]]; then
    fail "$name: rc=$rc (want 2), output lacks \"$want\":"; echo "$out" | sed 's/^/    /'
  else ok "$name"; fi
}
run() { "$etl" --input="$samples/landing" --spec="$tmp/plain.json" "$@"; }
expect unknown_table 'sink "sqlite:'"$tmp"'/x.db?tables=event_order": tables: "event_order" is not a table the route writes' -- \
  run --sink="sqlite:$tmp/x.db?tables=event_order"
expect unknown_table_prefix 'tables: "orders" is not a table the route writes (route.table "events_{event_type}", route.default "events_other"' -- \
  run --sink="sqlite:$tmp/x.db?tables=orders"
expect reserved_table 'tables: "_beam_ledger" is not a table the route writes' -- run --sink="sqlite:$tmp/x.db?tables=_beam_ledger"
expect bad_where 'where: "amount >": unexpected end of expression' -- run --sink="sqlite:$tmp/x.db?where=amount%20%3E"
expect where_unknown_field 'where: "amout > 1": ' -- run --sink="sqlite:$tmp/x.db?where=amout%20%3E%201"
expect bad_escape 'bad percent escape "%zz"' -- run --sink="sqlite:$tmp/x.db?where=%zz"
expect unknown_option_sqlite 'unknown option "bogus" (sqlite: takes none)' -- run --sink="sqlite:$tmp/x.db?bogus=1"
expect unknown_option_jsonl 'unknown option "bogus" (jsonl: takes none)' -- run --sink="jsonl:$tmp/xj?tables=_files&bogus=1"
expect unknown_option_bigquery 'unknown option "bogus"' -- run --sink="bigquery:p.d?tables=_files&bogus=1"
expect unknown_option_postgres 'invalid URI query parameter: "bogus"' -- \
  run --sink="postgres:postgresql://u@127.0.0.1:1/db?tables=_files&bogus=1"
expect option_twice 'option "tables" given twice' -- run --sink="sqlite:$tmp/x.db?tables=_files&tables=_files"
expect same_sink_twice 'sink "sqlite:'"$tmp"'/x.db" is named twice' -- \
  run --sink="sqlite:$tmp/x.db" --sink="sqlite:$tmp/x.db?tables=_files"
printf '{"schema":[{"name":"a","type":"STRING"}],"route":{"table":"t"},"outputs":[{"sink":"sqlite:%s/x.db","tables":["u"]}]}' \
  "$tmp" >"$tmp/bad_outputs.json"
expect spec_outputs_unknown_table 'bad_outputs.json: outputs[0].tables: "u" is not a table the route writes' -- \
  "$etl" --input="$samples/landing" --spec="$tmp/bad_outputs.json"
printf '{"schema":[{"name":"a","type":"STRING"}],"route":{"table":"t"},"outputs":[{"sink":"sqlite:%s/x.db","wher":"a"}]}' \
  "$tmp" >"$tmp/bad_key.json"
expect spec_outputs_unknown_key 'outputs[0]: unknown key "wher"' -- "$etl" --input="$samples/landing" --spec="$tmp/bad_key.json"
printf '{"schema":[{"name":"a","type":"STRING"}],"route":{"table":"t"},"outputs":[{"sink":"sqlite:%s/x.db?where=a%%20%%3D%%3D%%20%%27x%%27","where":"a is null"}]}' \
  "$tmp" >"$tmp/twice.json"
expect spec_outputs_where_twice 'outputs[0].where: given both in the sink URI and beside it' -- \
  "$etl" --input="$samples/landing" --spec="$tmp/twice.json"
expect no_sink_at_all '--sink is required' -- "$etl" --input="$samples/landing" --spec="$tmp/plain.json"
[[ ! -e "$tmp/x.db" && ! -e "$tmp/xj" ]] && ok nothing_created || fail "nothing_created: $(ls "$tmp")"

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
