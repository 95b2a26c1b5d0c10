#!/usr/bin/env bash
# Installs libbeam into a temporary prefix and builds a separate C program against it,
# once with pkg-config and once with CMake find_package, proving the install is usable.
set -euo pipefail
build_dir=$1
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
san=""
grep -q 'BEAM_SANITIZE:BOOL=ON' "$build_dir/CMakeCache.txt" && san="-fsanitize=address,undefined"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig"
cc -std=c11 -Wall -Werror $san -o "$prefix/consumer" "$here/consumer.c" $(pkg-config --cflags --libs beam-c)
"$prefix/consumer"

cmake -S "$here/cmake_consumer" -B "$prefix/cmake-build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$prefix/cmake-build" >/dev/null
"$prefix/cmake-build/consumer"
echo "install check: pkg-config and find_package consumers built and ran"

# The testing kit's worked example (README "Testing your pipelines"): a user's DoFn and its
# tests, built with find_package and run by ctest, then the same tests built with pkg-config
# and run with cmocka's JUnit XML output; on Prism too when it is installed.
example="$here/testing_example"
cmake -S "$example" -B "$prefix/example-build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$prefix/example-build" >/dev/null
(cd "$prefix/example-build" && ctest --output-on-failure --timeout 120)
cc -std=c11 -Wall -Werror $san -o "$prefix/test_temperature" "$example/test_temperature.c" "$example/temperature_fns.c" \
  $(pkg-config --cflags --libs beam-c cmocka) -lm
CMOCKA_MESSAGE_OUTPUT=xml CMOCKA_XML_FILE="$prefix/junit-%g.xml" "$prefix/test_temperature"
grep -q 'tests="2" failures="0" errors="0"' "$prefix/junit-temperature.xml"
prism="$here/../../.peers/bin/prism" on_prism=""
if [ -x "$prism" ]; then
  on_prism=", Prism"
  LSAN_OPTIONS="suppressions=$here/../lsan.supp" bash "$here/../peers/run_with_prism.sh" "$prism" sh -c \
    'cd "$0" && BEAM_TEST_RUNNER=portable BEAM_TEST_JOB_ENDPOINT=$PRISM_ENDPOINT ctest --output-on-failure --timeout 120' \
    "$prefix/example-build"
fi
echo "install check: the testing example's tests passed (find_package + ctest, pkg-config + JUnit XML$on_prism)"
