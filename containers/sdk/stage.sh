#!/usr/bin/env bash
# Lays out what the SDK harness image holds, from a beam-c build directory, into STAGE_DIR
# (copied to / by the Dockerfiles):
#   /opt/apache/beam/boot      the entrypoint: the `boot` target when the build has one,
#                              otherwise a two-line shim that starts the worker
#   /opt/apache/beam/worker    the file_etl program (launcher and Fn API worker in one)
#   /usr/local/bin/file_etl    the same program on PATH
#   /opt/apache/beam/runtime-packages.txt   the Debian packages holding the shared libraries
#                              the binaries link to (found with ldd + dpkg), which the image's
#                              runtime stage installs: nothing else of the build comes along.
# The paths come from BUILD_DIR/containers/image-binaries.txt (containers/CMakeLists.txt).
# Usage: stage.sh BUILD_DIR STAGE_DIR
set -euo pipefail
build=$1 stage=$2
list="$build/containers/image-binaries.txt"
[[ -f $list ]] || { echo "stage.sh: $list missing: configure $build with this repository's CMake" >&2; exit 1; }
worker=$(sed -n 's/^worker=//p' "$list")
boot=$(sed -n 's/^boot=//p' "$list")
[[ -x $worker ]] || { echo "stage.sh: $worker not built (cmake --build $build --target sdk_image_binaries)" >&2; exit 1; }
mkdir -p "$stage/opt/apache/beam" "$stage/usr/local/bin"
install -m 755 -s "$worker" "$stage/opt/apache/beam/worker"
ln -sf /opt/apache/beam/worker "$stage/usr/local/bin/file_etl"
if [[ -n $boot ]]; then
  [[ -x $boot ]] || { echo "stage.sh: $boot not built (cmake --build $build --target sdk_image_binaries)" >&2; exit 1; }
  install -m 755 -s "$boot" "$stage/opt/apache/beam/boot"
else
  # No boot program in this build yet: the worker takes the runner's boot flags itself
  # (--id, --provision_endpoint, ...); --worker selects its Fn API harness mode.
  printf '#!/bin/sh\nexec /opt/apache/beam/worker --worker "$@"\n' >"$stage/opt/apache/beam/boot"
  chmod 755 "$stage/opt/apache/beam/boot"
fi

# The runtime packages: the owner of every shared library the binaries load. dpkg knows a
# file by the path its package ships (/lib or /usr/lib on a merged-/usr system): try both.
owner_of() {
  local p found
  for p in "$1" "$(realpath "$1")" "${1#/usr}" "/usr$1"; do
    if found=$(dpkg -S "$p" 2>/dev/null); then
      echo "${found%%:*}" # "libc6:amd64: /lib/..." or "zlib1g: /lib/..."
      return 0
    fi
  done
  return 1
}
packages=(ca-certificates) # TLS to GCS, Dataflow and BigQuery
for bin in "$stage/opt/apache/beam/worker" "$stage/opt/apache/beam/boot"; do
  [[ $(head -c 4 "$bin" | tail -c 3) == ELF ]] || continue # the shim is a script
  while read -r lib; do
    owner=$(owner_of "$lib") || { echo "stage.sh: no Debian package holds $lib (needed by $bin)" >&2; exit 1; }
    packages+=("$owner")
  done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3}')
done
printf '%s\n' "${packages[@]}" | sort -u >"$stage/opt/apache/beam/runtime-packages.txt"
echo "stage.sh: $(basename "$worker") and $([[ -n $boot ]] && echo "boot" || echo "a boot shim") staged;" \
  "runtime packages: $(tr '\n' ' ' <"$stage/opt/apache/beam/runtime-packages.txt")"
