#!/usr/bin/env bash
# Sets up a fresh Debian machine, builds beam-c (Release) and runs the file ETL on the bundled
# sample data (JSON lines, CSV and a ZIP, with some bad rows) into a SQLite database on the
# local runner, then shows where every row went.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
echo "== build (Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBEAM_SANITIZE=OFF -DBEAM_BUILD_TESTS=OFF >/dev/null
cmake --build build -j "$(nproc)" --target file_etl

samples=pipelines/file_etl/samples
out=build/sample
rm -rf "$out" && mkdir -p "$out"
echo "== file_etl on $samples/landing"
set -x
build/pipelines/file_etl --input="$samples/landing" --spec="$samples/spec.json" --sink="sqlite:$out/events.db"
{ set +x; } 2>/dev/null

echo
echo "== where the rows went: sqlite3 $out/events.db"
sqlite3 -header -column "$out/events.db" \
  "SELECT name, status, size_bytes, records, written, dead_lettered, filtered, deduplicated FROM _files;"
echo
sqlite3 -header -column "$out/events.db" \
  "SELECT source, line, stage, error FROM _dead_letter ORDER BY source, line;"
