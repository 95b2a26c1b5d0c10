/* The local runner's own pipeline options: parallelism, memory_budget, temp_dir. */
#ifndef BEAM_LOCAL_OPTIONS_H
#define BEAM_LOCAL_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "beam/runner.h" /* beam_local_cpu_count */
#include "beam/status.h"

typedef struct beam_local_options {
  size_t parallelism;     /* worker threads */
  int64_t memory_budget;  /* bytes, for every shuffle buffer and stage input together */
  const char *temp_dir;   /* where shuffles spill (points into options or the environment) */
} beam_local_options;

enum { BEAM_LOCAL_DEFAULT_MEMORY_BUDGET = 256 << 20 };

/* Reads "parallelism" (default: beam_local_cpu_count()), "memory_budget" (a number of bytes
 * or a string like "256M", "1G", "64K"; default 256 MiB) and "temp_dir" (default $TMPDIR,
 * else /tmp) from a JSON options object (may be NULL). */
beam_status beam_local_options_read(const json_t *options, beam_local_options *out, beam_error *err);

/* Parses "123", "64K", "256M", "1G" (also with a trailing "B" or "iB"); false when malformed. */
bool beam_local_parse_bytes(const char *text, int64_t *out);

#endif
