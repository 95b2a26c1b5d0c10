/* Pipelines with bag user state and multimap side inputs, shared by the local runner's unit
 * test (tests/unit/test_user_state.c) and the runner check (tests/peers/state_checks.c), so
 * both run exactly the same DoFns and compare against the same expected counters.
 *
 * Running count: numbers 0..n-1 (timestamp i ms) are keyed "k<i % keys>" and a stateful DoFn
 * keeps, per key and window, a bag "count" holding one running count (read, clear, append)
 * and a bag "seen" holding every value so far (append only). Counters:
 *   running_sum    sum of the running counts        = groups * c(c+1)/2
 *   groups_done    (key, window) reaching complete_at = groups
 *   final_seen_sum sum of "seen" + the value, when a group completes = n(n-1)/2
 *   bag_mismatch   reads not matching the count      = 0
 * Multimap: keys 0..lookups-1 are looked up as "key-<k>" in a KV<string, varint> side input
 * holding, for j in 0..2*lookups-1 with (j % lookups) % 3 != 0, "key-<j % lookups>" -> j; each
 * key is looked up twice (repeat_mismatch counts differing answers = 0). */
#ifndef BEAM_TEST_STATE_PIPELINES_H
#define BEAM_TEST_STATE_PIPELINES_H

#include <stdio.h>
#include <string.h>

#include "beam/dofn.h"
#include "beam/pipeline.h"

typedef struct state_count_config {
  int64_t n;           /* elements */
  int64_t keys;        /* distinct keys */
  int64_t window_ms;   /* fixed windows of this size, or 0 for the global window */
  int64_t complete_at; /* elements per (key, window) */
} state_count_config;

typedef struct state_expected {
  const char *name;
  int64_t value;
} state_expected;

/* Emits 0..config.n-1, value i at timestamp i ms. */
static beam_status stp_numbers_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                       beam_error *err) {
  (void)elem;
  int64_t n = *(int64_t *)state;
  for (int64_t i = 0; i < n; i++) {
    beam_value v = beam_value_int64(i);
    beam_status s = beam_dofn_emit_at(ctx, 0, &v, i, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}
static beam_status stp_int_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  const json_t *cfg = beam_dofn_config(ctx);
  *(int64_t *)state = json_integer_value(json_object_get(cfg, "n"));
  return BEAM_OK;
}

/* i -> KV("k<i % n>", i) */
static beam_status stp_key_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  char key[32];
  int len = snprintf(key, sizeof key, "k%lld", (long long)(elem->value->u.i64 % *(int64_t *)state));
  beam_value k = beam_value_string(key, (size_t)len);
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&k, elem->value}};
  return beam_dofn_emit(ctx, 0, &kv, err);
}

static beam_status stp_count_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                     beam_error *err) {
  int64_t complete_at = *(int64_t *)state;
  const beam_value_list *count = NULL, *seen = NULL;
  beam_status s = beam_dofn_state_bag_read(ctx, "count", &count, err);
  if (s == BEAM_OK) s = beam_dofn_state_bag_read(ctx, "seen", &seen, err);
  if (s != BEAM_OK) return s;
  int64_t c = (count->len ? count->items[0].u.i64 : 0) + 1;
  int64_t value = elem->value->u.kv.value->u.i64;
  if (count->len > 1 || (int64_t)seen->len != c - 1) s = beam_dofn_counter_add_named(ctx, "bag_mismatch", 1, err);
  beam_value next = beam_value_int64(c);
  if (s == BEAM_OK) s = beam_dofn_state_bag_clear(ctx, "count", err);
  if (s == BEAM_OK) s = beam_dofn_state_bag_append(ctx, "count", &next, err);
  if (s == BEAM_OK) s = beam_dofn_state_bag_append(ctx, "seen", elem->value->u.kv.value, err);
  if (s == BEAM_OK) s = beam_dofn_counter_add_named(ctx, "running_sum", c, err);
  if (s == BEAM_OK && c == complete_at) {
    int64_t sum = value;
    for (size_t i = 0; i < seen->len; i++) sum += seen->items[i].u.i64;
    s = beam_dofn_counter_add_named(ctx, "groups_done", 1, err);
    if (s == BEAM_OK) s = beam_dofn_counter_add_named(ctx, "final_seen_sum", sum, err);
  }
  return s;
}
/* Counts the stateful ParDo's bundles (reported, not checked: runners bundle as they like). */
static beam_status stp_count_start(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  (void)state;
  return beam_dofn_counter_add_named(ctx, "bundles", 1, err);
}
static beam_status stp_count_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  *(int64_t *)state = json_integer_value(json_object_get(beam_dofn_config(ctx), "complete_at"));
  return BEAM_OK;
}

/* k -> lookup "key-<k>": counters matched_keys, matched_values, matched_sum, missing. */
static beam_status stp_lookup_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                      beam_error *err) {
  (void)state;
  char key[32];
  int len = snprintf(key, sizeof key, "key-%lld", (long long)elem->value->u.i64);
  beam_value k = beam_value_string(key, (size_t)len);
  const beam_value_list *values = NULL;
  beam_status s = beam_dofn_side_input_lookup(ctx, "table", &k, &values, err);
  if (s != BEAM_OK) return s;
  /* Asking again gives the same values (from the bundle's lookup cache). */
  const beam_value_list *again = NULL;
  s = beam_dofn_side_input_lookup(ctx, "table", &k, &again, err);
  if (s == BEAM_OK && (again->len != values->len || (values->len && again->items[0].u.i64 != values->items[0].u.i64)))
    s = beam_dofn_counter_add_named(ctx, "repeat_mismatch", 1, err);
  if (s != BEAM_OK) return s;
  if (!values->len) return beam_dofn_counter_add_named(ctx, "missing", 1, err);
  int64_t sum = 0;
  for (size_t i = 0; i < values->len; i++) sum += values->items[i].u.i64;
  s = beam_dofn_counter_add_named(ctx, "matched_keys", 1, err);
  if (s == BEAM_OK) s = beam_dofn_counter_add_named(ctx, "matched_values", (int64_t)values->len, err);
  if (s == BEAM_OK) s = beam_dofn_counter_add_named(ctx, "matched_sum", sum, err);
  return s;
}

/* j -> KV("key-<j % n>", j), skipping keys divisible by 3. */
static beam_status stp_table_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  int64_t k = elem->value->u.i64 % *(int64_t *)state;
  if (k % 3 == 0) return BEAM_OK;
  char key[32];
  int len = snprintf(key, sizeof key, "key-%lld", (long long)k);
  beam_value kk = beam_value_string(key, (size_t)len);
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&kk, elem->value}};
  return beam_dofn_emit(ctx, 0, &kv, err);
}

static const beam_dofn_def stp_numbers = {"stp_numbers", sizeof(int64_t), stp_int_setup, NULL, stp_numbers_process, NULL, NULL};
static const beam_dofn_def stp_key = {"stp_key", sizeof(int64_t), stp_int_setup, NULL, stp_key_process, NULL, NULL};
static const beam_dofn_def stp_count = {"stp_count", sizeof(int64_t), stp_count_setup, stp_count_start, stp_count_process, NULL, NULL};
static const beam_dofn_def stp_lookup = {"stp_lookup", 0, NULL, NULL, stp_lookup_process, NULL, NULL};
static const beam_dofn_def stp_table = {"stp_table", sizeof(int64_t), stp_int_setup, NULL, stp_table_process, NULL, NULL};

static void stp_register(void) {
  beam_dofn_register(&stp_numbers);
  beam_dofn_register(&stp_key);
  beam_dofn_register(&stp_count);
  beam_dofn_register(&stp_lookup);
  beam_dofn_register(&stp_table);
}

static beam_pcollection *stp_numbers_from(beam_pipeline *p, const char *name, int64_t n) {
  char cfg[64], impulse[96];
  snprintf(cfg, sizeof cfg, "{\"n\": %lld}", (long long)n);
  snprintf(impulse, sizeof impulse, "%s/Impulse", name);
  return beam_pardo1(p, name, beam_impulse(p, impulse), "stp_numbers", cfg, beam_coder_spec_varint(p));
}

static beam_pipeline *stp_running_count_pipeline(const state_count_config *c) {
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *nums = stp_numbers_from(p, "Numbers", c->n);
  if (c->window_ms) nums = beam_window_into_fixed(p, "Window", nums, c->window_ms, 0);
  char cfg[64];
  snprintf(cfg, sizeof cfg, "{\"n\": %lld}", (long long)c->keys);
  beam_coder_spec *kv = beam_coder_spec_kv(p, beam_coder_spec_string(p), beam_coder_spec_varint(p));
  beam_pcollection *keyed = beam_pardo1(p, "Key", nums, "stp_key", cfg, kv);
  beam_state_spec states[] = {{"count", beam_coder_spec_varint(p)}, {"seen", beam_coder_spec_varint(p)}};
  snprintf(cfg, sizeof cfg, "{\"complete_at\": %lld}", (long long)c->complete_at);
  beam_pardo_spec spec = {.dofn = "stp_count", .config_json = cfg, .n_outputs = 1, .output_coders = &kv,
                          .states = states, .n_states = 2};
  beam_pcollection *out = NULL;
  beam_pardo(p, "RunningCount", keyed, &spec, &out);
  return p;
}

static size_t stp_running_count_expected(const state_count_config *c, state_expected *out) {
  int64_t groups = c->n / c->complete_at, ca = c->complete_at;
  out[0] = (state_expected){"running_sum", groups * ca * (ca + 1) / 2};
  out[1] = (state_expected){"groups_done", groups};
  out[2] = (state_expected){"final_seen_sum", c->n * (c->n - 1) / 2};
  out[3] = (state_expected){"bag_mismatch", 0};
  return 4;
}

static beam_pipeline *stp_multimap_pipeline(int64_t lookups) {
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *keys = stp_numbers_from(p, "Keys", lookups);
  char cfg[64];
  snprintf(cfg, sizeof cfg, "{\"n\": %lld}", (long long)lookups);
  beam_coder_spec *kv = beam_coder_spec_kv(p, beam_coder_spec_string(p), beam_coder_spec_varint(p));
  beam_pcollection *table = beam_pardo1(p, "Table", stp_numbers_from(p, "TableRows", 2 * lookups), "stp_table", cfg, kv);
  beam_side_input_spec si = {"table", table, BEAM_SIDE_INPUT_MULTIMAP};
  beam_coder_spec *out_coder = beam_coder_spec_varint(p);
  beam_pardo_spec spec = {.dofn = "stp_lookup", .n_outputs = 1, .output_coders = &out_coder, .side_inputs = &si,
                          .n_side_inputs = 1};
  beam_pcollection *out = NULL;
  beam_pardo(p, "Lookup", keys, &spec, &out);
  return p;
}

static size_t stp_multimap_expected(int64_t lookups, state_expected *out) {
  int64_t keys = 0, sum = 0;
  for (int64_t k = 0; k < lookups; k++)
    if (k % 3) keys++, sum += k + (k + lookups);
  out[0] = (state_expected){"matched_keys", keys};
  out[1] = (state_expected){"matched_values", 2 * keys};
  out[2] = (state_expected){"matched_sum", sum};
  out[3] = (state_expected){"missing", lookups - keys};
  out[4] = (state_expected){"repeat_mismatch", 0};
  return 5;
}

#endif
