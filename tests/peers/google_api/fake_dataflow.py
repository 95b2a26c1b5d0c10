"""Dataflow's job API as the fake plays it (see fake_google_api.py): jobs.create stores the job,
each jobs.get moves it one step along --dataflow-states (default PENDING, RUNNING, DONE) and
adds a job message for every state it enters; a FAILED state's message is
--dataflow-fail-message. jobs.update with requestedState JOB_STATE_CANCELLED cancels;
JOB_STATE_DRAINING drains a streaming job (DRAINING, then DRAINED at the next jobs.get) and
is refused for a batch job, as the service refuses it;
flexTemplates.launch creates a job from the launch parameters; jobs.getMetrics answers the
MetricUpdates of --dataflow-metrics FILE (a JSON list)."""

import datetime
import json
import re
import threading

JOB_NAME_RE = re.compile(r'^[a-z]([-a-z0-9]{0,1022}[a-z0-9])?$')
TERMINAL = {'JOB_STATE_DONE', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_UPDATED',
            'JOB_STATE_DRAINED'}


def _now():
  return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def register(server):
  from fake_google_api import google_error
  lock = threading.Lock()
  jobs = {}       # id -> job dict
  script = {}     # id -> remaining states
  messages = {}   # id -> [JobMessage]
  states = server.args.dataflow_states.split(',')
  fail_message = server.args.dataflow_fail_message
  server.required_body['dataflow.projects.locations.jobs.create'] = [
      'name', 'type', 'environment.workerPools.0.sdkHarnessContainerImages.0.containerImage']
  server.required_body['dataflow.projects.locations.flexTemplates.launch'] = [
      'launchParameter.jobName', 'launchParameter.containerSpecGcsPath']

  def add_message(job_id, text, importance='JOB_MESSAGE_BASIC'):
    msgs = messages.setdefault(job_id, [])
    msgs.append({'id': str(len(msgs) + 1), 'time': _now(), 'messageText': text,
                 'messageImportance': importance})

  def new_job(req, body, name):
    if not JOB_NAME_RE.match(name or ''):
      return google_error(400, 'Invalid job name %r: must match [a-z]([-a-z0-9]*[a-z0-9])?' % name,
                          'INVALID_ARGUMENT')
    with lock:
      replaced = jobs.get(body.get('replaceJobId') or '')
      if body.get('replaceJobId') and (not replaced or replaced['currentState'] in TERMINAL):
        return google_error(400, 'replaceJobId %s: no such active job' % body['replaceJobId'], 'INVALID_ARGUMENT')
      for j in jobs.values():
        if j['name'] == name and j['currentState'] not in TERMINAL and j is not replaced:
          return google_error(409, '(%s): The workflow could not be created. Causes: (%s): There is '
                              'already an active job named %s. If you want to submit a second job, '
                              'try again by setting a different name.' % ('a1b2', 'c3d4', name),
                              name and 'ALREADY_EXISTS')
      job_id = '%s_%02d' % (datetime.datetime.now().strftime('%Y-%m-%d_%H_%M_%S'), len(jobs) + 1)
      job = dict(body, id=job_id, name=name, projectId=req.params.get('projectId'),
                 location=req.params.get('location'), currentState='JOB_STATE_QUEUED',
                 currentStateTime=_now(), createTime=_now())
      jobs[job_id] = job
      if replaced:
        replaced['currentState'] = 'JOB_STATE_UPDATED'
        replaced['replacedByJobId'] = job_id
      script[job_id] = list(states)
      add_message(job_id, 'Job %s created.' % job_id)
      return job

  def create(req):
    body = req.json()
    job = new_job(req, body, body.get('name'))
    return job if isinstance(job, tuple) else (200, job)

  def get(req):
    with lock:
      job = jobs.get(req.params.get('jobId'))
      if not job:
        return google_error(404, 'Job %s not found' % req.params.get('jobId'), 'NOT_FOUND')
      if script[job['id']] and job['currentState'] not in TERMINAL:
        state = script[job['id']].pop(0)
        job['currentState'] = state
        job['currentStateTime'] = _now()
        if state == 'JOB_STATE_FAILED':
          add_message(job['id'], fail_message or 'Workflow failed.', 'JOB_MESSAGE_ERROR')
        else:
          add_message(job['id'], 'Job state %s.' % state)
      return 200, job

  def list_messages(req):
    with lock:
      msgs = messages.get(req.params.get('jobId'))
      if msgs is None:
        return google_error(404, 'Job %s not found' % req.params.get('jobId'), 'NOT_FOUND')
      since = (req.query.get('startTime') or [''])[0]
      if since:  # only messages at or after it (the fake's times are fixed-width RFC 3339)
        msgs = [m for m in msgs if m['time'] >= since]
      # Pages of two, so clients must follow nextPageToken.
      start = int((req.query.get('pageToken') or ['0'])[0])
      page = msgs[start:start + 2]
      out = {'jobMessages': page}
      if start + 2 < len(msgs):
        out['nextPageToken'] = str(start + 2)
      return 200, out

  def update(req):
    body = req.json()
    with lock:
      job = jobs.get(req.params.get('jobId'))
      if not job:
        return google_error(404, 'Job %s not found' % req.params.get('jobId'), 'NOT_FOUND')
      if body.get('requestedState') == 'JOB_STATE_CANCELLED':
        job['currentState'] = 'JOB_STATE_CANCELLED'
        job['currentStateTime'] = _now()
        add_message(job['id'], 'Job cancelled by request.')
      elif body.get('requestedState') == 'JOB_STATE_DRAINING':
        if job.get('type') != 'JOB_TYPE_STREAMING':
          return google_error(400, 'Only streaming jobs can be drained.', 'FAILED_PRECONDITION')
        job['currentState'] = 'JOB_STATE_DRAINING'
        job['currentStateTime'] = _now()
        script[job['id']] = ['JOB_STATE_DRAINED']
        add_message(job['id'], 'Draining the job by request.')
      return 200, job

  metrics_file = getattr(server.args, 'dataflow_metrics', '')

  def get_metrics(req):
    with lock:
      job = jobs.get(req.params.get('jobId'))
    if not job:
      return google_error(404, 'Job %s not found' % req.params.get('jobId'), 'NOT_FOUND')
    metrics = json.load(open(metrics_file)) if metrics_file else []
    return 200, {'metricTime': _now(), 'metrics': metrics}

  def list_jobs(req):
    active_only = (req.query.get('filter') or [''])[0] == 'ACTIVE'
    with lock:
      found = [j for j in jobs.values() if not active_only or j['currentState'] not in TERMINAL]
    start = int((req.query.get('pageToken') or ['0'])[0])
    out = {'jobs': found[start:start + 2]}
    if start + 2 < len(found):
      out['nextPageToken'] = str(start + 2)
    return 200, out

  def launch_flex(req):
    p = req.json().get('launchParameter', {})
    body = {'type': 'JOB_TYPE_BATCH', 'environment': {}}
    job = new_job(req, body, p.get('jobName'))
    return job if isinstance(job, tuple) else (200, {'job': job})

  server.handlers.update({
      'dataflow.projects.locations.jobs.create': create,
      'dataflow.projects.locations.jobs.get': get,
      'dataflow.projects.locations.jobs.list': list_jobs,
      'dataflow.projects.locations.jobs.getMetrics': get_metrics,
      'dataflow.projects.locations.jobs.messages.list': list_messages,
      'dataflow.projects.locations.jobs.update': update,
      'dataflow.projects.locations.flexTemplates.launch': launch_flex,
  })
