/* Which PCollections are unbounded: those produced by an unbounded source (a Pub/Sub read)
 * and everything computed from them, as Beam defines it; and the check that no GroupByKey
 * waits forever on one. */
#include <stdlib.h>
#include <string.h>

#include "beam/urns.h"
#include "pipeline_model.h"

static size_t pcollection_index(const beam_pipeline *p, const char *id) {
  for (size_t i = 0; id && i < p->n_pcolls; i++)
    if (strcmp(p->pcolls[i]->id, id) == 0) return i;
  return p->n_pcolls;
}

/* One pass in construction order (an input exists before its consumer): a primitive's outputs
 * are unbounded when it is an unbounded read or one of its inputs is. Composites are skipped:
 * their outputs are their inner transforms'. */
bool *beam_pipeline_unbounded_flags(const beam_pipeline *p) {
  bool *flags = calloc(p->n_pcolls + 1, sizeof *flags);
  for (size_t i = 0; flags && i < p->n_transforms; i++) {
    const beam_model_transform *t = p->transforms[i];
    if (t->n_subtransforms) continue;
    bool unbounded = strcmp(t->urn, BEAM_URN_PUBSUB_READ) == 0;
    for (size_t k = 0; !unbounded && k < t->n_inputs; k++) unbounded = flags[pcollection_index(p, t->inputs[k].id)];
    for (size_t k = 0; unbounded && k < t->n_outputs; k++) flags[pcollection_index(p, t->outputs[k].id)] = true;
  }
  return flags;
}

bool beam_pcollection_is_unbounded(const beam_pipeline *p, const beam_pcollection *pc) {
  bool *flags = pc ? beam_pipeline_unbounded_flags(p) : NULL;
  bool unbounded = flags && flags[pcollection_index(p, pc->id)];
  free(flags);
  return unbounded;
}

/* A GroupByKey over an unbounded PCollection in the global window has no trigger that would
 * ever fire (beam-c sets none): refuse it when the pipeline is encoded, naming it, instead of
 * letting a streaming job hold every element forever. */
beam_status beam_pipeline_check_unbounded_grouping(const beam_pipeline *p, beam_error *err) {
  bool *flags = beam_pipeline_unbounded_flags(p);
  if (!flags) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < p->n_transforms; i++) {
    const beam_model_transform *t = p->transforms[i];
    size_t in = t->n_inputs == 1 ? pcollection_index(p, t->inputs[0].id) : p->n_pcolls;
    if (strcmp(t->urn, BEAM_URN_GBK) != 0 || in == p->n_pcolls || !flags[in]) continue;
    const char *ws = p->pcolls[in]->windowing_strategy_id;
    if (!ws || strcmp(ws, BEAM_GLOBAL_WINDOWING_ID) == 0)
      s = beam_error_set(err, BEAM_ERR_INVALID_ARG,
                         "GroupByKey \"%s\" groups an unbounded PCollection in the global window, which never "
                         "fires: window its input first (beam_window_into_fixed)",
                         t->id);
  }
  free(flags);
  return s;
}
