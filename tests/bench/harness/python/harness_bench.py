"""Harness throughput benchmark, Python SDK version (see ../README.md).

  Impulse -> ParDo Generate (int 0..N-1) -> ParDo AddOne (x+1) -> ParDo Double (x*2)
          -> ParDo Sum (keeps x%3 != 0, counters bench/kept and bench/sum; emits one
             (kept, sum) record per bundle at finish_bundle)
          -> GroupByKey -> ParDo Check (logs the record)

Usage:
  python harness_bench.py --elements=N --job_endpoint=HOST:PORT [beam options...]

Defaults to PortableRunner with a PROCESS environment whose command is a small generated
wrapper that runs worker_boot.py with this interpreter; pass --environment_type and
--environment_config to override (e.g. LOOPBACK). Prints
  beam-bench launcher: sdk=python elements=N kept=K sum=S
from the job's committed (else attempted) metrics.
"""

import argparse
import json
import os
import stat
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def write_worker_wrapper(directory):
  path = os.path.join(directory, 'python_worker')
  with open(path, 'w') as f:
    f.write('#!/bin/sh\nexec "%s" "%s" "$@"\n' %
            (sys.executable, os.path.join(HERE, 'worker_boot.py')))
  os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
  return path


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--elements', type=int, default=1_000_000)
  known, beam_args = parser.parse_known_args()

  import apache_beam as beam
  from apache_beam.metrics.metric import MetricsFilter
  from apache_beam.options.pipeline_options import PipelineOptions
  import bench_fns

  tmp = tempfile.TemporaryDirectory(prefix='harness_bench_py_')
  if not any(a.startswith('--runner') for a in beam_args):
    beam_args.append('--runner=PortableRunner')
  env_type = [a.split('=', 1)[1] for a in beam_args if a.startswith('--environment_type=')]
  if not env_type:
    beam_args.append('--environment_type=PROCESS')
  if (not env_type or env_type[-1].upper() == 'PROCESS') and not any(
      a.startswith('--environment_config') for a in beam_args):
    beam_args.append('--environment_config=' +
                     json.dumps({'command': write_worker_wrapper(tmp.name)}))
  options = PipelineOptions(beam_args)

  p = beam.Pipeline(options=options)
  (p
   | 'Impulse' >> beam.Impulse()
   | 'Generate' >> beam.ParDo(bench_fns.Generate(known.elements))
   | 'AddOne' >> beam.ParDo(bench_fns.AddOne())
   | 'Double' >> beam.ParDo(bench_fns.Double())
   | 'Sum' >> beam.ParDo(bench_fns.Sum())
   | 'GroupByKey' >> beam.GroupByKey()
   | 'Check' >> beam.ParDo(bench_fns.Check()))
  result = p.run()
  result.wait_until_finish()

  values = {}
  for c in result.metrics().query(MetricsFilter().with_namespace('bench'))['counters']:
    v = c.committed if c.committed is not None else c.attempted
    values[c.key.metric.name] = values.get(c.key.metric.name, 0) + (v or 0)
  print('beam-bench launcher: sdk=python elements=%d kept=%d sum=%d' %
        (known.elements, values.get('kept', -1), values.get('sum', -1)), flush=True)
  tmp.cleanup()


if __name__ == '__main__':
  main()
