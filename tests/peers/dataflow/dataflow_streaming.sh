#!/usr/bin/env bash
# A streaming pipeline (Pub/Sub read -> ParDo) submitted to a loopback Dataflow that checks
# every request against the dataflow.v1b3 and storage.v1 discovery documents
# (tests/peers/google_api), staging into fake-gcs-server. Run under with_fake_gcs.sh.
#
# Checks: a GroupByKey of the stream in the global window is refused before anything is
# staged; the Job is JOB_TYPE_STREAMING / FNAPI_STREAMING with streaming=true and Streaming
# Engine, and conforms; the staged Pipeline decodes with Beam's own protos, its PCollections
# UNBOUNDED and the read a beam:transform:pubsub_read:v1 with its PubSubReadPayload; SIGTERM
# drains the job (DRAINED exits 0); with --cancel_on_interrupt it cancels.
#
# And file_etl --input=pubsub:... --runner=dataflow: the stream ETL (Pub/Sub read with
# attributes -> ReadMessages -> Write) as a streaming Job.
#
# Usage: dataflow_streaming.sh STREAMING_SUBMIT REPO_ROOT PYTHON DISCOVERY_DIR FILE_ETL
set -euo pipefail
submit=$1 repo=$2 python=$3 discovery=$4 file_etl=$5
# shellcheck source=tests/peers/dataflow/fake_dataflow.sh
source "$repo/tests/peers/dataflow/fake_dataflow.sh"

common=(--project=test-project --region=europe-west1 --temp_location=gs://beam-test/tmp
        --sdk_container_image=europe-docker.pkg.dev/test/beam/beam-c-sdk:1 --dataflow_poll_ms=50)

echo "== a GroupByKey of the stream in the global window is refused"
if "$submit" "${common[@]}" --group --dry_run 2> "$work/group.err"; then fail "the GroupByKey was accepted"; fi
grep -q 'GroupByKey "Group" groups an unbounded PCollection in the global window' "$work/group.err" ||
  { cat "$work/group.err" >&2; fail "the refusal does not name the GroupByKey"; }

echo "== dry run: a streaming Job"
"$submit" "${common[@]}" --job_name=events-stream --dry_run --dump_pipeline="$work/stream.pb" > "$work/dry.json"
check_job_body "$work/dry.json"
python3 - "$work/dry.json" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))
env = job['environment']
assert job['type'] == 'JOB_TYPE_STREAMING', job['type']
assert env['version']['job_type'] == 'FNAPI_STREAMING', env['version']
for e in ('use_runner_v2', 'enable_streaming_engine', 'enable_windmill_service'):
    assert e in env['experiments'], e
assert env['sdkPipelineOptions']['options']['streaming'] is True
print('ok: the streaming Job conforms to dataflow.v1b3')
PY
"$python" - "$work/stream.pb" <<'PY'
import sys
from apache_beam.portability.api import beam_runner_api_pb2 as rpb
p = rpb.Pipeline()
p.ParseFromString(open(sys.argv[1], 'rb').read())
pcs = p.components.pcollections
assert pcs and all(pc.is_bounded == rpb.IsBounded.UNBOUNDED for pc in pcs.values()), pcs
read = p.components.transforms['ReadEvents']
assert read.spec.urn == 'beam:transform:pubsub_read:v1', read.spec.urn
payload = rpb.PubSubReadPayload()
payload.ParseFromString(read.spec.payload)
assert payload.subscription == 'projects/test-project/subscriptions/events' and not payload.topic
assert payload.id_attribute == 'event_id' and payload.with_attributes and not payload.timestamp_attribute
assert not read.environment_id, 'a runner-native read must not name an SDK environment'
print('ok: Beam decodes the streaming pipeline: UNBOUNDED PCollections, the PubSubReadPayload')
PY

echo "== file_etl --input=pubsub: --runner=dataflow: the stream ETL as a streaming Job"
python3 -c "
import json; s = json.load(open('$repo/pipelines/file_etl/samples/spec.json')); s['clean'].pop('dedupe_on')
json.dump(s, open('$work/stream_spec.json', 'w'))"
"$file_etl" --input=pubsub:projects/test-project/subscriptions/events --spec="$work/stream_spec.json" \
  --sink=bigquery:test-project.events --runner=dataflow "${common[@]}" --job_name=etl-stream --dry_run \
  --dump_pipeline="$work/etl_stream.pb" > "$work/etl_dry.json"
check_job_body "$work/etl_dry.json"
python3 -c "
import json, sys; j = json.load(open('$work/etl_dry.json'))
assert j['type'] == 'JOB_TYPE_STREAMING' and j['environment']['version']['job_type'] == 'FNAPI_STREAMING', j['type']"
"$python" - "$work/etl_stream.pb" <<'PY'
import sys
from apache_beam.portability.api import beam_runner_api_pb2 as rpb
p = rpb.Pipeline()
p.ParseFromString(open(sys.argv[1], 'rb').read())
urns = {t.spec.urn for t in p.components.transforms.values()}
assert urns == {'beam:transform:pubsub_read:v1', 'beam:transform:pardo:v1'}, urns  # no GroupByKey
assert all(pc.is_bounded == rpb.IsBounded.UNBOUNDED for pc in p.components.pcollections.values())
read = [t for t in p.components.transforms.values() if t.spec.urn == 'beam:transform:pubsub_read:v1'][0]
payload = rpb.PubSubReadPayload()
payload.ParseFromString(read.spec.payload)
assert payload.subscription == 'projects/test-project/subscriptions/events' and payload.with_attributes
print('ok: the stream ETL is a streaming Job: Pub/Sub read with attributes, ParDos only, UNBOUNDED')
PY

running="$(printf 'JOB_STATE_RUNNING,%.0s' $(seq 200))JOB_STATE_RUNNING"

echo "== SIGTERM drains a streaming job; DRAINED is a success"
start_fake drain --dataflow-states "$running"
submit_then_sigterm drain "$submit" "${common[@]}" --job_name=events-drain
[[ $interrupted_rc == 0 ]] || { cat "$work/drain.err" >&2; fail "a drained job did not exit 0"; }
grep -q "draining job" "$work/drain.err" && grep -q "is DRAINED" "$work/drain.err" ||
  { cat "$work/drain.err" >&2; fail "SIGTERM did not drain the job"; }
grep -q 'JOB_STATE_DRAINING' "$api_log" || fail "no jobs.update asked for JOB_STATE_DRAINING"
no_violations "drain"

echo "== --cancel_on_interrupt cancels it instead"
start_fake cancel --dataflow-states "$running"
submit_then_sigterm cancel "$submit" "${common[@]}" --job_name=events-cancel --cancel_on_interrupt
[[ $interrupted_rc != 0 ]] || fail "a cancelled job exited 0"
grep -q "cancelling job" "$work/cancel.err" && grep -q "ended CANCELLED" "$work/cancel.err" ||
  { cat "$work/cancel.err" >&2; fail "--cancel_on_interrupt did not cancel the job"; }
no_violations "cancel"
echo "dataflow_streaming: all checks passed"
