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
if [[ " $* " == *" --with-python-peers "* ]]; then
  if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
  fi
  if ! .venv/bin/python -c "import apache_beam, sys; sys.exit(apache_beam.__version__ != '${APACHE_BEAM_VERSION}')" 2>/dev/null; then
    echo "install-deps: pip install apache-beam==${APACHE_BEAM_VERSION}"
    .venv/bin/pip install -q --disable-pip-version-check "apache-beam==${APACHE_BEAM_VERSION}" pyyaml
  fi
fi

# Prism (Beam's portable runner in Go) from the Go module proxy, into .peers/bin.
if [[ " $* " == *" --with-go-peers "* ]]; then
  export PATH="$PATH:/usr/local/go/bin"
  if ! [[ -x .peers/bin/prism ]] || ! grep -qx "$PRISM_VERSION" .peers/prism.version 2>/dev/null; then
    command -v go >/dev/null || { echo "install-deps: Go is needed to install Prism" >&2; exit 1; }
    echo "install-deps: go install prism@${PRISM_VERSION}"
    # The checksum database (sum.golang.org) is not reachable from every build machine; the
    # module itself still comes from the Go module proxy over TLS.
    GOSUMDB=off GOBIN="$PWD/.peers/bin" go install "github.com/apache/beam/sdks/v2/go/cmd/prism@${PRISM_VERSION}"
    echo "$PRISM_VERSION" > .peers/prism.version
  fi
fi
