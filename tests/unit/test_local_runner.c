/* Pipeline construction and the local runner: impulse, multi-output ParDo, GBK, combine,
 * flatten, fixed windows, side inputs, counters, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "beam/combinefn.h"
#include "beam/dofn.h"
#include "beam/pipeline.h"
#include "beam/runner.h"

/* Emits config.n integers 0..n-1 (timestamps = value * 1000 ms) from the impulse. */
static beam_status numbers_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                   beam_error *err) {
  (void)elem;
  int64_t n = *(int64_t *)state;
  for (int64_t i = 0; i < n; i++) {
    beam_value v = beam_value_int64(i);
    beam_status s = beam_dofn_emit_at(ctx, 0, &v, i * 1000, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}
static beam_status numbers_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  *(int64_t *)state = json_integer_value(json_object_get(beam_dofn_config(ctx), "n"));
  return BEAM_OK;
}
static const beam_dofn_def numbers = {"test_numbers", sizeof(int64_t), numbers_setup, NULL, numbers_process, NULL, NULL};

/* Splits into evens (main) and odds (tagged), counting each; KV<parity, value> out. */
typedef struct { int evens, odds; int c_even, c_odd; } split_state;
static beam_status split_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  split_state *st = state;
  st->evens = beam_dofn_output_index(ctx, "evens");
  st->odds = beam_dofn_output_index(ctx, "odds");
  st->c_even = beam_dofn_declare_counter(ctx, "evens");
  st->c_odd = beam_dofn_declare_counter(ctx, "odds");
  return st->evens >= 0 && st->odds >= 0 ? BEAM_OK : BEAM_ERR_INVALID_ARG;
}
static beam_status split_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                 beam_error *err) {
  split_state *st = state;
  int64_t x = elem->value->u.i64;
  beam_value key = beam_value_string(x % 2 ? "odd" : "even", x % 2 ? 3 : 4);
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&key, elem->value}};
  beam_dofn_counter_add(ctx, x % 2 ? st->c_odd : st->c_even, 1);
  return beam_dofn_emit(ctx, x % 2 ? st->odds : st->evens, &kv, err);
}
static const beam_dofn_def split = {"test_split", sizeof(split_state), split_setup, NULL, split_process, NULL, NULL};

/* Records what it sees: "key=value" strings into a global list, for assertions. */
static char seen[64][64];
static int n_seen;
static beam_status record_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                  beam_error *err) {
  (void)state, (void)ctx, (void)err;
  const beam_value *kv = elem->value;
  if (n_seen < 64) {
    const beam_value *v = kv->u.kv.value;
    long long out = v->kind == BEAM_VALUE_INT64 ? (long long)v->u.i64 : (long long)v->u.list.len;
    snprintf(seen[n_seen++], 64, "%.*s=%lld@%lld", (int)kv->u.kv.key->u.bytes.len,
             (const char *)kv->u.kv.key->u.bytes.data, out,
             (long long)(elem->windows[0].kind == BEAM_WINDOW_INTERVAL ? elem->windows[0].start_ms : -1));
  }
  return BEAM_OK;
}
static const beam_dofn_def record = {"test_record", 0, NULL, NULL, record_process, NULL, NULL};

static beam_status fail_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state, (void)ctx;
  if (elem->value->u.i64 == 3) return beam_error_set(err, BEAM_ERR_USER, "value 3 is not allowed");
  return BEAM_OK;
}
static const beam_dofn_def failing = {"test_fail", 0, NULL, NULL, fail_process, NULL, NULL};

/* Emits the side input's size next to each element. */
static beam_status side_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  const beam_value_list *lookup;
  beam_status s = beam_dofn_side_input(ctx, "lookup", &lookup, err);
  if (s != BEAM_OK) return s;
  beam_value key = beam_value_string("side", 4);
  beam_value size = beam_value_int64((int64_t)lookup->len * 100 + elem->value->u.i64);
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&key, &size}};
  return beam_dofn_emit(ctx, 0, &kv, err);
}
static const beam_dofn_def side = {"test_side", 0, NULL, NULL, side_process, NULL, NULL};


/* sum_int64 that counts its merges, extracts and the adds made after an extract: a lifted
 * combine adds every value before the GroupByKey (so before any extract) and merges a few
 * accumulators per key (none for a key's lone accumulator); an unlifted one adds the values
 * of its second key after extracting its first. */
static int merges, extracts, adds_after_extract;
static beam_status csum_create(void *state, beam_arena *a, beam_value *acc, beam_error *err) {
  (void)state, (void)a, (void)err;
  *acc = beam_value_int64(0);
  return BEAM_OK;
}
static beam_status csum_add(void *state, beam_arena *a, beam_value *acc, const beam_value *in, beam_error *err) {
  (void)state, (void)a, (void)err;
  if (__atomic_load_n(&extracts, __ATOMIC_RELAXED)) __atomic_add_fetch(&adds_after_extract, 1, __ATOMIC_RELAXED);
  acc->u.i64 += in->u.i64;
  return BEAM_OK;
}
static beam_status csum_merge(void *state, beam_arena *a, beam_value *acc, const beam_value *other, beam_error *err) {
  (void)state, (void)a, (void)err;
  __atomic_add_fetch(&merges, 1, __ATOMIC_RELAXED);
  acc->u.i64 += other->u.i64;
  return BEAM_OK;
}
static beam_status csum_extract(void *state, beam_arena *a, const beam_value *acc, beam_value *out, beam_error *err) {
  (void)state, (void)a, (void)err;
  __atomic_add_fetch(&extracts, 1, __ATOMIC_RELAXED);
  *out = *acc;
  return BEAM_OK;
}
static const beam_combinefn_def counting_sum = {
    .name = "test_counting_sum", .create = csum_create, .add = csum_add, .merge = csum_merge, .extract = csum_extract};

static int setup_registry(void **state) {
  (void)state;
  beam_dofn_register(&numbers);
  beam_dofn_register(&split);
  beam_dofn_register(&record);
  beam_dofn_register(&failing);
  beam_dofn_register(&side);
  beam_combinefn_register(&counting_sum);
  n_seen = 0;
  return 0;
}

static int seen_has(const char *s) {
  for (int i = 0; i < n_seen; i++)
    if (strcmp(seen[i], s) == 0) return 1;
  return 0;
}

static void group_and_combine_per_parity(void **state) {
  (void)state;
  n_seen = 0;
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *imp = beam_impulse(p, "Impulse");
  beam_pcollection *nums = beam_pardo1(p, "Numbers", imp, "test_numbers", "{\"n\": 10}", beam_coder_spec_varint(p));
  beam_coder_spec *kv = beam_coder_spec_kv(p, beam_coder_spec_string(p), beam_coder_spec_varint(p));
  const char *tags[] = {"evens", "odds"};
  beam_coder_spec *coders[] = {kv, kv};
  beam_pcollection *outs[2];
  beam_pardo_spec spec = {.dofn = "test_split", .n_outputs = 2, .output_tags = tags, .output_coders = coders};
  assert_int_equal(beam_pardo(p, "Split", nums, &spec, outs), BEAM_OK);
  beam_pcollection *both = beam_flatten(p, "Both", outs, 2);
  beam_pcollection *sums = beam_combine_per_key(p, "Sum", both, "sum_int64", NULL, beam_coder_spec_varint(p),
                                                beam_coder_spec_varint(p));
  beam_pardo1(p, "RecordSums", sums, "test_record", NULL, kv);
  beam_pcollection *grouped = beam_group_by_key(p, "Group", outs[1]);
  beam_pardo1(p, "RecordGroups", grouped, "test_record", NULL, kv);
  assert_null(beam_pipeline_error(p));

  beam_run_result r;
  beam_error err = {0};
  beam_status s = beam_pipeline_run_local(p, NULL, &r, &err);
  if (s != BEAM_OK) fail_msg("%s", err.message);
  assert_true(seen_has("even=20@-1"));
  assert_true(seen_has("odd=25@-1"));
  assert_true(seen_has("odd=5@-1")); /* the GBK of odds: 5 values */
  assert_int_equal(n_seen, 3);
  assert_int_equal(beam_run_result_counter(&r, "Split", "evens"), 5);
  assert_int_equal(beam_run_result_counter(&r, NULL, "odds"), 5);
  beam_run_result_free(&r);
  beam_pipeline_free(p);
}

static void fixed_windows_group_per_window(void **state) {
  (void)state;
  n_seen = 0;
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *nums = beam_pardo1(p, "Numbers", beam_impulse(p, "Impulse"), "test_numbers", "{\"n\": 10}",
                                       beam_coder_spec_varint(p));
  beam_pcollection *windowed = beam_window_into_fixed(p, "Window", nums, 4000, 0);
  beam_coder_spec *kv = beam_coder_spec_kv(p, beam_coder_spec_string(p), beam_coder_spec_varint(p));
  const char *tags[] = {"evens", "odds"};
  beam_coder_spec *coders[] = {kv, kv};
  beam_pcollection *outs[2];
  beam_pardo_spec spec = {.dofn = "test_split", .n_outputs = 2, .output_tags = tags, .output_coders = coders};
  beam_pardo(p, "Split", windowed, &spec, outs);
  beam_pcollection *sums = beam_combine_per_key(p, "Count", outs[0], "count", NULL, beam_coder_spec_varint(p),
                                                beam_coder_spec_varint(p));
  beam_pardo1(p, "Record", sums, "test_record", NULL, kv);
  beam_run_result r;
  beam_error err = {0};
  if (beam_pipeline_run_local(p, NULL, &r, &err) != BEAM_OK) fail_msg("%s", err.message);
  /* evens 0,2 in [0,4s); 4,6 in [4s,8s); 8 in [8s,12s) */
  assert_true(seen_has("even=2@0"));
  assert_true(seen_has("even=2@4000"));
  assert_true(seen_has("even=1@8000"));
  assert_int_equal(n_seen, 3);
  beam_run_result_free(&r);
  beam_pipeline_free(p);
}

static void side_input_is_complete_when_read(void **state) {
  (void)state;
  n_seen = 0;
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *imp = beam_impulse(p, "Impulse");
  beam_pcollection *main_in = beam_pardo1(p, "Main", imp, "test_numbers", "{\"n\": 2}", beam_coder_spec_varint(p));
  beam_pcollection *lookup = beam_pardo1(p, "Lookup", imp, "test_numbers", "{\"n\": 7}", beam_coder_spec_varint(p));
  beam_coder_spec *kv = beam_coder_spec_kv(p, beam_coder_spec_string(p), beam_coder_spec_varint(p));
  beam_side_input_spec si = {"lookup", lookup, BEAM_SIDE_INPUT_ITERABLE};
  beam_pcollection *out;
  beam_pardo_spec spec = {.dofn = "test_side", .n_outputs = 1, .output_coders = &kv, .side_inputs = &si, .n_side_inputs = 1};
  assert_int_equal(beam_pardo(p, "WithSide", main_in, &spec, &out), BEAM_OK);
  beam_pardo1(p, "Record", out, "test_record", NULL, kv);
  beam_run_result r;
  beam_error err = {0};
  if (beam_pipeline_run_local(p, NULL, &r, &err) != BEAM_OK) fail_msg("%s", err.message);
  assert_true(seen_has("side=700@-1"));
  assert_true(seen_has("side=701@-1"));
  beam_run_result_free(&r);
  beam_pipeline_free(p);
}

static void dofn_error_fails_the_run_with_its_message(void **state) {
  (void)state;
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *nums = beam_pardo1(p, "Numbers", beam_impulse(p, "Impulse"), "test_numbers", "{\"n\": 5}",
                                       beam_coder_spec_varint(p));
  beam_pardo1(p, "Fail", nums, "test_fail", NULL, beam_coder_spec_varint(p));
  beam_run_result r;
  beam_error err = {0};
  assert_int_equal(beam_pipeline_run_local(p, NULL, &r, &err), BEAM_ERR_USER);
  assert_non_null(strstr(err.message, "value 3 is not allowed"));
  beam_run_result_free(&r);
  beam_pipeline_free(p);
}

/* "NAMESPACE:NAME" names a counter in a namespace; a bare name is in beam-c's. */
static void counter_names_split_into_namespace_and_name(void **state) {
  (void)state;
  char ns[16];
  assert_string_equal(beam_counter_split_namespace("bench:kept", ns, sizeof ns), "kept");
  assert_string_equal(ns, "bench");
  assert_string_equal(beam_counter_split_namespace("rows", ns, sizeof ns), "rows");
  assert_string_equal(ns, BEAM_COUNTER_DEFAULT_NAMESPACE);
  assert_string_equal(beam_counter_split_namespace(":odd", ns, sizeof ns), "odd");
  assert_string_equal(ns, BEAM_COUNTER_DEFAULT_NAMESPACE);
  assert_string_equal(beam_counter_split_namespace("a:b:c", ns, sizeof ns), "b:c");
  assert_string_equal(ns, "a");
}

static void construction_errors_are_sticky_and_named(void **state) {
  (void)state;
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *imp = beam_impulse(p, "Impulse");
  assert_null(beam_impulse(p, "Impulse"));
  assert_non_null(beam_pipeline_error(p));
  assert_non_null(strstr(beam_pipeline_error(p)->message, "duplicate transform name \"Impulse\""));
  assert_null(beam_group_by_key(p, "G", imp));
  beam_pipeline_free(p);

  p = beam_pipeline_new();
  imp = beam_impulse(p, "Impulse");
  assert_null(beam_group_by_key(p, "G", imp)); /* bytes, not KV */
  assert_non_null(strstr(beam_pipeline_error(p)->message, "must have a KV coder"));
  beam_pipeline_free(p);

  p = beam_pipeline_new();
  beam_pardo1(p, "Missing", beam_impulse(p, "Impulse"), "no_such_dofn", NULL, beam_coder_spec_bytes(p));
  beam_run_result r;
  beam_error err = {0};
  assert_int_equal(beam_pipeline_run_local(p, NULL, &r, &err), BEAM_ERR_NOT_FOUND);
  assert_non_null(strstr(err.message, "no DoFn registered as \"no_such_dofn\""));
  beam_run_result_free(&r);
  beam_pipeline_free(p);
}

/* The local runner lifts a combine: 100000 values under two keys reach the merge as a few
 * accumulators (one per precombining bundle), not as two groups of 50000 values. */
static void combine_is_lifted_before_the_shuffle(void **state) {
  (void)state;
  n_seen = 0;
  merges = extracts = adds_after_extract = 0;
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *nums =
      beam_pardo1(p, "Numbers", beam_impulse(p, "Impulse"), "test_numbers", "{\"n\": 100000}", beam_coder_spec_varint(p));
  beam_coder_spec *kv = beam_coder_spec_kv(p, beam_coder_spec_string(p), beam_coder_spec_varint(p));
  const char *tags[] = {"evens", "odds"};
  beam_coder_spec *coders[] = {kv, kv};
  beam_pcollection *outs[2];
  beam_pardo_spec spec = {.dofn = "test_split", .n_outputs = 2, .output_tags = tags, .output_coders = coders};
  beam_pardo(p, "Split", nums, &spec, outs);
  beam_pcollection *both = beam_flatten(p, "Both", outs, 2);
  beam_pcollection *sums = beam_combine_per_key(p, "Sum", both, "test_counting_sum", NULL, beam_coder_spec_varint(p),
                                                beam_coder_spec_varint(p));
  beam_pardo1(p, "Record", sums, "test_record", NULL, kv);
  beam_run_result r;
  beam_error err = {0};
  json_t *o = json_pack("{s:i}", "parallelism", 2);
  if (beam_pipeline_run_local(p, o, &r, &err) != BEAM_OK) fail_msg("%s", err.message);
  json_decref(o);
  assert_true(seen_has("even=2499950000@-1"));
  assert_true(seen_has("odd=2500000000@-1"));
  assert_int_equal(n_seen, 2);
  assert_int_equal(extracts, 2);
  assert_int_equal(adds_after_extract, 0);
  assert_true(merges <= 64);
  beam_run_result_free(&r);
  beam_pipeline_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(group_and_combine_per_parity, setup_registry),
      cmocka_unit_test_setup(fixed_windows_group_per_window, setup_registry),
      cmocka_unit_test_setup(combine_is_lifted_before_the_shuffle, setup_registry),
      cmocka_unit_test_setup(side_input_is_complete_when_read, setup_registry),
      cmocka_unit_test_setup(dofn_error_fails_the_run_with_its_message, setup_registry),
      cmocka_unit_test_setup(construction_errors_are_sticky_and_named, setup_registry),
      cmocka_unit_test(counter_names_split_into_namespace_and_name),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
