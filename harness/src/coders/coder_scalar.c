/* Fixed-shape scalars: beam:coder:varint:v1 (int64 as unsigned varint of its two's
 * complement), beam:coder:bool:v1 (one byte, 0 or 1), beam:coder:double:v1 (IEEE 754
 * big-endian). None of them depends on the context. */
#include <string.h>

#include "coder_internal.h"

static beam_status varint_encode(const beam_coder *c, const beam_value *v, bool nested,
                                 beam_buf *out, beam_error *err) {
  if (v->kind != BEAM_VALUE_INT64 && v->kind != BEAM_VALUE_TIMESTAMP)
    return beam_coder_wrong_kind(err, c->urn, v);
  return beam_coder_encode_varint_i64(out, v->u.i64);
}

static beam_status varint_decode(const beam_coder *c, beam_reader *in, bool nested,
                                 beam_arena *arena, beam_value *out, beam_error *err) {
  int64_t x;
  beam_status s = beam_coder_decode_varint_i64(in, &x);
  if (s != BEAM_OK) return s;
  *out = beam_value_int64(x);
  return BEAM_OK;
}

static beam_status bool_encode(const beam_coder *c, const beam_value *v, bool nested,
                               beam_buf *out, beam_error *err) {
  if (v->kind != BEAM_VALUE_BOOL) return beam_coder_wrong_kind(err, c->urn, v);
  return beam_buf_append_byte(out, v->u.b ? 1 : 0);
}

static beam_status bool_decode(const beam_coder *c, beam_reader *in, bool nested,
                               beam_arena *arena, beam_value *out, beam_error *err) {
  uint8_t b;
  beam_status s = beam_reader_byte(in, &b);
  if (s != BEAM_OK) return s;
  if (b > 1) return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: byte %u is not 0 or 1", c->urn, b);
  *out = beam_value_bool(b != 0);
  return BEAM_OK;
}

static beam_status double_encode(const beam_coder *c, const beam_value *v, bool nested,
                                 beam_buf *out, beam_error *err) {
  if (v->kind != BEAM_VALUE_DOUBLE) return beam_coder_wrong_kind(err, c->urn, v);
  return beam_coder_encode_double(out, v->u.f64);
}

static beam_status double_decode(const beam_coder *c, beam_reader *in, bool nested,
                                 beam_arena *arena, beam_value *out, beam_error *err) {
  double d;
  beam_status s = beam_coder_decode_double(in, &d);
  if (s != BEAM_OK) return s;
  *out = beam_value_double(d);
  return BEAM_OK;
}

static size_t double_min_size(const beam_coder *c) { return 8; }

static const beam_coder_ops varint_ops = {.encode = varint_encode, .decode = varint_decode};
static const beam_coder_ops bool_ops = {.encode = bool_encode, .decode = bool_decode};
static const beam_coder_ops double_ops = {
    .encode = double_encode,
    .decode = double_decode,
    .min_size = double_min_size,
};

beam_status beam_coder_factory_scalar(const char *urn, const uint8_t *payload, size_t payload_len,
                                      beam_coder *const *components, size_t n, beam_coder **out,
                                      beam_error *err) {
  beam_status s = beam_coder_check_arity(urn, n, 0, err);
  if (s != BEAM_OK) return s;
  const beam_coder_ops *ops = strcmp(urn, BEAM_CODER_URN_VARINT) == 0 ? &varint_ops
                              : strcmp(urn, BEAM_CODER_URN_BOOL) == 0 ? &bool_ops
                                                                      : &double_ops;
  return beam_coder_new(urn, ops, NULL, payload, payload_len, NULL, 0, out, err);
}
