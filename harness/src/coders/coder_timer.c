/* beam:coder:timer:v1: user key (nested, key coder), dynamic timer tag (nested string),
 * window list, clear bit (one byte); unless cleared: fire timestamp, hold timestamp, pane.
 * Components: [key coder, window coder]. */
#include <string.h>

#include "coder_internal.h"

static beam_status timer_encode(const beam_coder *c, const beam_value *v, bool nested,
                                beam_buf *out, beam_error *err) {
  if (v->kind != BEAM_VALUE_TIMER || !v->u.timer.user_key) return beam_coder_wrong_kind(err, c->urn, v);
  const beam_timer *t = &v->u.timer;
  beam_status s = c->components[0]->ops->encode(c->components[0], t->user_key, true, out, err);
  if (s == BEAM_OK) s = beam_coder_encode_lp_bytes(out, t->dynamic_tag.data, t->dynamic_tag.len);
  if (s == BEAM_OK) s = beam_coder_encode_windows(c->components[1], t->windows, t->n_windows, out, err);
  if (s == BEAM_OK) s = beam_buf_append_byte(out, t->clear_bit ? 1 : 0);
  if (s != BEAM_OK || t->clear_bit) return s;
  s = beam_coder_encode_timestamp(out, t->fire_timestamp_ms);
  if (s == BEAM_OK) s = beam_coder_encode_timestamp(out, t->hold_timestamp_ms);
  if (s == BEAM_OK) {
    s = beam_coder_encode_pane(out, &t->pane);
    if (s == BEAM_ERR_INVALID_ARG) return beam_error_set(err, s, "%s: bad pane timing", c->urn);
  }
  return s;
}

static beam_status timer_decode(const beam_coder *c, beam_reader *in, bool nested,
                                beam_arena *arena, beam_value *out, beam_error *err) {
  beam_timer t;
  memset(&t, 0, sizeof t);
  t.user_key = beam_coder_alloc_values(arena, 1);
  if (!t.user_key) return BEAM_ERR_NOMEM;
  beam_status s = c->components[0]->ops->decode(c->components[0], in, true, arena, t.user_key, err);
  if (s == BEAM_OK) s = beam_coder_decode_lp_bytes(in, &t.dynamic_tag);
  if (s == BEAM_OK)
    s = beam_coder_decode_windows(c->components[1], in, arena, &t.windows, &t.n_windows, err);
  uint8_t clear = 0;
  if (s == BEAM_OK) s = beam_reader_byte(in, &clear);
  if (s != BEAM_OK) return s;
  if (clear > 1) return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: clear bit %u", c->urn, clear);
  t.clear_bit = clear != 0;
  if (!t.clear_bit) {
    s = beam_coder_decode_timestamp(in, &t.fire_timestamp_ms);
    if (s == BEAM_OK) s = beam_coder_decode_timestamp(in, &t.hold_timestamp_ms);
    if (s == BEAM_OK) s = beam_coder_decode_pane(in, &t.pane);
    if (s != BEAM_OK) return s;
  }
  out->kind = BEAM_VALUE_TIMER;
  out->u.timer = t;
  return BEAM_OK;
}

static size_t timer_min_size(const beam_coder *c) { return c->components[0]->min_size + 6; }

static const beam_coder_ops timer_ops = {
    .encode = timer_encode,
    .decode = timer_decode,
    .min_size = timer_min_size,
};

beam_status beam_coder_factory_timer(const char *urn, const uint8_t *payload, size_t payload_len,
                                     beam_coder *const *components, size_t n, beam_coder **out,
                                     beam_error *err) {
  beam_status s = beam_coder_check_arity(urn, n, 2, err);
  if (s != BEAM_OK) return s;
  return beam_coder_new(urn, &timer_ops, NULL, payload, payload_len, components, n, out, err);
}
