/* The harness benchmark pipeline in C (tests/bench/harness/ has the Go and Python twins):
 * Impulse -> Generate (N int64) -> AddOne -> Double -> KeepNotDivisibleBy3 (sum counter).
 * Prism fuses it into one stage, so the worker's CPU per element is the SDK's overhead.
 *
 * Usage: bench_harness --job_endpoint=HOST:PORT [--elements=N] [--local]
 * Prints: bench_harness: elements=N kept=K sum=S wall=SECONDS runner=...
 * The worker is this program started by Prism (PROCESS environment). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/dofn.h"
#include "beam/pipeline.h"
#include "beam/runner.h"
#include "beam/worker.h"

static beam_status generate_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  *(int64_t *)state = (int64_t)json_integer_value(json_object_get(beam_dofn_config(ctx), "n"));
  return BEAM_OK;
}

static beam_status generate(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)elem;
  int64_t n = *(int64_t *)state;
  for (int64_t i = 0; i < n; i++) {
    beam_value v = beam_value_int64(i);
    beam_status s = beam_dofn_emit(ctx, 0, &v, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

static beam_status add_one(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  beam_value v = beam_value_int64(elem->value->u.i64 + 1);
  return beam_dofn_emit(ctx, 0, &v, err);
}

static beam_status twice(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  beam_value v = beam_value_int64(elem->value->u.i64 * 2);
  return beam_dofn_emit(ctx, 0, &v, err);
}

typedef struct keep_state {
  int kept, sum;
} keep_state;

static beam_status keep_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  keep_state *k = state;
  k->kept = beam_dofn_declare_counter(ctx, "kept");
  k->sum = beam_dofn_declare_counter(ctx, "sum");
  return BEAM_OK;
}

static beam_status keep(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)err;
  keep_state *k = state;
  int64_t x = elem->value->u.i64;
  if (x % 3 == 0) return BEAM_OK;
  beam_dofn_counter_add(ctx, k->kept, 1);
  beam_dofn_counter_add(ctx, k->sum, x);
  return BEAM_OK;
}

static const beam_dofn_def generate_fn = {"bench_generate", sizeof(int64_t), generate_setup, NULL, generate, NULL, NULL};
static const beam_dofn_def add_one_fn = {"bench_add_one", 0, NULL, NULL, add_one, NULL, NULL};
static const beam_dofn_def twice_fn = {"bench_double", 0, NULL, NULL, twice, NULL, NULL};
static const beam_dofn_def keep_fn = {"bench_keep", sizeof(keep_state), keep_setup, NULL, keep, NULL, NULL};
BEAM_REGISTER_DOFN(generate_fn)
BEAM_REGISTER_DOFN(add_one_fn)
BEAM_REGISTER_DOFN(twice_fn)
BEAM_REGISTER_DOFN(keep_fn)

static const char *flag(int argc, char **argv, const char *name) {
  size_t n = strlen(name);
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return argv[i] + n + 1;
  return NULL;
}

int main(int argc, char **argv) {
  if (beam_worker_requested(argc, argv)) return beam_worker_main(argc, argv);
  const char *endpoint = flag(argc, argv, "--job_endpoint");
  const char *elements = flag(argc, argv, "--elements");
  bool local = argc > 1 && strcmp(argv[argc - 1], "--local") == 0;
  if (!endpoint && !local) return fprintf(stderr, "usage: %s --job_endpoint=HOST:PORT [--elements=N] [--local]\n", argv[0]), 2;
  long long n = elements ? atoll(elements) : 10000000LL;
  char cfg[64];
  snprintf(cfg, sizeof cfg, "{\"n\": %lld}", n);
  beam_pipeline *p = beam_pipeline_new();
  beam_coder_spec *ints = beam_coder_spec_varint(p);
  beam_pcollection *c = beam_pardo1(p, "Generate", beam_impulse(p, "Impulse"), "bench_generate", cfg, ints);
  c = beam_pardo1(p, "AddOne", c, "bench_add_one", NULL, ints);
  c = beam_pardo1(p, "Double", c, "bench_double", NULL, ints);
  beam_pardo1(p, "KeepNotDivisibleBy3", c, "bench_keep", NULL, ints);
  beam_buf proto = BEAM_BUF_INIT;
  beam_error err = {0};
  beam_run_result r = {0};
  beam_status s = beam_pipeline_encode(p, &proto, &err);
  beam_portable_options o = {.job_endpoint = endpoint, .job_name = "bench-harness-c", .quiet = true};
  if (s == BEAM_OK) s = local ? beam_run_local(proto.data, proto.len, NULL, &r, &err)
                              : beam_run_portable(proto.data, proto.len, &o, &r, &err);
  if (s == BEAM_OK)
    printf("bench_harness: elements=%lld kept=%lld sum=%lld wall=%.3f runner=%s\n", n,
           (long long)beam_run_result_counter(&r, NULL, "kept"), (long long)beam_run_result_counter(&r, NULL, "sum"),
           r.elapsed_seconds, local ? "local" : endpoint);
  else
    fprintf(stderr, "bench_harness: %s\n", err.message);
  beam_run_result_free(&r);
  beam_buf_free(&proto);
  beam_pipeline_free(p);
  return s == BEAM_OK ? 0 : 1;
}
