/* The ParDo node: runs a registered C DoFn (urn beam:dofn:c:v1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/dofn.h"
#include "beam/urns.h"
#include "exec_pardo.h"

/* --- the context API DoFns call --------------------------------------------------------- */

const json_t *beam_dofn_config(const beam_dofn_setup_ctx *ctx) { return ctx->pn->config; }
const json_t *beam_dofn_pipeline_options(const beam_dofn_setup_ctx *ctx) {
  static json_t *empty;
  if (ctx->pn->node->graph->options) return ctx->pn->node->graph->options;
  if (!empty) empty = json_object();
  return empty;
}
const char *beam_dofn_transform_id(const beam_dofn_setup_ctx *ctx) { return ctx->pn->node->transform_id; }

int beam_dofn_output_index(const beam_dofn_setup_ctx *ctx, const char *tag) {
  const json_t *outs = json_object_get(ctx->pn->payload, "outputs");
  if (!tag || !*tag) tag = "main";
  for (size_t i = 0; i < json_array_size(outs); i++)
    if (strcmp(json_string_value(json_array_get(outs, i)), tag) == 0) return (int)i;
  return -1;
}

const char *beam_counter_split_namespace(const char *qualified, char *ns, size_t ns_cap) {
  const char *colon = strchr(qualified, ':');
  size_t n = colon ? (size_t)(colon - qualified) : 0;
  if (!colon || n == 0) {
    snprintf(ns, ns_cap, "%s", BEAM_COUNTER_DEFAULT_NAMESPACE);
    return colon ? colon + 1 : qualified;
  }
  snprintf(ns, ns_cap, "%.*s", (int)n, qualified);
  return colon + 1;
}

int beam_dofn_declare_counter(beam_dofn_setup_ctx *ctx, const char *name) {
  pardo_node *pn = ctx->pn;
  for (int i = 0; i < pn->n_counters; i++)
    if (strcmp(pn->counter_names[i], name) == 0) return i;
  if (pn->n_counters == MAX_COUNTERS) return -1;
  if (pn->n_counters == pn->cap_counters) {
    int cap = pn->cap_counters ? 2 * pn->cap_counters : 16;
    const char **names = realloc(pn->counter_names, (size_t)cap * sizeof *names);
    if (names) pn->counter_names = names;
    int64_t *values = names ? realloc(pn->counter_values, (size_t)cap * sizeof *values) : NULL;
    if (!values) return -1;
    memset(values + pn->cap_counters, 0, (size_t)(cap - pn->cap_counters) * sizeof *values);
    pn->counter_values = values;
    pn->cap_counters = cap;
  }
  const char *copy = beam_arena_strdup(&pn->node->graph->arena, name);
  if (!copy) return -1;
  pn->counter_names[pn->n_counters] = copy;
  return pn->n_counters++;
}

beam_status beam_dofn_counter_add_named(beam_dofn_ctx *ctx, const char *name, int64_t delta, beam_error *err) {
  beam_dofn_setup_ctx setup = {ctx->pn};
  int id = beam_dofn_declare_counter(&setup, name);
  if (id < 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: more than %d counters (adding \"%s\")",
                          ctx->pn->node->transform_id, MAX_COUNTERS, name);
  ctx->pn->counter_values[id] += delta;
  return BEAM_OK;
}

void beam_dofn_counter_add(beam_dofn_ctx *ctx, int counter, int64_t delta) {
  if (counter >= 0 && counter < ctx->pn->n_counters) ctx->pn->counter_values[counter] += delta;
}

beam_arena *beam_dofn_scratch(beam_dofn_ctx *ctx) { return &ctx->pn->scratch; }
beam_arena *beam_dofn_bundle_arena(beam_dofn_ctx *ctx) { return &ctx->pn->bundle; }
const char *beam_dofn_bundle_id(const beam_dofn_ctx *ctx) { return ctx->pn->node->graph->bundle_id; }

beam_status beam_dofn_emit_windowed(beam_dofn_ctx *ctx, int output, const beam_windowed_value *wv,
                                    beam_error *err) {
  pardo_node *pn = ctx->pn;
  if (output < 0 || (size_t)output >= pn->n_declared_outputs)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: DoFn %s emitted to output %d, which does not exist",
                          pn->node->transform_id, pn->def->name, output);
  return beam_exec_emit(&pn->node->outputs[pn->output_slot[output]], wv, err);
}

beam_status beam_dofn_emit_at(beam_dofn_ctx *ctx, int output, const beam_value *value,
                              int64_t timestamp_ms, beam_error *err) {
  static beam_window global = {BEAM_WINDOW_GLOBAL, 0, 0, {NULL, 0}};
  beam_windowed_value wv = {(beam_value *)value, timestamp_ms, &global, 1, BEAM_PANE_NO_FIRING};
  if (ctx->current) {
    wv.windows = ctx->current->windows;
    wv.n_windows = ctx->current->n_windows;
  }
  return beam_dofn_emit_windowed(ctx, output, &wv, err);
}

beam_status beam_dofn_emit(beam_dofn_ctx *ctx, int output, const beam_value *value, beam_error *err) {
  int64_t ts = ctx->current ? ctx->current->timestamp_ms : BEAM_TIMESTAMP_MIN_MS;
  return beam_dofn_emit_at(ctx, output, value, ts, err);
}

beam_status beam_dofn_side_input(beam_dofn_ctx *ctx, const char *name, const beam_value_list **out,
                                 beam_error *err) {
  pardo_node *pn = ctx->pn;
  for (size_t i = 0; i < pn->n_side_inputs; i++) {
    side_input *si = &pn->side_inputs[i];
    if (strcmp(si->local_name, name) != 0) continue;
    if (si->multimap)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: side input \"%s\" is a multimap: use beam_dofn_side_input_lookup",
                            pn->node->transform_id, name);
    if (!si->values) {
      beam_side_input_source *src = &pn->node->graph->side_inputs;
      if (!src->get)
        return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "no side input source for \"%s\"", name);
      beam_status s = src->get(src->self, pn->node->transform_id, si->local_name, si->pcollection_id,
                               &pn->bundle, &si->values, err);
      if (s != BEAM_OK) return s;
    }
    *out = si->values;
    return BEAM_OK;
  }
  return beam_error_set(err, BEAM_ERR_NOT_FOUND, "%s: no side input named \"%s\"", pn->node->transform_id, name);
}

/* --- node lifecycle ---------------------------------------------------------------------- */

static beam_status pardo_call_one(pardo_node *pn, const beam_windowed_value *wv, beam_error *err) {
  pn->ctx.current = wv;
  beam_status s = pn->def->process(pn->state, &pn->ctx, wv, err);
  pn->ctx.current = NULL;
  beam_arena_reset(&pn->scratch);
  if (pn->n_states && s == BEAM_OK) s = beam_pardo_state_after_element(pn, err);
  return s;
}

/* State is per window: a stateful DoFn sees an element in several windows once per window. */
beam_status beam_pardo_call(pardo_node *pn, const beam_windowed_value *wv, beam_error *err) {
  if (!pn->n_states || wv->n_windows <= 1) return pardo_call_one(pn, wv, err);
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < wv->n_windows; i++) {
    beam_windowed_value one = *wv;
    one.windows = &wv->windows[i];
    one.n_windows = 1;
    s = pardo_call_one(pn, &one, err);
  }
  return s;
}

/* A splittable ParDo's element carries its restriction: the SDF step unwraps it. */
static beam_status pardo_call(pardo_node *pn, const beam_windowed_value *wv, beam_error *err) {
  return pn->sdf ? beam_sdf_process_element(pn, wv, err) : beam_pardo_call(pn, wv, err);
}

static beam_status defer(pardo_node *pn, const beam_windowed_value *wv, beam_error *err) {
  if (pn->n_deferred == pn->cap_deferred) {
    size_t cap = pn->cap_deferred ? pn->cap_deferred * 2 : 64;
    beam_windowed_value *grown = realloc(pn->deferred, cap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory buffering main input");
    pn->deferred = grown;
    pn->cap_deferred = cap;
  }
  beam_value wrapped = {.kind = BEAM_VALUE_WINDOWED, .u.windowed = *wv};
  beam_value *copy = beam_value_clone(&pn->bundle, &wrapped);
  if (!copy) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory buffering main input");
  pn->deferred[pn->n_deferred++] = copy->u.windowed;
  return BEAM_OK;
}

/* Locally, side inputs are complete once their producers finished: until then (always, for
 * a ParDo fused with its side inputs' producers) the main input is held. Checked once the
 * main input starts arriving during finish, then remembered for the bundle. */
static bool side_inputs_complete(pardo_node *pn) {
  if (pn->side_inputs_complete) return true;
  for (size_t i = 0; i < pn->n_side_inputs; i++)
    if (!beam_exec_graph_pcollection_complete(pn->node->graph, pn->side_inputs[i].pcollection_id)) return false;
  return pn->side_inputs_complete = true;
}

static beam_status pardo_process(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  pardo_node *pn = n->impl;
  if (pn->n_side_inputs && pn->node->graph->side_inputs_deferred && !side_inputs_complete(pn))
    return defer(pn, wv, err);
  beam_status s = pardo_call(pn, wv, err);
  if (s != BEAM_OK && err && err->code == BEAM_OK) beam_error_set(err, s, "DoFn failed");
  return s;
}

static beam_status pardo_start(beam_exec_node *n, beam_error *err) {
  pardo_node *pn = n->impl;
  if (pn->n_counters) memset(pn->counter_values, 0, (size_t)pn->n_counters * sizeof *pn->counter_values);
  for (size_t i = 0; i < pn->n_side_inputs; i++) pn->side_inputs[i].values = NULL;
  beam_pardo_side_inputs_reset(pn);
  pn->n_deferred = 0;
  pn->side_inputs_complete = false;
  beam_user_state_discard(&pn->user_state); /* whatever a failed bundle left */
  if (!pn->def->start_bundle) return BEAM_OK;
  return pn->def->start_bundle(pn->state, &pn->ctx, err);
}

static beam_status pardo_finish(beam_exec_node *n, beam_error *err) {
  pardo_node *pn = n->impl;
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < pn->n_deferred; i++) s = pardo_call(pn, &pn->deferred[i], err);
  pn->n_deferred = 0;
  if (s == BEAM_OK && pn->def->finish_bundle) s = pn->def->finish_bundle(pn->state, &pn->ctx, err);
  if (pn->n_states) {
    beam_status flushed = beam_pardo_state_finish(pn, s == BEAM_OK, err);
    if (s == BEAM_OK) s = flushed;
  }
  for (int i = 0; i < pn->n_counters; i++)
    beam_exec_graph_count(n->graph, n->transform_id, pn->counter_names[i], pn->counter_values[i]);
  beam_arena_reset(&pn->bundle);
  return s;
}

void beam_pardo_node_teardown(beam_exec_node *n) {
  pardo_node *pn = n->impl;
  if (!pn) return;
  beam_sdf_process_free(pn->sdf);
  if (pn->set_up && pn->def->teardown) pn->def->teardown(pn->state);
  free(pn->state);
  free(pn->output_slot);
  free(pn->counter_names);
  free(pn->counter_values);
  free(pn->deferred);
  beam_pardo_state_teardown(pn);
  json_decref(pn->payload);
  beam_arena_free(&pn->scratch);
  beam_arena_free(&pn->bundle);
  free(pn);
  n->impl = NULL;
}

static const beam_exec_ops pardo_ops = {
    .kind = "pardo",
    .start_bundle = pardo_start,
    .process = pardo_process,
    .finish_bundle = pardo_finish,
    .teardown = beam_pardo_node_teardown,
};

/* Maps the DoFn's declared output order (payload "outputs") to the transform's outputs. */
static beam_status map_outputs(pardo_node *pn, const PIPE(PTransform) *t, beam_error *err) {
  const json_t *outs = json_object_get(pn->payload, "outputs");
  size_t n = json_array_size(outs);
  if (n == 0 && t->n_outputs == 1) n = 1; /* a payload without "outputs": the single output */
  pn->output_slot = calloc(n + 1, sizeof *pn->output_slot);
  if (!pn->output_slot) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  pn->n_declared_outputs = n;
  if (!json_array_size(outs)) return BEAM_OK;
  for (size_t i = 0; i < n; i++) {
    const char *tag = json_string_value(json_array_get(outs, i));
    size_t j = 0;
    while (j < t->n_outputs && (!tag || strcmp(t->outputs[j]->key, tag) != 0)) j++;
    if (j == t->n_outputs)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "DoFn output \"%s\" is not an output of the transform",
                            tag ? tag : "?");
    pn->output_slot[i] = j;
  }
  return BEAM_OK;
}

static beam_status parse_payload(pardo_node *pn, const PIPE(PTransform) *t, PIPE(ParDoPayload) *pardo,
                                 bool helper, beam_error *err) {
  if (!pardo->do_fn || strcmp(pardo->do_fn->urn, BEAM_URN_C_DOFN) != 0)
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "DoFn urn \"%s\" is not %s",
                          pardo->do_fn ? pardo->do_fn->urn : "", BEAM_URN_C_DOFN);
  json_error_t jerr;
  pn->payload = json_loadb((const char *)pardo->do_fn->payload.data, pardo->do_fn->payload.len, 0, &jerr);
  const char *fn = json_string_value(json_object_get(pn->payload, "fn"));
  if (!fn) return beam_error_set(err, BEAM_ERR_MALFORMED, "DoFn payload is not {\"fn\": ...}");
  pn->def = beam_dofn_lookup(fn);
  if (!pn->def) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "no DoFn registered as \"%s\"", fn);
  pn->splittable = beam_dofn_lookup_splittable(fn);
  pn->config = json_object_get(pn->payload, "config");
  if (!json_is_object(pn->config)) {
    json_object_set_new(pn->payload, "config", json_object());
    pn->config = json_object_get(pn->payload, "config");
  }
  if (helper) return BEAM_OK;
  pn->n_side_inputs = pardo->n_side_inputs;
  pn->side_inputs = beam_arena_calloc(&pn->node->graph->arena, pardo->n_side_inputs + 1, sizeof *pn->side_inputs);
  if (!pn->side_inputs) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < pardo->n_side_inputs; i++) {
    side_input *si = &pn->side_inputs[i];
    si->local_name = beam_arena_strdup(&pn->node->graph->arena, pardo->side_inputs[i]->key);
    for (size_t j = 0; j < t->n_inputs; j++)
      if (strcmp(t->inputs[j]->key, si->local_name) == 0)
        si->pcollection_id = beam_arena_strdup(&pn->node->graph->arena, t->inputs[j]->value);
    if (!si->pcollection_id)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "side input \"%s\" is not an input", si->local_name);
  }
  beam_status s = beam_pardo_state_setup(pn, t, pardo, err);
  return s == BEAM_OK ? map_outputs(pn, t, err) : s;
}

beam_status beam_pardo_node_new(beam_exec_node *node, const PIPE(PTransform) *t, bool helper, beam_error *err) {
  pardo_node *pn = calloc(1, sizeof *pn);
  if (!pn) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  node->ops = &pardo_ops;
  node->impl = pn;
  pn->node = node;
  pn->setup_ctx.pn = pn;
  pn->ctx.pn = pn;
  PIPE(ParDoPayload) *pardo = PIPE_FN(par_do_payload__unpack)(NULL, t->spec->payload.len, t->spec->payload.data);
  if (!pardo) return beam_error_set(err, BEAM_ERR_MALFORMED, "cannot decode ParDoPayload");
  beam_status s = parse_payload(pn, t, pardo, helper, err);
  PIPE_FN(par_do_payload__free_unpacked)(pardo, NULL);
  if (s != BEAM_OK) return s;
  pn->state = calloc(1, pn->def->state_size ? pn->def->state_size : 1);
  if (!pn->state) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (pn->def->setup) {
    s = pn->def->setup(pn->state, &pn->setup_ctx, err);
    if (s != BEAM_OK) {
      if (err && err->code == BEAM_OK) beam_error_set(err, s, "setup failed");
      return beam_error_prefix(err, "DoFn %s setup: ", pn->def->name);
    }
  }
  pn->set_up = true;
  return BEAM_OK;
}

static beam_status pardo_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t,
                                beam_error *err) {
  (void)g;
  return beam_pardo_node_new(node, t, false, err);
}

const beam_exec_node_factory beam_exec_pardo_factory = {.urn = BEAM_URN_PARDO, .create = pardo_create};
