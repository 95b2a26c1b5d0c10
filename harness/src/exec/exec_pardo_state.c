/* Bag user state and multimap side inputs of the ParDo node: what DoFns call
 * (beam_dofn_state_bag_*, beam_dofn_side_input_lookup) and the setup they need.
 *
 * State is scoped to the current element's key and window, both encoded as Beam compares
 * them (and as runners key their state): the key nested with the KV input's key coder, the
 * window with the windowing strategy's window coder (the global window is no bytes). */
#include <stdlib.h>
#include <string.h>

#include "beam/coder.h"
#include "beam/urns.h"
#include "exec_pardo.h"

/* Multimap keys whose values a ParDo keeps for the rest of the bundle. */
enum { LOOKUPS_REMEMBERED = 10000 };

static const char *main_input(const PIPE(PTransform) *t, const PIPE(ParDoPayload) *pardo) {
  for (size_t i = 0; i < t->n_inputs; i++) {
    bool side = false;
    for (size_t j = 0; j < pardo->n_side_inputs && !side; j++)
      side = strcmp(pardo->side_inputs[j]->key, t->inputs[i]->key) == 0;
    if (!side) return t->inputs[i]->value;
  }
  return NULL;
}

static beam_status setup_states(pardo_node *pn, const PIPE(PTransform) *t, const PIPE(ParDoPayload) *pardo,
                                beam_error *err) {
  beam_exec_graph *g = pn->node->graph;
  size_t n = pardo->n_state_specs;
  pn->state_ids = beam_arena_calloc(&g->arena, n + 1, sizeof *pn->state_ids);
  pn->state_coders = beam_arena_calloc(&g->arena, n + 1, sizeof *pn->state_coders);
  if (!pn->state_ids || !pn->state_coders) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const PIPE(StateSpec) *spec = pardo->state_specs[i]->value;
    const char *name = pardo->state_specs[i]->key;
    if (!spec || spec->spec_case != PIPE_ENUM(STATE_SPEC__SPEC_BAG_SPEC) || !spec->bag_spec)
      return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "state \"%s\": only bag state (%s) is supported", name,
                            BEAM_URN_USER_STATE_BAG);
    beam_coder *c = NULL;
    beam_status s = beam_exec_graph_coder(g, spec->bag_spec->element_coder_id, &c, err);
    if (s != BEAM_OK) return beam_error_prefix(err, "state \"%s\": ", name);
    pn->state_ids[i] = beam_arena_strdup(&g->arena, name);
    pn->state_coders[i] = c;
    if (!pn->state_ids[i]) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  const char *input = main_input(t, pardo);
  if (!input) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "a stateful ParDo needs a main input");
  const beam_coder *value_coder = NULL;
  beam_status s = beam_exec_graph_kv_coders(g, input, &pn->key_coder, &value_coder, err);
  if (s == BEAM_OK) s = beam_exec_graph_window_coder(g, input, &pn->window_coder, err);
  if (s != BEAM_OK) return beam_error_prefix(err, "stateful ParDo input: ");
  pn->n_states = n;
  g->unsplittable = true;
  beam_user_state_cache_init(&pn->user_state, pn->node->transform_id, pn->state_ids, n);
  return BEAM_OK;
}

beam_status beam_pardo_state_setup(pardo_node *pn, const PIPE(PTransform) *t, const PIPE(ParDoPayload) *pardo,
                                   beam_error *err) {
  for (size_t i = 0; i < pardo->n_side_inputs; i++) {
    const PIPE(SideInput) *spec = pardo->side_inputs[i]->value;
    const char *access = spec && spec->access_pattern ? spec->access_pattern->urn : BEAM_URN_SIDE_INPUT_ITERABLE;
    side_input *si = &pn->side_inputs[i];
    if (strcmp(access, BEAM_URN_SIDE_INPUT_ITERABLE) == 0) continue;
    if (strcmp(access, BEAM_URN_SIDE_INPUT_MULTIMAP) != 0)
      return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "side input \"%s\": access pattern %s is not supported",
                            si->local_name, access);
    const beam_coder *value_coder = NULL;
    beam_status s = beam_exec_graph_kv_coders(pn->node->graph, si->pcollection_id, &si->key_coder, &value_coder, err);
    if (s != BEAM_OK) return beam_error_prefix(err, "multimap side input \"%s\": ", si->local_name);
    si->multimap = true;
  }
  return pardo->n_state_specs ? setup_states(pn, t, pardo, err) : BEAM_OK;
}

beam_status beam_pardo_state_after_element(pardo_node *pn, beam_error *err) {
  pn->scope_ready = false;
  return beam_user_state_maybe_flush(&pn->user_state, &pn->node->graph->user_state, err);
}

beam_status beam_pardo_state_finish(pardo_node *pn, bool ok, beam_error *err) {
  pn->scope_ready = false;
  if (!ok) {
    beam_user_state_discard(&pn->user_state);
    return BEAM_OK;
  }
  return beam_user_state_flush(&pn->user_state, &pn->node->graph->user_state, err);
}

void beam_pardo_side_inputs_reset(pardo_node *pn) {
  for (size_t i = 0; i < pn->n_side_inputs; i++) beam_bytes_map_clear(&pn->side_inputs[i].looked_up);
}

void beam_pardo_state_teardown(pardo_node *pn) {
  for (size_t i = 0; pn->side_inputs && i < pn->n_side_inputs; i++) {
    beam_bytes_map_free(&pn->side_inputs[i].looked_up);
    free(pn->side_inputs[i].found);
  }
  beam_user_state_cache_free(&pn->user_state);
  beam_buf_free(&pn->scope_key);
  beam_buf_free(&pn->scope_window);
  beam_buf_free(&pn->encode_buf);
}

/* --- bag user state ----------------------------------------------------------------------- */

/* Encodes the current element's key and window once per process() call. */
static beam_status scope(pardo_node *pn, const char *name, size_t *state, beam_error *err) {
  const char *tid = pn->node->transform_id;
  size_t i = 0;
  while (i < pn->n_states && strcmp(pn->state_ids[i], name) != 0) i++;
  if (i == pn->n_states) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "%s: no state named \"%s\"", tid, name);
  *state = i;
  if (pn->scope_ready) return BEAM_OK;
  const beam_windowed_value *wv = pn->ctx.current;
  if (!wv) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: state \"%s\" used outside process()", tid, name);
  if (!wv->value || wv->value->kind != BEAM_VALUE_KV || wv->n_windows != 1)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: state needs a keyed element in one window", tid);
  beam_buf_reset(&pn->scope_key);
  beam_buf_reset(&pn->scope_window);
  beam_value window = {.kind = BEAM_VALUE_WINDOW, .u.window = wv->windows[0]};
  beam_status s = beam_coder_encode(pn->key_coder, wv->value->u.kv.key, true, &pn->scope_key, err);
  if (s == BEAM_OK) s = beam_coder_encode(pn->window_coder, &window, false, &pn->scope_window, err);
  if (s != BEAM_OK) return beam_error_prefix(err, "%s: encoding the state key: ", tid);
  pn->scope_ready = true;
  return BEAM_OK;
}

#define SCOPE_BYTES(pn) \
  (&(beam_bytes){(pn)->scope_window.data, (pn)->scope_window.len}), (&(beam_bytes){(pn)->scope_key.data, (pn)->scope_key.len})

beam_status beam_dofn_state_bag_read(beam_dofn_ctx *ctx, const char *name, const beam_value_list **out,
                                     beam_error *err) {
  pardo_node *pn = ctx->pn;
  size_t i = 0;
  beam_bytes bytes = {0};
  beam_status s = scope(pn, name, &i, err);
  if (s == BEAM_OK)
    s = beam_user_state_bag_read(&pn->user_state, &pn->node->graph->user_state, i, SCOPE_BYTES(pn), &pn->scratch,
                                 &bytes, err);
  beam_value_list *list = s == BEAM_OK ? beam_arena_alloc(&pn->scratch, sizeof *list) : NULL;
  if (s == BEAM_OK && !list) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (s == BEAM_OK) s = beam_exec_decode_all(pn->state_coders[i], &bytes, &pn->scratch, list, err);
  if (s != BEAM_OK) return s;
  *out = list;
  return BEAM_OK;
}

beam_status beam_dofn_state_bag_append(beam_dofn_ctx *ctx, const char *name, const beam_value *value,
                                       beam_error *err) {
  pardo_node *pn = ctx->pn;
  size_t i = 0;
  beam_status s = scope(pn, name, &i, err);
  if (s != BEAM_OK) return s;
  beam_buf_reset(&pn->encode_buf);
  s = beam_coder_encode(pn->state_coders[i], value, true, &pn->encode_buf, err);
  if (s != BEAM_OK) return beam_error_prefix(err, "%s: state \"%s\": ", pn->node->transform_id, name);
  return beam_user_state_bag_append(&pn->user_state, i, SCOPE_BYTES(pn), pn->encode_buf.data, pn->encode_buf.len, err);
}

beam_status beam_dofn_state_bag_clear(beam_dofn_ctx *ctx, const char *name, beam_error *err) {
  pardo_node *pn = ctx->pn;
  size_t i = 0;
  beam_status s = scope(pn, name, &i, err);
  return s == BEAM_OK ? beam_user_state_bag_clear(&pn->user_state, i, SCOPE_BYTES(pn), err) : s;
}

/* --- multimap side inputs ----------------------------------------------------------------- */

/* Out of memory here only loses the cache entry. */
static void remember_lookup(side_input *si, const beam_bytes *key_bytes, const beam_value_list *values) {
  if (si->looked_up.n == si->cap_found) {
    size_t cap = si->cap_found ? si->cap_found * 2 : 64;
    const beam_value_list **grown = realloc(si->found, cap * sizeof *grown);
    if (!grown) return;
    si->found = grown;
    si->cap_found = cap;
  }
  bool added = false;
  ptrdiff_t i = beam_bytes_map_put(&si->looked_up, key_bytes->data, key_bytes->len, &added);
  if (i >= 0) si->found[i] = values;
}

beam_status beam_dofn_side_input_lookup(beam_dofn_ctx *ctx, const char *name, const beam_value *key,
                                        const beam_value_list **values, beam_error *err) {
  pardo_node *pn = ctx->pn;
  const char *tid = pn->node->transform_id;
  side_input *si = NULL;
  for (size_t i = 0; i < pn->n_side_inputs && !si; i++)
    if (strcmp(pn->side_inputs[i].local_name, name) == 0) si = &pn->side_inputs[i];
  if (!si) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "%s: no side input named \"%s\"", tid, name);
  if (!si->multimap)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: side input \"%s\" is not a multimap (declare it BEAM_SIDE_INPUT_MULTIMAP)",
                          tid, name);
  beam_side_input_source *src = &pn->node->graph->side_inputs;
  if (!src->lookup) return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "%s: no multimap side input source", tid);
  beam_buf_reset(&pn->encode_buf);
  beam_status s = beam_coder_encode(si->key_coder, key, true, &pn->encode_buf, err);
  if (s != BEAM_OK) return beam_error_prefix(err, "%s: side input \"%s\": encoding the key: ", tid, name);
  beam_bytes key_bytes = {pn->encode_buf.data, pn->encode_buf.len};
  ptrdiff_t hit = beam_bytes_map_find(&si->looked_up, key_bytes.data, key_bytes.len);
  if (hit >= 0) {
    *values = si->found[hit];
    return BEAM_OK;
  }
  /* Remembered keys keep their values in the bundle arena: bounded, past that scratch. */
  bool remember = si->looked_up.n < LOOKUPS_REMEMBERED;
  s = src->lookup(src->self, tid, si->local_name, si->pcollection_id, key, &key_bytes,
                 remember ? &pn->bundle : &pn->scratch, values, err);
  if (s == BEAM_OK && remember) remember_lookup(si, &key_bytes, *values);
  return s;
}
