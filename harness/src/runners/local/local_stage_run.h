/* Running the stages of a local run: each stage's bundles on the worker threads, each thread
 * with its own instance of the stage's graph. */
#ifndef BEAM_LOCAL_STAGE_RUN_H
#define BEAM_LOCAL_STAGE_RUN_H

#include <pthread.h>
#include <stdatomic.h>

#include "beam/runner.h"
#include "exec.h"
#include "local_options.h"
#include "local_shuffle.h"
#include "local_side.h"
#include "local_stages.h"

typedef struct beam_local_run {
  const PIPE(Components) *components;
  const json_t *options;       /* what the DoFns see (never NULL) */
  beam_local_options opts;
  beam_local_plan plan;
  beam_shuffle **shuffles;     /* parallel to plan.shuffles; NULL once freed */
  beam_local_side *side;
  beam_user_state_backend user_state;
  char run_id[96];             /* unique per run: bundle ids are run_id-stage-bundle */
  atomic_size_t bundles;
  pthread_mutex_t counters_mu;
  beam_counter_result *counters; /* summed over every bundle of every thread */
  size_t n_counters, cap_counters;
} beam_local_run;

typedef struct beam_local_stream beam_local_stream;

/* Runs stage `index` of run->plan to the end: every input consumed, every output written.
 * stream (streaming mode, else NULL) feeds the stage's one source until it stops. */
beam_status beam_local_stage_run(beam_local_run *run, size_t index, beam_local_stream *stream, beam_error *err);

/* Bytes the live shuffles hold in memory. */
int64_t beam_local_run_memory(const beam_local_run *run);

#endif
