#!/usr/bin/env bash
# file_etl as a user runs it: the summary, exit codes and messages of the failure modes.
set -uo pipefail
etl=$1 src=$2
samples="$src/pipelines/file_etl/samples"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

expect() { # expect NAME WANT_RC WANT_TEXT -- command...
  local name=$1 want_rc=$2 want_text=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -ne $want_rc || $out != *"$want_text"* ]]; then
    echo "FAIL $name: rc=$rc (want $want_rc), output lacks \"$want_text\":"
    echo "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

expect sample 0 "rows went to sqlite:$tmp/out.db" -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="sqlite:$tmp/out.db"
expect space_separated_flags 0 "events_order" -- \
  "$etl" --input "$samples/landing/events.jsonl" --spec "$samples/spec.json" --sink "jsonl:$tmp/j" --quiet
expect help 0 "usage:" -- "$etl" --help
expect missing_sink 2 "--sink is required" -- "$etl" --input="$samples/landing" --spec="$samples/spec.json"
expect unknown_flag 2 "unknown flag --inptu" -- "$etl" --inptu=x
# A flag error is one line pointing at --help, not the whole usage.
for args in "--inptu=x" "--runner=bogus" "--input=x" "--message_ledger_days=1K" "--message_ledger_days=-1"; do
  out=$("$etl" $args 2>&1)
  rc=$?
  if [[ $rc -ne 2 || $(printf '%s\n' "$out" | wc -l) -ne 1 || $out != *"see --help"* ]]; then
    echo "FAIL flag_error_one_line ($args): rc=$rc, want 2 and one line with \"see --help\":"
    echo "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok   flag_error_one_line ($args)"
  fi
done
# Under Dataflow's flex-template launcher (FLEX_TEMPLATE_GO_BINARY set) its own options are
# noted and skipped, in both flag forms, and the run goes on.
expect flex_template_launcher_flags 0 "ignoring --launcher_only_option" -- \
  env FLEX_TEMPLATE_GO_BINARY="$etl" "$etl" --launcher_only_option=x --launcher_flag_alone \
  --input="$samples/landing" --launcher_spaced value --spec="$samples/spec.json" --sink="sqlite:$tmp/flex.db"
printf '{"schema":[{"name":"a","type":"FLOT64"}],"route":{"table":"t"}}' >"$tmp/bad_type.json"
expect bad_spec_names_key 2 "schema[0].type: unknown type \"FLOT64\"" -- \
  "$etl" --input="$samples/landing" --spec="$tmp/bad_type.json" --sink="sqlite:$tmp/x.db"
printf '{"schema":[{"name":"a","type":"STRING"}],"route":{"table":"t"},"filtr":"a"}' >"$tmp/bad_key.json"
expect bad_spec_unknown_key 2 "unknown key \"filtr\"" -- \
  "$etl" --input="$samples/landing" --spec="$tmp/bad_key.json" --sink="sqlite:$tmp/x.db"
# A missing input is a usage error found before the destination is opened: nothing is created.
expect missing_input 2 "--input $tmp/nope.jsonl: No such file or directory" -- \
  "$etl" --input="$tmp/nope.jsonl" --spec="$samples/spec.json" --sink="sqlite:$tmp/x.db"
expect missing_input_jsonl 2 "--input $tmp/nope.jsonl: No such file or directory" -- \
  "$etl" --input="$samples/landing" --input="$tmp/nope.jsonl" --spec="$samples/spec.json" --sink="jsonl:$tmp/mi/out"
# A bad destination exits 2 before anything is created, naming the path and the system error.
expect bad_sink 2 "unknown sink scheme \"mysql\"" -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="mysql:x"
expect sink_dir_missing 2 "directory $tmp/no/such/dir: No such file or directory" -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="sqlite:$tmp/no/such/dir/x.db"
expect sink_unwritable_proc 2 "directory /proc/x: No such file or directory" -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="sqlite:/proc/x/db"
echo "not a directory" >"$tmp/afile"
expect sink_under_file_sqlite 2 "directory $tmp/afile: Not a directory" -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="sqlite:$tmp/afile/x.db"
expect sink_under_file_jsonl 2 "cannot create directory $tmp/afile/sub/out: $tmp/afile: Not a directory" -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="jsonl:$tmp/afile/sub/out"
expect sink_is_a_file_jsonl 2 "$tmp/afile: Not a directory" -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="jsonl:$tmp/afile"
expect sink_not_sqlite 2 "$tmp/afile: not a SQLite database" -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="sqlite:$tmp/afile"
expect sink_bad_conninfo 2 "postgres:host=x bad: missing \"=\" after \"bad\"" -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="postgres:host=x bad"
expect sink_bad_bigquery 2 "is not PROJECT.DATASET" -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="bigquery:nodataset"
if [[ $(id -u) -ne 0 ]]; then # root writes anywhere: only an ordinary user can test permissions
  mkdir -p "$tmp/ro" && chmod 555 "$tmp/ro"
  expect sink_unwritable_dir 2 "$tmp/ro: Permission denied" -- \
    "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="jsonl:$tmp/ro/out"
  chmod 755 "$tmp/ro"
fi
for left in "$tmp/x.db" "$tmp/mi" "$tmp/no" "$tmp/afile/sub"; do
  if [[ -e $left ]]; then echo "FAIL a refused run left $left behind"; failures=$((failures + 1)); fi
done
if [[ ! -f $tmp/afile || $(cat "$tmp/afile") != "not a directory" ]]; then
  echo "FAIL a refused run changed $tmp/afile"; failures=$((failures + 1))
fi
# jsonl: creates missing parent directories, as file: does.
expect jsonl_creates_parents 0 "rows went to jsonl:$tmp/deep/er/out" -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="jsonl:$tmp/deep/er/out"
if [[ ! -s $tmp/deep/er/out/_files.jsonl ]]; then echo "FAIL jsonl_creates_parents: no _files.jsonl"; failures=$((failures + 1)); fi
# A route value naming a database catalog is a dead letter (stage route), not a failed run.
printf '{"t":"good","v":1}\n{"t":"sqlite_master","v":2}\n{"t":"good","v":3}\n' >"$tmp/catalog.jsonl"
printf '{"schema":[{"name":"t","type":"STRING"},{"name":"v","type":"INT64"}],"route":{"table":"{t}"}}' \
  >"$tmp/catalog_spec.json"
expect route_reserved_table 0 "rows went to sqlite:$tmp/catalog.db" -- \
  "$etl" --input="$tmp/catalog.jsonl" --spec="$tmp/catalog_spec.json" --sink="sqlite:$tmp/catalog.db"
got=$(sqlite3 "$tmp/catalog.db" "SELECT (SELECT count(*) FROM good) || ' ' || (SELECT count(*) FROM _dead_letter
  WHERE stage = 'route' AND line = 2 AND error LIKE '%reserved table name \"sqlite_master\"%')" 2>&1)
if [[ $got != "2 1" ]]; then echo "FAIL route_reserved_table: good rows, route dead letters = $got (want 2 1)"; failures=$((failures + 1)); fi
# The spec's own table names are checked at load: a reserved one is a spec error.
printf '{"schema":[{"name":"t","type":"STRING"}],"route":{"table":"e_{t}","default":"sqlite_sequence"}}' \
  >"$tmp/reserved_default.json"
expect spec_reserved_default 2 "route.default: \"sqlite_sequence\": table names starting with \"sqlite_\" are reserved" -- \
  "$etl" --input="$tmp/catalog.jsonl" --spec="$tmp/reserved_default.json" --sink="sqlite:$tmp/rd.db"
sed 's/"mode": "soft"/"mode": "hard"/' "$samples/spec.json" >"$tmp/hard.json"
expect hard_validation 3 "validate.mode is hard: nothing of this file is loaded" -- \
  "$etl" --input="$samples/landing" --spec="$tmp/hard.json" --sink="sqlite:$tmp/hard.db"
rows=$(sqlite3 "$tmp/hard.db" "SELECT count(*) FROM sqlite_master WHERE name LIKE 'events_%'" 2>&1)
if [[ $rows != 0 ]]; then echo "FAIL hard_validation left tables behind: $rows"; failures=$((failures + 1)); fi
expect size_threshold 0 "at or above --size_threshold" -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="sqlite:$tmp/big.db" --size_threshold=1K

# A database written by the previous release (_dead_letter without offset, a data table and
# its rows): the run loads into it, the old rows read NULL in the new column, the new dead
# letters carry the byte offset where their record starts.
sqlite3 "$tmp/old.db" "CREATE TABLE _dead_letter (source TEXT NOT NULL, line INTEGER, raw TEXT, error TEXT NOT NULL,
  stage TEXT NOT NULL); INSERT INTO _dead_letter VALUES ('old.csv', 1, 'x', 'old error', 'parse');
  CREATE TABLE _files (name TEXT NOT NULL, size_bytes INTEGER, records INTEGER, written INTEGER, dead_lettered INTEGER,
  filtered INTEGER, deduplicated INTEGER, runner TEXT, started_at TEXT, finished_at TEXT);
  INSERT INTO _files VALUES ('old.csv', 1, 1, 0, 1, 0, 0, 'local', NULL, NULL);
  CREATE TABLE _bundles (bundle_id TEXT PRIMARY KEY NOT NULL, committed_at TEXT NOT NULL, rows INTEGER NOT NULL);"
expect previous_release_db 0 "rows went to sqlite:$tmp/old.db" -- \
  "$etl" --input="$samples/landing/events.jsonl" --spec="$samples/spec.json" --sink="sqlite:$tmp/old.db" --quiet
got=$(sqlite3 "$tmp/old.db" "SELECT (SELECT count(*) FROM _dead_letter WHERE source = 'old.csv' AND offset IS NULL) || ' ' ||
  (SELECT count(*) FROM _dead_letter WHERE source != 'old.csv' AND offset IS NULL)" 2>&1)
if [[ $got != "1 0" ]]; then echo "FAIL previous_release_db: old rows with NULL offset, new without = $got (want 1 0)"; failures=$((failures + 1)); fi
# Its _files gained status, error and file_id (old rows NULL there), and the ledger was created.
got=$(sqlite3 "$tmp/old.db" "SELECT (SELECT count(*) FROM _files WHERE name = 'old.csv' AND status IS NULL AND file_id IS NULL)
  || ' ' || (SELECT count(*) FROM _files WHERE status = 'loaded' AND file_id IS NOT NULL) || ' ' || (SELECT count(*) FROM _beam_ledger)" 2>&1)
if [[ $got != "1 1 1" ]]; then echo "FAIL previous_release_db: old/new _files rows, ledger entries = $got (want 1 1 1)"; failures=$((failures + 1)); fi
# The offset finds the record: the bytes there are the dead letter's raw text.
read -r off raw_len < <(sqlite3 -separator ' ' "$tmp/old.db" "SELECT offset, length(CAST(raw AS BLOB)) FROM _dead_letter
  WHERE source != 'old.csv' AND stage = 'parse' AND raw IS NOT NULL LIMIT 1")
if [[ -z ${off:-} ]]; then
  echo "FAIL dead_letter_offset: no parse dead letter with an offset"; failures=$((failures + 1))
else
  at=$(tail -c +$((off + 1)) "$samples/landing/events.jsonl" | head -c "$raw_len")
  want=$(sqlite3 "$tmp/old.db" "SELECT raw FROM _dead_letter WHERE offset = $off AND source != 'old.csv'")
  if [[ "$at" != "$want" ]]; then echo "FAIL dead_letter_offset: bytes at $off are \"$at\", raw is \"$want\""; failures=$((failures + 1)); fi
fi

# No silent NULLs: a CSV whose header names none of the schema's fields fails (exit 3), naming
# both sides, instead of loading rows of NULLs.
mkdir -p "$tmp/noheader" && printf 'x,y,z\n1,2,3\n' >"$tmp/noheader/events.csv"
expect csv_header_none 3 "events.csv: line 1: CSV header has none of the schema fields event_id, event_type, user_id, amount, ts, country (found x, y, z)" -- \
  "$etl" --input="$tmp/noheader" --spec="$samples/spec.json" --sink="sqlite:$tmp/noheader.db" --quiet

# Exactly once per file: the same command again skips every file (the destination's ledger),
# --reload loads them again and says so.
expect rerun_skips 0 "events.jsonl skipped, loaded at " -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="sqlite:$tmp/big.db" --quiet
got=$(sqlite3 "$tmp/big.db" "SELECT count(*) FROM _files" 2>&1)
if [[ $got != 3 ]]; then echo "FAIL rerun_skips: _files has $got rows (want 3)"; failures=$((failures + 1)); fi
expect reload 0 "--reload: 3 files loaded before are loaded again" -- \
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="sqlite:$tmp/big.db" --reload
got=$(sqlite3 "$tmp/big.db" "SELECT (SELECT count(*) FROM _files) || ' ' || (SELECT count(*) FROM events_order)" 2>&1)
if [[ $got != "6 80" ]]; then echo "FAIL reload: _files, events_order = $got (want 6 80)"; failures=$((failures + 1)); fi
# file: keeps no ledger, but its parts are named by their records' identities: the same
# command twice leaves every row once.
for run in 1 2; do
  "$etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="file:$tmp/objects" --quiet >/dev/null 2>&1
done
got=$(find "$tmp/objects" -name '*.jsonl' -not -path '*/.bundles/*' -exec cat {} + | wc -l)
if [[ $got != 133 ]]; then echo "FAIL objects_rerun: $got lines (want 133: 123 rows, 7 dead letters, 3 _files)"; failures=$((failures + 1)); fi

# The same without dedupe (each file a unit committed with its _files row): skip, then reload.
python3 -c "
import json; s = json.load(open('$samples/spec.json')); s['clean'].pop('dedupe_on')
json.dump(s, open('$tmp/plain.json', 'w'))"
for run in 1 2 3; do
  flag=(); [[ $run == 3 ]] && flag=(--reload)
  "$etl" --input="$samples/landing" --spec="$tmp/plain.json" --sink="sqlite:$tmp/plain.db" --quiet "${flag[@]}" >/dev/null 2>&1 || true
done
got=$(sqlite3 "$tmp/plain.db" "SELECT (SELECT count(*) FROM _files) || ' ' || (SELECT count(*) FROM _beam_ledger) || ' ' ||
  (SELECT count(*) FROM events_order)" 2>&1)
if [[ $got != "6 3 80" ]]; then echo "FAIL plain_reload: _files, ledger, events_order = $got (want 6 3 80)"; failures=$((failures + 1)); fi

# One bad file never stops the others: a JSON array and an empty ZIP fail alone (exit 3), each
# recorded in _files with its error; the good file loads.
mkdir -p "$tmp/mixed" && cp "$samples/landing/events.jsonl" "$tmp/mixed/" && echo '[{"event_id": "1"}]' >"$tmp/mixed/array.jsonl"
printf 'PK\005\006\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000' >"$tmp/mixed/empty.zip"
expect one_bad_file 3 "failed files                                2" -- \
  "$etl" --input="$tmp/mixed" --spec="$samples/spec.json" --sink="sqlite:$tmp/mixed.db"
got=$(sqlite3 "$tmp/mixed.db" "SELECT group_concat(status, ' ') FROM (SELECT status FROM _files ORDER BY name)" 2>&1)
if [[ $got != "failed failed loaded" ]]; then echo "FAIL one_bad_file: statuses $got"; failures=$((failures + 1)); fi
got=$(sqlite3 "$tmp/mixed.db" "SELECT count(*) FROM _files WHERE status = 'failed' AND error LIKE '%array.jsonl%JSON array%'" 2>&1)
if [[ $got != 1 ]]; then echo "FAIL one_bad_file: array.jsonl's error not recorded ($got)"; failures=$((failures + 1)); fi

# A dangling symlink in an input directory fails alone too, in this run and the next (the
# first loaded events.jsonl: the rerun reads the failed entry only).
mkdir -p "$tmp/links" && cp "$samples/landing/events.jsonl" "$tmp/links/" && ln -s "$tmp/gone.jsonl" "$tmp/links/dangling.jsonl"
for run in first rerun; do
  expect "dangling_symlink_$run" 3 "dangling.jsonl: cannot open: No such file or directory" -- \
    "$etl" --input="$tmp/links" --spec="$samples/spec.json" --sink="sqlite:$tmp/links.db"
done
got=$(sqlite3 "$tmp/links.db" "SELECT group_concat(status, ' ') FROM (SELECT status FROM _files ORDER BY name, status)" 2>&1)
if [[ $got != "failed failed loaded" ]]; then echo "FAIL dangling_symlink: statuses $got"; failures=$((failures + 1)); fi

# A symlink to a directory above it is a loop: skipped with a warning; the files load once.
mkdir -p "$tmp/loop/sub" && cp "$samples/landing/events.jsonl" "$tmp/loop/sub/" && ln -s .. "$tmp/loop/sub/up"
expect symlink_loop 0 "symlink loop" -- \
  "$etl" --input="$tmp/loop" --spec="$samples/spec.json" --sink="sqlite:$tmp/loop.db"
got=$(sqlite3 "$tmp/loop.db" "SELECT count(*) FROM _files" 2>&1)
if [[ $got != 1 ]]; then echo "FAIL symlink_loop: $got _files rows"; failures=$((failures + 1)); fi

# --summary_json: per file status, counts and error, the exit status, for schedulers.
expect summary_json 3 "rows went to sqlite:$tmp/mixed2.db" -- \
  "$etl" --input="$tmp/mixed" --spec="$samples/spec.json" --sink="sqlite:$tmp/mixed2.db" --summary_json="$tmp/summary.json"
got=$(python3 -c "
import json; s = json.load(open('$tmp/summary.json'))
by = {f['name'].rsplit('/', 1)[-1]: f for f in s['files']}
print(s['exit_status'], s['outcome'], by['array.jsonl']['status'], by['events.jsonl']['status'], by['events.jsonl']['written'],
      'JSON array' in by['array.jsonl']['error'], s['totals']['files_failed'])" 2>&1)
if [[ $got != "3 completed_with_failed_files failed loaded 61 True 2" ]]; then echo "FAIL summary_json: $got"; failures=$((failures + 1)); fi

# Guard rails: past validate.max_bad_records the file fails naming its most frequent error.
python3 -c "
import json; s = json.load(open('$samples/spec.json')); s['validate']['max_bad_records'] = 1
json.dump(s, open('$tmp/max_bad.json', 'w'))"
expect max_bad_records 3 "more than validate.max_bad_records (1); most frequent" -- \
  "$etl" --input="$samples/landing/events.jsonl" --spec="$tmp/max_bad.json" --sink="sqlite:$tmp/max_bad.db"
got=$(sqlite3 "$tmp/max_bad.db" "SELECT count(*) FROM sqlite_master WHERE name LIKE 'events_%'" 2>&1)
if [[ $got != 0 ]]; then echo "FAIL max_bad_records: the failed file left tables ($got)"; failures=$((failures + 1)); fi

# A file that fails after its rows reached the database (its transaction rolled back, the
# table it created with it) leaves the next file its table: the next file loads.
printf 'id,n\n1,1\n2,x\n3,y\n' > "$tmp/a_bad.csv" && printf 'id,n\n5,5\n' > "$tmp/b_good.csv"
echo '{"format": "auto", "schema": [{"name": "id", "type": "STRING", "mode": "REQUIRED"}, {"name": "n", "type": "INT64"}],
 "validate": {"mode": "soft", "max_bad_records": 1, "rules": []}, "route": {"table": "t"}}' > "$tmp/max_bad1.json"
expect failed_then_good_sqlite 3 "failed files                                1" -- \
  "$etl" --input="$tmp/a_bad.csv" --input="$tmp/b_good.csv" --spec="$tmp/max_bad1.json" --sink="sqlite:$tmp/fg.db" --parallelism=1
got=$(sqlite3 "$tmp/fg.db" "SELECT group_concat(id) FROM t; SELECT group_concat(status) FROM (SELECT status FROM _files ORDER BY name)" 2>&1 | tr '\n' ' ')
if [[ $got != "5 failed,loaded " ]]; then echo "FAIL failed_then_good_sqlite: $got"; failures=$((failures + 1)); fi

# A route to 300 tables (a counter each) loads; a value making a name longer than any sink
# takes (128 bytes) is a dead letter at stage route, not a failed run.
python3 -c "
import json
with open('$tmp/many.jsonl', 'w') as f:
    for i in range(300): f.write(json.dumps({'id': str(i), 'k': 'k%d' % i}) + '\\n')
    f.write(json.dumps({'id': 'x', 'k': 'a' * 130}) + '\\n')
json.dump({'format': 'auto', 'schema': [{'name': 'id', 'type': 'STRING'}, {'name': 'k', 'type': 'STRING'}],
           'route': {'table': 't_{k}'}}, open('$tmp/many.json', 'w'))"
expect many_tables 0 "t_k299                                      1 rows" -- \
  "$etl" --input="$tmp/many.jsonl" --spec="$tmp/many.json" --sink="sqlite:$tmp/many.db"
got=$(sqlite3 "$tmp/many.db" "SELECT count(*) FROM sqlite_master WHERE name LIKE 't\\_%' ESCAPE '\\'; SELECT stage FROM _dead_letter" 2>&1 | tr '\n' ' ')
if [[ $got != "300 route " ]]; then echo "FAIL many_tables: $got"; failures=$((failures + 1)); fi

# Lines that end in CR alone (classic Mac "CSV (Macintosh)" exports) load, read whole
# whatever --split_size says; a CR inside a quoted field stays a line break.
printf 'id,n\r1,1\r2,2\r"3",3\r' > "$tmp/mac.csv"
echo '{"format": "auto", "schema": [{"name": "id", "type": "STRING"}, {"name": "n", "type": "INT64"}], "route": {"table": "t"}}' > "$tmp/mac.json"
expect cr_only_lines 0 "t                                           3 rows" -- \
  "$etl" --input="$tmp/mac.csv" --spec="$tmp/mac.json" --sink="sqlite:$tmp/mac.db" --split_size=4

# A truncated gzip fails alone (its open failing early once freed the file twice over).
printf 'id,n\n1,1\n2,2\n' | gzip > "$tmp/whole.csv.gz" && head -c 30 "$tmp/whole.csv.gz" > "$tmp/trunc.csv.gz"
expect truncated_gzip 3 "truncated gzip stream" -- \
  "$etl" --input="$tmp/trunc.csv.gz" --spec="$tmp/mac.json" --sink="sqlite:$tmp/trunc.db"
# No quoting ("quote": "") with the delimiter left to the file name is a valid spec.
echo '{"format": "csv", "csv": {"quote": ""}, "schema": [{"name": "id", "type": "STRING"}, {"name": "n", "type": "INT64"}], "route": {"table": "t"}}' > "$tmp/noquote.json"
expect no_quote_spec 0 "t                                           2 rows" -- \
  "$etl" --input="$tmp/whole.csv.gz" --spec="$tmp/noquote.json" --sink="sqlite:$tmp/noquote.db"

# A .tsv file without csv.delimiter in the spec is read with tabs.
printf 'id\tn\n1\t1\n2\t2\n' > "$tmp/tabs.tsv"
expect tsv_default_delimiter 0 "t                                           2 rows" -- \
  "$etl" --input="$tmp/tabs.tsv" --spec="$tmp/mac.json" --sink="sqlite:$tmp/tsv.db"

# One pretty-printed JSON document fails its file with the reason, not a dead letter a line.
printf '{\n  "id": "1",\n  "n": 2\n}\n' > "$tmp/pretty.json"
expect pretty_printed_json 3 "one JSON document spread over lines" -- \
  "$etl" --input="$tmp/pretty.json" --spec="$tmp/mac.json" --sink="sqlite:$tmp/pretty.db"

# A UTF-8 BOM and ranges of a few bytes: the first record (after the BOM, at byte 3) is read
# by exactly one range whatever the split.
printf '\xef\xbb\xbf{"id":"1"}\n{"id":"2"}\n' > "$tmp/bom.jsonl"
for split in 1 2 3 4; do
  rm -f "$tmp/bom.db"
  "$etl" --input="$tmp/bom.jsonl" --spec="$tmp/mac.json" --sink="sqlite:$tmp/bom.db" --split_size=$split --quiet >/dev/null 2>&1
  got=$(sqlite3 "$tmp/bom.db" "SELECT group_concat(id) FROM (SELECT id FROM t ORDER BY id)" 2>&1)
  if [[ $got != "1,2" ]]; then echo "FAIL bom_split_$split: rows $got"; failures=$((failures + 1)); else echo "ok   bom_split_$split"; fi
done

# Two inputs with the same content read at once (two threads, no dedupe): the content loads
# once, the other file is already loaded, and the summary counts its records once, whichever
# writer commits first (the other finds the unit committed at its commit).
python3 -c "
import json, sys
s = json.load(open('$samples/spec.json')); s['clean'].pop('dedupe_on')
json.dump(s, open('$tmp/no_dedupe.json', 'w'))
with open('$tmp/twins_a.jsonl', 'w') as f:
    for i in range(40000): f.write(json.dumps({'event_id': f'e{i}', 'event_type': 'order', 'amount': 1, 'ts': '2026-01-01T00:00:00Z'}) + '\\n')"
mkdir -p "$tmp/twins" && mv "$tmp/twins_a.jsonl" "$tmp/twins/a.jsonl" && cp "$tmp/twins/a.jsonl" "$tmp/twins/b.jsonl"
for run in 1 2 3; do
  rm -f "$tmp/twins.db"
  expect "same_content_at_once_$run" 0 "file_etl: 2 files, 40000 records" -- \
    "$etl" --input="$tmp/twins" --spec="$tmp/no_dedupe.json" --sink="sqlite:$tmp/twins.db" --parallelism=2 --split_size=0
  got=$(sqlite3 "$tmp/twins.db" "SELECT (SELECT count(*) FROM events_order) || ' ' || (SELECT count(*) FROM _files)" 2>&1)
  if [[ $got != "40000 1" ]]; then echo "FAIL same_content_at_once_$run: rows and _files $got"; failures=$((failures + 1)); fi
done

[[ $failures -eq 0 ]] && echo "file_etl_cli: all passed" || { echo "file_etl_cli: $failures failed"; exit 1; }
