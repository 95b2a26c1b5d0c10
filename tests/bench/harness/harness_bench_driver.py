#!/usr/bin/env python3
"""Driver of the harness throughput benchmark (see README.md); run it through
run_harness_bench.sh, which builds the Go program and picks the interpreter.

Starts one Prism, runs each SDK's pipeline against it in sequence, and measures:

  worker CPU   user+sys of the SDK worker process(es) Prism started for the job: the delta
               of Prism's cutime+cstime (fields 16-17 of /proc/PRISM/stat) across the job,
               read after Prism has reaped the worker. Exact (the kernel's accounting of
               waited-for children, 10 ms ticks), covers the worker's whole life (exec,
               imports, connect, the bundle, shutdown) and nothing else.
  wall         launcher start to launcher exit (submit, staging, job, metrics query).
  span         from the worker's first element in Generate to the end of Sum's bundle, from
               the `beam-bench worker:` lines the DoFns write to stderr (Prism copies its
               workers' stderr into its log); steady CPU = the worker's own CPU over the span.
  first elem   worker process start (/proc starttime, 10 ms ticks) to the first element
               reaching Generate, as reported by the worker.
  checksum     the job's bench/kept and bench/sum user counters, read from Prism's job
               service (GetJobMetrics), compared with the closed form for N.

Every SDK entry is just an argv; the C program plugs in with --c-binary.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
TICK = os.sysconf('SC_CLK_TCK')
LINE_RE = re.compile(r'^(beam-bench|beam-c) worker:\s*(.*)$')


def free_port():
  s = socket.socket()
  s.bind(('127.0.0.1', 0))
  port = s.getsockname()[1]
  s.close()
  return port


def proc_stat(pid):
  """Fields of /proc/PID/stat, 1-based like proc(5): f[14]=utime ... f[22]=starttime."""
  with open('/proc/%d/stat' % pid) as f:
    s = f.read()
  rest = s[s.rindex(')') + 2:].split()
  return [None, pid, None] + rest


def children(pid):
  out = set()
  try:
    for tid in os.listdir('/proc/%d/task' % pid):
      try:
        with open('/proc/%d/task/%s/children' % (pid, tid)) as f:
          out.update(int(x) for x in f.read().split())
      except OSError:
        pass
  except OSError:
    pass
  return out


def alive(pid):
  try:
    return proc_stat(pid)[3] != 'Z'
  except OSError:
    return False


def expected(n):
  # Generate 0..n-1 -> +1 -> *2 gives y = 2k, k = 1..n; y % 3 == 0 iff k % 3 == 0.
  m = n // 3
  return n - m, 2 * (n * (n + 1) // 2 - 3 * m * (m + 1) // 2)


def job_counters(endpoint):
  """{job_id: (job_name, {counter name: value})} from Prism's job service."""
  import grpc
  from apache_beam.coders import VarIntCoder
  from apache_beam.portability.api import beam_job_api_pb2 as jpb
  from apache_beam.portability.api import beam_job_api_pb2_grpc as jgrpc
  out = {}
  with grpc.insecure_channel(endpoint) as ch:
    stub = jgrpc.JobServiceStub(ch)
    for ji in stub.GetJobs(jpb.GetJobsRequest(), timeout=30).job_info:
      m = stub.GetJobMetrics(jpb.GetJobMetricsRequest(job_id=ji.job_id), timeout=30)
      vals = {'committed': {}, 'attempted': {}}
      for kind in vals:
        for mi in getattr(m.metrics, kind):
          if (mi.urn == 'beam:metric:user:sum_int64:v1' and
              mi.labels.get('NAMESPACE') == 'bench'):
            name = mi.labels.get('NAME')
            vals[kind][name] = vals[kind].get(name, 0) + VarIntCoder().decode(mi.payload)
      out[ji.job_id] = (ji.job_name, vals['committed'] or vals['attempted'])
  return out


class Prism:
  def __init__(self, binary, log_path, taskset):
    self.port = free_port()
    self.endpoint = '127.0.0.1:%d' % self.port
    self.log_path = log_path
    self.log = open(log_path, 'wb')
    cmd = [binary, '--job_port=%d' % self.port, '--serve_http=false', '--log_level=warn',
           '--log_kind=text']
    if taskset:
      cmd = ['taskset', '-c', taskset] + cmd
    self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
    self.pid = self.proc.pid
    deadline = time.monotonic() + 20
    while True:
      try:
        socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
        break
      except OSError:
        if self.proc.poll() is not None or time.monotonic() > deadline:
          raise SystemExit('prism did not start; see %s' % log_path)
        time.sleep(0.1)

  def cpu(self):
    f = proc_stat(self.pid)
    return {'self': (int(f[14]) + int(f[15])) / TICK,
            'children': (int(f[16]) + int(f[17])) / TICK}

  def log_size(self):
    self.log.flush()
    return os.path.getsize(self.log_path)

  def read_log_from(self, offset):
    with open(self.log_path, 'rb') as f:
      f.seek(offset)
      return f.read().decode('utf-8', 'replace')

  def stop(self):
    if self.proc.poll() is None:
      self.proc.send_signal(signal.SIGTERM)
      try:
        self.proc.wait(10)
      except subprocess.TimeoutExpired:
        self.proc.kill()
        self.proc.wait()
    self.log.close()


def parse_worker_lines(text):
  events = []
  for line in text.splitlines():
    m = LINE_RE.match(line.strip())
    if m:
      kv = dict(p.split('=', 1) for p in m.group(2).split() if '=' in p)
      kv['_prefix'] = m.group(1)
      events.append(kv)
  return events


def fnum(d, k):
  try:
    return float(d[k])
  except (KeyError, TypeError, ValueError):
    return None


def run_one(prism, name, argv, n, log_dir, timeout, poll):
  known_jobs = set(job_counters(prism.endpoint))
  before_children = children(prism.pid)
  cpu0 = prism.cpu()
  off0 = prism.log_size()
  out_path = os.path.join(log_dir, '%s.launcher.log' % name)
  print('[%s] %s' % (name, ' '.join(shlex.quote(a) for a in argv)), flush=True)
  with open(out_path, 'wb') as out:
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    workers = {}  # pid -> {'start_s': boot seconds, 'cpu_s': last seen, 'cmd': ...}
    status = ru = None
    while True:
      pid, st, r = os.wait4(proc.pid, os.WNOHANG)
      if pid == proc.pid:
        status, ru = st, r
        break
      if time.monotonic() - t0 > timeout:
        proc.kill()
        pid, status, ru = os.wait4(proc.pid, 0)
        print('[%s] timed out after %d s' % (name, timeout), flush=True)
        break
      for c in children(prism.pid) - before_children:
        try:
          f = proc_stat(c)
          w = workers.setdefault(c, {'start_s': int(f[22]) / TICK})
          w['cpu_s'] = (int(f[14]) + int(f[15])) / TICK
          if 'cmd' not in w:
            with open('/proc/%d/cmdline' % c, 'rb') as cf:
              w['cmd'] = cf.read().replace(b'\0', b' ').decode(errors='replace')[:200]
        except OSError:
          pass
      time.sleep(poll)
    wall = time.monotonic() - t0
  # Prism reaps the worker(s) when the job ends; wait so cutime includes them.
  deadline = time.monotonic() + 30
  while any(alive(p) for p in workers) and time.monotonic() < deadline:
    time.sleep(0.05)
  time.sleep(0.2)
  cpu1 = prism.cpu()
  reaped = not any(alive(p) for p in workers)

  events = parse_worker_lines(prism.read_log_from(off0))
  # One bundle is expected; if Prism split it, span from the first element to the last finish.
  first = next((e for e in events if e.get('event') == 'first_element'), {})
  finish = next((e for e in reversed(events) if e.get('event') == 'finish'), {})
  cself = next((e for e in events if 'cpu_user' in e), {})  # optional C exit line

  jobs = {k: v for k, v in job_counters(prism.endpoint).items() if k not in known_jobs}
  kept = total = None
  source = 'job metrics'
  if any('kept' in v[1] for v in jobs.values()):
    kept = sum(v[1].get('kept', 0) for v in jobs.values())
    total = sum(v[1].get('sum', 0) for v in jobs.values())
  else:  # no bench/* counters: fall back to the workers' finish lines
    fin = [e for e in events if e.get('event') == 'finish' and 'kept' in e]
    if fin:
      source = 'worker finish lines'
      kept = sum(int(e['kept']) for e in fin)
      total = sum(int(e.get('sum', 0)) for e in fin)
  exp_kept, exp_sum = expected(n)
  with open(out_path, 'rb') as f:
    launcher_out = f.read().decode('utf-8', 'replace')

  worker_cpu = cpu1['children'] - cpu0['children']
  r = {
      'sdk': name, 'elements': n, 'argv': argv, 'exit_status': status,
      'wall_s': wall,
      'launcher_cpu_s': (ru.ru_utime + ru.ru_stime) if ru else None,
      'prism_cpu_s': cpu1['self'] - cpu0['self'],
      'worker_cpu_s': worker_cpu, 'workers_reaped': reaped,
      'workers': workers,
      'jobs': {k: v[0] for k, v in jobs.items()},
      'kept': kept, 'sum': total, 'expected_kept': exp_kept, 'expected_sum': exp_sum,
      'checksum_ok': kept == exp_kept and total == exp_sum, 'checksum_source': source,
      'first_element_ms': fnum(first, 'since_start_ms') or fnum(cself, 'first_bundle_ms'),
      'startup_cpu_s': fnum(first, 'cpu_s'),
      'worker_lines': events,
      'launcher_tail': launcher_out[-2000:],
  }
  t_first, t_fin = fnum(first, 't_boot_s'), fnum(finish, 't_boot_s')
  c_first, c_fin = fnum(first, 'cpu_s'), fnum(finish, 'cpu_s')
  if t_first is not None and t_fin is not None and t_fin > t_first:
    r['span_s'] = t_fin - t_first
  if c_first is not None and c_fin is not None:
    r['steady_cpu_s'] = c_fin - c_first
  r['bundles'] = sum(1 for e in events if e.get('event') == 'finish')
  if cself:
    r['c_self_cpu_s'] = (fnum(cself, 'cpu_user') or 0) + (fnum(cself, 'cpu_sys') or 0)
  if status != 0:
    print('[%s] launcher exit status %s; see %s' % (name, status, out_path), flush=True)
  print('[%s] wall %.2f s, worker cpu %.2f s, checksum %s (kept=%s sum=%s)' %
        (name, wall, worker_cpu, 'ok' if r['checksum_ok'] else 'MISMATCH', kept, total),
        flush=True)
  return r


def fmt(v, spec, none='n/a'):
  return none if v is None else format(v, spec)


def table(results):
  hdr = ('| SDK | elements | wall s | worker CPU s | CPU us/elem | steady CPU us/elem '
         '| elements/s (span) | elements/s (wall) | start->first elem ms | startup CPU s '
         '| Prism CPU s | checksum |')
  rows = [hdr, '|' + '---|' * 1 + '---:|' * 10 + '---|']
  for r in results:
    n = r['elements']
    span = r.get('span_s')
    rows.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
        r['sdk'], format(n, ','), fmt(r['wall_s'], '.2f'), fmt(r['worker_cpu_s'], '.2f'),
        fmt(r['worker_cpu_s'] / n * 1e6, '.3f'),
        fmt(r['steady_cpu_s'] / n * 1e6 if 'steady_cpu_s' in r else None, '.3f'),
        fmt(n / span if span else None, ',.0f'), fmt(n / r['wall_s'], ',.0f'),
        fmt(r['first_element_ms'], '.0f'), fmt(r['startup_cpu_s'], '.2f'),
        fmt(r['prism_cpu_s'], '.2f'), 'ok' if r['checksum_ok'] else 'MISMATCH'))
  by = {r['sdk']: r for r in results}
  base = by.get('c')
  lines = []
  pairs = [('go', 'c'), ('python', 'c')] if base else [('python', 'go')]
  for num, den in pairs:
    a, b = by.get(num), by.get(den)
    if not a or not b:
      continue
    pa, pb = a['worker_cpu_s'] / a['elements'], b['worker_cpu_s'] / b['elements']
    s = '- %s/%s CPU per element: %.1fx (whole worker%s)' % (
        num, den, pa / pb if pb else 0,
        '' if a['elements'] == b['elements'] else
        ', N %s vs %s: startup amortized differently' % (
            format(a['elements'], ','), format(b['elements'], ',')))
    if 'steady_cpu_s' in a and 'steady_cpu_s' in b and b['steady_cpu_s'] > 0:
      s += ', %.1fx (steady, first element to end of bundle)' % (
          (a['steady_cpu_s'] / a['elements']) / (b['steady_cpu_s'] / b['elements']))
    if num in ('go', 'python') and den == 'c':
      s += '; target >= %dx' % (3 if num == 'go' else 20)
    lines.append(s)
  return '\n'.join(rows), '\n'.join(lines)


def main():
  ap = argparse.ArgumentParser(description=__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument('--elements', type=int, default=10_000_000,
                  help='N for C and Go (default 10M)')
  ap.add_argument('--go-elements', type=int, help='N for Go (default --elements)')
  ap.add_argument('--c-elements', type=int, help='N for C (default --elements)')
  ap.add_argument('--python-elements', type=int, default=1_000_000,
                  help='N for Python (default 1M)')
  ap.add_argument('--c-binary', help='the C pipeline program; C is skipped without it')
  ap.add_argument('--go-binary', required=True)
  ap.add_argument('--python', default=sys.executable)
  ap.add_argument('--prism', default=os.path.join(REPO, '.peers', 'bin', 'prism'))
  ap.add_argument('--sdks', default='c,go,python',
                  help='comma list, run in this order (default c,go,python)')
  ap.add_argument('--taskset', help='pin Prism, its workers and the launchers to these CPUs')
  ap.add_argument('--timeout', type=int, default=1800, help='per SDK, seconds')
  ap.add_argument('--poll', type=float, default=0.05, help='/proc poll interval, seconds')
  ap.add_argument('--out-dir', default=os.path.join(REPO, 'build-bench', 'harness_bench'))
  ap.add_argument('--results', default=os.path.join(HERE, 'results.md'),
                  help='markdown written at the end (overwritten); "-" for none')
  args = ap.parse_args()

  stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
  log_dir = os.path.join(args.out_dir, 'logs', stamp)
  os.makedirs(log_dir, exist_ok=True)
  pin = ['taskset', '-c', args.taskset] if args.taskset else []

  entries = {
      'go': lambda ep, n: pin + [args.go_binary, '--elements=%d' % n, '--runner=universal',
                                 '--endpoint=' + ep, '--environment_type=PROCESS'],
      'python': lambda ep, n: pin + [args.python,
                                     os.path.join(HERE, 'python', 'harness_bench.py'),
                                     '--elements=%d' % n, '--runner=PortableRunner',
                                     '--job_endpoint=' + ep, '--environment_type=PROCESS'],
      'c': lambda ep, n: pin + [args.c_binary, '--job_endpoint=' + ep, '--elements=%d' % n],
  }
  sizes = {'go': args.go_elements or args.elements, 'c': args.c_elements or args.elements,
           'python': args.python_elements}

  prism = Prism(args.prism, os.path.join(log_dir, 'prism.log'), args.taskset)
  print('prism pid %d at %s; logs in %s' % (prism.pid, prism.endpoint, log_dir), flush=True)
  results = []
  try:
    for sdk in [s.strip() for s in args.sdks.split(',') if s.strip()]:
      if sdk == 'c' and not args.c_binary:
        continue
      argv = entries[sdk](prism.endpoint, sizes[sdk])
      results.append(run_one(prism, sdk, argv, sizes[sdk], log_dir, args.timeout, args.poll))
  finally:
    prism.stop()

  with open(os.path.join(log_dir, 'results.json'), 'w') as f:
    json.dump(results, f, indent=1, default=str)
  tab, ratios = table(results)
  print()
  print(tab)
  if ratios:
    print(ratios)

  if args.results != '-':
    cpu = ''
    try:
      with open('/proc/cpuinfo') as f:
        cpu = next(l.split(':', 1)[1].strip() for l in f if l.startswith('model name'))
    except (OSError, StopIteration):
      pass
    with open(args.results, 'w') as f:
      f.write('# Harness throughput benchmark results\n\n')
      f.write('- date: %s\n- machine: %s, %d cpus (%s)\n- command: `%s`\n- prism: %s\n\n' % (
          datetime.datetime.now().isoformat(timespec='seconds'), platform.node(),
          os.cpu_count(), cpu, os.environ.get('HARNESS_BENCH_COMMAND', ' '.join(sys.argv)),
          args.prism))
      f.write(tab + '\n\n' + (ratios + '\n\n' if ratios else ''))
      f.write('Details (launcher CPU = user+sys of the launcher process via wait4; Prism CPU '
              '= Prism\'s own user+sys delta over the job):\n\n')
      for r in results:
        f.write('- %s: launcher CPU %s s, Prism CPU %.2f s, workers %s, jobs %s, bundles %d, '
                'kept=%s sum=%s from %s (expected %d / %d)\n' % (
                    r['sdk'], fmt(r['launcher_cpu_s'], '.2f'), r['prism_cpu_s'],
                    {p: w.get('cmd', '')[:80] for p, w in r['workers'].items()},
                    r['jobs'], r['bundles'], r['kept'], r['sum'], r['checksum_source'],
                    r['expected_kept'], r['expected_sum']))
    print('\nwrote %s' % args.results)
  return 0 if all(r['checksum_ok'] and r['exit_status'] == 0 for r in results) else 1


if __name__ == '__main__':
  sys.exit(main())
