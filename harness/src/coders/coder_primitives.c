/* Wire primitives shared by every coder: varints, big-endian integers, doubles,
 * timestamps and length-prefixed bytes. Exposed in coder.h for hot paths that encode
 * without going through a coder object. */
#include <string.h>

#include "coder_internal.h"

size_t beam_coder_varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

beam_status beam_coder_encode_varint(beam_buf *out, uint64_t v) {
  /* Written in place: the ten bytes at most are reserved once (the common one-byte
   * varint of a length or a kind then costs a compare and a store). */
  if (out->cap - out->len < 10) {
    beam_status s = beam_buf_reserve(out, 10);
    if (s != BEAM_OK) return s;
  }
  uint8_t *p = out->data + out->len;
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  out->len = (size_t)(p - out->data);
  return BEAM_OK;
}

beam_status beam_coder_decode_varint(beam_reader *in, uint64_t *out) {
  return beam_coder_read_varint(in, out);
}

beam_status beam_coder_encode_varint_i64(beam_buf *out, int64_t v) {
  return beam_coder_encode_varint(out, (uint64_t)v);
}

beam_status beam_coder_decode_varint_i64(beam_reader *in, int64_t *out) {
  uint64_t u;
  beam_status s = beam_coder_decode_varint(in, &u);
  if (s == BEAM_OK) *out = (int64_t)u;
  return s;
}

beam_status beam_coder_encode_be64(beam_buf *out, uint64_t v) {
  uint8_t b[8];
  for (int i = 7; i >= 0; i--) {
    b[i] = (uint8_t)v;
    v >>= 8;
  }
  return beam_buf_append(out, b, 8);
}

beam_status beam_coder_decode_be64(beam_reader *in, uint64_t *out) {
  const uint8_t *p;
  beam_status s = beam_reader_view(in, 8, &p);
  if (s != BEAM_OK) return s;
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  *out = v;
  return BEAM_OK;
}

beam_status beam_coder_encode_be32(beam_buf *out, uint32_t v) {
  uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  return beam_buf_append(out, b, 4);
}

beam_status beam_coder_decode_be32(beam_reader *in, uint32_t *out) {
  const uint8_t *p;
  beam_status s = beam_reader_view(in, 4, &p);
  if (s != BEAM_OK) return s;
  *out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
  return BEAM_OK;
}

beam_status beam_coder_encode_double(beam_buf *out, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  return beam_coder_encode_be64(out, bits);
}

beam_status beam_coder_decode_double(beam_reader *in, double *out) {
  uint64_t bits;
  beam_status s = beam_coder_decode_be64(in, &bits);
  if (s == BEAM_OK) memcpy(out, &bits, sizeof bits);
  return s;
}

/* Flipping the sign bit makes the encoding sort like the signed value (Java InstantCoder). */
beam_status beam_coder_encode_timestamp(beam_buf *out, int64_t millis) {
  return beam_coder_encode_be64(out, (uint64_t)millis ^ 0x8000000000000000ULL);
}

beam_status beam_coder_decode_timestamp(beam_reader *in, int64_t *millis) {
  uint64_t u;
  beam_status s = beam_coder_decode_be64(in, &u);
  if (s == BEAM_OK) *millis = (int64_t)(u ^ 0x8000000000000000ULL);
  return s;
}

beam_status beam_coder_encode_lp_bytes(beam_buf *out, const void *data, size_t len) {
  beam_status s = beam_coder_encode_varint(out, len);
  if (s != BEAM_OK) return s;
  return beam_buf_append(out, data, len);
}

beam_status beam_coder_decode_lp_bytes(beam_reader *in, beam_bytes *out) {
  uint64_t len;
  beam_status s = beam_coder_decode_varint(in, &len);
  if (s != BEAM_OK) return s;
  if (len > beam_reader_remaining(in)) return BEAM_ERR_TRUNCATED;
  s = beam_reader_view(in, (size_t)len, &out->data);
  out->len = (size_t)len;
  return s;
}

/* PaneInfo: first byte = encoding << 4 | timing << 2 | is_last << 1 | is_first. Encoding 0
 * carries no index, 1 one index (on-time index equal, or -1 for early panes), 2 both.
 * Choice and defaults follow the Java and Python SDKs so bytes match theirs. */
enum { PANE_FIRST = 0, PANE_ONE_INDEX = 1, PANE_TWO_INDICES = 2 };

beam_status beam_coder_encode_pane(beam_buf *out, const beam_pane *pane) {
  if ((unsigned)pane->timing > BEAM_PANE_UNKNOWN) return BEAM_ERR_INVALID_ARG;
  unsigned enc;
  if ((pane->index == 0 && pane->on_time_index == 0) || pane->timing == BEAM_PANE_UNKNOWN)
    enc = PANE_FIRST;
  else if (pane->index == pane->on_time_index || pane->timing == BEAM_PANE_EARLY)
    enc = PANE_ONE_INDEX;
  else
    enc = PANE_TWO_INDICES;
  uint8_t b = (uint8_t)(enc << 4 | (unsigned)pane->timing << 2 | (pane->is_last ? 2u : 0u) |
                        (pane->is_first ? 1u : 0u));
  beam_status s = beam_buf_append_byte(out, b);
  if (s != BEAM_OK || enc == PANE_FIRST) return s;
  s = beam_coder_encode_varint_i64(out, pane->index);
  if (s != BEAM_OK || enc == PANE_ONE_INDEX) return s;
  return beam_coder_encode_varint_i64(out, pane->on_time_index);
}

beam_status beam_coder_decode_pane(beam_reader *in, beam_pane *pane) {
  uint8_t b;
  beam_status s = beam_reader_byte(in, &b);
  if (s != BEAM_OK) return s;
  unsigned enc = b >> 4;
  pane->is_first = (b & 1) != 0;
  pane->is_last = (b & 2) != 0;
  pane->timing = (beam_pane_timing)((b >> 2) & 3);
  switch (enc) {
    case PANE_FIRST:
      /* The well-known panes of the SDKs: later panes of unknown index say -1. */
      pane->index = pane->is_first ? 0 : -1;
      pane->on_time_index = pane->timing == BEAM_PANE_EARLY ? -1 : 0;
      return BEAM_OK;
    case PANE_ONE_INDEX:
      s = beam_coder_decode_varint_i64(in, &pane->index);
      if (s != BEAM_OK) return s;
      pane->on_time_index = pane->timing == BEAM_PANE_EARLY ? -1 : pane->index;
      return BEAM_OK;
    case PANE_TWO_INDICES:
      s = beam_coder_decode_varint_i64(in, &pane->index);
      if (s != BEAM_OK) return s;
      return beam_coder_decode_varint_i64(in, &pane->on_time_index);
    default:
      return BEAM_ERR_MALFORMED;
  }
}
