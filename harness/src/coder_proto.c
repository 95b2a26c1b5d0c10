/* Builds coders from a Runner API Components map: the way both the local runner and the
 * Fn API harness learn the coders of a pipeline. */
#include <string.h>

#include "coder_proto.h"

static const PIPE(Coder) *find_coder(const PIPE(Components) *c, const char *id) {
  for (size_t i = 0; i < c->n_coders; i++)
    if (strcmp(c->coders[i]->key, id) == 0) return c->coders[i]->value;
  return NULL;
}

static beam_status build(const PIPE(Components) *components, const char *id, int depth,
                         beam_coder **out, beam_error *err) {
  if (depth > BEAM_CODER_MAX_DEPTH)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "coder %s: nested deeper than %d (a cycle?)",
                          id, BEAM_CODER_MAX_DEPTH);
  const PIPE(Coder) *proto = find_coder(components, id);
  if (!proto || !proto->spec || !proto->spec->urn)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "coder %s: not in the pipeline's components", id);
  size_t n = proto->n_component_coder_ids;
  beam_coder *parts[16] = {0};
  if (n > sizeof parts / sizeof parts[0])
    return beam_error_set(err, BEAM_ERR_MALFORMED, "coder %s: %zu components is too many", id, n);
  beam_status s = BEAM_OK;
  for (size_t i = 0; i < n && s == BEAM_OK; i++)
    s = build(components, proto->component_coder_ids[i], depth + 1, &parts[i], err);
  if (s == BEAM_OK)
    s = beam_coder_build(proto->spec->urn, proto->spec->payload.data, proto->spec->payload.len,
                         parts, n, out, err);
  for (size_t i = 0; i < n; i++) beam_coder_free(parts[i]);
  if (s != BEAM_OK) beam_error_prefix(err, "coder %s", id);
  return s;
}

beam_status beam_coder_from_components(const PIPE(Components) *components, const char *coder_id,
                                       beam_coder **out, beam_error *err) {
  *out = NULL;
  return build(components, coder_id, 0, out, err);
}
