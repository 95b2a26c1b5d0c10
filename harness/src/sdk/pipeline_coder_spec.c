/* Coder descriptions used at construction time; interned into Components.coders on encode. */
#include <string.h>

#include "beam/coder.h"
#include "beam/urns.h"
#include "pipeline_model.h"

beam_coder_spec *beam_coder_spec_new(beam_pipeline *p, const char *urn, const void *payload,
                                     size_t payload_len, beam_coder_spec *const *components,
                                     size_t n_components) {
  if (p->error.code != BEAM_OK) return NULL;
  for (size_t i = 0; i < n_components; i++)
    if (!components[i]) {
      beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG, "coder %s: component %zu is NULL", urn, i);
      return NULL;
    }
  beam_coder_spec *c = beam_arena_calloc(&p->arena, 1, sizeof *c);
  if (!c) goto nomem;
  c->urn = beam_arena_strdup(&p->arena, urn);
  if (payload_len) {
    uint8_t *copy = beam_arena_alloc(&p->arena, payload_len);
    if (!copy) goto nomem;
    memcpy(copy, payload, payload_len);
    c->payload = copy;
    c->payload_len = payload_len;
  }
  if (n_components) {
    c->components = beam_arena_calloc(&p->arena, n_components, sizeof *c->components);
    if (!c->components) goto nomem;
    memcpy(c->components, components, n_components * sizeof *components);
    c->n_components = n_components;
  }
  if (!c->urn) goto nomem;
  return c;
nomem:
  beam_pipeline_fail(p, BEAM_ERR_NOMEM, "out of memory building coder %s", urn);
  return NULL;
}

beam_coder_spec *beam_coder_spec_bytes(beam_pipeline *p) {
  return beam_coder_spec_new(p, BEAM_URN_CODER_BYTES, NULL, 0, NULL, 0);
}
beam_coder_spec *beam_coder_spec_string(beam_pipeline *p) {
  return beam_coder_spec_new(p, BEAM_URN_CODER_STRING_UTF8, NULL, 0, NULL, 0);
}
beam_coder_spec *beam_coder_spec_varint(beam_pipeline *p) {
  return beam_coder_spec_new(p, BEAM_URN_CODER_VARINT, NULL, 0, NULL, 0);
}
beam_coder_spec *beam_coder_spec_double(beam_pipeline *p) {
  return beam_coder_spec_new(p, BEAM_URN_CODER_DOUBLE, NULL, 0, NULL, 0);
}
beam_coder_spec *beam_coder_spec_bool(beam_pipeline *p) {
  return beam_coder_spec_new(p, BEAM_URN_CODER_BOOL, NULL, 0, NULL, 0);
}
beam_coder_spec *beam_coder_spec_kv(beam_pipeline *p, beam_coder_spec *key, beam_coder_spec *value) {
  beam_coder_spec *parts[2] = {key, value};
  return beam_coder_spec_new(p, BEAM_URN_CODER_KV, NULL, 0, parts, 2);
}
beam_coder_spec *beam_coder_spec_iterable(beam_pipeline *p, beam_coder_spec *elem) {
  return beam_coder_spec_new(p, BEAM_URN_CODER_ITERABLE, NULL, 0, &elem, 1);
}
beam_coder_spec *beam_coder_spec_row(beam_pipeline *p, const void *schema_proto, size_t len) {
  return beam_coder_spec_new(p, BEAM_URN_CODER_ROW, schema_proto, len, NULL, 0);
}

beam_coder_spec *beam_coder_spec_value(beam_pipeline *p) {
  return beam_coder_spec_new(p, BEAM_CODER_URN_C_VALUE, NULL, 0, NULL, 0);
}
