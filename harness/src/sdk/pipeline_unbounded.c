/* Which PCollections are unbounded: those produced by an unbounded source (a Pub/Sub read)
 * and everything computed from them, as Beam defines it; and the check that no GroupByKey
 * waits forever on one. */
#include <string.h>

#include "beam/urns.h"
#include "pipeline_model.h"

/* The primitive that produces PCollection `id` (a composite's output is its inner
 * transform's, which has no subtransforms), or NULL for none. */
static const beam_model_transform *producer(const beam_pipeline *p, const char *id) {
  for (size_t i = 0; i < p->n_transforms; i++) {
    const beam_model_transform *t = p->transforms[i];
    if (t->n_subtransforms) continue;
    for (size_t k = 0; k < t->n_outputs; k++)
      if (t->outputs[k].id && strcmp(t->outputs[k].id, id) == 0) return t;
  }
  return NULL;
}

/* Depth-bounded because the graph is a DAG built in order: an input exists before its
 * consumer, so the recursion follows strictly earlier transforms. */
static bool id_is_unbounded(const beam_pipeline *p, const char *id) {
  const beam_model_transform *t = producer(p, id);
  if (!t) return false;
  if (strcmp(t->urn, BEAM_URN_PUBSUB_READ) == 0) return true;
  for (size_t i = 0; i < t->n_inputs; i++)
    if (id_is_unbounded(p, t->inputs[i].id)) return true;
  return false;
}

bool beam_pcollection_is_unbounded(const beam_pipeline *p, const beam_pcollection *pc) {
  return pc && id_is_unbounded(p, pc->id);
}

/* A GroupByKey over an unbounded PCollection in the global window has no trigger that would
 * ever fire (beam-c sets none): refuse it when the pipeline is encoded, naming it, instead of
 * letting a streaming job hold every element forever. */
beam_status beam_pipeline_check_unbounded_grouping(const beam_pipeline *p, beam_error *err) {
  for (size_t i = 0; i < p->n_transforms; i++) {
    const beam_model_transform *t = p->transforms[i];
    if (strcmp(t->urn, BEAM_URN_GBK) != 0 || t->n_inputs != 1 || !id_is_unbounded(p, t->inputs[0].id)) continue;
    const char *ws = NULL;
    for (size_t k = 0; k < p->n_pcolls; k++)
      if (strcmp(p->pcolls[k]->id, t->inputs[0].id) == 0) ws = p->pcolls[k]->windowing_strategy_id;
    if (!ws || strcmp(ws, BEAM_GLOBAL_WINDOWING_ID) == 0)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                            "GroupByKey \"%s\" groups an unbounded PCollection in the global window, which never "
                            "fires: window its input first (beam_window_into_fixed)",
                            t->id);
  }
  return BEAM_OK;
}
