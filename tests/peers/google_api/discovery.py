"""Checks REST requests against Google's official API discovery documents.

The documents come from the google-api-python-client wheel (scripts/install-deps.sh puts them
in .peers/discovery). A request is matched to its method by HTTP verb and path template, then
its query parameters and JSON body are checked against the method's parameters and request
schema: unknown fields, wrong JSON types, bad enum values, malformed int64 / date-time / bytes
strings and missing required parameters are violations. Discovery marks no required body
fields, so callers may add their own (`required_body`), e.g. a Dataflow Job's name.

Only the Python standard library is used, so the check runs in any interpreter.
"""

import base64
import json
import re
import urllib.parse

# JSON types a discovery "type" accepts. int64/uint64 travel as strings (Google also accepts
# numbers for them, so both are fine).
_INT_RE = re.compile(r'^-?[0-9]+$')
_UINT_RE = re.compile(r'^[0-9]+$')
_DATETIME_RE = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$')
_DATE_RE = re.compile(r'^\d{4}-\d{2}-\d{2}$')
_DURATION_RE = re.compile(r'^-?\d+(\.\d{1,9})?s$')


class Method:
  def __init__(self, api, method_id, spec, template, regex):
    self.api = api
    self.id = method_id
    self.spec = spec
    self.template = template
    self.regex = regex

  @property
  def request_ref(self):
    return (self.spec.get('request') or {}).get('$ref')


def _template_regex(template):
  """'v1b3/projects/{projectId}/jobs/{+jobId}' -> a regex with named groups; {+x} spans '/'."""
  out, names, pos = '', [], 0
  for m in re.finditer(r'\{(\+?)([^}]+)\}', template):
    out += re.escape(template[pos:m.start()])
    name = re.sub(r'\W', '_', m.group(2))
    names.append(m.group(2))
    out += '(?P<%s>%s)' % (name, '.+' if m.group(1) else '[^/]+')
    pos = m.end()
  out += re.escape(template[pos:])
  return re.compile('^' + out + '$'), names


class Discovery:
  """One API's discovery document, with its methods routed by path."""

  def __init__(self, path):
    with open(path) as f:
      self.doc = json.load(f)
    self.name = self.doc['name']
    self.schemas = self.doc['schemas']
    self.common_params = self.doc.get('parameters', {})
    base = urllib.parse.urlparse(self.doc['rootUrl']).path.rstrip('/') + '/'
    self.service_path = base + self.doc.get('servicePath', '')
    self.methods = []
    self._collect(self.doc)

  def _collect(self, node):
    for res in node.get('resources', {}).values():
      self._collect(res)
    for spec in node.get('methods', {}).values():
      templates = [self.service_path + spec['path']]
      if spec.get('flatPath'):
        templates.append(self.service_path + spec['flatPath'])
      for proto in (spec.get('mediaUpload') or {}).get('protocols', {}).values():
        templates.append(proto['path'])
      for t in templates:
        regex, _ = _template_regex(t)
        self.methods.append(Method(self, spec['id'], spec, t, regex))

  def match(self, verb, path):
    """(Method, path params) for a request, or (None, None)."""
    # Matched percent-encoded: an object name's %2F is not a path separator. Of several
    # matching templates the one with the most literal text wins ({+name} spans anything).
    path = path.split('?', 1)[0]
    best = (None, None, -1)
    for m in self.methods:
      if m.spec['httpMethod'] != verb:
        continue
      g = m.regex.match(path)
      literal = len(re.sub(r'\{[^}]*\}', '', m.template))
      if g and literal > best[2]:
        best = (m, {k: urllib.parse.unquote(v) for k, v in g.groupdict().items()}, literal)
    return best[0], best[1]

  # ---- checks ------------------------------------------------------------------------------

  def check_request(self, verb, path, body=None, content_type='', required_body=()):
    """Violations (list of strings) of one request; [] when it conforms."""
    m, _ = self.match(verb, path)
    if not m:
      return ['%s %s: no method of %s has this path' % (verb, path, self.name)]
    out = []
    query = urllib.parse.parse_qs(urllib.parse.urlparse(path).query, keep_blank_values=True)
    out += self._check_params(m, query)
    ref = m.request_ref
    if body and 'multipart/related' in content_type:
      body = _first_multipart_part(body, content_type)
    if ref and body:
      try:
        doc = json.loads(body)
      except ValueError as e:
        return out + ['%s: body is not JSON: %s' % (m.id, e)]
      out += self.check_value(doc, {'$ref': ref}, m.id)
      for field in required_body:
        if _lookup(doc, field) in (None, '', [], {}):
          out.append('%s: required body field %s is missing' % (m.id, field))
    elif ref and verb in ('POST', 'PUT', 'PATCH') and not _is_media_upload(m, path) and required_body:
      out.append('%s: a %s body is required' % (m.id, ref))
    return out

  def _check_params(self, m, query):
    out = []
    params = dict(self.common_params)
    params.update(m.spec.get('parameters', {}))
    for name, values in query.items():
      spec = params.get(name)
      if spec is None:
        out.append('%s: unknown query parameter %r' % (m.id, name))
        continue
      if spec.get('location') == 'path':
        out.append('%s: %r belongs in the path, not the query' % (m.id, name))
        continue
      for v in values:
        out += self._check_scalar_text(v, spec, '%s?%s' % (m.id, name))
    for name, spec in params.items():
      if spec.get('required') and spec.get('location') == 'query' and name not in query:
        out.append('%s: required query parameter %r is missing' % (m.id, name))
    return out

  def _check_scalar_text(self, text, spec, where):
    t, fmt = spec.get('type'), spec.get('format')
    if 'enum' in spec and text not in spec['enum']:
      return ['%s: %r is not one of %s' % (where, text, spec['enum'])]
    if t == 'integer' or fmt in ('int64', 'uint64', 'int32', 'uint32'):
      if not _INT_RE.match(text):
        return ['%s: %r is not an integer' % (where, text)]
    if t == 'boolean' and text not in ('true', 'false'):
      return ['%s: %r is not a boolean' % (where, text)]
    return []

  def check_value(self, value, schema, where):
    """Violations of value against a discovery schema (a dict with $ref or type)."""
    if '$ref' in schema:
      ref = schema['$ref']
      if ref not in self.schemas:
        return ['%s: schema %s is not in the document' % (where, ref)]
      schema = self.schemas[ref]
    t = schema.get('type')
    if t == 'any' or t is None:
      return []
    if t == 'object':
      return self._check_object(value, schema, where)
    if t == 'array':
      if not isinstance(value, list):
        return ['%s: expected an array, got %s' % (where, _json_type(value))]
      out = []
      for i, item in enumerate(value):
        out += self.check_value(item, schema.get('items', {}), '%s[%d]' % (where, i))
      return out
    return self._check_scalar(value, schema, where)

  def _check_object(self, value, schema, where):
    if not isinstance(value, dict):
      return ['%s: expected an object, got %s' % (where, _json_type(value))]
    out = []
    props = schema.get('properties', {})
    extra = schema.get('additionalProperties')
    for k, v in value.items():
      if k in props:
        out += self.check_value(v, props[k], '%s.%s' % (where, k))
      elif extra is not None:
        out += self.check_value(v, extra, '%s[%r]' % (where, k))
      else:
        out.append('%s: unknown field %r (schema %s)' % (where, k, schema.get('id', 'object')))
    return out

  def _check_scalar(self, value, schema, where):
    t, fmt = schema.get('type'), schema.get('format')
    if t == 'boolean':
      ok = isinstance(value, bool)
    elif t == 'integer':
      ok = isinstance(value, int) and not isinstance(value, bool)
    elif t == 'number':
      ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif t == 'string':
      if fmt in ('int64', 'uint64') and isinstance(value, int) and not isinstance(value, bool):
        return []
      ok = isinstance(value, str)
      if ok:
        bad = _bad_string_format(value, fmt)
        if bad:
          return ['%s: %r is not a valid %s' % (where, value, bad)]
    else:
      return ['%s: unsupported schema type %r' % (where, t)]
    if not ok:
      return ['%s: expected %s%s, got %s' % (where, t, ' (%s)' % fmt if fmt else '', _json_type(value))]
    if 'enum' in schema and value not in schema['enum']:
      return ['%s: %r is not one of %s' % (where, value, schema['enum'])]
    return []


def _bad_string_format(value, fmt):
  if fmt == 'int64' and not _INT_RE.match(value):
    return 'int64'
  if fmt == 'uint64' and not _UINT_RE.match(value):
    return 'uint64'
  if fmt in ('google-datetime', 'date-time') and not _DATETIME_RE.match(value):
    return 'RFC 3339 timestamp'
  if fmt == 'date' and not _DATE_RE.match(value):
    return 'date'
  if fmt == 'google-duration' and not _DURATION_RE.match(value):
    return 'duration'
  if fmt == 'byte':
    try:
      base64.b64decode(value.replace('-', '+').replace('_', '/') + '==', validate=False)
    except ValueError:
      return 'base64 string'
  return None


def _json_type(v):
  if isinstance(v, bool):
    return 'boolean'
  if isinstance(v, int):
    return 'integer'
  if isinstance(v, float):
    return 'number'
  if isinstance(v, str):
    return 'string'
  if isinstance(v, list):
    return 'array'
  if isinstance(v, dict):
    return 'object'
  return 'null'


def _lookup(doc, dotted):
  for part in dotted.split('.'):
    if isinstance(doc, list):
      doc = doc[int(part)] if part.isdigit() and int(part) < len(doc) else None
    elif isinstance(doc, dict):
      doc = doc.get(part)
    else:
      return None
  return doc


def _is_media_upload(m, path):
  return '/upload/' in path


def _first_multipart_part(body, content_type):
  """The metadata part of a multipart/related upload (the first part)."""
  m = re.search(r'boundary="?([^";]+)"?', content_type)
  if not m:
    return body
  sep = b'--' + m.group(1).encode()
  parts = body.split(sep)
  if len(parts) < 2:
    return body
  head, _, rest = parts[1].partition(b'\r\n\r\n')
  return rest.rstrip(b'\r\n')


def load_all(directory):
  """{api name: Discovery} for every *.json document in directory."""
  import os
  out = {}
  for n in sorted(os.listdir(directory)):
    if n.endswith('.json'):
      d = Discovery(os.path.join(directory, n))
      out[d.name] = d
  return out
