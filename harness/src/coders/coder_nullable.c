/* beam:coder:nullable:v1: one byte (0 = null, 1 = present), then the component in the
 * caller's context (Java's NullableCoder and Python's NullableCoderImpl pass it through). */
#include "coder_internal.h"

static beam_status nullable_encode(const beam_coder *c, const beam_value *v, bool nested,
                                   beam_buf *out, beam_error *err) {
  if (v->kind == BEAM_VALUE_NULL) return beam_buf_append_byte(out, 0);
  beam_status s = beam_buf_append_byte(out, 1);
  if (s != BEAM_OK) return s;
  return c->components[0]->ops->encode(c->components[0], v, nested, out, err);
}

static beam_status nullable_decode(const beam_coder *c, beam_reader *in, bool nested,
                                   beam_arena *arena, beam_value *out, beam_error *err) {
  uint8_t b;
  beam_status s = beam_reader_byte(in, &b);
  if (s != BEAM_OK) return s;
  if (b == 0) {
    *out = beam_value_null();
    return BEAM_OK;
  }
  if (b != 1) return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: marker byte %u", c->urn, b);
  return c->components[0]->ops->decode(c->components[0], in, nested, arena, out, err);
}

static const beam_coder_ops nullable_ops = {.encode = nullable_encode, .decode = nullable_decode};

beam_status beam_coder_factory_nullable(const char *urn, const uint8_t *payload, size_t payload_len,
                                        beam_coder *const *components, size_t n, beam_coder **out,
                                        beam_error *err) {
  beam_status s = beam_coder_check_arity(urn, n, 1, err);
  if (s != BEAM_OK) return s;
  return beam_coder_new(urn, &nullable_ops, NULL, payload, payload_len, components, n, out, err);
}
