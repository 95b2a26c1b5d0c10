/* Components lookups by id (see proto_lookup.h). */
#include <string.h>

#include "proto_lookup.h"

const PIPE(PTransform) *beam_proto_find_transform(const PIPE(Components) *c, const char *id) {
  for (size_t i = 0; i < c->n_transforms; i++)
    if (strcmp(c->transforms[i]->key, id) == 0) return c->transforms[i]->value;
  return NULL;
}

const PIPE(PCollection) *beam_proto_find_pcollection(const PIPE(Components) *c, const char *id) {
  for (size_t i = 0; i < c->n_pcollections; i++)
    if (strcmp(c->pcollections[i]->key, id) == 0) return c->pcollections[i]->value;
  return NULL;
}

const PIPE(WindowingStrategy) *beam_proto_find_windowing_strategy(const PIPE(Components) *c, const char *id) {
  for (size_t i = 0; i < c->n_windowing_strategies; i++)
    if (strcmp(c->windowing_strategies[i]->key, id) == 0) return c->windowing_strategies[i]->value;
  return NULL;
}

ptrdiff_t beam_proto_coder_index(const PIPE(Components) *c, const char *id) {
  for (size_t i = 0; i < c->n_coders; i++)
    if (strcmp(c->coders[i]->key, id) == 0) return (ptrdiff_t)i;
  return -1;
}

const PIPE(Coder) *beam_proto_find_coder(const PIPE(Components) *c, const char *id) {
  ptrdiff_t at = beam_proto_coder_index(c, id);
  return at < 0 ? NULL : c->coders[at]->value;
}
