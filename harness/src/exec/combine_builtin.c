/* Built-in CombineFns and the DoFn that applies a CombineFn to grouped values (the expansion
 * of combine_per_key for runners that do not lift combiners). */
#include <stdlib.h>
#include <string.h>

#include "builtin_fns.h"

/* --- sum_int64 / count: varint accumulators ---------------------------------------------- */

static beam_status int_create(void *state, beam_arena *a, beam_value *acc, beam_error *err) {
  (void)state, (void)a, (void)err;
  *acc = beam_value_int64(0);
  return BEAM_OK;
}

static beam_status sum_add(void *state, beam_arena *a, beam_value *acc, const beam_value *in, beam_error *err) {
  (void)state, (void)a;
  if (in->kind != BEAM_VALUE_INT64) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "sum_int64: input is not an integer");
  acc->u.i64 += in->u.i64;
  return BEAM_OK;
}

static beam_status count_add(void *state, beam_arena *a, beam_value *acc, const beam_value *in, beam_error *err) {
  (void)state, (void)a, (void)in, (void)err;
  acc->u.i64 += 1;
  return BEAM_OK;
}

static beam_status int_merge(void *state, beam_arena *a, beam_value *acc, const beam_value *other, beam_error *err) {
  (void)state, (void)a;
  if (other->kind != BEAM_VALUE_INT64) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "accumulator is not an integer");
  acc->u.i64 += other->u.i64;
  return BEAM_OK;
}

static beam_status int_extract(void *state, beam_arena *a, const beam_value *acc, beam_value *out, beam_error *err) {
  (void)state, (void)a, (void)err;
  *out = *acc;
  return BEAM_OK;
}

static const beam_combinefn_def sum_int64 = {
    .name = "sum_int64", .create = int_create, .add = sum_add, .merge = int_merge, .extract = int_extract};
static const beam_combinefn_def count = {
    .name = "count", .create = int_create, .add = count_add, .merge = int_merge, .extract = int_extract};

const beam_combinefn_def *beam_builtin_combinefn(const char *name) {
  if (strcmp(name, sum_int64.name) == 0) return &sum_int64;
  if (strcmp(name, count.name) == 0) return &count;
  return NULL;
}

/* --- combine grouped values: KV<K, iterable<V>> -> KV<K, extract(fold(add, V...))> -------- */

typedef struct grouped_state {
  const beam_combinefn_def *fn;
  void *fn_state;
} grouped_state;

static beam_status grouped_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  grouped_state *st = state;
  const json_t *cfg = beam_dofn_config(ctx);
  const char *name = json_string_value(json_object_get(cfg, "combinefn"));
  if (!name) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "combine: config has no \"combinefn\"");
  st->fn = beam_combinefn_lookup(name);
  if (!st->fn) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "no CombineFn registered as \"%s\"", name);
  st->fn_state = calloc(1, st->fn->state_size ? st->fn->state_size : 1);
  if (!st->fn_state) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (!st->fn->setup) return BEAM_OK;
  json_error_t jerr;
  const char *text = json_string_value(json_object_get(cfg, "config"));
  json_t *fn_cfg = text ? json_loads(text, 0, &jerr) : json_object();
  beam_status s = st->fn->setup(st->fn_state, fn_cfg, err);
  json_decref(fn_cfg);
  return s;
}

static beam_status grouped_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                   beam_error *err) {
  grouped_state *st = state;
  const beam_value *kv = elem->value;
  if (kv->kind != BEAM_VALUE_KV || kv->u.kv.value->kind != BEAM_VALUE_LIST)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "combine: input is not KV<key, iterable>");
  beam_arena *a = beam_dofn_scratch(ctx);
  beam_value acc, out;
  beam_status s = st->fn->create(st->fn_state, a, &acc, err);
  const beam_value_list *values = &kv->u.kv.value->u.list;
  for (size_t i = 0; s == BEAM_OK && i < values->len; i++) s = st->fn->add(st->fn_state, a, &acc, &values->items[i], err);
  if (s == BEAM_OK) s = st->fn->extract(st->fn_state, a, &acc, &out, err);
  if (s != BEAM_OK) return s;
  beam_value result = {.kind = BEAM_VALUE_KV, .u.kv = {kv->u.kv.key, &out}};
  return beam_dofn_emit(ctx, 0, &result, err);
}

static void grouped_teardown(void *state) {
  grouped_state *st = state;
  if (st->fn && st->fn->teardown && st->fn_state) st->fn->teardown(st->fn_state);
  free(st->fn_state);
}

static const beam_dofn_def combine_grouped_values = {
    .name = "beam_combine_grouped_values",
    .state_size = sizeof(grouped_state),
    .setup = grouped_setup,
    .process = grouped_process,
    .teardown = grouped_teardown,
};

const beam_dofn_def *beam_builtin_dofn(const char *name) {
  if (strcmp(name, combine_grouped_values.name) == 0) return &combine_grouped_values;
  return NULL;
}
