/* Options of the local runner (see local_options.h). */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "local_options.h"

bool beam_local_parse_bytes(const char *text, int64_t *out) {
  if (!text || !*text) return false;
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || end == text || v < 0) return false;
  int64_t mult = 1;
  switch (*end) {
  case 'K': case 'k': mult = 1LL << 10, end++; break;
  case 'M': case 'm': mult = 1LL << 20, end++; break;
  case 'G': case 'g': mult = 1LL << 30, end++; break;
  case 'T': case 't': mult = 1LL << 40, end++; break;
  default: break;
  }
  if (mult > 1 && *end == 'i') end++;
  if (*end == 'B' || *end == 'b') end++;
  if (*end || v > INT64_MAX / mult) return false;
  *out = (int64_t)v * mult;
  return true;
}

/* ceil(quota / period) from a cgroup file pair; 0 when unlimited or unreadable. */
static size_t quota_cpus(double quota, double period) {
  if (quota <= 0 || period <= 0) return 0;
  size_t n = (size_t)(quota / period);
  if ((double)n * period < quota) n++;
  return n ? n : 1;
}

static size_t cgroup_cpus(void) {
  FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
  if (f) {
    char quota[32] = "";
    double period = 0;
    int got = fscanf(f, "%31s %lf", quota, &period);
    fclose(f);
    if (got == 2 && strcmp(quota, "max") != 0) return quota_cpus(atof(quota), period);
    return 0;
  }
  double quota = -1, period = 0;
  if ((f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r"))) {
    if (fscanf(f, "%lf", &quota) != 1) quota = -1;
    fclose(f);
  }
  if ((f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r"))) {
    if (fscanf(f, "%lf", &period) != 1) period = 0;
    fclose(f);
  }
  return quota_cpus(quota, period);
}

size_t beam_local_cpu_count(void) {
  size_t n = 1;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = (size_t)CPU_COUNT(&set);
  size_t quota = cgroup_cpus();
  if (quota && quota < n) n = quota;
  return n ? n : 1;
}

/* A number, or a string holding one (pipeline options often arrive as strings). */
static bool option_bytes(const json_t *v, int64_t *out) {
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    return *out >= 0;
  }
  return json_is_string(v) && beam_local_parse_bytes(json_string_value(v), out);
}

beam_status beam_local_options_read(const json_t *options, beam_local_options *out, beam_error *err) {
  out->parallelism = beam_local_cpu_count();
  out->memory_budget = BEAM_LOCAL_DEFAULT_MEMORY_BUDGET;
  const char *tmp = getenv("TMPDIR");
  out->temp_dir = tmp && *tmp ? tmp : "/tmp";
  if (!options) return BEAM_OK;
  const json_t *v = json_object_get(options, "parallelism");
  int64_t n = 0;
  if (v && (!option_bytes(v, &n) || n < 1 || n > 4096))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "parallelism must be a whole number from 1 to 4096");
  if (v) out->parallelism = (size_t)n;
  v = json_object_get(options, "memory_budget");
  if (v && (!option_bytes(v, &out->memory_budget) || out->memory_budget < 4096))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "memory_budget must be a size of at least 4K (e.g. 64K, 256M, 1G)");
  v = json_object_get(options, "temp_dir");
  if (v && (!json_is_string(v) || !*json_string_value(v)))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "temp_dir must be a directory path");
  if (v) out->temp_dir = json_string_value(v);
  return BEAM_OK;
}
