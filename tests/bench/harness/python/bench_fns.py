"""DoFns of the harness throughput benchmark, Python SDK version (see ../README.md).

Kept in their own module so the worker unpickles them by reference (the worker boot puts
this directory on sys.path).
"""

import os
import resource
import time
import typing

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows


def _cpu_seconds():
  ru = resource.getrusage(resource.RUSAGE_SELF)
  return ru.ru_utime + ru.ru_stime


def _process_start_boot_seconds():
  """Field 22 of /proc/self/stat (starttime, clock ticks since boot)."""
  with open('/proc/self/stat') as f:
    s = f.read()
  fields = s[s.rindex(')') + 2:].split()
  return int(fields[22 - 3]) / os.sysconf('SC_CLK_TCK')


def _report(line):
  # Straight to fd 2: Prism copies the worker's stderr to its own.
  os.write(2, ('beam-bench worker: ' + line + '\n').encode())


_first_reported = False


@beam.typehints.with_input_types(bytes)
@beam.typehints.with_output_types(int)
class Generate(beam.DoFn):
  def __init__(self, n):
    self.n = n

  def process(self, unused_impulse):
    global _first_reported
    if not _first_reported:
      _first_reported = True
      now = time.clock_gettime(time.CLOCK_BOOTTIME)
      _report(
          'event=first_element sdk=python pid=%d t_boot_s=%.6f '
          'since_start_ms=%.1f cpu_s=%.6f' %
          (os.getpid(), now, (now - _process_start_boot_seconds()) * 1000,
           _cpu_seconds()))
    for i in range(self.n):
      yield i


@beam.typehints.with_input_types(int)
@beam.typehints.with_output_types(int)
class AddOne(beam.DoFn):
  def process(self, x):
    yield x + 1


@beam.typehints.with_input_types(int)
@beam.typehints.with_output_types(int)
class Double(beam.DoFn):
  def process(self, x):
    yield x * 2


@beam.typehints.with_input_types(int)
@beam.typehints.with_output_types(typing.Tuple[int, int])
class Sum(beam.DoFn):
  """Keeps x % 3 != 0; counts and sums them into bench/kept and bench/sum.

  Emits one (kept, sum) record per bundle from finish_bundle (to the GroupByKey that
  gives the fused stage a data output; see ../README.md).
  """
  def __init__(self):
    self.kept_counter = Metrics.counter('bench', 'kept')
    self.sum_counter = Metrics.counter('bench', 'sum')

  def start_bundle(self):
    self.kept = 0
    self.total = 0

  def process(self, x):
    if x % 3 != 0:
      self.kept += 1
      self.total += x

  def finish_bundle(self):
    self.kept_counter.inc(self.kept)
    self.sum_counter.inc(self.total)
    _report(
        'event=finish sdk=python pid=%d t_boot_s=%.6f cpu_s=%.6f kept=%d sum=%d' %
        (os.getpid(), time.clock_gettime(time.CLOCK_BOOTTIME), _cpu_seconds(),
         self.kept, self.total))
    yield GlobalWindows.windowed_value((self.kept, self.total))


class Check(beam.DoFn):
  """Consumes the (kept, [sum, ...]) record after the GroupByKey."""
  def process(self, kv):
    kept, sums = kv
    _report('event=checksum sdk=python pid=%d kept=%d sum=%d' %
            (os.getpid(), kept, sum(sums)))
    return ()
