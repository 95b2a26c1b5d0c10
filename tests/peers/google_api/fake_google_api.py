#!/usr/bin/env python3
"""A loopback stand-in for Google REST APIs that have no local emulator (Dataflow, BigQuery),
which checks every request against Google's official discovery documents.

  fake_google_api.py --discovery .peers/discovery --port-file F [--log requests.jsonl]
                     [--service dataflow] [--service bigquery] [--forward storage=http://H:P]
                     [--fault METHOD_ID:503x3] [--fault METHOD_ID:drop]
                     [--dataflow-states PENDING,RUNNING,DONE] [--dataflow-fail-message TEXT]
                     [--bigquery-reject-field FIELD=VALUE] [--bigquery-rows FILE]
                     [--bigquery-lose-response N]

Every request is matched to its API method by verb and path and checked (discovery.py):
a request that does not conform gets a 400 with the violations as the error message, and the
violations are appended to the log, so a test fails on any of them (`--strict` makes the
server exit non-zero at shutdown when there were any). Behaviour per method comes from the
service modules (fake_dataflow.py, fake_bigquery.py: each has register(server)); an API given
with --forward is proxied to a real peer after the check (GCS: fake-gcs-server).

Faults, for retry tests: `METHOD_ID:503x3` answers the first three calls of that method with
503, `METHOD_ID:429x1` with 429, `METHOD_ID:drop` closes the connection without an answer once,
`METHOD_ID:dropx2` twice.

Prints "fake_google_api: listening on PORT" and writes PORT to --port-file. Stops on SIGTERM.
"""

import argparse
import http.server
import importlib
import json
import os
import re
import signal
import socketserver
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import discovery  # noqa: E402


class Request:
  """What a service handler sees."""

  def __init__(self, verb, path, query, headers, body, method, params):
    self.verb = verb
    self.path = path
    self.query = query          # {name: [values]}
    self.headers = headers
    self.body = body            # bytes
    self.method = method        # discovery.Method
    self.params = params        # path parameters

  def json(self):
    return json.loads(self.body or b'{}')


def google_error(code, message, status):
  return code, {'error': {'code': code, 'message': message, 'status': status,
                          'errors': [{'message': message, 'reason': status.lower()}]}}


class FakeServer:
  def __init__(self, args):
    self.apis = discovery.load_all(args.discovery)
    self.handlers = {}           # method id -> fn(Request) -> (status, json | bytes, headers?)
    self.required_body = {}      # method id -> [dotted fields]
    self.forward = dict(f.split('=', 1) for f in args.forward)
    self.faults = {}
    for f in args.fault:
      mid, _, spec = f.rpartition(':')
      m = re.match(r'^(drop|\d{3})(?:x(\d+))?$', spec)
      if not m:
        raise SystemExit('bad --fault %r' % f)
      self.faults[mid] = [m.group(1), int(m.group(2) or 1)]
    self.args = args
    self.lock = threading.Lock()
    self.violations = 0
    self.log = open(args.log, 'a') if args.log else None
    for name in args.service:
      importlib.import_module('fake_' + name).register(self)

  def route(self, verb, path):
    for api in self.apis.values():
      m, params = api.match(verb, path)
      if m:
        return api, m, params
    return None, None, None

  def record(self, entry):
    if self.log:
      with self.lock:
        self.log.write(json.dumps(entry) + '\n')
        self.log.flush()

  def take_fault(self, method_id):
    with self.lock:
      f = self.faults.get(method_id)
      if not f or f[1] <= 0:
        return None
      f[1] -= 1
      return f[0]


class Handler(http.server.BaseHTTPRequestHandler):
  protocol_version = 'HTTP/1.1'
  server_version = 'fake-google-api/1'

  def log_message(self, fmt, *args):
    if self.server.fake.args.verbose:
      sys.stderr.write('fake_google_api: ' + fmt % args + '\n')

  def _body(self):
    n = int(self.headers.get('Content-Length') or 0)
    if n:
      return self.rfile.read(n)
    if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
      out = b''
      while True:
        size = int(self.rfile.readline().strip().split(b';')[0], 16)
        if size == 0:
          self.rfile.readline()
          return out
        out += self.rfile.read(size)
        self.rfile.readline()
    return b''

  def _send(self, status, payload, headers=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    self.send_response(status)
    ctype = 'application/json; charset=UTF-8'
    for k, v in (headers or {}).items():
      if k.lower() == 'content-type':
        ctype = v
      else:
        self.send_header(k, v)
    self.send_header('Content-Type', ctype)
    self.send_header('Content-Length', str(len(body)))
    self.end_headers()
    self.wfile.write(body)

  def _handle(self, verb):
    fake = self.server.fake
    body = self._body()
    # A resumable upload's session (?upload_id=) is not an API method: its bytes go straight
    # to the forwarded peer; the session-opening POST was checked.
    if 'upload_id=' in self.path and 'storage' in fake.forward:
      fake.record({'verb': verb, 'path': self.path, 'method': 'storage.upload_session'})
      self._forward(verb, fake.forward['storage'], body)
      return
    api, method, params = fake.route(verb, self.path)
    entry = {'verb': verb, 'path': self.path, 'method': method.id if method else None}
    if not method:
      entry['violations'] = ['%s %s: not a method of %s' % (verb, self.path, ', '.join(fake.apis))]
      self._reject(entry, 404)
      return
    violations = api.check_request(verb, self.path, body, self.headers.get('Content-Type', ''),
                                   fake.required_body.get(method.id, ()))
    entry['body'] = body.decode('utf-8', 'replace')[:100000]
    if violations:
      entry['violations'] = violations
      self._reject(entry, 400)
      return
    fault = fake.take_fault(method.id)
    if fault == 'drop':
      entry['fault'] = 'drop'
      fake.record(entry)
      self.close_connection = True
      self.connection.shutdown(2)
      return
    if fault:
      entry['fault'] = fault
      fake.record(entry)
      code = int(fault)
      status = {429: 'RESOURCE_EXHAUSTED', 503: 'UNAVAILABLE'}.get(code, 'INTERNAL')
      self._send(*google_error(code, 'injected fault %d' % code, status))
      return
    fake.record(entry)
    if api.name in fake.forward:
      self._forward(verb, fake.forward[api.name], body)
      return
    handler = fake.handlers.get(method.id)
    if not handler:
      self._send(*google_error(501, '%s is not played by this fake' % method.id, 'UNIMPLEMENTED'))
      return
    query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query, keep_blank_values=True)
    result = handler(Request(verb, self.path, query, self.headers, body, method, params))
    if result is None:  # the handler acted but its answer is lost: drop the connection
      self.close_connection = True
      self.connection.shutdown(2)
      return
    self._send(*result)

  def _reject(self, entry, code):
    fake = self.server.fake
    with fake.lock:
      fake.violations += 1
    fake.record(entry)
    sys.stderr.write('fake_google_api: REJECTED %s %s:\n  %s\n' %
                     (entry['verb'], entry['path'], '\n  '.join(entry['violations'])))
    self._send(*google_error(code, '; '.join(entry['violations']), 'INVALID_ARGUMENT'))

  def _forward(self, verb, upstream, body):
    headers = {k: v for k, v in self.headers.items()
               if k.lower() not in ('host', 'content-length', 'transfer-encoding', 'expect')}
    req = urllib.request.Request(upstream.rstrip('/') + self.path, data=body if body else None,
                                 headers=headers, method=verb)
    try:
      with urllib.request.urlopen(req, timeout=60) as r:
        self._send(r.status, r.read(), {k: v for k, v in r.headers.items()
                                        if k.lower() in ('content-type', 'location', 'range')})
    except urllib.error.HTTPError as e:
      self._send(e.code, e.read(), {'Content-Type': e.headers.get('Content-Type', 'application/json')})

  def do_GET(self):
    self._handle('GET')

  def do_POST(self):
    self._handle('POST')

  def do_PUT(self):
    self._handle('PUT')

  def do_PATCH(self):
    self._handle('PATCH')

  def do_DELETE(self):
    self._handle('DELETE')


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
  daemon_threads = True
  allow_reuse_address = True


def main():
  ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument('--discovery', required=True, help='directory of discovery documents')
  ap.add_argument('--port', type=int, default=0)
  ap.add_argument('--port-file')
  ap.add_argument('--log', help='append every request (and its violations) as JSON lines')
  ap.add_argument('--service', action='append', default=[], help='dataflow, bigquery: play that API')
  ap.add_argument('--forward', action='append', default=[], help='API=URL: check, then proxy there')
  ap.add_argument('--fault', action='append', default=[])
  ap.add_argument('--strict', action='store_true', help='exit 1 at shutdown if any request was rejected')
  ap.add_argument('--verbose', action='store_true')
  ap.add_argument('--dataflow-states', default='JOB_STATE_PENDING,JOB_STATE_RUNNING,JOB_STATE_DONE')
  ap.add_argument('--dataflow-fail-message', default='')
  ap.add_argument('--dataflow-metrics', default='', help='JSON list of MetricUpdates for jobs.getMetrics')
  ap.add_argument('--bigquery-reject-field', action='append', default=[],
                  help='FIELD=VALUE: insertAll and load jobs refuse rows with that value (reason invalid)')
  ap.add_argument('--bigquery-rows', help='append every stored row to this file as JSON lines')
  ap.add_argument('--bigquery-lose-response', type=int, default=0,
                  help='store the rows of the first N insertAll requests, then drop the connection')
  args = ap.parse_args()
  fake = FakeServer(args)
  srv = Server(('127.0.0.1', args.port), Handler)
  srv.fake = fake
  port = srv.server_address[1]
  if args.port_file:
    with open(args.port_file + '.tmp', 'w') as f:
      f.write('%d\n' % port)
    os.replace(args.port_file + '.tmp', args.port_file)
  print('fake_google_api: listening on %d' % port, flush=True)
  signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
  try:
    srv.serve_forever(poll_interval=0.2)
  except KeyboardInterrupt:
    pass
  if fake.violations:
    sys.stderr.write('fake_google_api: %d request(s) did not conform to the discovery documents\n' %
                     fake.violations)
  sys.exit(1 if args.strict and fake.violations else 0)


if __name__ == '__main__':
  main()
