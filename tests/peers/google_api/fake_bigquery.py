"""BigQuery's REST API as the fake plays it (see fake_google_api.py), in memory:

- datasets.get / datasets.insert (409 when it exists);
- tables.get / tables.insert: the schema is stored and checked (types, modes, the time
  partitioning field is a TIMESTAMP or DATE column, its type DAY, HOUR (not on a DATE),
  MONTH or YEAR, at most 4 clustering fields that exist);
- tables.patch: the members given replace the table's; a new schema must keep every existing
  field with its type and mode (BigQuery: "Provided Schema does not match Table") and may only
  add NULLABLE or REPEATED fields ("Cannot add required fields to an existing schema");
- tabledata.insertAll: each row is checked against the table's schema like BigQuery does
  (unknown fields, a missing REQUIRED value, values of the wrong type); rows matching a
  --bigquery-reject-field FIELD=VALUE rule are refused too (reason "invalid"). With
  skipInvalidRows false (the default) a request with an invalid row stores nothing: the
  invalid rows come back in insertErrors with their reason, every other row with reason
  "stopped". Rows whose insertId was already stored in the table are not stored again
  (BigQuery's dedupe, here without a time window). More than 50,000 rows or a body over
  10 MB is a 400 for the whole request;
- jobs.insert through the upload paths (multipart: the Job, then the data) for
  NEWLINE_DELIMITED_JSON load jobs: the job is RUNNING at the first jobs.get and DONE at the
  next; with an invalid row (maxBadRecords 0) it ends DONE with errorResult "invalid" and
  loads nothing; a jobId that exists is a 409;
- jobs.get.

Stored rows are appended to --bigquery-rows FILE as JSON lines {"dataset", "table", "row",
"insertId"} (what a test compares). --bigquery-lose-response N stores the rows of the first
N insertAll requests, then drops the connection without an answer (the client's retry must
be deduplicated by insertId)."""

import base64
import datetime
import json
import re
import threading

TYPES = {'STRING': 'STRING', 'BYTES': 'BYTES', 'INTEGER': 'INTEGER', 'INT64': 'INTEGER', 'FLOAT': 'FLOAT',
         'FLOAT64': 'FLOAT', 'NUMERIC': 'NUMERIC', 'BIGNUMERIC': 'BIGNUMERIC', 'BOOLEAN': 'BOOLEAN',
         'BOOL': 'BOOLEAN', 'TIMESTAMP': 'TIMESTAMP', 'DATE': 'DATE', 'TIME': 'TIME', 'DATETIME': 'DATETIME',
         'JSON': 'JSON', 'GEOGRAPHY': 'GEOGRAPHY'}
_TS_RE = re.compile(r'^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?( ?(Z|UTC|[+-]\d{2}:\d{2}))?$')
_DATE_RE = re.compile(r'^\d{4}-\d{2}-\d{2}$')
_INT_RE = re.compile(r'^-?\d+$')
_NUM_RE = re.compile(r'^-?\d+(\.\d+)?$')
MAX_ROWS = 50000
MAX_BYTES = 10 * 1024 * 1024


def _value_error(field, v):
  """Why v does not fit the field (None when it does)."""
  t = TYPES.get(field['type'], field['type'])
  name = field['name']
  if t == 'STRING' and not isinstance(v, str):
    return 'Cannot convert value to string: field %s' % name
  if t == 'INTEGER' and not ((isinstance(v, int) and not isinstance(v, bool)) or
                             (isinstance(v, str) and _INT_RE.match(v))):
    return 'Cannot convert value to integer: field %s' % name
  if t == 'FLOAT' and not ((isinstance(v, (int, float)) and not isinstance(v, bool)) or
                           v in ('NaN', 'Infinity', '-Infinity')):
    return 'Cannot convert value to floating point: field %s' % name
  if t == 'BOOLEAN' and not isinstance(v, bool):
    return 'Cannot convert value to boolean: field %s' % name
  if t == 'NUMERIC' and not (isinstance(v, str) and _NUM_RE.match(v)):
    return 'Invalid NUMERIC value: field %s' % name
  if t == 'TIMESTAMP' and not (isinstance(v, str) and _TS_RE.match(v)):
    return 'Cannot parse value %r as TIMESTAMP: field %s' % (v, name)
  if t == 'DATE' and not (isinstance(v, str) and _DATE_RE.match(v)):
    return 'Invalid date: %r: field %s' % (v, name)
  if t == 'BYTES':
    try:
      base64.b64decode(v, validate=True)
    except Exception:
      return 'Could not decode base64 string to bytes: field %s' % name
  return None


def register(server):
  from fake_google_api import google_error
  lock = threading.Lock()
  datasets = {}   # (project, dataset) -> resource
  tables = {}     # (project, dataset, table) -> {'resource', 'ids': set, 'rows': int}
  jobs = {}       # (project, jobId) -> job
  rules = []
  for r in server.args.bigquery_reject_field:
    field, _, value = r.partition('=')
    rules.append((field, value))
  rows_file = open(server.args.bigquery_rows, 'a') if server.args.bigquery_rows else None
  lose = [server.args.bigquery_lose_response]

  def now_ms():
    return str(int(datetime.datetime.now().timestamp() * 1000))

  def check_row(schema, row):
    if not isinstance(row, dict):
      return 'row is not a JSON object'
    fields = {f['name'].lower(): f for f in schema}
    for k in row:
      if k.lower() not in fields:
        return 'no such field: %s.' % k
    for f in schema:
      v = row.get(f['name'])
      if v is None:
        if f.get('mode') == 'REQUIRED':
          return 'Missing required field: %s.' % f['name']
        continue
      why = _value_error(f, v)
      if why:
        return why
    for field, value in rules:
      v = row.get(field)
      text = ('true' if v else 'false') if isinstance(v, bool) else str(v)
      if v is not None and text == value:
        return 'row rejected by the test rule %s=%s' % (field, value)
    return None

  def partition_of(key):
    """A tableId with a partition decorator, "events$20261107": the table's key and the
    partition, or an error when the table is not ingestion-time partitioned by DAY (the
    decorators streaming inserts and load jobs take here) or the partition is no date."""
    table, _, part = key[2].partition('$')
    if not part:
      return key, None, None
    base = (key[0], key[1], table)
    t = tables.get(base)
    tp = (t or {}).get('resource', {}).get('timePartitioning')
    if not t:
      return base, None, 'Not found: Table %s:%s.%s' % base
    if not tp or tp.get('field') or tp.get('type') != 'DAY':
      return base, None, 'Partition decorator %s: table %s is not partitioned by ingestion day' % (part, table)
    try:
      day = datetime.datetime.strptime(part, '%Y%m%d').date()
    except ValueError:
      return base, None, 'Invalid partition decorator: %s' % part
    today = datetime.datetime.now(datetime.timezone.utc).date()
    if not -31 <= (day - today).days <= 16:
      return base, None, ('Partition %s is outside the allowed bounds: streaming to a partition decorator reaches '
                          '31 days in the past and 16 days in the future' % part)
    return base, part, None

  def store(key, rows_ids, partition=None):
    t = tables[key]
    for row, insert_id in rows_ids:
      if insert_id is not None:
        if insert_id in t['ids']:
          continue
        t['ids'].add(insert_id)
      t['rows'] += 1
      if rows_file:
        rec = {'dataset': key[1], 'table': key[2], 'row': row, 'insertId': insert_id}
        if partition:
          rec['partition'] = partition
        rows_file.write(json.dumps(rec) + '\n')
    if rows_file:
      rows_file.flush()

  # ---- datasets -------------------------------------------------------------------------

  def dataset_get(req):
    p, d = req.params['projectId'], req.params['datasetId']
    with lock:
      if (p, d) not in datasets:
        return google_error(404, 'Not found: Dataset %s:%s' % (p, d), 'NOT_FOUND')
      return 200, datasets[(p, d)]

  def dataset_insert(req):
    body = req.json()
    ref = body.get('datasetReference') or {}
    p, d = req.params['projectId'], ref.get('datasetId')
    if not d or ref.get('projectId', p) != p:
      return google_error(400, 'Invalid datasetReference', 'INVALID_ARGUMENT')
    with lock:
      if (p, d) in datasets:
        return google_error(409, 'Already Exists: Dataset %s:%s' % (p, d), 'ALREADY_EXISTS')
      res = dict(body, id='%s:%s' % (p, d), kind='bigquery#dataset', creationTime=now_ms())
      res['datasetReference'] = {'projectId': p, 'datasetId': d}
      datasets[(p, d)] = res
      return 200, res

  # ---- tables ---------------------------------------------------------------------------

  def table_problem(res):
    fields = (res.get('schema') or {}).get('fields') or []
    if not fields:
      return 'Schema has no fields'
    by_name = {}
    for f in fields:
      if f.get('type') not in TYPES:
        return 'Invalid field type %r for field %s' % (f.get('type'), f.get('name'))
      if f.get('mode', 'NULLABLE') not in ('NULLABLE', 'REQUIRED', 'REPEATED'):
        return 'Invalid mode %r for field %s' % (f.get('mode'), f.get('name'))
      if not re.match(r'^[A-Za-z_][A-Za-z0-9_]{0,299}$', f.get('name') or ''):
        return 'Invalid field name %r' % f.get('name')
      by_name[f['name'].lower()] = f
    tp = res.get('timePartitioning')
    if tp:
      pf = by_name.get((tp.get('field') or '').lower())
      if tp.get('field') and (not pf or TYPES[pf['type']] not in ('TIMESTAMP', 'DATE', 'DATETIME')):
        return 'The field specified for time partitioning can only be of type TIMESTAMP, DATE or DATETIME'
      if tp.get('type') not in ('DAY', 'HOUR', 'MONTH', 'YEAR'):
        return 'Invalid time partitioning type: %r (DAY, HOUR, MONTH or YEAR)' % tp.get('type')
      if tp.get('type') == 'HOUR' and pf and TYPES[pf['type']] == 'DATE':
        return 'HOUR partitioning is not supported on a DATE column: %s' % pf['name']
    cl = (res.get('clustering') or {}).get('fields') or []
    if len(cl) > 4:
      return 'Too many clustering fields: %d, only 4 are allowed' % len(cl)
    for c in cl:
      if c.lower() not in by_name:
        return 'The field specified for clustering cannot be found in the schema: %s' % c
    return None

  def table_get(req):
    key = (req.params['projectId'], req.params['datasetId'], req.params['tableId'])
    with lock:
      t = tables.get(key)
      if not t:
        return google_error(404, 'Not found: Table %s:%s.%s' % key, 'NOT_FOUND')
      return 200, dict(t['resource'], numRows=str(t['rows']))

  def table_insert(req):
    body = req.json()
    ref = body.get('tableReference') or {}
    p, d = req.params['projectId'], req.params['datasetId']
    key = (p, d, ref.get('tableId'))
    if not key[2] or ref.get('projectId', p) != p or ref.get('datasetId', d) != d:
      return google_error(400, 'Invalid tableReference', 'INVALID_ARGUMENT')
    why = table_problem(body)
    if why:
      return google_error(400, why, 'INVALID_ARGUMENT')
    with lock:
      if (p, d) not in datasets:
        return google_error(404, 'Not found: Dataset %s:%s' % (p, d), 'NOT_FOUND')
      if key in tables:
        return google_error(409, 'Already Exists: Table %s:%s.%s' % key, 'ALREADY_EXISTS')
      res = dict(body, id='%s:%s.%s' % key, kind='bigquery#table', type='TABLE', creationTime=now_ms())
      tables[key] = {'resource': res, 'ids': set(), 'rows': 0}
      return 200, res

  def schema_change_problem(old_fields, new_fields):
    new_by_name = {f.get('name', '').lower(): f for f in new_fields}
    for f in old_fields:
      n = new_by_name.get(f['name'].lower())
      if not n:
        return 'Provided Schema does not match Table. Field %s is missing in new schema' % f['name']
      if TYPES.get(n.get('type')) != TYPES.get(f['type']):
        return 'Provided Schema does not match Table. Field %s has changed type from %s to %s' % (
            f['name'], f['type'], n.get('type'))
      if n.get('mode', 'NULLABLE') != f.get('mode', 'NULLABLE'):
        return 'Provided Schema does not match Table. Field %s has changed mode from %s to %s' % (
            f['name'], f.get('mode', 'NULLABLE'), n.get('mode', 'NULLABLE'))
    old_names = {f['name'].lower() for f in old_fields}
    for n in new_fields:
      if n.get('name', '').lower() not in old_names and n.get('mode', 'NULLABLE') == 'REQUIRED':
        return 'Provided Schema does not match Table. Cannot add required fields to an existing schema. ' \
               '(field: %s)' % n['name']
    return None

  def table_patch(req):
    key = (req.params['projectId'], req.params['datasetId'], req.params['tableId'])
    body = req.json()
    if not isinstance(body, dict):
      return google_error(400, 'Invalid table resource', 'INVALID_ARGUMENT')
    with lock:
      t = tables.get(key)
      if not t:
        return google_error(404, 'Not found: Table %s:%s.%s' % key, 'NOT_FOUND')
      res = dict(t['resource'], **{k: v for k, v in body.items() if k not in ('id', 'kind', 'tableReference')})
      why = table_problem(res)
      if not why and 'schema' in body:
        why = schema_change_problem(t['resource']['schema']['fields'], res['schema']['fields'])
      if why:
        return google_error(400, why, 'INVALID_ARGUMENT')
      t['resource'] = res
      return 200, dict(res, numRows=str(t['rows']))

  # ---- streaming inserts ----------------------------------------------------------------

  def insert_all(req):
    key = (req.params['projectId'], req.params['datasetId'], req.params['tableId'])
    if len(req.body) > MAX_BYTES:
      return google_error(400, 'Request payload size exceeds the limit: %d bytes.' % MAX_BYTES, 'INVALID_ARGUMENT')
    body = req.json()
    rows = body.get('rows') or []
    if not rows:
      return google_error(400, 'No rows present in the request.', 'INVALID_ARGUMENT')
    if len(rows) > MAX_ROWS:
      return google_error(400, 'too many rows present in the request, limit: %d row count: %d.' %
                          (MAX_ROWS, len(rows)), 'INVALID_ARGUMENT')
    with lock:
      key, partition, why = partition_of(key)
      if why:
        return google_error(404 if why.startswith('Not found') else 400, why,
                            'NOT_FOUND' if why.startswith('Not found') else 'INVALID_ARGUMENT')
      t = tables.get(key)
      if not t:
        return google_error(404, 'Not found: Table %s:%s.%s' % key, 'NOT_FOUND')
      schema = t['resource']['schema']['fields']
      bad = {}
      for i, r in enumerate(rows):
        why = check_row(schema, r.get('json'))
        if why:
          bad[i] = why
      skip = bool(body.get('skipInvalidRows'))
      errors = [{'index': i, 'errors': [{'reason': 'invalid', 'location': '', 'debugInfo': '', 'message': why}]}
                for i, why in sorted(bad.items())]
      if bad and not skip:
        errors += [{'index': i, 'errors': [{'reason': 'stopped', 'location': '', 'debugInfo': '', 'message': ''}]}
                   for i in range(len(rows)) if i not in bad]
        errors.sort(key=lambda e: e['index'])
      else:
        store(key, [(r.get('json'), r.get('insertId')) for i, r in enumerate(rows) if i not in bad], partition)
        if lose[0] > 0:
          lose[0] -= 1
          return None  # stored, but the answer is lost: the connection is dropped
    out = {'kind': 'bigquery#tableDataInsertAllResponse'}
    if errors:
      out['insertErrors'] = errors
    return 200, out

  # ---- load jobs ------------------------------------------------------------------------

  def multipart_parts(req):
    ctype = req.headers.get('Content-Type', '')
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    if 'multipart/related' not in ctype or not m:
      return None
    sep = b'--' + m.group(1).encode()
    parts = []
    for chunk in req.body.split(sep)[1:]:
      if chunk.startswith(b'--'):
        break
      _, _, content = chunk.partition(b'\r\n\r\n')
      parts.append(content[:-2] if content.endswith(b'\r\n') else content)
    return parts

  def run_load(p, job, data):
    load = job['configuration']['load']
    dest = load.get('destinationTable') or {}
    key = (dest.get('projectId', p), dest.get('datasetId'), dest.get('tableId'))
    if load.get('sourceFormat') != 'NEWLINE_DELIMITED_JSON':
      return {'reason': 'invalid', 'message': 'this fake loads NEWLINE_DELIMITED_JSON only'}
    key, partition, why = partition_of(key)
    if why:
      return {'reason': 'invalid', 'message': why}
    t = tables.get(key)
    if not t:
      return {'reason': 'notFound', 'message': 'Not found: Table %s:%s.%s' % key}
    schema = t['resource']['schema']['fields']
    rows, errors = [], []
    for n, line in enumerate(data.split(b'\n'), 1):
      if not line.strip():
        continue
      try:
        row = json.loads(line)
      except ValueError as e:
        errors.append({'reason': 'invalid', 'message': 'Error while reading data, line %d: %s' % (n, e)})
        continue
      why = check_row(schema, row)
      if why:
        errors.append({'reason': 'invalid', 'location': 'line %d' % n,
                       'message': 'Error while reading data, error message: %s; line %d' % (why, n)})
      rows.append(row)
    if len(errors) > int(load.get('maxBadRecords') or 0):
      job['status']['errors'] = errors
      return {'reason': 'invalid', 'message': 'Error while reading data, error message: JSON table encountered '
                                              'too many errors, giving up. Rows: %d; errors: %d.' % (len(rows), len(errors))}
    store(key, [(r, None) for r in rows], partition)
    job['statistics']['load'] = {'outputRows': str(len(rows))}
    return None

  def job_insert(req):
    if '/upload/' not in req.path:
      return google_error(400, 'this fake takes load jobs through the upload paths only', 'INVALID_ARGUMENT')
    parts = multipart_parts(req)
    if not parts or len(parts) != 2:
      return google_error(400, 'expected a multipart/related body: the Job, then the data', 'INVALID_ARGUMENT')
    job = json.loads(parts[0])
    p = req.params['projectId']
    ref = job.get('jobReference') or {}
    job_id = ref.get('jobId') or 'job_%d' % len(jobs)
    if not re.match(r'^[A-Za-z0-9_-]{1,1024}$', job_id):
      return google_error(400, 'Invalid job ID %r' % job_id, 'INVALID_ARGUMENT')
    if 'load' not in (job.get('configuration') or {}):
      return google_error(400, 'this fake runs load jobs only', 'INVALID_ARGUMENT')
    with lock:
      if (p, job_id) in jobs:
        return google_error(409, 'Already Exists: Job %s:%s' % (p, job_id), 'ALREADY_EXISTS')
      job.update(id='%s:%s' % (p, job_id), kind='bigquery#job', status={'state': 'PENDING'},
                 statistics={'creationTime': now_ms()})
      job['jobReference'] = dict(ref, projectId=p, jobId=job_id)
      job['_data'] = parts[1]
      jobs[(p, job_id)] = job
      return 200, {k: v for k, v in job.items() if k != '_data'}

  def job_get(req):
    p, job_id = req.params['projectId'], req.params['jobId']
    with lock:
      job = jobs.get((p, job_id))
      if not job:
        return google_error(404, 'Not found: Job %s:%s' % (p, job_id), 'NOT_FOUND')
      state = job['status']['state']
      if state == 'PENDING':
        job['status']['state'] = 'RUNNING'
      elif state == 'RUNNING':
        failure = run_load(p, job, job.pop('_data'))
        job['status']['state'] = 'DONE'
        if failure:
          job['status']['errorResult'] = failure
      return 200, {k: v for k, v in job.items() if k != '_data'}

  server.handlers.update({
      'bigquery.datasets.get': dataset_get,
      'bigquery.datasets.insert': dataset_insert,
      'bigquery.tables.get': table_get,
      'bigquery.tables.insert': table_insert,
      'bigquery.tables.patch': table_patch,
      'bigquery.tabledata.insertAll': insert_all,
      'bigquery.jobs.insert': job_insert,
      'bigquery.jobs.get': job_get,
  })
  server.required_body['bigquery.datasets.insert'] = ['datasetReference.datasetId']
  server.required_body['bigquery.tables.insert'] = ['tableReference.tableId', 'schema.fields']
  server.required_body['bigquery.tabledata.insertAll'] = ['rows']
