/* The phases of a lifted combine_per_key after the runner's GroupByKey:
 * merge_accumulators (KV<K, iterable<Acc>> -> KV<K, Acc>) and extract_outputs
 * (KV<K, Acc> -> KV<K, Out>). Precombine groups in memory, so it lives with GroupByKey
 * in exec_gbk.c. */
#include <stdlib.h>
#include <string.h>

#include "beam/urns.h"
#include "exec_combine.h"
#include "exec_nodes.h"

beam_status beam_exec_combinefn_load(const PIPE(PTransform) *t, beam_exec_combinefn *fn, beam_error *err) {
  memset(fn, 0, sizeof *fn);
  PIPE(CombinePayload) *cp =
      t->spec ? PIPE_FN(combine_payload__unpack)(NULL, t->spec->payload.len, t->spec->payload.data) : NULL;
  if (!cp || !cp->combine_fn) {
    if (cp) PIPE_FN(combine_payload__free_unpacked)(cp, NULL);
    return beam_error_set(err, BEAM_ERR_MALFORMED, "payload is not a CombinePayload");
  }
  beam_status s = BEAM_OK;
  json_error_t jerr;
  json_t *payload = NULL;
  if (strcmp(cp->combine_fn->urn, BEAM_URN_C_COMBINEFN) != 0)
    s = beam_error_set(err, BEAM_ERR_UNSUPPORTED, "CombineFn urn \"%s\" is not %s", cp->combine_fn->urn,
                       BEAM_URN_C_COMBINEFN);
  else if (!(payload = json_loadb((const char *)cp->combine_fn->payload.data, cp->combine_fn->payload.len, 0, &jerr)))
    s = beam_error_set(err, BEAM_ERR_MALFORMED, "CombineFn payload: %s", jerr.text);
  const char *name = payload ? json_string_value(json_object_get(payload, "fn")) : NULL;
  if (s == BEAM_OK && !name) s = beam_error_set(err, BEAM_ERR_MALFORMED, "CombineFn payload has no \"fn\"");
  if (s == BEAM_OK && !(fn->def = beam_combinefn_lookup(name)))
    s = beam_error_set(err, BEAM_ERR_NOT_FOUND, "no CombineFn registered as \"%s\" in this binary", name);
  if (s == BEAM_OK && !(fn->state = calloc(1, fn->def->state_size ? fn->def->state_size : 1)))
    s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (s == BEAM_OK && fn->def->setup) {
    json_t *cfg = json_object_get(payload, "config");
    s = fn->def->setup(fn->state, cfg ? cfg : json_object(), err);
  }
  json_decref(payload);
  PIPE_FN(combine_payload__free_unpacked)(cp, NULL);
  if (s != BEAM_OK) beam_exec_combinefn_unload(fn);
  return s;
}

void beam_exec_combinefn_unload(beam_exec_combinefn *fn) {
  if (fn->def && fn->def->teardown && fn->state) fn->def->teardown(fn->state);
  free(fn->state);
  memset(fn, 0, sizeof *fn);
}

typedef struct combine_phase {
  beam_exec_combinefn fn;
  beam_arena arena; /* one element at a time */
} combine_phase;

static beam_status emit_kv(beam_exec_node *n, const beam_windowed_value *in, beam_value *key, beam_value *value,
                           beam_error *err) {
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {key, value}};
  beam_windowed_value out = *in;
  out.value = &kv;
  return beam_exec_emit(&n->outputs[0], &out, err);
}

static beam_status merge_process(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  combine_phase *cp = n->impl;
  const beam_value *kv = wv->value;
  if (kv->kind != BEAM_VALUE_KV || kv->u.kv.value->kind != BEAM_VALUE_LIST)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: input is not KV<key, iterable<accumulator>>", n->transform_id);
  const beam_value_list *accs = &kv->u.kv.value->u.list;
  /* One accumulator is its own merge (Beam's contract for MergeAccumulators): a key that met
   * no other value in the precombine, the most common group of a dedupe, skips create and
   * merge. */
  if (accs->len == 1) return emit_kv(n, wv, kv->u.kv.key, &accs->items[0], err);
  beam_value acc;
  beam_status s = cp->fn.def->create(cp->fn.state, &cp->arena, &acc, err);
  for (size_t i = 0; s == BEAM_OK && i < accs->len; i++)
    s = cp->fn.def->merge(cp->fn.state, &cp->arena, &acc, &accs->items[i], err);
  if (s == BEAM_OK) s = emit_kv(n, wv, kv->u.kv.key, &acc, err);
  beam_arena_reset(&cp->arena);
  return s;
}

static beam_status extract_process(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  combine_phase *cp = n->impl;
  const beam_value *kv = wv->value;
  if (kv->kind != BEAM_VALUE_KV)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: input is not KV<key, accumulator>", n->transform_id);
  beam_value out;
  beam_status s = cp->fn.def->extract(cp->fn.state, &cp->arena, kv->u.kv.value, &out, err);
  if (s == BEAM_OK) s = emit_kv(n, wv, kv->u.kv.key, &out, err);
  beam_arena_reset(&cp->arena);
  return s;
}

static void phase_teardown(beam_exec_node *n) {
  combine_phase *cp = n->impl;
  if (!cp) return;
  beam_exec_combinefn_unload(&cp->fn);
  beam_arena_free(&cp->arena);
  free(cp);
  n->impl = NULL;
}

static const beam_exec_ops merge_ops = {
    .kind = "merge_accumulators",
    .process = merge_process,
    .teardown = phase_teardown,
};
static const beam_exec_ops extract_ops = {
    .kind = "extract_outputs",
    .process = extract_process,
    .teardown = phase_teardown,
};

static beam_status phase_create(beam_exec_node *node, const PIPE(PTransform) *t, const beam_exec_ops *ops,
                                beam_error *err) {
  combine_phase *cp = calloc(1, sizeof *cp);
  if (!cp) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  node->impl = cp;
  node->ops = ops;
  if (node->n_outputs != 1) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "a combine phase has one output");
  return beam_exec_combinefn_load(t, &cp->fn, err);
}

static beam_status merge_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t,
                                beam_error *err) {
  (void)g;
  return phase_create(node, t, &merge_ops, err);
}

static beam_status extract_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t,
                                  beam_error *err) {
  (void)g;
  return phase_create(node, t, &extract_ops, err);
}

const beam_exec_node_factory beam_exec_merge_accumulators_factory = {
    .urn = BEAM_URN_COMBINE_MERGE,
    .create = merge_create,
};
const beam_exec_node_factory beam_exec_extract_outputs_factory = {
    .urn = BEAM_URN_COMBINE_EXTRACT,
    .create = extract_create,
};
