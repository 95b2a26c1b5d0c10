#!/usr/bin/env bash
# file_etl --runner=dataflow against a loopback Dataflow that checks every request against
# Google's dataflow.v1b3 and storage.v1 discovery documents (tests/peers/google_api), with
# staging going through that check into fake-gcs-server. Run under with_fake_gcs.sh.
#
# Checks: the Job body and every GCS request conform; the staged pipeline decodes back to the
# submitted one (DOCKER environments added); DONE exits 0 with each state and message printed
# once; FAILED exits 1 with the job's error; a taken name is refused clearly; --update
# replaces the active job; 503s are retried; SIGTERM cancels; --dry_run calls nothing; a
# flexTemplates.launch body as the README documents it conforms.
#
# Usage: dataflow_submit.sh FILE_ETL REPO_ROOT PYTHON DISCOVERY_DIR
set -euo pipefail
file_etl=$1 repo=$2 python=$3 discovery=$4
here="$repo/tests/peers/dataflow"
# shellcheck source=tests/peers/dataflow/fake_dataflow.sh
source "$repo/tests/peers/dataflow/fake_dataflow.sh"

common=(--input="$repo/pipelines/file_etl/samples/landing" --spec="$repo/pipelines/file_etl/samples/spec.json"
        --sink=gcs:gs://beam-test/out --runner=dataflow --project=test-project --region=europe-west1
        --temp_location=gs://beam-test/tmp --sdk_container_image=europe-docker.pkg.dev/test/beam/beam-c-sdk:1
        --dataflow_poll_ms=20 --num_workers=2 --max_num_workers=4 --labels=team=data)

echo "== dry run: the Job JSON, nothing called"
"$file_etl" "${common[@]}" --job_name=dry --dry_run --dataflow_endpoint=http://127.0.0.1:1 > "$work/dry.json"
check_job_body "$work/dry.json"
python3 - "$work/dry.json" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))
env = job['environment']
for e in ('use_runner_v2', 'use_unified_worker', 'use_portable_job_submission'):
    assert e in env['experiments'], e
assert job['steps'] == [] and job['type'] == 'JOB_TYPE_BATCH'
img = env['workerPools'][0]['sdkHarnessContainerImages']
assert len(img) == 1 and img[0]['containerImage'].endswith('beam-c-sdk:1') and img[0]['environmentId']
assert 'beam:coder:varint:v1' in img[0]['capabilities']
assert env['workerPools'][0]['numWorkers'] == 2 and job['labels'] == {'team': 'data'}
print('ok: dry run Job conforms to dataflow.v1b3 and carries the portable-submission fields')
PY

echo "== a job that ends DONE"
# The counters Dataflow reports for the sample (committed ones; a tentative copy and a system
# metric must be ignored), which file_etl's summary shows.
python3 - "$work/metrics.json" <<'PY'
import json, sys
def user(step, name, v, ns='beam-c', tentative=False):
    ctx = {'step': step, 'namespace': ns}
    if tentative:
        ctx['tentative'] = 'true'
    return {'name': {'origin': 'user', 'name': name, 'context': ctx}, 'scalar': v, 'kind': 'Sum', 'cumulative': True}
m = [user('ListFiles', 'files', 3), user('ReadAndProcess', 'records', 133), user('ReadAndProcess', 'filtered', 1),
     user('ReadAndProcess', 'bytes_read', 11200), user('DedupePick', 'deduplicated', 2),
     user('Write', 'written.events_inventory', 41), user('Write', 'written.events_order', 40),
     user('Write', 'written.events_other', 1), user('Write', 'written.events_user_activity', 41),
     user('Write', 'written._dead_letter', 7), user('ReadAndProcess', 'records', 999, tentative=True),
     {'name': {'origin': 'dataflow/v1b3', 'name': 'ElementCount', 'context': {'original_name': 'x'}}, 'scalar': 5}]
json.dump(m, open(sys.argv[1], 'w'))
PY
start_fake done --dataflow-metrics "$work/metrics.json"
"$file_etl" "${common[@]}" --job_name=etl-done --dump_pipeline="$work/submitted.pb" --stage_worker \
  --dataflow_endpoint="http://127.0.0.1:$api_port" > "$work/done.out" 2> "$work/done.err" || {
  cat "$work/done.err" "$work/done.stderr" >&2; fail "DONE job exited non-zero"; }
no_violations "DONE job"
grep -q 'messages?minimumImportance=JOB_MESSAGE_BASIC&startTime=' "$api_log" ||
  fail "later polls did not ask only for messages since the newest one seen (startTime)"
for s in PENDING RUNNING DONE; do
  [[ $(grep -c "job .* is $s\$" "$work/done.err") == 1 ]] || { cat "$work/done.err" >&2; fail "state $s not printed exactly once"; }
done
[[ $(grep -c "Job state JOB_STATE_RUNNING." "$work/done.err") == 1 ]] || fail "a job message was not printed exactly once"
grep -q "3 files, 133 records, .*runner dataflow (test-project, europe-west1)" "$work/done.out" || { cat "$work/done.out"; fail "no summary"; }
grep -q "events_user_activity *41 rows" "$work/done.out" && grep -q "_dead_letter *7 rows" "$work/done.out" ||
  { cat "$work/done.out"; fail "the summary does not show the job's counters"; }
url=$(python3 -c "
import json,sys
for l in open('$api_log'):
    e=json.loads(l)
    if e.get('method')=='dataflow.projects.locations.jobs.create':
        print(json.loads(e['body'])['environment']['sdkPipelineOptions']['options']['pipelineUrl'])")
object=${url#gs://beam-test/}
curl -fsS -o "$work/staged.pb" "$FAKE_GCS_URL/storage/v1/b/beam-test/o/$(python3 -c "import urllib.parse,sys;print(urllib.parse.quote(sys.argv[1],safe=''))" "$object")?alt=media"
"$python" - "$work/submitted.pb" "$work/staged.pb" "$file_etl" "$FAKE_GCS_URL" <<'PY'
import hashlib, sys, urllib.parse, urllib.request
from apache_beam.portability.api import beam_runner_api_pb2 as rpb
sub, staged = rpb.Pipeline(), rpb.Pipeline()
sub.ParseFromString(open(sys.argv[1], 'rb').read())
staged.ParseFromString(open(sys.argv[2], 'rb').read())
assert staged.root_transform_ids == sub.root_transform_ids
assert staged.components.transforms == sub.components.transforms, 'transforms differ'
assert staged.components.pcollections == sub.components.pcollections
assert staged.components.coders == sub.components.coders
for eid, env in staged.components.environments.items():
    assert env.urn == 'beam:env:docker:v1', env.urn
    dp = rpb.DockerPayload()
    dp.ParseFromString(env.payload)
    assert dp.container_image.endswith('beam-c-sdk:1')
    assert list(env.capabilities) == list(sub.components.environments[eid].capabilities)
    # --stage_worker: the worker binary, staged by content, named as the boot's artifact.
    dep = env.dependencies[-1]
    assert dep.type_urn == 'beam:artifact:type:url:v1' and dep.role_urn == 'beam:artifact:role:staging_to:v1'
    up, rp = rpb.ArtifactUrlPayload(), rpb.ArtifactStagingToRolePayload()
    up.ParseFromString(dep.type_payload)
    rp.ParseFromString(dep.role_payload)
    want = hashlib.sha256(open(sys.argv[3], 'rb').read()).hexdigest()
    assert rp.staged_name == 'beam-c-worker' and up.sha256 == want, (rp.staged_name, up.sha256)
    obj = up.url[len('gs://beam-test/'):]
    got = urllib.request.urlopen(sys.argv[4] + '/storage/v1/b/beam-test/o/' + urllib.parse.quote(obj, safe='') + '?alt=media').read()
    assert hashlib.sha256(got).hexdigest() == want, 'the staged worker differs from the binary'
print('ok: the staged pipeline decodes to the submitted one, with DOCKER environments and the staged worker')
PY
grep -q '"storage.objects.insert"' "$api_log" || fail "staging did not go through the GCS check"

echo "== --template_location: staged, the Job JSON written, no job created"
"$file_etl" "${common[@]}" --job_name=etl-template --runner=DataflowRunner \
  --template_location=gs://beam-test/templates/etl.json --dataflow_endpoint="http://127.0.0.1:$api_port" \
  > /dev/null 2> "$work/template.err" || { cat "$work/template.err" >&2; fail "--template_location failed"; }
curl -fsS -o "$work/template.json" "$FAKE_GCS_URL/storage/v1/b/beam-test/o/templates%2Fetl.json?alt=media"
python3 - "$repo" "$discovery" "$work/template.json" "$api_log" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1] + '/tests/peers/google_api')
import discovery
df = discovery.load_all(sys.argv[2])['dataflow']
body = open(sys.argv[3], 'rb').read()
assert not df.check_request('POST', '/v1b3/projects/test-project/locations/europe-west1/jobs', body)
assert json.loads(body)['name'] == 'etl-template'
creates = [l for l in open(sys.argv[4]) if 'etl-template' in l and 'jobs.create' in l]
assert not creates, 'a job was created'
print('ok: --template_location wrote a conforming Job and created none')
PY

echo "== a job that FAILS"
start_fake failed --dataflow-states JOB_STATE_PENDING,JOB_STATE_RUNNING,JOB_STATE_FAILED \
  --dataflow-fail-message "Workflow failed. Causes: S01:ReadAndProcess failed: row 42 is bad"
if "$file_etl" "${common[@]}" --job_name=etl-fails --dataflow_endpoint="http://127.0.0.1:$api_port" \
     > "$work/failed.out" 2> "$work/failed.err"; then fail "a FAILED job exited 0"; fi
grep -q "Dataflow job .* ended FAILED: Workflow failed. Causes: S01:ReadAndProcess failed: row 42 is bad" "$work/failed.err" ||
  { cat "$work/failed.err" >&2; fail "the failure message did not reach the user"; }
no_violations "FAILED job"

echo "== a taken name, --update, 503s, --detach"
start_fake conflict --fault dataflow.projects.locations.jobs.get:503x2
"$file_etl" "${common[@]}" --job_name=etl-live --detach --dataflow_endpoint="http://127.0.0.1:$api_port" \
  > /dev/null 2> "$work/detach.err" || { cat "$work/detach.err" >&2; fail "--detach failed"; }
grep -q "created job" "$work/detach.err" || fail "--detach did not say which job it created"
if "$file_etl" "${common[@]}" --job_name=etl-live --dataflow_endpoint="http://127.0.0.1:$api_port" \
     > /dev/null 2> "$work/taken.err"; then fail "a second job with an active name exited 0"; fi
grep -q "a Dataflow job named etl-live is already active in project test-project, region europe-west1: pass another --job_name, or --update" "$work/taken.err" ||
  { cat "$work/taken.err" >&2; fail "a taken name was not reported clearly"; }
"$file_etl" "${common[@]}" --job_name=etl-live --update --transform_name_mapping='{"Old":"New"}' \
  --dataflow_endpoint="http://127.0.0.1:$api_port" > /dev/null 2> "$work/update.err" ||
  { cat "$work/update.err" >&2; fail "--update failed (503s on jobs.get must be retried)"; }
python3 - "$api_log" <<'PY'
import json, sys
creates = [json.loads(json.loads(l)['body']) for l in open(sys.argv[1])
           if json.loads(l).get('method') == 'dataflow.projects.locations.jobs.create' and not json.loads(l).get('violations')]
last = creates[-1]
assert last.get('replaceJobId') and last.get('transformNameMapping') == {'Old': 'New'}, last.keys()
faults = [l for l in open(sys.argv[1]) if '"fault"' in l]
assert len(faults) == 2, faults
print('ok: --update names the running job; the two 503s were retried')
PY
no_violations "conflict/update"

echo "== SIGTERM cancels the job"
start_fake cancel --dataflow-states "$(printf 'JOB_STATE_RUNNING,%.0s' $(seq 200))JOB_STATE_DONE"
submit_then_sigterm cancel "$file_etl" "${common[@]}" --job_name=etl-cancel --dataflow_poll_ms=100
[[ $interrupted_rc != 0 ]] || fail "a cancelled job exited 0"
grep -q "cancelling job" "$work/cancel.err" && grep -q "ended CANCELLED" "$work/cancel.err" ||
  { cat "$work/cancel.err" >&2; fail "SIGTERM did not cancel the job"; }
grep -q '"dataflow.projects.locations.jobs.update"' "$api_log" || fail "no jobs.update was sent"
no_violations "cancel"

echo "== the flexTemplates.launch body the README documents"
python3 - "$repo" "$discovery" "$here/flex_template_launch.json" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + '/tests/peers/google_api')
import discovery
df = discovery.load_all(sys.argv[2])['dataflow']
v = df.check_request('POST', '/v1b3/projects/my-project/locations/europe-west1/flexTemplates:launch',
                     open(sys.argv[3], 'rb').read(),
                     required_body=['launchParameter.jobName', 'launchParameter.containerSpecGcsPath'])
assert not v, v
print('ok: flexTemplates.launch body conforms')
PY
echo "dataflow_submit: all checks passed"
