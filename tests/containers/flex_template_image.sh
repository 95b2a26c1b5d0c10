#!/usr/bin/env bash
# Builds containers/flex-template/Dockerfile on the SDK image and runs its entrypoint the way
# Dataflow's launcher VM does: the launcher starts $FLEX_TEMPLATE_GO_BINARY with its own
# pipeline options and the template's parameters. Google's launcher base image is not
# reachable from CI, so LAUNCHER_BASE is a stand-in whose launcher is a three-line script
# doing that; what is checked is ours: the Dockerfile builds, the image's environment points
# at the program, and file_etl in the image skips the launcher's options and writes the same
# rows as the local runner on this machine.
# Usage: flex_template_image.sh FILE_ETL [SDK_IMAGE]
set -euo pipefail
file_etl=$1 sdk_image=${2:-localhost/beam-c-sdk:latest}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
buildah=(buildah --storage-driver "${BEAM_BUILDAH_STORAGE_DRIVER:-vfs}")
isolation=${BEAM_BUILDAH_ISOLATION:-chroot}
standin=localhost/beam-c-launcher-standin:test
image=localhost/beam-c-file-etl-launcher:test
work=$(mktemp -d)
ctrs=()
cleanup() {
  for c in "${ctrs[@]}"; do "${buildah[@]}" rm "$c" >/dev/null 2>&1 || true; done
  # -f: also the stage containers bud may leave on them
  "${buildah[@]}" rmi -f "$image" "$standin" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The stand-in launcher base: one file at the launcher's documented path.
mkdir -p "$work/standin/opt/google/dataflow"
cat >"$work/standin/opt/google/dataflow/go_template_launcher" <<'EOF'
#!/bin/sh
exec "$FLEX_TEMPLATE_GO_BINARY" --project=beam-c-test --region=us-central1 --job_name=flex-test \
  --staging_location=gs://beam-c-test/staging --temp_location=gs://beam-c-test/temp \
  --template_location=gs://beam-c-test/templates/job.json "$@"
EOF
chmod 755 "$work/standin/opt/google/dataflow/go_template_launcher"
ctr=$("${buildah[@]}" from scratch)
ctrs+=("$ctr")
"${buildah[@]}" copy "$ctr" "$work/standin" / >/dev/null
"${buildah[@]}" commit --rm -q "$ctr" "$standin" >/dev/null

"${buildah[@]}" bud --isolation "$isolation" --build-arg "SDK_IMAGE=$sdk_image" \
  --build-arg "LAUNCHER_BASE=$standin" -t "$image" -f "$root/containers/flex-template/Dockerfile" \
  "$root/containers/flex-template" >"$work/bud.log" 2>&1 || { cat "$work/bud.log"; exit 1; }

mkdir -p "$work/out" "$work/in"
cp -r "$root/pipelines/file_etl/samples/." "$work/in/"
ctr=$("${buildah[@]}" from --pull-never --quiet "$image")
ctrs+=("$ctr")
# No command: the image's entrypoint (the launcher) with the template's parameters.
"${buildah[@]}" run --isolation "$isolation" --volume "$work:$work" "$ctr" -- \
  /opt/google/dataflow/go_template_launcher --input="$work/in/landing" --spec="$work/in/spec.json" \
  --sink="sqlite:$work/out/flex.db" --runner=local >"$work/run.log" 2>&1 ||
  { echo "flex_template_image: the launcher run failed:"; cat "$work/run.log"; exit 1; }
"$file_etl" --input="$work/in/landing" --spec="$work/in/spec.json" --sink="sqlite:$work/out/local.db" \
  --runner=local --quiet
status=0
for t in $(sqlite3 "$work/out/local.db" "select name from sqlite_master where type='table' and name not in ('_bundles', '_files', '_beam_ledger') order by name"); do
  if ! diff <(sqlite3 "$work/out/local.db" "select * from \"$t\"" | sort) \
            <(sqlite3 "$work/out/flex.db" "select * from \"$t\"" | sort) >/dev/null; then
    echo "flex_template_image: table $t differs between the launcher image and the local run"
    status=1
  fi
done
((status == 0)) && echo "flex_template_image: $image ran file_etl under the launcher:" \
  "$(grep -c '^file_etl: ignoring' "$work/run.log" || true) launcher options noted and skipped, tables identical to the local run"
exit $status
