#!/usr/bin/env bash
# Several destinations with PostgreSQL among them: a postgresql:// URL keeps libpq's own query
# parameters and gives up tables=; a server that is down fails the run naming it; once it is
# up the same command loads every file into it and leaves the SQLite destination, which held
# them already, as it was.
# Run under with_postgres.sh. Usage: fanout_dest_postgres.sh FILE_ETL
set -euo pipefail
file_etl=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
samples="$root/pipelines/file_etl/samples"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
psql() { "$BEAM_PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
die() { echo "fanout_dest_postgres: $*" >&2; exit 1; }
count() { sqlite3 "$1" "SELECT count(*) FROM \"$2\""; }

pg="postgres:postgresql://$PGUSER@$PGHOST:$PGPORT/$PGDATABASE?connect_timeout=5&tables=events_order,_files&application_name=fanout"
cmd=("$file_etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="sqlite:$work/a.db" --sink="$pg" --quiet)

# The SQLite destination alone first: it holds every file.
"$file_etl" --input="$samples/landing" --spec="$samples/spec.json" --sink="sqlite:$work/a.db" --quiet >/dev/null ||
  die "the SQLite run failed"
before=$(sqlite3 "$work/a.db" "SELECT (SELECT count(*) FROM events_order), (SELECT count(*) FROM _files), (SELECT count(*) FROM _dead_letter)")

eval "$BEAM_PG_STOP"
set +e
out=$("${cmd[@]}" 2>&1)
rc=$?
set -e
eval "$BEAM_PG_START"
[[ $rc == 1 && $out == *"sink postgres:postgresql://"*"connect"* ]] || die "server down: want exit 1 naming the sink, got $rc: $out"
echo "fanout_dest_postgres: ok   a destination that is down fails the run naming it"

out=$("${cmd[@]}" 2>&1) || die "the same command again failed: $out"
[[ $out == *"files already loaded                        3"* ]] || die "the SQLite destination should hold every file: $out"
after=$(sqlite3 "$work/a.db" "SELECT (SELECT count(*) FROM events_order), (SELECT count(*) FROM _files), (SELECT count(*) FROM _dead_letter)")
[[ $before == "$after" ]] || die "the SQLite destination changed: $before -> $after"
orders=$(psql -c "SELECT count(*) FROM events_order")
files=$(psql -c "SELECT count(*) FROM _files")
others=$(psql -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('events_order', '_files', '_beam_ledger', '_beam_bundles')")
[[ $orders == "$(count "$work/a.db" events_order)" && $files == 3 && $others == 0 ]] ||
  die "PostgreSQL holds $orders orders, $files _files rows, $others other tables"
[[ $(psql -c "SELECT count(*) FROM _beam_ledger") -ge 3 ]] || die "PostgreSQL's ledger lacks the files"
echo "fanout_dest_postgres: ok   the same command completes it; the other is not written again"
# And once more: every file in both ledgers, nothing to load.
out=$("${cmd[@]}" 2>&1) || die "third run: $out"
[[ $out == *"nothing to load: 3 files already loaded"* ]] || die "third run: $out"
echo "fanout_dest_postgres: ok   then nothing to load"
