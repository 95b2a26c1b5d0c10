#!/usr/bin/env python3
"""Self-test of the discovery check and the Dataflow fake: conforming requests pass, each kind
of violation is caught and named, injected faults happen, a job plays through its states.

Usage: test_fake_google_api.py DISCOVERY_DIR"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import discovery  # noqa: E402

JOB = {'name': 'etl-1', 'type': 'JOB_TYPE_BATCH',
       'environment': {'experiments': ['use_runner_v2'],
                       'sdkPipelineOptions': {'options': {'pipelineUrl': 'gs://b/pipeline.pb'}},
                       'workerPools': [{'numWorkers': 2, 'sdkHarnessContainerImages': [
                           {'containerImage': 'img', 'environmentId': 'env',
                            'capabilities': ['beam:coder:varint:v1'],
                            'useSingleCorePerContainer': False}]}]},
       'labels': {'team': 'data'}}


def check(cond, what):
  if not cond:
    raise SystemExit('FAIL: ' + what)
  print('ok:', what)


def checks_on_documents(apis):
  df, st, bq = apis['dataflow'], apis['storage'], apis['bigquery']
  create = '/v1b3/projects/p/locations/us-central1/jobs'
  check(df.check_request('POST', create, json.dumps(JOB).encode()) == [], 'a conforming Job passes')
  bad = json.loads(json.dumps(JOB))
  bad['environment']['bogus'] = 1
  bad['type'] = 'BATCH'
  bad['environment']['workerPools'][0]['numWorkers'] = '2'
  v = '\n'.join(df.check_request('POST', create + '?foo=1', json.dumps(bad).encode()))
  check("unknown field 'bogus'" in v, 'an unknown field is named')
  check("'BATCH' is not one of" in v, 'a bad enum value is named')
  check('numWorkers: expected integer' in v, 'a wrong type is named with its path')
  check("unknown query parameter 'foo'" in v, 'an unknown query parameter is named')
  v = df.check_request('POST', create, json.dumps({'type': 'JOB_TYPE_BATCH'}).encode(),
                       required_body=['name'])
  check(any('required body field name' in x for x in v), 'a missing required field is named')
  check(df.match('GET', create + '/abc/messages?pageToken=2')[0].id ==
        'dataflow.projects.locations.jobs.messages.list', 'the most specific template wins')
  m, params = st.match('GET', '/storage/v1/b/bkt/o/a%2Fb%2Fc.pb?alt=media')
  check(m.id == 'storage.objects.get' and params['object'] == 'a/b/c.pb', 'an encoded object name is one segment')
  check(st.match('POST', '/upload/storage/v1/b/bkt/o')[0].id == 'storage.objects.insert', 'upload paths route')
  check(st.check_request('POST', '/upload/storage/v1/b/bkt/o?uploadType=resumable&name=x&ifGenerationMatch=abc',
                         b'{}') != [], 'a non-integer int64 parameter is caught')
  rows = {'rows': [{'insertId': 'f:1', 'json': {'a': 1}}], 'skipInvalidRows': False}
  check(bq.check_request('POST', '/bigquery/v2/projects/p/datasets/d/tables/t/insertAll',
                         json.dumps(rows).encode()) == [], 'a conforming insertAll passes')


def request(port, verb, path, body=None):
  req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method=verb,
                               data=json.dumps(body).encode() if body is not None else None,
                               headers={'Content-Type': 'application/json'})
  try:
    with urllib.request.urlopen(req, timeout=10) as r:
      return r.status, json.loads(r.read() or b'{}')
  except urllib.error.HTTPError as e:
    return e.code, json.loads(e.read() or b'{}')


def checks_on_server(ddir):
  tmp = tempfile.mkdtemp()
  port_file, log = os.path.join(tmp, 'port'), os.path.join(tmp, 'log.jsonl')
  proc = subprocess.Popen([sys.executable, os.path.join(HERE, 'fake_google_api.py'), '--discovery', ddir,
                           '--port-file', port_file, '--log', log, '--service', 'dataflow',
                           '--fault', 'dataflow.projects.locations.jobs.get:503x1'])
  try:
    for _ in range(200):
      if os.path.exists(port_file):
        break
      time.sleep(0.05)
    port = int(open(port_file).read())
    base = '/v1b3/projects/p/locations/r/jobs'
    code, job = request(port, 'POST', base, JOB)
    check(code == 200 and job['id'], 'jobs.create answers with a job id')
    code, err = request(port, 'POST', base, JOB)
    check(code == 409 and 'already an active job named etl-1' in err['error']['message'],
          'a second active job of the same name is refused like Dataflow does')
    code, err = request(port, 'POST', base, {'name': 'x', 'typ': 1})
    check(code == 400 and "unknown field 'typ'" in err['error']['message'], 'a bad body gets a 400 naming it')
    code, _ = request(port, 'GET', base + '/' + job['id'])
    check(code == 503, 'the injected 503 happens')
    seen = []
    for _ in range(5):
      code, j = request(port, 'GET', base + '/' + job['id'])
      seen.append(j['currentState'])
    check(seen[:3] == ['JOB_STATE_PENDING', 'JOB_STATE_RUNNING', 'JOB_STATE_DONE'] and seen[4] == 'JOB_STATE_DONE',
          'the job plays PENDING -> RUNNING -> DONE and stays DONE')
    texts, token = [], None
    while True:
      code, page = request(port, 'GET', base + '/' + job['id'] + '/messages' + ('?pageToken=' + token if token else ''))
      texts += [m['messageText'] for m in page.get('jobMessages', [])]
      token = page.get('nextPageToken')
      if not token:
        break
    check(len(texts) == 4 and texts[-1] == 'Job state JOB_STATE_DONE.', 'messages come in pages, all of them')
    entries = [json.loads(l) for l in open(log)]
    check(sum(1 for e in entries if e.get('violations')) == 1, 'the log records the one violation')
  finally:
    proc.terminate()
    proc.wait(10)


def main():
  ddir = sys.argv[1]
  checks_on_documents(discovery.load_all(ddir))
  checks_on_server(ddir)
  print('test_fake_google_api: all checks passed')


if __name__ == '__main__':
  main()
