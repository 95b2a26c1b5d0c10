#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs every test:
#   1. the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (gcc),
#   2. the libFuzzer targets for a bounded time (clang),
#   3. an install check: a separate C project builds against the installed library,
#   4. the SDK harness image (containers/sdk, buildah) built and run as Prism's workers.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)

bash scripts/install-deps.sh --with-python-peers --with-go-peers --with-java-peers --with-container-tools

echo "== build + unit, conformance and proto tests (ASan+UBSan)"
cmake -S . -B build-test -G Ninja -DBEAM_SANITIZE=ON -DBEAM_REQUIRE_PEERS=ON \
  -DBEAM_PYTHON="$root/.venv/bin/python" >/dev/null
cmake --build build-test -j "$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-test && ctest -j "$jobs" --output-on-failure --timeout 600 -E '^fuzz_' -LE container) # container: its own step below
# The protocol checks' own summaries (ctest keeps the output of passing tests to itself).
build-test/tests/conformance/coder_conformance ../shared/conformance/standard_coders.yaml | tail -1
(cd build-test && ctest -R '^proto_check$' -V | grep -o 'proto_check: .*' || true)

echo "== fuzz (libFuzzer, bounded time)"
CC=clang cmake -S . -B build-fuzz -G Ninja -DBEAM_FUZZ=ON -DBEAM_REQUIRE_PEERS=ON \
  -DBEAM_PYTHON="$root/.venv/bin/python" >/dev/null
cmake --build build-fuzz -j "$jobs"
(cd build-fuzz && ctest --output-on-failure -R '^fuzz_')

echo "== install check"
bash tests/install/check_install.sh "$root/build-test"

echo "== SDK container image (buildah: debootstrap base, multi-stage Dockerfile), run on Prism"
bash containers/sdk/build.sh
cmake -S . -B build-test -DBEAM_CONTAINER_TESTS=ON >/dev/null
cmake --build build-test -j "$jobs"
(cd build-test && ctest --output-on-failure -L container)
