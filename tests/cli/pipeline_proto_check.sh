#!/usr/bin/env bash
# --dump_pipeline writes a Pipeline that Beam's own Python protos parse, with every reference
# (PCollections, coders, windowing strategies, environments) resolvable.
set -euo pipefail
etl=$1 src=$2 python=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$etl" --input="$src/pipelines/file_etl/samples/landing" --spec="$src/pipelines/file_etl/samples/spec.json" \
  --sink="sqlite:$tmp/out.db" --dump_pipeline="$tmp/pipeline.pb" --quiet >/dev/null
"$python" "$src/tests/cli/check_pipeline.py" "$tmp/pipeline.pb"
# Two destinations: each has its own writer steps (Write-1, Write-2, ...).
"$etl" --input="$src/pipelines/file_etl/samples/landing" --spec="$src/pipelines/file_etl/samples/spec.json" \
  --sink="sqlite:$tmp/two.db" --sink="jsonl:$tmp/two?tables=_files" --dump_pipeline="$tmp/two.pb" --quiet >/dev/null
"$python" "$src/tests/cli/check_pipeline.py" "$tmp/two.pb"
