/* The process step of a splittable ParDo (beam:transform:sdf_process_sized_element_and_
 * restrictions:v1): a ParDo node whose elements carry their restriction. Each element's
 * process() runs under an offset tracker of its restriction; the DoFn claims positions
 * (beam_dofn_try_claim) while the control thread may split the tracker (exec_sdf_split.c),
 * reading the element being processed under this step's lock. */
#include <stdlib.h>
#include <string.h>

#include "beam/urns.h"
#include "exec_pardo.h"
#include "exec_sdf.h"
#include "exec_sdf_int.h"

bool beam_dofn_restriction(beam_dofn_ctx *ctx, beam_offset_range *out) {
  beam_sdf_process *sdf = ctx->pn->sdf;
  if (!sdf || !ctx->current) return false;
  *out = beam_offset_tracker_current(&sdf->tracker);
  return true;
}

bool beam_dofn_try_claim(beam_dofn_ctx *ctx, int64_t position) {
  beam_sdf_process *sdf = ctx->pn->sdf;
  return sdf && ctx->current && beam_offset_tracker_try_claim(&sdf->tracker, position);
}

/* Sets (or clears, wv NULL) the element a split may divide. */
static void set_current(beam_sdf_process *sdf, const beam_windowed_value *wv, const beam_windowed_value *elem) {
  pthread_mutex_lock(&sdf->lock);
  sdf->current = wv;
  if (elem) sdf->current_elem = *elem;
  pthread_mutex_unlock(&sdf->lock);
}

beam_status beam_sdf_process_element(pardo_node *pn, const beam_windowed_value *wv, beam_error *err) {
  beam_sdf_process *sdf = pn->sdf;
  const beam_value *v = wv->value;
  beam_offset_range range;
  if (v->kind != BEAM_VALUE_KV || !v->u.kv.key || v->u.kv.key->kind != BEAM_VALUE_KV ||
      !beam_sdf_read_restriction(v->u.kv.key->u.kv.value, &range))
    return beam_error_set(err, BEAM_ERR_MALFORMED,
                          "%s: input is not KV(KV(element, KV(KV(start, end), state)), size)", pn->node->transform_id);
  beam_windowed_value elem = *wv;
  elem.value = v->u.kv.key->u.kv.key;
  beam_offset_tracker_reset(&sdf->tracker, range);
  set_current(sdf, wv, &elem);
  beam_status s = beam_pardo_call(pn, &elem, err);
  set_current(sdf, NULL, NULL);
  if (s == BEAM_OK) s = beam_offset_tracker_check_done(&sdf->tracker, err);
  pthread_mutex_lock(&sdf->lock);
  bool lost = sdf->split_lost;
  pthread_mutex_unlock(&sdf->lock);
  if (s == BEAM_OK && lost) s = beam_error_set(err, BEAM_ERR_NOMEM, "a split of this bundle could not encode its residual");
  if (s != BEAM_OK && err && err->code == BEAM_OK) beam_error_set(err, s, "DoFn failed");
  return s == BEAM_OK ? s : beam_error_prefix(err, "%s: DoFn %s: ", pn->node->transform_id, pn->def->name);
}

void beam_sdf_process_free(beam_sdf_process *sdf) {
  if (!sdf) return;
  beam_offset_tracker_destroy(&sdf->tracker);
  pthread_mutex_destroy(&sdf->lock);
  free(sdf);
}

/* The main input's local name: the input that is not a side input. */
static const char *main_input(const PIPE(PTransform) *t, const pardo_node *pn) {
  for (size_t i = 0; i < t->n_inputs; i++) {
    bool side = false;
    for (size_t j = 0; j < pn->n_side_inputs; j++)
      if (strcmp(pn->side_inputs[j].local_name, t->inputs[i]->key) == 0) side = true;
    if (!side) return t->inputs[i]->key;
  }
  return NULL;
}

static beam_status process_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t,
                                  beam_error *err) {
  beam_status s = beam_pardo_node_new(node, t, false, err);
  if (s != BEAM_OK) return s;
  pardo_node *pn = node->impl;
  if (!pn->splittable)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "DoFn %s is not registered as splittable (beam_dofn_register_splittable)", pn->def->name);
  if (pn->n_states) return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "a splittable DoFn with user state");
  const char *input = main_input(t, pn);
  if (!input) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s has no main input", node->transform_id);
  beam_sdf_process *sdf = calloc(1, sizeof *sdf);
  if (!sdf) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&sdf->lock, NULL);
  beam_offset_tracker_init(&sdf->tracker);
  sdf->input_id = beam_arena_strdup(&g->arena, input);
  pn->sdf = sdf;
  return sdf->input_id ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

const beam_exec_node_factory beam_exec_sdf_process_factory = {.urn = BEAM_URN_SDF_PROCESS, .create = process_create};
