/* beam:coder:bytes:v1 and beam:coder:string_utf8:v1: raw bytes, length-prefixed (varint)
 * only in the nested context. Strings are not validated as UTF-8, like Beam's SDKs. */
#include <string.h>

#include "coder_internal.h"

static beam_status bytes_encode(const beam_coder *c, const beam_value *v, bool nested,
                                beam_buf *out, beam_error *err) {
  if (v->kind != BEAM_VALUE_BYTES && v->kind != BEAM_VALUE_STRING)
    return beam_coder_wrong_kind(err, c->urn, v);
  beam_status s = nested ? beam_coder_encode_lp_bytes(out, v->u.bytes.data, v->u.bytes.len)
                         : beam_buf_append(out, v->u.bytes.data, v->u.bytes.len);
  return s;
}

static beam_status bytes_decode(const beam_coder *c, beam_reader *in, bool nested,
                                beam_arena *arena, beam_value *out, beam_error *err) {
  beam_bytes b;
  beam_status s;
  if (nested) {
    s = beam_coder_decode_lp_bytes(in, &b);
    if (s != BEAM_OK) return s;
  } else {
    b.len = beam_reader_remaining(in);
    s = beam_reader_view(in, b.len, &b.data);
    if (s != BEAM_OK) return s;
  }
  out->kind = c->impl ? BEAM_VALUE_STRING : BEAM_VALUE_BYTES;
  out->u.bytes = b;
  return BEAM_OK;
}

static const beam_coder_ops bytes_ops = {.encode = bytes_encode, .decode = bytes_decode};

beam_status beam_coder_factory_bytes(const char *urn, const uint8_t *payload, size_t payload_len,
                                     beam_coder *const *components, size_t n, beam_coder **out,
                                     beam_error *err) {
  beam_status s = beam_coder_check_arity(urn, n, 0, err);
  if (s != BEAM_OK) return s;
  /* impl is a flag, not memory: non-NULL means "decode as STRING". */
  void *is_string = strcmp(urn, BEAM_CODER_URN_STRING_UTF8) == 0 ? (void *)&bytes_ops : NULL;
  return beam_coder_new(urn, &bytes_ops, is_string, payload, payload_len, NULL, 0, out, err);
}
