/* beam:coder:length_prefix:v1: varint byte length, then the component encoded in the outer
 * context inside exactly that many bytes. Runners wrap coders they do not know with it. */
#include <string.h>

#include "coder_internal.h"

static beam_status lp_encode(const beam_coder *c, const beam_value *v, bool nested, beam_buf *out,
                             beam_error *err) {
  /* Encode in place after a worst-case 10-byte gap would need a memmove; encoding into the
   * tail of out and then shifting keeps a single buffer (no per-element malloc). */
  size_t start = out->len;
  beam_status s = c->components[0]->ops->encode(c->components[0], v, false, out, err);
  if (s != BEAM_OK) return s;
  size_t len = out->len - start;
  uint8_t hdr[10];
  size_t h = 0;
  uint64_t x = len;
  while (x >= 0x80) {
    hdr[h++] = (uint8_t)(x | 0x80);
    x >>= 7;
  }
  hdr[h++] = (uint8_t)x;
  s = beam_buf_reserve(out, h);
  if (s != BEAM_OK) return s;
  memmove(out->data + start + h, out->data + start, len);
  memcpy(out->data + start, hdr, h);
  out->len += h;
  return BEAM_OK;
}

static beam_status lp_decode(const beam_coder *c, beam_reader *in, bool nested, beam_arena *arena,
                             beam_value *out, beam_error *err) {
  beam_bytes b;
  beam_status s = beam_coder_decode_lp_bytes(in, &b);
  if (s != BEAM_OK) return s;
  beam_reader sub = beam_reader_make(b.data, b.len);
  return c->components[0]->ops->decode(c->components[0], &sub, false, arena, out, err);
}

static const beam_coder_ops lp_ops = {.encode = lp_encode, .decode = lp_decode};

beam_status beam_coder_factory_length_prefix(const char *urn, const uint8_t *payload,
                                             size_t payload_len, beam_coder *const *components,
                                             size_t n, beam_coder **out, beam_error *err) {
  beam_status s = beam_coder_check_arity(urn, n, 1, err);
  if (s != BEAM_OK) return s;
  return beam_coder_new(urn, &lp_ops, NULL, payload, payload_len, components, n, out, err);
}
