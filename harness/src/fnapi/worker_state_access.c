/* A bundle's view of the runner's state (BeamFnState): iterable and multimap side inputs and
 * bag user state, keyed as Beam's StateKey protocol says and read with continuation tokens
 * (beam_state_get follows them). Side inputs are read in the global window, whose encoding
 * is no bytes; user state uses the window and key encodings the ParDo node computed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_lookup.h"
#include "worker_internal.h"

/* The state channel of the bundle's descriptor. */
static beam_status channel(beam_worker_bundle_ctx *b, const char *transform_id, const char *what,
                           beam_state_channel **out, beam_error *err) {
  const FN(ProcessBundleDescriptor) *pbd = b->d->proto;
  if (!pbd->state_api_service_descriptor || !pbd->state_api_service_descriptor->url[0])
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: %s but the runner gave no state endpoint", transform_id,
                          what);
  return beam_worker_state_channel(b->w, pbd->state_api_service_descriptor->url, out, err);
}

/* Reads a state key whole (continuation tokens followed) and decodes its values into arena. */
static beam_status read_values(beam_worker_bundle_ctx *b, beam_state_channel *state, const FN(StateKey) *key,
                               const beam_coder *coder, beam_arena *arena, const beam_value_list **out,
                               beam_error *err) {
  beam_buf bytes = BEAM_BUF_INIT;
  beam_value_list *list = beam_arena_alloc(arena, sizeof *list);
  beam_status s = list ? beam_state_get(state, b->instruction_id, key, &bytes, err)
                       : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  /* Decoded strings alias their input: keep the bytes as long as the values. */
  uint8_t *kept = s == BEAM_OK ? beam_arena_alloc(arena, bytes.len + 1) : NULL;
  if (s == BEAM_OK && !kept) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (s == BEAM_OK && bytes.len) memcpy(kept, bytes.data, bytes.len);
  if (s == BEAM_OK) s = beam_exec_decode_all(coder, &(beam_bytes){kept, bytes.len}, arena, list, err);
  beam_buf_free(&bytes);
  if (s == BEAM_OK) *out = list;
  return s;
}

/* An iterable side input, read whole and decoded with the side input PCollection's coder. */
static beam_status side_input_get(void *self, const char *transform_id, const char *local_name,
                                  const char *pcollection_id, beam_arena *arena, const beam_value_list **out,
                                  beam_error *err) {
  beam_worker_bundle_ctx *b = self;
  beam_state_channel *state = NULL;
  beam_status s = channel(b, transform_id, "a side input", &state, err);
  if (s != BEAM_OK) return s;
  const PIPE(PCollection) *pc = beam_proto_find_pcollection(&b->d->components, pcollection_id);
  const char *coder_id = pc ? pc->coder_id : NULL;
  if (!coder_id) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "side input PCollection %s has no coder", pcollection_id);
  beam_coder *coder = NULL;
  s = beam_exec_graph_coder(b->g, coder_id, &coder, err);
  if (s != BEAM_OK) return s;
  FN(StateKey__IterableSideInput) key_si = FN_INIT(STATE_KEY__ITERABLE_SIDE_INPUT);
  key_si.transform_id = (char *)transform_id;
  key_si.side_input_id = (char *)local_name;
  FN(StateKey) key = FN_INIT(STATE_KEY);
  key.type_case = FN_ENUM(STATE_KEY__TYPE_ITERABLE_SIDE_INPUT);
  key.iterable_side_input = &key_si;
  s = read_values(b, state, &key, coder, arena, out, err);
  return s == BEAM_OK ? s : beam_error_prefix(err, "%s: side input %s: ", transform_id, local_name);
}

/* A multimap side input: the values under one key (nested-encoded with the KV's key
 * coder, as runners index them), decoded with the KV's value coder. */
static beam_status side_input_lookup(void *self, const char *transform_id, const char *local_name,
                                     const char *pcollection_id, const beam_value *key_value,
                                     const beam_bytes *key_bytes, beam_arena *arena, const beam_value_list **out,
                                     beam_error *err) {
  (void)key_value;
  beam_worker_bundle_ctx *b = self;
  beam_state_channel *state = NULL;
  const beam_coder *key_coder = NULL, *value_coder = NULL;
  beam_status s = channel(b, transform_id, "a multimap side input", &state, err);
  if (s == BEAM_OK) s = beam_exec_graph_kv_coders(b->g, pcollection_id, &key_coder, &value_coder, err);
  if (s != BEAM_OK) return beam_error_prefix(err, "%s: side input %s: ", transform_id, local_name);
  FN(StateKey__MultimapSideInput) mm = FN_INIT(STATE_KEY__MULTIMAP_SIDE_INPUT);
  mm.transform_id = (char *)transform_id;
  mm.side_input_id = (char *)local_name;
  mm.key.data = (uint8_t *)key_bytes->data;
  mm.key.len = key_bytes->len;
  FN(StateKey) key = FN_INIT(STATE_KEY);
  key.type_case = FN_ENUM(STATE_KEY__TYPE_MULTIMAP_SIDE_INPUT);
  key.multimap_side_input = &mm;
  s = read_values(b, state, &key, value_coder, arena, out, err);
  return s == BEAM_OK ? s : beam_error_prefix(err, "%s: side input %s: ", transform_id, local_name);
}

/* --- bag user state ------------------------------------------------------------------------- */

typedef struct bag_key {
  FN(StateKey__BagUserState) bag;
  FN(StateKey) key;
} bag_key;

static void make_bag_key(bag_key *out, const beam_user_state_key *k) {
  out->bag = (FN(StateKey__BagUserState))FN_INIT(STATE_KEY__BAG_USER_STATE);
  out->bag.transform_id = (char *)k->transform_id;
  out->bag.user_state_id = (char *)k->state_id;
  out->bag.window.data = (uint8_t *)k->window.data;
  out->bag.window.len = k->window.len;
  out->bag.key.data = (uint8_t *)k->key.data;
  out->bag.key.len = k->key.len;
  out->key = (FN(StateKey))FN_INIT(STATE_KEY);
  out->key.type_case = FN_ENUM(STATE_KEY__TYPE_BAG_USER_STATE);
  out->key.bag_user_state = &out->bag;
}

/* The state channel and the key of the user state k names. */
static beam_status bag_target(beam_worker_bundle_ctx *b, const beam_user_state_key *k, beam_state_channel **state,
                              bag_key *key, beam_error *err) {
  beam_status s = channel(b, k->transform_id, "user state", state, err);
  if (s == BEAM_OK) make_bag_key(key, k);
  return s;
}

static beam_status bag_get(void *self, const beam_user_state_key *k, beam_buf *out, beam_error *err) {
  beam_worker_bundle_ctx *b = self;
  beam_state_channel *state = NULL;
  bag_key key;
  beam_status s = bag_target(b, k, &state, &key, err);
  if (s != BEAM_OK) return s;
  return beam_state_get(state, b->instruction_id, &key.key, out, err);
}

static beam_status bag_append(void *self, const beam_user_state_key *k, const uint8_t *data, size_t len,
                              beam_error *err) {
  beam_worker_bundle_ctx *b = self;
  beam_state_channel *state = NULL;
  bag_key key;
  beam_status s = bag_target(b, k, &state, &key, err);
  if (s != BEAM_OK) return s;
  return beam_state_append(state, b->instruction_id, &key.key, data, len, err);
}

static beam_status bag_clear(void *self, const beam_user_state_key *k, beam_error *err) {
  beam_worker_bundle_ctx *b = self;
  beam_state_channel *state = NULL;
  bag_key key;
  beam_status s = bag_target(b, k, &state, &key, err);
  if (s != BEAM_OK) return s;
  return beam_state_clear(state, b->instruction_id, &key.key, err);
}

void beam_worker_attach_state(beam_worker_bundle_ctx *b) {
  b->g->side_inputs = (beam_side_input_source){side_input_get, side_input_lookup, b};
  b->g->side_inputs_deferred = false;
  b->g->user_state = (beam_user_state_backend){bag_get, bag_append, bag_clear, b};
}
