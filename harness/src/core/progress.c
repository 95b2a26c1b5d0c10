/* Terminal progress lines (see progress.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "beam/progress.h"

static double monotonic_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void beam_progress_start(beam_progress *p, const char *what, const char *mode) {
  memset(p, 0, sizeof *p);
  if (mode && strcmp(mode, "on") == 0) p->enabled = true;
  else if (mode && strcmp(mode, "off") == 0) p->enabled = false;
  else p->enabled = isatty(STDERR_FILENO);
  snprintf(p->what, sizeof p->what, "%s", what ? what : "");
  p->started = p->last = monotonic_seconds();
}

void beam_progress_update(beam_progress *p, int64_t rows, uint64_t bytes, int64_t total_bytes) {
  if (!beam_progress_due(p)) return;
  double secs = beam_progress_elapsed(p);
  double rate = secs > 0 ? (double)rows / secs : 0;
  char pct[16] = "", line[160];
  if (total_bytes > 0) snprintf(pct, sizeof pct, " %3.0f%%", 100.0 * (double)bytes / (double)total_bytes);
  snprintf(line, sizeof line, "%s %lld rows, %.1f MB, %.0f rows/s", pct, (long long)rows, (double)bytes / 1e6, rate);
  beam_progress_show(p, line);
}

bool beam_progress_due(beam_progress *p) {
  if (!p->enabled) return false;
  double now = monotonic_seconds();
  if (now - p->last < 0.5) return false;
  p->last = now;
  return true;
}

void beam_progress_show(beam_progress *p, const char *line) {
  if (!p->enabled) return;
  fprintf(stderr, "\r%s:%s   ", p->what, line);
  fflush(stderr);
  p->drawn = true;
}

double beam_progress_elapsed(const beam_progress *p) { return monotonic_seconds() - p->started; }

void beam_progress_finish(beam_progress *p) {
  if (p->drawn) fputc('\n', stderr);
  p->drawn = false;
}
