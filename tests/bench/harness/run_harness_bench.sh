#!/usr/bin/env bash
# Harness throughput benchmark (README.md in this directory): the same 3-ParDo pipeline in
# C (optional), Go and Python against one Prism; worker CPU per element, throughput, start to
# first element. Builds the Go program once (cached in build-bench/harness_bench/).
#
# Usage: run_harness_bench.sh [--elements N] [--python-elements N] [--go-elements N]
#                             [--c-elements N] [--c-binary PATH] [--sdks c,go,python]
#                             [--taskset CPUS] [--results FILE|-] [--rebuild]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
out_dir=${HARNESS_BENCH_OUT:-$repo/build-bench/harness_bench}
py=${PYTHON:-$repo/.venv/bin/python}
go=${GO:-/usr/local/go/bin/go}
go_bin=$out_dir/harness_bench_go

args=() rebuild=0
for a in "$@"; do
  if [[ $a == --rebuild ]]; then rebuild=1; else args+=("$a"); fi
done

mkdir -p "$out_dir"
# Build the Go program when missing or older than its sources.
if (( rebuild )) || [[ ! -x $go_bin ]] ||
   [[ -n $(find "$here/go" -newer "$go_bin" \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \)) ]]; then
  echo "building $go_bin" >&2
  (cd "$here/go" &&
   GOSUMDB=off GOFLAGS=-mod=mod GOTOOLCHAIN=local nice "$go" build -p 1 -trimpath -o "$go_bin" .)
fi

export HARNESS_BENCH_COMMAND="tests/bench/harness/run_harness_bench.sh $*"
exec "$py" "$here/harness_bench_driver.py" --go-binary "$go_bin" --python "$py" \
  --out-dir "$out_dir" "${args[@]}"
