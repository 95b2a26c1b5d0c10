#!/usr/bin/env bash
# Builds the beam-c SDK harness image with buildah (no Docker engine needed), from a clean
# machine: the Debian base image is made with debootstrap when it is not there yet (no
# container registry is needed), then containers/sdk/Dockerfile is built.
#
# Usage: containers/sdk/build.sh [--tag IMAGE] [--base IMAGE] [--prebuilt BUILD_DIR]
#   --tag IMAGE          the image to produce (default localhost/beam-c-sdk:latest)
#   --base IMAGE         the Debian bookworm image both stages start FROM (default
#                        localhost/beam-c-base:bookworm, made here with debootstrap;
#                        with a registry: docker.io/library/debian:bookworm-slim)
#   --prebuilt BUILD_DIR skip the in-image compile: package the binaries of a Release build
#                        made on this (bookworm) machine, e.g. cmake -B BUILD_DIR
#                        -DCMAKE_BUILD_TYPE=Release && cmake --build BUILD_DIR --target file_etl
#                        (Dockerfile.prebuilt: the same runtime stage, fed from BUILD_DIR)
# Environment: BEAM_BUILDAH_STORAGE_DRIVER (default vfs), BEAM_BUILDAH_ISOLATION (default
# chroot): the settings that work as root without overlayfs or user namespaces.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tag=localhost/beam-c-sdk:latest
base=localhost/beam-c-base:bookworm
prebuilt=
while (($#)); do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --prebuilt) prebuilt=$(cd "$2" && pwd); shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
driver=${BEAM_BUILDAH_STORAGE_DRIVER:-vfs}
isolation=${BEAM_BUILDAH_ISOLATION:-chroot}
buildah=(buildah --storage-driver "$driver")
command -v buildah >/dev/null || { echo "build.sh: buildah not found (scripts/install-deps.sh --with-container-tools)" >&2; exit 1; }
started=$SECONDS
scratch=() # temporary paths, removed however the script ends
trap 'rm -rf "${scratch[@]}"' EXIT

# The base: Debian bookworm (minbase) from the Debian mirror apt already uses, with the same
# apt sources, so `apt-get install` works inside the build exactly as on this machine.
make_base() {
  command -v debootstrap >/dev/null || { echo "build.sh: debootstrap not found (scripts/install-deps.sh --with-container-tools)" >&2; exit 1; }
  local mirror rootfs ctr
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  rootfs=$(mktemp -d /var/tmp/beam-c-rootfs.XXXXXX)
  scratch+=("$rootfs" "$rootfs.tar" "$rootfs.log")
  echo "build.sh: debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
    { tail -20 "$rootfs.log"; exit 1; }
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    rm -f "$rootfs/etc/apt/sources.list"
    cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/"
  fi
  # Like Debian's slim images: no recommends, no docs, man pages or translations (copyright
  # files stay), no apt lists or caches.
  echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/90beam-c-no-recommends"
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/90beam-c-slim"
  find "$rootfs/usr/share/doc" -type f ! -name copyright -delete
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -cf "$rootfs.tar" .
  ctr=$("${buildah[@]}" from scratch)
  "${buildah[@]}" add "$ctr" "$rootfs.tar" / >/dev/null # a tar archive is unpacked
  rm -f "$rootfs.tar"
  "${buildah[@]}" config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --label org.opencontainers.image.description="Debian bookworm minbase (debootstrap)" "$ctr"
  "${buildah[@]}" commit --rm -q "$ctr" "$base" >/dev/null
  rm -rf "$rootfs" "$rootfs.tar" "$rootfs.log"
  echo "build.sh: base image $base ready ($((SECONDS - started)) s)"
}

if ! "${buildah[@]}" inspect --type image "$base" >/dev/null 2>&1; then
  if [[ $base == localhost/beam-c-base:* ]]; then
    make_base
  else
    "${buildah[@]}" pull "$base"
  fi
fi

bud=("${buildah[@]}" bud --isolation "$isolation" --layers --force-rm --build-arg "BASE=$base" -t "$tag")
if [[ -n $prebuilt ]]; then
  # The context is a small staging directory, not the repository.
  ctx=$(mktemp -d)
  scratch+=("$ctx")
  bash "$here/stage.sh" "$prebuilt" "$ctx/stage"
  "${bud[@]}" -f "$here/Dockerfile.prebuilt" "$ctx"
else
  "${bud[@]}" -f "$here/Dockerfile" "$root"
fi
size=$("${buildah[@]}" images --noheading --format '{{.Size}}' "$tag" | head -1)
echo "build.sh: $tag built in $((SECONDS - started)) s, image size $size"
