/* Builds coders from a Runner API Components map: the way both the local runner and the
 * Fn API harness learn the coders of a pipeline.
 *
 * Each coder id is built once per call and shared by every reference to it: descriptors
 * reuse components (KV<K, V> with K = V), and rebuilding per reference would take time
 * exponential in the nesting depth on a hostile descriptor. */
#include <stdlib.h>

#include "coder_proto.h"
#include "proto_lookup.h"

typedef struct built {
  const char **ids;   /* coder ids, index-aligned with components->coders */
  beam_coder **coders;
  size_t n;
} built;

static beam_status build(const PIPE(Components) *components, built *cache, const char *id, int depth,
                         beam_coder **out, beam_error *err) {
  if (depth > BEAM_CODER_MAX_DEPTH)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "coder %s: nested deeper than %d (a cycle?)",
                          id, BEAM_CODER_MAX_DEPTH);
  ptrdiff_t at = beam_proto_coder_index(components, id);
  const PIPE(Coder) *proto = at >= 0 ? components->coders[at]->value : NULL;
  if (!proto || !proto->spec || !proto->spec->urn)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "coder %s: not in the pipeline's components", id);
  if (cache->coders[at]) {
    *out = beam_coder_retain(cache->coders[at]);
    return BEAM_OK;
  }
  size_t n = proto->n_component_coder_ids;
  beam_coder *parts[16] = {0};
  if (n > sizeof parts / sizeof parts[0])
    return beam_error_set(err, BEAM_ERR_MALFORMED, "coder %s: %zu components is too many", id, n);
  beam_status s = BEAM_OK;
  for (size_t i = 0; i < n && s == BEAM_OK; i++)
    s = build(components, cache, proto->component_coder_ids[i], depth + 1, &parts[i], err);
  if (s == BEAM_OK)
    s = beam_coder_build(proto->spec->urn, proto->spec->payload.data, proto->spec->payload.len,
                         parts, n, out, err);
  for (size_t i = 0; i < n; i++) beam_coder_free(parts[i]);
  if (s != BEAM_OK) return beam_error_prefix(err, "coder %s: ", id);
  cache->coders[at] = beam_coder_retain(*out);
  return BEAM_OK;
}

beam_status beam_coder_from_components(const PIPE(Components) *components, const char *coder_id,
                                       beam_coder **out, beam_error *err) {
  *out = NULL;
  built cache = {NULL, calloc(components->n_coders + 1, sizeof(beam_coder *)), components->n_coders};
  if (!cache.coders) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = build(components, &cache, coder_id, 0, out, err);
  for (size_t i = 0; i < cache.n; i++) beam_coder_free(cache.coders[i]);
  free(cache.coders);
  return s;
}
