#!/usr/bin/env bash
# Installs the Debian packages beam-c builds and tests with, and the pinned Python peers.
# Idempotent: skips what is already there. Run as root on Debian 12 (bookworm).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates python3 python3-venv
  libgrpc-dev protobuf-c-compiler libprotobuf-c-dev protobuf-compiler libprotobuf-dev
  libcurl4-openssl-dev libjansson-dev libcmocka-dev libyaml-dev libsqlite3-dev sqlite3 zlib1g-dev
  clang libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Test peers pinned in one place.
source tests/peer_versions.env
if [[ "${1:-}" == "--with-python-peers" ]]; then
  if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
  fi
  if ! .venv/bin/python -c "import apache_beam, sys; sys.exit(apache_beam.__version__ != '${APACHE_BEAM_VERSION}')" 2>/dev/null; then
    echo "install-deps: pip install apache-beam==${APACHE_BEAM_VERSION}"
    .venv/bin/pip install -q --disable-pip-version-check "apache-beam==${APACHE_BEAM_VERSION}" pyyaml
  fi
fi
