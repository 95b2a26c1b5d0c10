/* Expands splittable ParDos before the local runner builds its graph (local_sdf_expand.h),
 * so the same exec nodes run them as under a Beam runner. Locally the three steps run
 * fused, one after the other, in the same bundle. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "beam/urns.h"
#include "local_sdf_expand.h"
#include "proto_edit.h"
#include "proto_lookup.h"

enum { ID_MAX = 512 };

/* Names an id of T as Prism does: prefix + T + suffix. */
static const char *name(char *buf, const char *prefix, const char *tid, const char *suffix) {
  snprintf(buf, ID_MAX, "%s%s%s", prefix, tid, suffix);
  return buf;
}

static bool is_side_input(const PIPE(ParDoPayload) *pardo, const char *local) {
  for (size_t i = 0; i < pardo->n_side_inputs; i++)
    if (strcmp(pardo->side_inputs[i]->key, local) == 0) return true;
  return false;
}

/* Adds a helper step tid_step: urn over in -> out, with the ParDo's payload. */
static beam_status add_step(PIPE(Pipeline) *pl, const PIPE(PTransform) *t, const char *id, const char *urn,
                            const char *input_local, const char *in, const char *out, beam_error *err) {
  PIPE(PTransform) *step = NULL;
  beam_status s = beam_proto_add_transform(pl->components, id, urn, t->spec->payload.data, t->spec->payload.len,
                                           t->environment_id, &step, err);
  if (s == BEAM_OK) s = beam_proto_add_input(step, input_local, in, err);
  if (s == BEAM_OK) s = beam_proto_add_output(step, "i0", out, err);
  if (s == BEAM_OK) s = beam_proto_add_string(&pl->root_transform_ids, &pl->n_root_transform_ids, id, err);
  return s;
}

static beam_status expand_one(PIPE(Pipeline) *pl, PIPE(PTransform) *t, const char *tid,
                              const PIPE(ParDoPayload) *pardo, beam_error *err) {
  PIPE(Components) *c = pl->components;
  PIPE(PTransform__InputsEntry) *main_in = NULL;
  for (size_t i = 0; i < t->n_inputs && !main_in; i++)
    if (!is_side_input(pardo, t->inputs[i]->key)) main_in = t->inputs[i];
  const PIPE(PCollection) *input = main_in ? beam_proto_find_pcollection(c, main_in->value) : NULL;
  if (!input) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "splittable ParDo %s has no main input", tid);
  char size_id[ID_MAX], er_id[ID_MAX], ers_id[ID_MAX], pwr[ID_MAX], sized[ID_MAX], e_pwr[ID_MAX], e_split[ID_MAX];
  name(size_id, "c", tid, "size");
  name(er_id, "c", tid, "kv_ele_rest");
  name(ers_id, "c", tid, "kv_ele_rest_size");
  const char *er_parts[] = {input->coder_id, pardo->restriction_coder_id};
  const char *ers_parts[] = {er_id, size_id};
  beam_status s = beam_proto_add_coder(c, size_id, BEAM_URN_CODER_DOUBLE, NULL, 0, err);
  if (s == BEAM_OK) s = beam_proto_add_coder(c, er_id, BEAM_URN_CODER_KV, er_parts, 2, err);
  if (s == BEAM_OK) s = beam_proto_add_coder(c, ers_id, BEAM_URN_CODER_KV, ers_parts, 2, err);
  if (s == BEAM_OK) s = beam_proto_add_pcollection(c, name(pwr, "n", tid, "_pwr"), er_id, input, err);
  if (s == BEAM_OK) s = beam_proto_add_pcollection(c, name(sized, "n", tid, "_splitnsized"), ers_id, input, err);
  if (s == BEAM_OK)
    s = add_step(pl, t, name(e_pwr, "e", tid, "_pwr"), BEAM_URN_SDF_PAIR_WITH_RESTRICTION, main_in->key,
                 main_in->value, pwr, err);
  if (s == BEAM_OK)
    s = add_step(pl, t, name(e_split, "e", tid, "_splitnsize"), BEAM_URN_SDF_SPLIT_AND_SIZE, main_in->key, pwr,
                 sized, err);
  /* The ParDo itself becomes the process step, reading the sized restrictions. */
  if (s == BEAM_OK) s = beam_proto_set_string(&main_in->value, sized, err);
  if (s == BEAM_OK) s = beam_proto_set_string(&t->spec->urn, BEAM_URN_SDF_PROCESS, err);
  return s;
}

beam_status beam_local_sdf_expand(PIPE(Pipeline) *pl, beam_error *err) {
  PIPE(Components) *c = pl->components;
  size_t n = c->n_transforms; /* the steps added below are not ParDos */
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < n; i++) {
    PIPE(PTransform) *t = c->transforms[i]->value;
    if (!t || t->n_subtransforms || !t->spec || strcmp(t->spec->urn, BEAM_URN_PARDO) != 0) continue;
    PIPE(ParDoPayload) *pardo = PIPE_FN(par_do_payload__unpack)(NULL, t->spec->payload.len, t->spec->payload.data);
    if (!pardo) return beam_error_set(err, BEAM_ERR_MALFORMED, "transform %s: cannot decode its ParDoPayload", c->transforms[i]->key);
    if (pardo->restriction_coder_id && pardo->restriction_coder_id[0])
      s = expand_one(pl, t, c->transforms[i]->key, pardo, err);
    PIPE_FN(par_do_payload__free_unpacked)(pardo, NULL);
  }
  return s;
}
