/* Lifts combine_per_key composites before the local runner builds its graph
 * (local_combine_lift.h). Without it a GroupByKey hands the combine every value of a key at
 * once, so one frequent key could take more memory than --memory_budget allows. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/urns.h"
#include "local_combine_lift.h"
#include "proto_edit.h"
#include "proto_lookup.h"

enum { ID_MAX = 512 };

static PIPE(PTransform) *find_transform(PIPE(Components) *c, const char *id) {
  for (size_t i = 0; i < c->n_transforms; i++)
    if (strcmp(c->transforms[i]->key, id) == 0) return c->transforms[i]->value;
  return NULL;
}

static PIPE(PCollection) *find_pcollection(PIPE(Components) *c, const char *id) {
  for (size_t i = 0; i < c->n_pcollections; i++)
    if (strcmp(c->pcollections[i]->key, id) == 0) return c->pcollections[i]->value;
  return NULL;
}

static bool has_urn(const PIPE(PTransform) *t, const char *urn) {
  return t && t->spec && t->spec->urn && strcmp(t->spec->urn, urn) == 0;
}

/* The composite's two leaves, when it is the SDK's expansion of a combine_per_key. */
static bool sdk_expansion(PIPE(Components) *c, const PIPE(PTransform) *t, PIPE(PTransform) **gbk,
                          PIPE(PTransform) **grouped) {
  if (t->n_subtransforms != 2 || t->n_inputs != 1 || t->n_outputs != 1) return false;
  *gbk = find_transform(c, t->subtransforms[0]);
  *grouped = find_transform(c, t->subtransforms[1]);
  return has_urn(*gbk, BEAM_URN_GBK) && has_urn(*grouped, BEAM_URN_PARDO) && (*gbk)->n_inputs == 1 &&
         (*gbk)->n_outputs == 1 && (*grouped)->n_inputs == 1 && (*grouped)->n_outputs == 1 &&
         (*gbk)->n_subtransforms == 0 && (*grouped)->n_subtransforms == 0 &&
         strcmp((*grouped)->inputs[0]->value, (*gbk)->outputs[0]->value) == 0 &&
         strcmp((*grouped)->outputs[0]->value, t->outputs[0]->value) == 0;
}

/* The key coder of the composite's KV input, or NULL. */
static const char *key_coder(const PIPE(Components) *c, const PIPE(PCollection) *input) {
  const PIPE(Coder) *kv = beam_proto_find_coder(c, input->coder_id);
  if (!kv || !kv->spec || strcmp(kv->spec->urn, BEAM_URN_CODER_KV) != 0 || kv->n_component_coder_ids != 2) return NULL;
  return kv->component_coder_ids[0];
}

static const char *name(char *buf, const char *tid, const char *suffix) {
  snprintf(buf, ID_MAX, "%s/%s", tid, suffix);
  return buf;
}

/* Adds step tid/suffix: urn with the combine's payload, from in to out; a subtransform of t. */
static beam_status add_phase(PIPE(Components) *c, PIPE(PTransform) *t, const char *tid, const char *suffix,
                             const char *urn, const char *in, const char *out, beam_error *err) {
  char id[ID_MAX];
  PIPE(PTransform) *step = NULL;
  beam_status s = beam_proto_add_transform(c, name(id, tid, suffix), urn, t->spec->payload.data,
                                           t->spec->payload.len, t->environment_id, &step, err);
  if (s == BEAM_OK) s = beam_proto_add_input(step, "i0", in, err);
  if (s == BEAM_OK) s = beam_proto_add_output(step, "i0", out, err);
  if (s == BEAM_OK) s = beam_proto_add_string(&t->subtransforms, &t->n_subtransforms, id, err);
  return s;
}

static beam_status lift_one(PIPE(Components) *c, PIPE(PTransform) *t, const char *tid, PIPE(PTransform) *gbk,
                            PIPE(PTransform) *grouped, const char *acc_coder, beam_error *err) {
  const PIPE(PCollection) *input = beam_proto_find_pcollection(c, t->inputs[0]->value);
  PIPE(PCollection) *grouped_pc = find_pcollection(c, gbk->outputs[0]->value);
  const char *key = input ? key_coder(c, input) : NULL;
  if (!key || !grouped_pc) return BEAM_OK; /* not a KV input: leave it unlifted */
  char kv_acc[ID_MAX], iter_acc[ID_MAX], kv_iter[ID_MAX], pre[ID_MAX], merged[ID_MAX];
  const char *kv_parts[] = {key, acc_coder}, *iter_parts[] = {acc_coder}, *kv_iter_parts[] = {key, iter_acc};
  name(iter_acc, tid, "iter_acc");
  beam_status s = beam_proto_add_coder(c, name(kv_acc, tid, "kv_acc"), BEAM_URN_CODER_KV, kv_parts, 2, err);
  if (s == BEAM_OK) s = beam_proto_add_coder(c, iter_acc, BEAM_URN_CODER_ITERABLE, iter_parts, 1, err);
  if (s == BEAM_OK) s = beam_proto_add_coder(c, name(kv_iter, tid, "kv_iter_acc"), BEAM_URN_CODER_KV, kv_iter_parts, 2, err);
  if (s == BEAM_OK) s = beam_proto_add_pcollection(c, name(pre, tid, "precombined"), kv_acc, input, err);
  if (s == BEAM_OK) s = beam_proto_add_pcollection(c, name(merged, tid, "merged"), kv_acc, input, err);
  if (s == BEAM_OK) s = add_phase(c, t, tid, "Precombine", BEAM_URN_COMBINE_PRECOMBINE, t->inputs[0]->value, pre, err);
  /* The GroupByKey now groups accumulators, and the grouped-values ParDo merges them. */
  if (s == BEAM_OK) s = beam_proto_set_string(&gbk->inputs[0]->value, pre, err);
  if (s == BEAM_OK) s = beam_proto_set_string(&grouped_pc->coder_id, kv_iter, err);
  if (s == BEAM_OK) s = beam_proto_set_string(&grouped->spec->urn, BEAM_URN_COMBINE_MERGE, err);
  if (s == BEAM_OK) {
    ProtobufCBinaryData payload = grouped->spec->payload;
    grouped->spec->payload.data = malloc(t->spec->payload.len ? t->spec->payload.len : 1);
    if (!grouped->spec->payload.data) {
      grouped->spec->payload = payload;
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    }
    memcpy(grouped->spec->payload.data, t->spec->payload.data, t->spec->payload.len);
    grouped->spec->payload.len = t->spec->payload.len;
    free(payload.data);
  }
  if (s == BEAM_OK) s = add_phase(c, t, tid, "Extract", BEAM_URN_COMBINE_EXTRACT, merged, t->outputs[0]->value, err);
  if (s == BEAM_OK) s = beam_proto_set_string(&grouped->outputs[0]->value, merged, err);
  return s;
}

beam_status beam_local_combine_lift(PIPE(Pipeline) *pl, beam_error *err) {
  PIPE(Components) *c = pl->components;
  size_t n = c->n_transforms; /* the phases added below are not composites */
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < n; i++) {
    PIPE(PTransform) *t = c->transforms[i]->value, *gbk = NULL, *grouped = NULL;
    if (!has_urn(t, BEAM_URN_COMBINE_PER_KEY) || !sdk_expansion(c, t, &gbk, &grouped)) continue;
    PIPE(CombinePayload) *cp = PIPE_FN(combine_payload__unpack)(NULL, t->spec->payload.len, t->spec->payload.data);
    if (!cp) return beam_error_set(err, BEAM_ERR_MALFORMED, "transform %s: cannot decode its CombinePayload", c->transforms[i]->key);
    if (cp->accumulator_coder_id && cp->accumulator_coder_id[0] && beam_proto_find_coder(c, cp->accumulator_coder_id))
      s = lift_one(c, t, c->transforms[i]->key, gbk, grouped, cp->accumulator_coder_id, err);
    PIPE_FN(combine_payload__free_unpacked)(cp, NULL);
  }
  return s;
}
