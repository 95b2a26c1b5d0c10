/* beam_log: one hook, stderr by default (see beam/log.h). */
#include <stdarg.h>
#include <stdio.h>

#include "beam/log.h"

static beam_log_sink current_sink;
static void *current_self;

void beam_log_set_sink(beam_log_sink sink, void *self) {
  current_self = self;
  current_sink = sink;
}

void beam_log(beam_log_level level, const char *fmt, ...) {
  char message[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  if (current_sink) current_sink(current_self, level, message);
  else if (level >= BEAM_LOG_WARN) fprintf(stderr, "beam-c: %s\n", message);
}
