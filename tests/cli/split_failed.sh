#!/usr/bin/env bash
# A split file that fails after some of its ranges committed leaves none of its rows: a ZIP
# archive read by member in ranges, one of whose members is corrupt (its CRC fails when that
# range reaches its end), loads nothing and gets a failed _files row (exit 3), while another
# file of the run loads; the same command again does the same; once the archive is whole the
# same command loads it exactly once, like a load of the whole archive alone.
# Usage: split_failed.sh FILE_ETL SOURCE_DIR
set -euo pipefail
etl=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir in good
export SRC=$src
python3 - <<'PY'
import json, zipfile
def ev(prefix, n):
    return json.dumps({"event_id": f"{prefix}{n}", "event_type": ["order", "refund", "view"][n % 3],
                       "user_id": f"u{n % 97}", "amount": (n % 500) - 5, "ts": "2026-01-01T00:00:00Z", "country": "de"})
# Stored members of about 330 KB: each its own range at --split_size=100K.
with zipfile.ZipFile("good/arch.zip", "w", zipfile.ZIP_STORED) as z:
    for m in range(4):
        z.writestr(f"part{m}.jsonl", "".join(ev("r", m * 2000 + i) + "\n" for i in range(2000)))
        if m == 1: z.writestr("bad.jsonl", "not json\n")  # a dead letter of the archive
data = bytearray(open("good/arch.zip", "rb").read())
with zipfile.ZipFile("good/arch.zip") as z:
    info = z.getinfo("part2.jsonl")
at = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5000
data[at] ^= 0x20  # a letter's case: the JSON still parses, the CRC does not match
open("in/arch.zip", "wb").write(data)
with open("in/other.jsonl", "w") as f:
    f.write("".join(ev("o", i) + "\n" for i in range(500)))
import os
s = json.load(open(os.environ["SRC"] + "/pipelines/file_etl/samples/spec.json"))
s["clean"].pop("dedupe_on")
json.dump(s, open("spec.json", "w"))
PY
[ -s spec.json ]
load() { # load DB: the same command every time; prints the exit status
  local rc=0
  "$etl" --input in --spec spec.json --sink "sqlite:$1" --split_size=100K --parallelism=2 --quiet \
    --summary_json=summary.json > load.log 2>&1 || rc=$?
  echo "$rc"
}
rows_of() { # rows_of DB LIKE: rows of every table (but _files) whose first column matches
  local n=0
  for t in $(sqlite3 "$1" "select name from sqlite_master where type='table' and name not like '\_%' escape '\'"); do
    n=$((n + $(sqlite3 "$1" "select count(*) from \"$t\" where event_id like '$2'")))
  done
  n=$((n + $(sqlite3 "$1" "select count(*) from _dead_letter where source like '%$2'")))
  echo "$n"
}
check_failed() { # check_failed RC RUN NEW: the archive failed, none of its rows, the other file loaded (NEW: by this run)
  local rc=$1 run=$2 new=$3
  [ "$rc" = 3 ] || { echo "$run: exit $rc, want 3"; cat load.log; exit 1; }
  grep -q "CRC-32 mismatch" load.log || { echo "$run: the member's error is not logged"; cat load.log; exit 1; }
  [ "$(rows_of out.db 'r%')" = 0 ] || { echo "$run: rows of the failed archive stayed: $(rows_of out.db 'r%')"; exit 1; }
  [ "$(rows_of out.db '%arch.zip!%')" = 0 ] || { echo "$run: dead letters of the failed archive stayed"; exit 1; }
  [ "$(sqlite3 out.db "select count(*) from _beam_ledger where file like '%arch.zip'")" = 0 ] \
    || { echo "$run: ledger entries of the failed archive stayed"; exit 1; }
  local last
  last=$(sqlite3 out.db "select status, ranges, written from _files where name like '%arch.zip' order by rowid desc limit 1")
  [ "$last" = "failed|5|0" ] || { echo "$run: _files row of the archive is '$last', want failed|5|0"; exit 1; }
  [ "$(sqlite3 out.db "select status from _files where name like '%other.jsonl'")" = loaded ] \
    || { echo "$run: the other file did not load"; exit 1; }
  # The summary counts what stays: rows written minus those retracted.
  local stays=0
  [ "$new" = yes ] && stays=$(sqlite3 out.db "select (select count(*) from _dead_letter) + $(for t in $(sqlite3 out.db "select name from sqlite_master where type='table' and name not like '\_%' escape '\'"); do printf '(select count(*) from "%s") + ' "$t"; done) 0")
  python3 - "$stays" <<'PY' || { echo "$run: the summary's counts are not what the tables hold"; cat summary.json; exit 1; }
import json, sys
t = json.load(open("summary.json"))["totals"]
assert t["retracted"] == 3 * 1980 + 1, t
assert sum(t["written"].values()) == int(sys.argv[1]), (t["written"], sys.argv[1])
arch = [f for f in json.load(open("summary.json"))["files"] if f["name"].endswith("arch.zip")]
assert arch and arch[0]["status"] == "failed" and arch[0]["written"] == 0, arch
PY
}
rc=$(load out.db)
check_failed "$rc" "first run" yes
other=$(rows_of out.db 'o%')
rc=$(load out.db)
check_failed "$rc" "the same command again" no
[ "$(rows_of out.db 'o%')" = "$other" ] || { echo "the other file loaded twice"; exit 1; }

# The archive whole again: the same command loads it once, as a load of it alone does.
cp good/arch.zip in/arch.zip
rc=$(load out.db)
[ "$rc" = 0 ] || { echo "repaired: exit $rc"; cat load.log; exit 1; }
"$etl" --input good --spec spec.json --sink sqlite:ref.db --split_size=0 --quiet > ref.log 2>&1
for t in $(sqlite3 ref.db "select name from sqlite_master where type='table' and name not like '\_%' escape '\'"); do
  diff <(sqlite3 ref.db "select * from \"$t\"" | sort) <(sqlite3 out.db "select * from \"$t\" where event_id like 'r%'" | sort) \
    || { echo "repaired: table $t differs from a load of the archive alone"; exit 1; }
done
[ "$(rows_of out.db '%arch.zip!%')" = 1 ] || { echo "repaired: want the one dead letter of the archive"; exit 1; }
[ "$(sqlite3 out.db "select ranges from _files where name like '%arch.zip' and status = 'loaded'")" = 5 ] \
  || { echo "repaired: want one loaded _files row, in 5 ranges"; exit 1; }
rc=$(load out.db)
grep -q "nothing to load: 2 files already loaded" load.log || { echo "a fourth run loaded again"; cat load.log; exit 1; }
echo "split_failed: a failed split archive left none of its rows twice, then loaded once"
