/* Private parts of the coder implementation shared by the coder_*.c files. */
#ifndef BEAM_CODER_INTERNAL_H
#define BEAM_CODER_INTERNAL_H

#include <stdatomic.h>

#include "beam/coder.h"

struct beam_coder {
  atomic_size_t refs;
  char *urn;
  const beam_coder_ops *ops;
  void *impl;
  uint8_t *payload;
  size_t payload_len;
  beam_coder **components;
  size_t n_components;
  size_t min_size;  /* cached ops->min_size */
  unsigned depth;   /* 1 + deepest component */
};

/* beam_coder_decode_varint's body, inline for the coders that read a varint per value (the
 * value coder's counts and integers): the exported function is this. */
static inline beam_status beam_coder_read_varint(beam_reader *in, uint64_t *out) {
  if (in->pos < in->len && in->data[in->pos] < 0x80) { /* one byte: most lengths and kinds */
    *out = in->data[in->pos++];
    return BEAM_OK;
  }
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (in->pos >= in->len) return BEAM_ERR_TRUNCATED;
    uint8_t b = in->data[in->pos++];
    /* The 10th byte may only carry the top bit of a 64-bit value. */
    if (shift == 63 && b > 1) return BEAM_ERR_MALFORMED;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return BEAM_OK;
    }
  }
  return BEAM_ERR_MALFORMED;
}

/* Factories of the standard coders (one per coder_*.c file). */
beam_status beam_coder_factory_bytes(const char *urn, const uint8_t *payload, size_t payload_len,
                                     beam_coder *const *components, size_t n, beam_coder **out,
                                     beam_error *err);
beam_status beam_coder_factory_scalar(const char *urn, const uint8_t *payload, size_t payload_len,
                                      beam_coder *const *components, size_t n, beam_coder **out,
                                      beam_error *err);
beam_status beam_coder_factory_kv(const char *urn, const uint8_t *payload, size_t payload_len,
                                  beam_coder *const *components, size_t n, beam_coder **out,
                                  beam_error *err);
beam_status beam_coder_factory_iterable(const char *urn, const uint8_t *payload, size_t payload_len,
                                        beam_coder *const *components, size_t n, beam_coder **out,
                                        beam_error *err);
beam_status beam_coder_factory_length_prefix(const char *urn, const uint8_t *payload,
                                             size_t payload_len, beam_coder *const *components,
                                             size_t n, beam_coder **out, beam_error *err);
beam_status beam_coder_factory_window(const char *urn, const uint8_t *payload, size_t payload_len,
                                      beam_coder *const *components, size_t n, beam_coder **out,
                                      beam_error *err);
beam_status beam_coder_factory_windowed_value(const char *urn, const uint8_t *payload,
                                              size_t payload_len, beam_coder *const *components,
                                              size_t n, beam_coder **out, beam_error *err);
beam_status beam_coder_factory_timer(const char *urn, const uint8_t *payload, size_t payload_len,
                                     beam_coder *const *components, size_t n, beam_coder **out,
                                     beam_error *err);
beam_status beam_coder_factory_nullable(const char *urn, const uint8_t *payload, size_t payload_len,
                                        beam_coder *const *components, size_t n, beam_coder **out,
                                        beam_error *err);
beam_status beam_coder_factory_sharded_key(const char *urn, const uint8_t *payload,
                                           size_t payload_len, beam_coder *const *components,
                                           size_t n, beam_coder **out, beam_error *err);
beam_status beam_coder_factory_row(const char *urn, const uint8_t *payload, size_t payload_len,
                                   beam_coder *const *components, size_t n, beam_coder **out,
                                   beam_error *err);

beam_status beam_coder_factory_dynamic(const char *urn, const uint8_t *payload, size_t payload_len,
                                       beam_coder *const *components, size_t n, beam_coder **out,
                                       beam_error *err);

/* Checks a factory got exactly `want` components. */
beam_status beam_coder_check_arity(const char *urn, size_t n, size_t want, beam_error *err);

/* Window lists as windowed values and timers carry them: big-endian int32 count, then each
 * window nested with the window coder. */
beam_status beam_coder_encode_windows(const beam_coder *window_coder, const beam_window *windows,
                                      size_t n, beam_buf *out, beam_error *err);
beam_status beam_coder_decode_windows(const beam_coder *window_coder, beam_reader *in,
                                      beam_arena *arena, beam_window **windows, size_t *n,
                                      beam_error *err);

/* Most elements a list of zero-byte elements (global windows) may declare: their count
 * cannot be bounded by the input length, so it is capped outright. */
#define BEAM_CODER_ZERO_SIZE_CAP ((uint64_t)1 << 16)

/* Element count limit for n elements of an element coder with the given minimum size. */
beam_status beam_coder_check_count(const beam_reader *in, uint64_t count, size_t min_size,
                                   beam_error *err);

/* Common error helpers: they fill err and return the code. */
beam_status beam_coder_truncated(beam_error *err, const char *what);
beam_status beam_coder_wrong_kind(beam_error *err, const char *urn, const beam_value *v);

/* Allocation helper: n zeroed values from the arena (n may be 0). */
beam_value *beam_coder_alloc_values(beam_arena *arena, size_t n);

#endif
