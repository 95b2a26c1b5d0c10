/* The coder object: construction, reference counting, and encode/decode dispatch. */
#include <stdlib.h>
#include <string.h>

#include "coder_internal.h"

static void coder_destroy(beam_coder *c) {
  if (c->ops && c->ops->free_impl) c->ops->free_impl(c->impl);
  for (size_t i = 0; i < c->n_components; i++) beam_coder_free(c->components[i]);
  free(c->components);
  free(c->payload);
  free(c->urn);
  free(c);
}

beam_status beam_coder_new(const char *urn, const beam_coder_ops *ops, void *impl,
                           const uint8_t *payload, size_t payload_len,
                           beam_coder *const *components, size_t n_components, beam_coder **out,
                           beam_error *err) {
  *out = NULL;
  beam_coder *c = calloc(1, sizeof *c);
  if (!c) {
    if (ops && ops->free_impl) ops->free_impl(impl);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory building coder %s", urn);
  }
  atomic_init(&c->refs, 1);
  c->ops = ops;
  c->impl = impl;
  c->urn = strdup(urn);
  if (!c->urn) goto nomem;
  if (payload_len) {
    c->payload = malloc(payload_len);
    if (!c->payload) goto nomem;
    memcpy(c->payload, payload, payload_len);
    c->payload_len = payload_len;
  }
  c->depth = 1;
  if (n_components) {
    c->components = calloc(n_components, sizeof *c->components);
    if (!c->components) goto nomem;
    for (size_t i = 0; i < n_components; i++) {
      if (!components[i]) {
        coder_destroy(c);
        return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: component %zu is NULL", urn, i);
      }
      c->components[i] = beam_coder_retain(components[i]);
      c->n_components = i + 1;
      if (components[i]->depth + 1 > c->depth) c->depth = components[i]->depth + 1;
    }
  }
  if (c->depth > BEAM_CODER_MAX_DEPTH) {
    coder_destroy(c);
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: coder nesting deeper than %d", urn,
                          BEAM_CODER_MAX_DEPTH);
  }
  c->min_size = ops->min_size ? ops->min_size(c) : 1;
  *out = c;
  return BEAM_OK;
nomem:
  coder_destroy(c);
  return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory building coder %s", urn);
}

beam_coder *beam_coder_retain(beam_coder *c) {
  if (c) atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
  return c;
}

void beam_coder_free(beam_coder *c) {
  if (!c) return;
  if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) coder_destroy(c);
}

const char *beam_coder_urn(const beam_coder *c) { return c->urn; }
size_t beam_coder_n_components(const beam_coder *c) { return c->n_components; }
const beam_coder *beam_coder_component(const beam_coder *c, size_t i) {
  return i < c->n_components ? c->components[i] : NULL;
}
const uint8_t *beam_coder_payload(const beam_coder *c, size_t *len) {
  if (len) *len = c->payload_len;
  return c->payload;
}
void *beam_coder_impl(const beam_coder *c) { return c->impl; }
size_t beam_coder_min_size(const beam_coder *c) { return c->min_size; }

/* Clearing err first lets the outermost failing level add a generic message when a
 * primitive (which has no err parameter) failed deep inside. */
beam_status beam_coder_encode(const beam_coder *c, const beam_value *v, bool nested, beam_buf *out,
                              beam_error *err) {
  if (err) {
    err->code = BEAM_OK;
    err->message[0] = '\0';
  }
  beam_status s = c->ops->encode(c, v, nested, out, err);
  if (s != BEAM_OK && err && err->code != s)
    beam_error_set(err, s, "%s: encode failed (%s)", c->urn, beam_status_name(s));
  return s;
}

beam_status beam_coder_decode(const beam_coder *c, beam_reader *in, bool nested, beam_arena *arena,
                              beam_value *out, beam_error *err) {
  if (err) {
    err->code = BEAM_OK;
    err->message[0] = '\0';
  }
  beam_status s = c->ops->decode(c, in, nested, arena, out, err);
  if (s != BEAM_OK && err && err->code != s)
    beam_error_set(err, s, "%s: %s input at byte %zu", c->urn,
                   s == BEAM_ERR_TRUNCATED ? "truncated" : "bad", in->pos);
  return s;
}

beam_status beam_coder_check_arity(const char *urn, size_t n, size_t want, beam_error *err) {
  if (n == want) return BEAM_OK;
  return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s needs %zu component coder(s), got %zu", urn,
                        want, n);
}

beam_status beam_coder_check_count(const beam_reader *in, uint64_t count, size_t min_size,
                                   beam_error *err) {
  /* Zero-size elements (global windows) cannot be bounded by the input: cap them. */
  uint64_t limit = min_size ? beam_reader_remaining(in) / min_size : BEAM_CODER_ZERO_SIZE_CAP;
  if (count <= limit) return BEAM_OK;
  return beam_error_set(err, min_size ? BEAM_ERR_TRUNCATED : BEAM_ERR_MALFORMED,
                        "element count %llu exceeds what the remaining %zu bytes can hold",
                        (unsigned long long)count, beam_reader_remaining(in));
}

beam_status beam_coder_truncated(beam_error *err, const char *what) {
  return beam_error_set(err, BEAM_ERR_TRUNCATED, "%s: input truncated", what);
}

static const char *kind_name(beam_value_kind k) {
  static const char *const names[] = {"NULL", "BOOL", "INT64", "DOUBLE", "BYTES", "STRING",
                                      "LIST", "KV", "ROW", "MAP", "TIMESTAMP", "WINDOW",
                                      "WINDOWED", "TIMER", "SHARDED_KEY", "STATE_ITERABLE"};
  return (size_t)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

beam_status beam_coder_wrong_kind(beam_error *err, const char *urn, const beam_value *v) {
  return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s cannot encode a %s value", urn,
                        kind_name(v->kind));
}

beam_value *beam_coder_alloc_values(beam_arena *arena, size_t n) {
  return beam_arena_calloc(arena, n ? n : 1, sizeof(beam_value));
}
