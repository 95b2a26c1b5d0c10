#!/usr/bin/env bash
# Installs beam-c into a temporary prefix and builds separate C programs against it, proving
# the install is usable: the SDK alone (module beam-c, target beam::beam; shared and static)
# without any database library, and an ETL program against both modules (beam-c-transforms,
# beam::transforms).
set -euo pipefail
build_dir=$1
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
san=""
grep -q 'BEAM_SANITIZE:BOOL=ON' "$build_dir/CMakeCache.txt" && san="-fsanitize=address,undefined"
libdir=$(dirname "$(find "$prefix" -name 'libbeam-c.so' | head -1)")
rpath="-Wl,-rpath,$libdir"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
fail() { echo "install check: $*" >&2; exit 1; }
# The SDK names no database, in either link mode; generated proto headers are not installed.
for mode in "" --static; do
  libs=$(pkg-config --libs $mode beam-c)
  ! grep -qE -- '-l(pq|sqlite3)\b' <<<"$libs" || fail "pkg-config --libs $mode beam-c names a database: $libs"
done
[ ! -e "$prefix/include/beam/proto" ] || fail "generated proto headers installed under include/beam/proto"
ls "$libdir"/libbeam-c.so.* "$libdir"/libbeam-c.a "$libdir"/libbeam-c-transforms.so.* "$libdir"/libbeam-c-transforms.a >/dev/null

# The installed programs are whole (static archives): they run without LD_LIBRARY_PATH.
"$prefix/bin/file_etl" --version
"$prefix/libexec/beam-c/boot" --version
! ldd "$prefix/bin/file_etl" | grep -q 'libbeam' || fail "file_etl loads a shared libbeam-c"

cc -std=c11 -Wall -Werror $san -o "$prefix/consumer" "$here/consumer.c" $(pkg-config --cflags --libs beam-c) $rpath
"$prefix/consumer"
! ldd "$prefix/consumer" | grep -E 'libpq|libsqlite3' || fail "a program built against beam-c alone loads a database library"
# The static archive links with the libraries its module names (Requires.private, shared
# system libraries: their own static dependencies need not be installed).
private=$(pkg-config --print-requires-private beam-c | awk '{print $1}')
cc -std=c11 -Wall -Werror $san -o "$prefix/consumer-static" "$here/consumer.c" $(pkg-config --cflags beam-c) \
  "$libdir/libbeam-c.a" $(pkg-config --libs jansson $private) -lpthread -lm
"$prefix/consumer-static"

cmake -S "$here/cmake_consumer" -B "$prefix/cmake-build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$prefix/cmake-build" >/dev/null
"$prefix/cmake-build/consumer"
echo "install check: beam-c consumers (pkg-config shared and static, find_package) built and ran, no database linked"

# The ETL against both modules: find_package + beam::transforms, and pkg-config beam-c-transforms.
cmake -S "$here/etl_example" -B "$prefix/etl-build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$prefix/etl-build" >/dev/null
cc -std=c11 -Wall -Werror $san -o "$prefix/etl_consumer" "$here/etl_example/etl_consumer.c" \
  $(pkg-config --cflags --libs beam-c-transforms) $rpath
for program in "$prefix/etl-build/etl_consumer" "$prefix/etl_consumer"; do
  out=$(mktemp -d -p "$prefix")
  LSAN_OPTIONS="suppressions=$here/../lsan.supp" "$program" "$out"
  got=$(sqlite3 "$out/out.db" "SELECT (SELECT count(*) FROM rows_a) || ' ' || (SELECT count(*) FROM rows_b) || ' ' || (SELECT count(*) FROM _dead_letter) || ' ' || (SELECT count(*) FROM _files)")
  [ "$got" = "2 1 1 1" ] || fail "$program: rows_a rows_b _dead_letter _files = $got, expected 2 1 1 1"
done
echo "install check: the ETL example (beam-c-transforms: find_package and pkg-config) loaded the expected rows"

# The testing kit's worked example (README "Testing your pipelines"): a user's DoFn and its
# tests, built with find_package and run by ctest, then the same tests built with pkg-config
# and run with cmocka's JUnit XML output; on Prism too when it is installed.
example="$here/testing_example"
cmake -S "$example" -B "$prefix/example-build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$prefix/example-build" >/dev/null
(cd "$prefix/example-build" && ctest --output-on-failure --timeout 120)
cc -std=c11 -Wall -Werror $san -o "$prefix/test_temperature" "$example/test_temperature.c" "$example/temperature_fns.c" \
  $(pkg-config --cflags --libs beam-c cmocka) -lm $rpath
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
