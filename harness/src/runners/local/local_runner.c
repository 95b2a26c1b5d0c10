/* The local runner: executes a Pipeline proto in-process, stage by stage.
 *
 * The leaf transforms are cut into stages (local_stages.c: at GroupByKeys, at the inputs of
 * splittable-DoFn processing, where a side input must be complete). Each stage runs as
 * bundles on --parallelism worker threads, each thread with its own instance of the stage's
 * execution graph (the same nodes the Fn API harness uses; local_stage_run.c). What crosses
 * a stage boundary goes through a shuffle under --memory_budget that spills sorted runs to
 * --temp_dir (local_shuffle.c); side inputs are materialized once and shared (local_side.c).
 * A pipeline read from an unbounded source runs in streaming mode instead (local_stream.c,
 * beam/stream_source.h): one stage fed by the source until it is stopped. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "beam/runner.h"
#include "local_combine_lift.h"
#include "local_sdf_expand.h"
#include "local_stage_run.h"
#include "local_state.h"
#include "local_stream.h"
#include "proto_lookup.h"

/* Collects leaf transform ids under id, depth first. */
static beam_status collect_leaves(const PIPE(Components) *c, const char *id, const char ***ids, size_t *n,
                                  size_t *cap, int depth, beam_error *err) {
  if (depth > 64) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "transforms nested too deep at %s", id);
  const PIPE(PTransform) *t = beam_proto_find_transform(c, id);
  if (!t) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "transform \"%s\" is not in the pipeline", id);
  if (t->n_subtransforms) {
    for (size_t i = 0; i < t->n_subtransforms; i++) {
      beam_status s = collect_leaves(c, t->subtransforms[i], ids, n, cap, depth + 1, err);
      if (s != BEAM_OK) return s;
    }
    return BEAM_OK;
  }
  if (*n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 32;
    const char **grown = realloc(*ids, ncap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    *ids = grown;
    *cap = ncap;
  }
  (*ids)[(*n)++] = id;
  return BEAM_OK;
}

/* transform_id itself or a step a runner expanded it into (a splittable ParDo's process step
 * reports its counters): "X/..." (the Java runners' names), or Prism's "eX_..."
 * ("eReadAndProcess_processandsplit"). */
static bool is_or_within(const char *id, const char *transform_id) {
  size_t n = strlen(transform_id);
  if (strncmp(id, transform_id, n) == 0) return id[n] == '\0' || id[n] == '/';
  return id[0] == 'e' && strncmp(id + 1, transform_id, n) == 0 && id[n + 1] == '_';
}

int64_t beam_run_result_counter(const beam_run_result *r, const char *transform_id, const char *name) {
  int64_t sum = 0;
  for (size_t i = 0; i < r->n_counters; i++)
    if (strcmp(r->counters[i].name, name) == 0 && (!transform_id || is_or_within(r->counters[i].transform_id, transform_id)))
      sum += r->counters[i].value;
  return sum;
}

void beam_run_result_free(beam_run_result *r) {
  for (size_t i = 0; i < r->n_counters; i++) {
    free(r->counters[i].transform_id);
    free(r->counters[i].name);
  }
  free(r->counters);
  r->counters = NULL;
  r->n_counters = 0;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sinks commit idempotently per bundle id, so every run needs ids of its own: a fixed id
 * would make a second run into the same database look like a retry and write nothing. */
static void make_run_id(char *out, size_t cap) {
  static atomic_uint runs;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(out, cap, "local-%lld%09ld-%ld-%u", (long long)ts.tv_sec, ts.tv_nsec, (long)getpid(),
           atomic_fetch_add(&runs, 1));
}

static beam_status open_run(beam_local_run *run, beam_local_state **state, beam_error *err) {
  beam_local_plan *plan = &run->plan;
  beam_status s = beam_local_side_new(run->components, plan->side_ids, plan->n_side_ids, &run->side, err);
  if (s == BEAM_OK) s = beam_local_state_new(state, &run->user_state, err);
  run->shuffles = calloc(plan->n_shuffles + 1, sizeof *run->shuffles);
  if (s == BEAM_OK && !run->shuffles) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; s == BEAM_OK && i < plan->n_shuffles; i++)
    s = beam_shuffle_new(plan->shuffles[i].what, plan->shuffles[i].sorted, run->opts.temp_dir, &run->shuffles[i], err);
  return s;
}

/* The process's peak resident set so far (VmHWM), in KiB; 0 when unknown. */
static long peak_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = 0;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  return kib;
}

/* BEAM_LOCAL_TRACE=1: one line per stage on stderr (time, bundles, peak RSS, what it shuffled). */
static void trace_stage(const beam_local_run *run, size_t i, double seconds, size_t bundles) {
  const beam_local_stage *st = &run->plan.stages[i];
  fprintf(stderr, "local runner: stage %zu (level %zu, %zu transforms from %s): %.3f s, %zu bundles, peak RSS %ld MiB",
          i, st->level, st->n_ids, st->ids[0], seconds, bundles, peak_rss_kib() / 1024);
  for (size_t k = 0; k < run->plan.n_collectors; k++) {
    const beam_local_collector *c = &run->plan.collectors[k];
    if (c->stage != i || c->kind == BEAM_LOCAL_COLLECT_SIDE || !run->shuffles[c->target]) continue;
    const beam_shuffle *sh = run->shuffles[c->target];
    fprintf(stderr, "; %s: %lld records, %lld bytes, %zu runs spilled", run->plan.shuffles[c->target].what,
            (long long)beam_shuffle_records(sh), (long long)beam_shuffle_bytes(sh), beam_shuffle_spilled_runs(sh));
  }
  fprintf(stderr, "\n");
}

/* Stages in order; a shuffle is freed (memory and temporary files) after its last reader. */
static beam_status run_stages(beam_local_run *run, beam_error *err) {
  const char *trace = getenv("BEAM_LOCAL_TRACE");
  bool tracing = trace && *trace && strcmp(trace, "0") != 0;
  for (size_t i = 0; i < run->plan.n_stages; i++) {
    double started = now_seconds();
    size_t bundles = atomic_load(&run->bundles);
    beam_status s = beam_local_stage_run(run, i, NULL, err);
    if (s != BEAM_OK) return s;
    if (tracing) trace_stage(run, i, now_seconds() - started, atomic_load(&run->bundles) - bundles);
    for (size_t k = 0; k < run->plan.n_shuffles; k++)
      if (run->shuffles[k] && run->plan.shuffles[k].last_reader == i) {
        beam_shuffle_free(run->shuffles[k]);
        run->shuffles[k] = NULL;
      }
  }
  return BEAM_OK;
}

/* Streaming mode: the plan is one stage after the read; it runs until the source stops. */
static beam_status run_streaming(beam_local_run *run, const char **ids, size_t n, const char *read,
                                 beam_local_state **state, beam_error *err) {
  beam_local_stream *stream = NULL;
  beam_status s = beam_local_stream_plan(run->components, ids, n, read, &run->plan, err);
  if (s == BEAM_OK) s = open_run(run, state, err);
  if (s == BEAM_OK) s = beam_local_stream_open(run->components, read, run->options, &stream, err);
  if (s == BEAM_OK) s = beam_local_stage_run(run, 0, stream, err);
  beam_local_stream_close(stream);
  return s;
}

static void close_run(beam_local_run *run) {
  for (size_t k = 0; run->shuffles && k < run->plan.n_shuffles; k++) beam_shuffle_free(run->shuffles[k]);
  free(run->shuffles);
  beam_local_side_free(run->side);
  beam_local_plan_free(&run->plan);
  for (size_t i = 0; i < run->n_counters; i++) {
    free(run->counters[i].transform_id);
    free(run->counters[i].name);
  }
  free(run->counters);
  pthread_mutex_destroy(&run->counters_mu);
}

beam_status beam_run_local(const uint8_t *pipeline_proto, size_t len, const json_t *options,
                           beam_run_result *result, beam_error *err) {
  double started = now_seconds();
  memset(result, 0, sizeof *result);
  PIPE(Pipeline) *pl = PIPE_FN(pipeline__unpack)(NULL, len, pipeline_proto);
  if (!pl || !pl->components) {
    if (pl) PIPE_FN(pipeline__free_unpacked)(pl, NULL);
    return beam_error_set(err, BEAM_ERR_MALFORMED, "cannot decode the Pipeline proto (%zu bytes)", len);
  }
  const char **ids = NULL;
  size_t n = 0, cap = 0;
  beam_status s = beam_local_sdf_expand(pl, err);
  if (s == BEAM_OK) s = beam_local_combine_lift(pl, err);
  for (size_t i = 0; s == BEAM_OK && i < pl->n_root_transform_ids; i++)
    s = collect_leaves(pl->components, pl->root_transform_ids[i], &ids, &n, &cap, 0, err);
  json_t *no_options = options ? NULL : json_object();
  beam_local_run run = {.components = pl->components, .options = options ? options : no_options};
  pthread_mutex_init(&run.counters_mu, NULL);
  atomic_init(&run.bundles, 0);
  make_run_id(run.run_id, sizeof run.run_id);
  beam_local_state *state = NULL;
  if (s == BEAM_OK) s = beam_local_options_read(options, &run.opts, err);
  const char *stream_read = s == BEAM_OK ? beam_local_stream_read(pl->components, ids, n) : NULL;
  if (s == BEAM_OK && stream_read) {
    s = run_streaming(&run, ids, n, stream_read, &state, err);
  } else {
    if (s == BEAM_OK) s = beam_local_plan_build(pl->components, ids, n, &run.plan, err);
    if (s == BEAM_OK) s = open_run(&run, &state, err);
    if (s == BEAM_OK) s = run_stages(&run, err);
  }
  if (s == BEAM_OK) {
    /* The result takes the summed counters over. */
    result->counters = run.counters;
    result->n_counters = run.n_counters;
    run.counters = NULL;
    run.n_counters = 0;
  }
  result->elapsed_seconds = now_seconds() - started;
  close_run(&run);
  beam_local_state_free(state);
  json_decref(no_options);
  free(ids);
  PIPE_FN(pipeline__free_unpacked)(pl, NULL);
  return s;
}

beam_status beam_pipeline_run_local(beam_pipeline *p, const json_t *options, beam_run_result *result,
                                    beam_error *err) {
  beam_buf buf = BEAM_BUF_INIT;
  beam_status s = beam_pipeline_encode(p, &buf, err);
  if (s == BEAM_OK) s = beam_run_local(buf.data, buf.len, options, result, err);
  beam_buf_free(&buf);
  return s;
}
