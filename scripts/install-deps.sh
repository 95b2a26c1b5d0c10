#!/usr/bin/env bash
# Installs the Debian packages beam-c builds and tests with, and the pinned Python peers.
# Idempotent: skips what is already there. Run as root on Debian 12 (bookworm).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl python3 python3-venv
  libgrpc-dev protobuf-c-compiler libprotobuf-c-dev protobuf-compiler libprotobuf-dev
  libcurl4-openssl-dev libssl-dev libjansson-dev libcmocka-dev libyaml-dev libsqlite3-dev sqlite3 zlib1g-dev libxxhash-dev
  libpcre2-dev
  libpq-dev postgresql
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
  # google-cloud-pubsub (descriptors for the Pub/Sub proto check) in a venv of its own: its
  # protobuf requirement need not agree with apache-beam's.
  if ! .peers/pubsub-venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('google-cloud-pubsub') != '${GOOGLE_CLOUD_PUBSUB_VERSION}')" 2>/dev/null; then
    echo "install-deps: pip install google-cloud-pubsub==${GOOGLE_CLOUD_PUBSUB_VERSION} (.peers/pubsub-venv)"
    mkdir -p .peers
    python3 -m venv .peers/pubsub-venv
    .peers/pubsub-venv/bin/pip install -q --disable-pip-version-check "google-cloud-pubsub==${GOOGLE_CLOUD_PUBSUB_VERSION}"
  fi
fi

# Google's discovery documents, for checking REST request bodies (BigQuery, Dataflow, GCS) in
# tests: only the JSON files of google-api-python-client's wheel, into .peers/discovery (the
# package itself would upgrade protobuf past what apache-beam accepts).
if [[ " $* " == *" --with-python-peers "* ]] &&
   ! grep -qx "$GOOGLE_API_PYTHON_CLIENT_VERSION" .peers/discovery/version 2>/dev/null; then
  echo "install-deps: discovery documents of google-api-python-client==${GOOGLE_API_PYTHON_CLIENT_VERSION}"
  tmp=$(mktemp -d)
  .venv/bin/pip download -q --disable-pip-version-check --no-deps -d "$tmp" \
    "google-api-python-client==${GOOGLE_API_PYTHON_CLIENT_VERSION}"
  mkdir -p .peers/discovery
  .venv/bin/python - "$tmp"/*.whl .peers/discovery <<'PY'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
names = ["bigquery.v2.json", "dataflow.v1b3.json", "storage.v1.json", "pubsub.v1.json"]
with zipfile.ZipFile(wheel) as z:
    for n in names:
        with open(f"{out}/{n}", "wb") as f:
            f.write(z.read(f"googleapiclient/discovery_cache/documents/{n}"))
PY
  echo "$GOOGLE_API_PYTHON_CLIENT_VERSION" > .peers/discovery/version
  rm -rf "$tmp"
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
  # fake-gcs-server, the GCS emulator the gcs-labelled tests start (tests/gcp).
  if ! [[ -x .peers/bin/fake-gcs-server ]] || ! grep -qx "$FAKE_GCS_SERVER_VERSION" .peers/fake-gcs-server.version 2>/dev/null; then
    echo "install-deps: go install fake-gcs-server@${FAKE_GCS_SERVER_VERSION}"
    GOSUMDB=off GOBIN="$PWD/.peers/bin" go install "github.com/fsouza/fake-gcs-server@${FAKE_GCS_SERVER_VERSION}"
    echo "$FAKE_GCS_SERVER_VERSION" > .peers/fake-gcs-server.version
  fi
  # The Pub/Sub emulator (pstest in a Go main, tests/peers/pubsub/peer); rebuilt when its sources
  # change. PUBSUB_PEER_BIN overrides where it goes.
  pubsub_bin=${PUBSUB_PEER_BIN:-$PWD/.peers/bin}
  pubsub_stamp=$(cat tests/peers/pubsub/peer/go.mod tests/peers/pubsub/peer/go.sum tests/peers/pubsub/peer/*.go | sha256sum | cut -c1-16)
  if ! [[ -x $pubsub_bin/pubsub_peer ]] || ! grep -qx "$pubsub_stamp" "$pubsub_bin/pubsub_peer.version" 2>/dev/null; then
    command -v go >/dev/null || { echo "install-deps: Go is needed to build the Pub/Sub emulator" >&2; exit 1; }
    echo "install-deps: go build tests/peers/pubsub/peer (pstest)"
    mkdir -p "$pubsub_bin"
    (cd tests/peers/pubsub/peer && GOSUMDB=off GOFLAGS=-mod=mod go build -o "$pubsub_bin/pubsub_peer" .)
    echo "$pubsub_stamp" > "$pubsub_bin/pubsub_peer.version"
  fi
fi

# Flink's Beam job server (FlinkJobServerDriver; jobs run on an embedded Flink mini-cluster):
# the Flink runner and its runtime dependencies from Maven Central, into .peers/flink/lib.
# tests/peers/run_with_flink.sh starts it with `java -cp '.peers/flink/lib/*'`.
if [[ " $* " == *" --with-java-peers "* ]]; then
  java_missing=()
  command -v java >/dev/null || java_missing+=(default-jre-headless)
  command -v mvn >/dev/null || java_missing+=(maven)
  if ((${#java_missing[@]})); then
    echo "install-deps: apt-get install ${java_missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${java_missing[@]}" >/dev/null
  fi
  flink_artifact="beam-runners-flink-${FLINK_VERSION}"
  if ! [[ -f ".peers/flink/lib/${flink_artifact}-${FLINK_BEAM_VERSION}.jar" ]]; then
    echo "install-deps: mvn dependency:copy-dependencies org.apache.beam:${flink_artifact}:${FLINK_BEAM_VERSION}"
    rm -rf .peers/flink
    mkdir -p .peers/flink
    # A throwaway POM naming the runner, plus slf4j-simple so the job server has a log.
    cat > .peers/flink/pom.xml <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.beam-c</groupId>
  <artifactId>flink-job-server-peer</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.beam</groupId>
      <artifactId>${flink_artifact}</artifactId>
      <version>${FLINK_BEAM_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-simple</artifactId>
      <version>1.7.30</version>
      <scope>runtime</scope>
    </dependency>
  </dependencies>
</project>
POM
    # Into a temporary directory first: an interrupted download leaves no jar to be taken for
    # a complete install.
    mvn -B -q -Dstyle.color=never -f .peers/flink/pom.xml dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$PWD/.peers/flink/lib.tmp"
    mv .peers/flink/lib.tmp .peers/flink/lib
    echo "${flink_artifact}:${FLINK_BEAM_VERSION}" > .peers/flink/flink.version
  fi
fi

# Container tools for the SDK image (containers/sdk/build.sh): buildah builds and runs OCI
# images without a Docker engine, debootstrap makes the Debian base without a registry.
if [[ " $* " == *" --with-container-tools "* ]]; then
  container_missing=()
  command -v buildah >/dev/null || container_missing+=(buildah)
  command -v debootstrap >/dev/null || container_missing+=(debootstrap)
  if ((${#container_missing[@]})); then
    echo "install-deps: apt-get install ${container_missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${container_missing[@]}" >/dev/null
  fi
fi
