# Sourced by the Dataflow submission tests: a work directory cleaned up at exit with every fake
# started, start_fake (the discovery-checking Dataflow fake forwarding storage to
# fake-gcs-server; sets api_port and api_log) and no_violations. Needs repo, discovery and
# FAKE_GCS_URL (tests/gcp/with_fake_gcs.sh) set by the caller.
: "${FAKE_GCS_URL:?run under tests/gcp/with_fake_gcs.sh}"
fake="$repo/tests/peers/google_api/fake_google_api.py"
work=$(mktemp -d)
pids=()
cleanup() {
  rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Starts the fake with extra arguments; sets api_port and api_log.
start_fake() {
  local name=$1; shift
  api_log="$work/$name.requests.jsonl"
  python3 "$fake" --discovery "$discovery" --port-file "$work/$name.port" --log "$api_log" \
    --service dataflow --forward "storage=$FAKE_GCS_URL" "$@" 2>"$work/$name.stderr" &
  pids+=($!)
  for _ in $(seq 100); do [[ -s $work/$name.port ]] && break; sleep 0.05; done
  api_port=$(cat "$work/$name.port")
  export STORAGE_EMULATOR_HOST="127.0.0.1:$api_port"
}

no_violations() {
  if grep -q '"violations"' "$api_log"; then
    grep '"violations"' "$api_log" >&2
    fail "requests did not conform to the discovery documents ($1)"
  fi
}

# Checks a Job JSON file (a projects.locations.jobs.create body) against dataflow.v1b3.
check_job_body() {
  python3 - "$repo" "$discovery" "$1" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + '/tests/peers/google_api')
import discovery
df = discovery.load_all(sys.argv[2])['dataflow']
v = df.check_request('POST', '/v1b3/projects/test-project/locations/europe-west1/jobs', open(sys.argv[3], 'rb').read(),
                     required_body=['name', 'type', 'environment.sdkPipelineOptions.options.pipelineUrl'])
assert not v, v
PY
}

# Runs a submission (the command and its arguments) in the background against the fake, its
# stderr in $work/NAME.err, sends it SIGTERM once the job is RUNNING, and waits: the exit
# status in interrupted_rc.
submit_then_sigterm() {
  local name=$1; shift
  "$@" --dataflow_endpoint="http://127.0.0.1:$api_port" < /dev/null > /dev/null 2> "$work/$name.err" &
  local launcher=$!
  for _ in $(seq 100); do grep -q "is RUNNING" "$work/$name.err" 2>/dev/null && break; sleep 0.1; done
  kill -TERM $launcher
  interrupted_rc=0
  wait $launcher || interrupted_rc=$?
}
