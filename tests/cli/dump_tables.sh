# Sourced by the CLI tests: every table of a destination, sorted, without what differs between
# runs (times, runner, bundle bookkeeping), so two loads compare with cmp.
#   dump_sqlite DB    dump_jsonl DIR
dump_sqlite() {
  local t
  for t in $(sqlite3 "$1" "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE '\_%' ESCAPE '\' ORDER BY name"); do
    echo "== $t"; sqlite3 "$1" "SELECT * FROM \"$t\"" | sort
  done
  if [ -n "$(sqlite3 "$1" "SELECT 1 FROM sqlite_master WHERE name='_dead_letter'")" ]; then
    echo "== _dead_letter"; sqlite3 "$1" "SELECT source, line, stage, error FROM _dead_letter" | sort
  fi
  if [ -n "$(sqlite3 "$1" "SELECT 1 FROM sqlite_master WHERE name='_files'")" ]; then
    echo "== _files"; sqlite3 "$1" "SELECT name, records, written, dead_lettered, filtered, deduplicated, status FROM _files" | sort
  fi
}
dump_jsonl() {
  local f
  for f in $(ls "$1" | grep '\.jsonl$' | sort); do
    echo "== $f"
    if [ "$f" = _files.jsonl ]; then
      python3 -c "
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l); print(r['name'], r['records'], r['written'], r['dead_lettered'], r['filtered'], r['deduplicated'], r['status'])" "$1/$f" | sort
    else sort "$1/$f"; fi
  done
}
