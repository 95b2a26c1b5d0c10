/* Checks that need a real runner and pipelines of their own: a side input (a lookup table
 * read over the State API) gives the right answer, and a DoFn that fails on one row fails the
 * job with that DoFn's message. The program is its own worker (PROCESS environments start it
 * with BEAM_C_WORKER=1; a worker pool starts it with --worker).
 *
 * Usage: runner_checks JOB_ENDPOINT [ENVIRONMENT_TYPE [ENVIRONMENT_CONFIG]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/dofn.h"
#include "beam/pipeline.h"
#include "beam/runner.h"
#include "beam/worker.h"

enum { N_KEYS = 1000, FAILING_ROW = 42 };

/* Emits config.n integers 0..n-1. */
static beam_status count_to_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state, (void)elem;
  json_int_t n = *(json_int_t *)state;
  for (json_int_t i = 0; i < n; i++) {
    beam_value v = beam_value_int64(i);
    beam_status s = beam_dofn_emit(ctx, 0, &v, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

static beam_status count_to_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  *(json_int_t *)state = json_integer_value(json_object_get(beam_dofn_config(ctx), "n"));
  return BEAM_OK;
}

/* The lookup side input: key i maps to i * 10 for even i only (odd keys stay unmatched). */
static beam_status lookup_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  int64_t i = elem->value->u.i64;
  if (i % 2) return BEAM_OK;
  beam_value k = beam_value_int64(i), v = beam_value_int64(i * 10);
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&k, &v}};
  return beam_dofn_emit(ctx, 0, &kv, err);
}

/* Joins each key with the lookup table: counters "matched_sum" and "unmatched". */
static beam_status join_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  const beam_value_list *table = NULL;
  beam_status s = beam_dofn_side_input(ctx, "lookup", &table, err);
  if (s != BEAM_OK) return s;
  int64_t key = elem->value->u.i64;
  for (size_t i = 0; i < table->len; i++)
    if (table->items[i].u.kv.key->u.i64 == key)
      return beam_dofn_counter_add_named(ctx, "matched_sum", table->items[i].u.kv.value->u.i64, err);
  return beam_dofn_counter_add_named(ctx, "unmatched", 1, err);
}

static beam_status fail_on_row_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                       beam_error *err) {
  (void)state, (void)ctx;
  if (elem->value->u.i64 == FAILING_ROW)
    return beam_error_set(err, BEAM_ERR_USER, "row %d is bad: the amount is not a number", FAILING_ROW);
  return BEAM_OK;
}

static const beam_dofn_def count_to = {"checks_count_to", sizeof(json_int_t), count_to_setup, NULL, count_to_process, NULL, NULL};
static const beam_dofn_def lookup = {"checks_lookup", 0, NULL, NULL, lookup_process, NULL, NULL};
static const beam_dofn_def join = {"checks_join", 0, NULL, NULL, join_process, NULL, NULL};
static const beam_dofn_def fail_on_row = {"checks_fail_on_row", 0, NULL, NULL, fail_on_row_process, NULL, NULL};
BEAM_REGISTER_DOFN(count_to)
BEAM_REGISTER_DOFN(lookup)
BEAM_REGISTER_DOFN(join)
BEAM_REGISTER_DOFN(fail_on_row)

static beam_pcollection *numbers(beam_pipeline *p, const char *name, int n) {
  char cfg[64];
  snprintf(cfg, sizeof cfg, "{\"n\": %d}", n);
  char impulse[64];
  snprintf(impulse, sizeof impulse, "%s/Impulse", name);
  return beam_pardo1(p, name, beam_impulse(p, impulse), "checks_count_to", cfg, beam_coder_spec_varint(p));
}

static beam_pipeline *side_input_pipeline(void) {
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *keys = numbers(p, "Keys", N_KEYS);
  beam_coder_spec *kv = beam_coder_spec_kv(p, beam_coder_spec_varint(p), beam_coder_spec_varint(p));
  beam_pcollection *table = beam_pardo1(p, "Lookup", numbers(p, "TableKeys", N_KEYS), "checks_lookup", NULL, kv);
  beam_side_input_spec si = {"lookup", table, BEAM_SIDE_INPUT_ITERABLE};
  beam_coder_spec *out = beam_coder_spec_varint(p);
  beam_pardo_spec spec = {.dofn = "checks_join", .n_outputs = 1, .output_coders = &out, .side_inputs = &si,
                          .n_side_inputs = 1};
  beam_pcollection *joined = NULL;
  beam_pardo(p, "Join", keys, &spec, &joined);
  return p;
}

static beam_pipeline *failing_pipeline(void) {
  beam_pipeline *p = beam_pipeline_new();
  beam_pardo1(p, "Validate", numbers(p, "Rows", 100), "checks_fail_on_row", NULL, beam_coder_spec_varint(p));
  return p;
}

static beam_status submit(beam_pipeline *p, const beam_portable_options *o, beam_run_result *r, beam_error *err) {
  beam_buf proto = BEAM_BUF_INIT;
  beam_status s = beam_pipeline_encode(p, &proto, err);
  if (s == BEAM_OK) s = beam_run_portable(proto.data, proto.len, o, r, err);
  beam_buf_free(&proto);
  return s;
}

static int check_side_input(beam_portable_options *o) {
  int64_t want_sum = 0, want_unmatched = 0;
  for (int i = 0; i < N_KEYS; i++) i % 2 ? want_unmatched++ : (want_sum += i * 10);
  beam_pipeline *p = side_input_pipeline();
  beam_run_result r = {0};
  beam_error err = {0};
  o->job_name = "checks-side-input";
  int rc = 0;
  if (submit(p, o, &r, &err) != BEAM_OK) {
    fprintf(stderr, "runner_checks: side input job failed: %s\n", err.message);
    rc = 1;
  } else {
    int64_t sum = beam_run_result_counter(&r, NULL, "matched_sum"), unmatched = beam_run_result_counter(&r, NULL, "unmatched");
    printf("runner_checks: side input: matched_sum=%lld (want %lld) unmatched=%lld (want %lld)\n", (long long)sum,
           (long long)want_sum, (long long)unmatched, (long long)want_unmatched);
    rc = sum == want_sum && unmatched == want_unmatched ? 0 : 1;
  }
  beam_run_result_free(&r);
  beam_pipeline_free(p);
  return rc;
}

static int check_failing_dofn(beam_portable_options *o) {
  beam_pipeline *p = failing_pipeline();
  beam_error err = {0};
  o->job_name = "checks-failing-dofn";
  int rc = 1;
  if (submit(p, o, NULL, &err) == BEAM_OK) {
    fprintf(stderr, "runner_checks: a job whose DoFn fails on row %d succeeded\n", FAILING_ROW);
  } else if (!strstr(err.message, "row 42 is bad: the amount is not a number")) {
    fprintf(stderr, "runner_checks: the job failed without the DoFn's message: %s\n", err.message);
  } else {
    printf("runner_checks: failing DoFn: the job failed with the DoFn's message\n");
    rc = 0;
  }
  beam_pipeline_free(p);
  return rc;
}

int main(int argc, char **argv) {
  if (beam_worker_requested(argc, argv)) return beam_worker_main(argc, argv);
  if (beam_worker_pool_requested(argc, argv)) return beam_worker_pool_main(argc, argv);
  if (argc < 2) return fprintf(stderr, "usage: %s JOB_ENDPOINT [ENVIRONMENT_TYPE [ENVIRONMENT_CONFIG]]\n", argv[0]), 2;
  beam_portable_options o = {.job_endpoint = argv[1],
                             .quiet = true,
                             .environment_type = argc > 2 ? argv[2] : NULL,
                             .environment_config = argc > 3 ? argv[3] : NULL};
  int rc = check_side_input(&o);
  rc |= check_failing_dofn(&o);
  return rc;
}
