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
