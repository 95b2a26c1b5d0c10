/* Running a pipeline: the in-process local runner (and, later, portable and Dataflow). */
#ifndef BEAM_RUNNER_H
#define BEAM_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "beam/pipeline.h"
#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_counter_result {
  char *transform_id;
  char *name;
  int64_t value;
} beam_counter_result;

typedef struct beam_run_result {
  beam_counter_result *counters;
  size_t n_counters;
  double elapsed_seconds;
} beam_run_result;

/* Runs an encoded Pipeline proto in this process. options: pipeline options (JSON object,
 * may be NULL) that reach the DoFns. */
beam_status beam_run_local(const uint8_t *pipeline_proto, size_t len, const json_t *options,
                           beam_run_result *result, beam_error *err);
/* Encodes p and runs it on the local runner. */
beam_status beam_pipeline_run_local(beam_pipeline *p, const json_t *options, beam_run_result *result,
                                    beam_error *err);
/* A Beam job service (Prism, the Python portable runner, Flink's job server). */
typedef struct beam_portable_options {
  const char *job_endpoint; /* "host:port" */
  const char *job_name;     /* NULL: "beam-c" */
  bool quiet;               /* no per-message / per-state lines on stderr */
  /* Where the runner finds workers (Beam's --environment_type / --environment_config):
   * "PROCESS" (default): the runner starts environment_config (default: this program) as a
   *   worker; it must call beam_worker_requested()/beam_worker_main() first thing in main().
   * "EXTERNAL": environment_config is the host:port of a worker pool (--worker_pool).
   * "DOCKER": environment_config is the SDK container image. */
  const char *environment_type;
  const char *environment_config;
  const json_t *pipeline_options; /* reach the DoFns inside the runner; may be NULL */
  /* The worker binary staged as an artifact of every environment (the runner keeps it and a
   * boot program fetches it, sha256 checked): for DOCKER always, for PROCESS when the command
   * is a boot program, else when stage_worker is set. NULL: this program. */
  const char *worker_binary;
  bool stage_worker;
  bool cancel_on_interrupt;       /* Ctrl-C / SIGTERM while the job runs cancels it */
} beam_portable_options;

/* Submits an encoded Pipeline and waits for the job to end. BEAM_OK only when the job is
 * DONE; a failed or cancelled job is BEAM_ERR_USER with the runner's last error message.
 * result (may be NULL) receives the job's user counters, as the local runner reports them. */
beam_status beam_run_portable(const uint8_t *pipeline_proto, size_t len, const beam_portable_options *o,
                              beam_run_result *result, beam_error *err);

/* The CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (v2
 * cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us) when one is set. At least 1. The local
 * runner's default parallelism. */
size_t beam_local_cpu_count(void);

/* Sum of counter `name` over transforms (transform_id NULL), or in one transform and the steps
 * a runner expanded it into ("ID/..."). */
int64_t beam_run_result_counter(const beam_run_result *r, const char *transform_id, const char *name);
void beam_run_result_free(beam_run_result *r);

#ifdef __cplusplus
}
#endif
#endif
