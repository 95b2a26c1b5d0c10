#!/usr/bin/env bash
# The SDK harness image on a real runner: Prism runs the file ETL with a PROCESS environment
# whose command starts the image's entrypoint in a container (buildah run), exactly what a
# DOCKER environment does on Dataflow. file_etl_on_runner.sh then checks that the tables are
# row for row those of the local runner (portable and auto modes).
# The image comes from containers/sdk/build.sh; this script only makes a working container
# of it and removes it at the end.
# Usage: container_on_prism.sh FILE_ETL JOB_ENDPOINT [IMAGE]
set -euo pipefail
file_etl=$1 endpoint=$2 image=${3:-localhost/beam-c-sdk:latest}
here=$(cd "$(dirname "$0")" && pwd)
buildah=(buildah --storage-driver "${BEAM_BUILDAH_STORAGE_DRIVER:-vfs}")
isolation=${BEAM_BUILDAH_ISOLATION:-chroot}
# What runs in the container for each worker, given Prism's --id and --provision_endpoint:
# the image's entrypoint, as a DOCKER environment runs it (the worker itself would be
# "/opt/apache/beam/worker --worker").
entrypoint=/opt/apache/beam/boot

command -v buildah >/dev/null || { echo "container_on_prism: buildah not found (scripts/install-deps.sh --with-container-tools)"; exit 1; }
"${buildah[@]}" inspect --type image "$image" >/dev/null 2>&1 ||
  { echo "container_on_prism: no image $image: build it with containers/sdk/build.sh"; exit 1; }
work=$(mktemp -d)
ctr=
trap '[[ -z $ctr ]] || "${buildah[@]}" rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
ctr=$("${buildah[@]}" from --pull-never --quiet "$image")

# Prism starts this command for each worker. The container shares the host's network (Prism
# listens on loopback) and sees the test's files at the same path (the runner hands the
# workers absolute input and sink paths). Each start is logged to prove the image ran them.
cat >"$work/worker.sh" <<EOF
#!/bin/sh
echo "\$(date +%T) \$*" >>"$work/worker-starts.log"
exec ${buildah[*]} run --isolation $isolation --network host --volume $work:$work $ctr -- $entrypoint "\$@"
EOF
chmod +x "$work/worker.sh"

# Everything file_etl_on_runner.sh writes goes under $work (its mktemp honours TMPDIR). Fewer
# generated rows than the other runner tests: Prism's 120 s budget covers three runs here.
TMPDIR=$work ROWS=${ROWS:-20000} bash "$here/../peers/file_etl_on_runner.sh" "$file_etl" "$endpoint" PROCESS \
  "{\"command\": \"$work/worker.sh\"}"
starts=$(wc -l <"$work/worker-starts.log" 2>/dev/null || echo 0)
if ((starts == 0)); then
  echo "container_on_prism: Prism never started a worker from the image"
  exit 1
fi
echo "container_on_prism: $starts worker(s) ran in $image ($entrypoint $(head -1 "$work/worker-starts.log" | cut -d' ' -f2-))"
