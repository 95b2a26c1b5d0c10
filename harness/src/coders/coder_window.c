/* Window coders and window lists.
 *
 * beam:coder:global_window:v1     -> nothing at all.
 * beam:coder:interval_window:v1   -> end as a timestamp, then the span (end - start) as varint.
 * beam:coder:custom_window:v1     -> max timestamp (inclusive), then the window nested with its
 *                                    component window coder.
 * A window that no coder here understands is carried as BEAM_WINDOW_CUSTOM holding its exact
 * encoding, so it round-trips byte for byte (see coder.h). */
#include <string.h>

#include "coder_internal.h"

enum { WIN_GLOBAL, WIN_INTERVAL, WIN_CUSTOM };

static beam_status window_kind_check(const beam_coder *c, const beam_value *v,
                                     beam_window_kind want, beam_error *err) {
  if (v->kind != BEAM_VALUE_WINDOW || v->u.window.kind != want)
    return beam_coder_wrong_kind(err, c->urn, v);
  return BEAM_OK;
}

static beam_status global_encode(const beam_coder *c, const beam_value *v, bool nested,
                                 beam_buf *out, beam_error *err) {
  if (v->kind == BEAM_VALUE_WINDOW && v->u.window.kind == BEAM_WINDOW_CUSTOM)
    return beam_buf_append(out, v->u.window.custom.data, v->u.window.custom.len);
  return window_kind_check(c, v, BEAM_WINDOW_GLOBAL, err);
}

static beam_status global_decode(const beam_coder *c, beam_reader *in, bool nested,
                                 beam_arena *arena, beam_value *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  out->kind = BEAM_VALUE_WINDOW;
  out->u.window.kind = BEAM_WINDOW_GLOBAL;
  out->u.window.start_ms = BEAM_TIMESTAMP_MIN_MS;
  out->u.window.end_ms = BEAM_GLOBAL_WINDOW_MAX_MS + 1;
  return BEAM_OK;
}

static beam_status interval_encode(const beam_coder *c, const beam_value *v, bool nested,
                                   beam_buf *out, beam_error *err) {
  if (v->kind == BEAM_VALUE_WINDOW && v->u.window.kind == BEAM_WINDOW_CUSTOM)
    return beam_buf_append(out, v->u.window.custom.data, v->u.window.custom.len);
  beam_status s = window_kind_check(c, v, BEAM_WINDOW_INTERVAL, err);
  if (s != BEAM_OK) return s;
  s = beam_coder_encode_timestamp(out, v->u.window.end_ms);
  if (s != BEAM_OK) return s;
  return beam_coder_encode_varint(out, (uint64_t)v->u.window.end_ms - (uint64_t)v->u.window.start_ms);
}

static beam_status interval_decode(const beam_coder *c, beam_reader *in, bool nested,
                                   beam_arena *arena, beam_value *out, beam_error *err) {
  int64_t end;
  uint64_t span;
  beam_status s = beam_coder_decode_timestamp(in, &end);
  if (s == BEAM_OK) s = beam_coder_decode_varint(in, &span);
  if (s != BEAM_OK) return s;
  memset(out, 0, sizeof *out);
  out->kind = BEAM_VALUE_WINDOW;
  out->u.window.kind = BEAM_WINDOW_INTERVAL;
  out->u.window.end_ms = end;
  out->u.window.start_ms = (int64_t)((uint64_t)end - span); /* wraps, never UB */
  return BEAM_OK;
}

static int64_t window_max_timestamp(const beam_window *w) {
  if (w->kind == BEAM_WINDOW_GLOBAL) return BEAM_GLOBAL_WINDOW_MAX_MS;
  return (int64_t)((uint64_t)w->end_ms - 1);
}

static beam_status custom_encode(const beam_coder *c, const beam_value *v, bool nested,
                                 beam_buf *out, beam_error *err) {
  if (v->kind != BEAM_VALUE_WINDOW) return beam_coder_wrong_kind(err, c->urn, v);
  if (v->u.window.kind == BEAM_WINDOW_CUSTOM)
    return beam_buf_append(out, v->u.window.custom.data, v->u.window.custom.len);
  beam_status s = beam_coder_encode_timestamp(out, window_max_timestamp(&v->u.window));
  if (s != BEAM_OK) return s;
  const beam_coder *inner = c->components[0];
  return inner->ops->encode(inner, v, true, out, err);
}

static beam_status custom_decode(const beam_coder *c, beam_reader *in, bool nested,
                                 beam_arena *arena, beam_value *out, beam_error *err) {
  size_t start = in->pos;
  int64_t max_ts;
  beam_status s = beam_coder_decode_timestamp(in, &max_ts);
  if (s != BEAM_OK) return s;
  const beam_coder *inner = c->components[0];
  s = inner->ops->decode(inner, in, true, arena, out, err);
  if (s != BEAM_OK) return s;
  if (out->kind == BEAM_VALUE_WINDOW && out->u.window.kind != BEAM_WINDOW_CUSTOM) return BEAM_OK;
  memset(out, 0, sizeof *out);
  out->kind = BEAM_VALUE_WINDOW;
  out->u.window.kind = BEAM_WINDOW_CUSTOM;
  out->u.window.end_ms = (int64_t)((uint64_t)max_ts + 1);
  out->u.window.custom.data = in->data + start;
  out->u.window.custom.len = in->pos - start;
  return BEAM_OK;
}

static size_t global_min_size(const beam_coder *c) { return 0; }
static size_t interval_min_size(const beam_coder *c) { return 9; }
static size_t custom_min_size(const beam_coder *c) { return 8 + c->components[0]->min_size; }

static const beam_coder_ops global_ops = {
    .encode = global_encode,
    .decode = global_decode,
    .min_size = global_min_size,
};
static const beam_coder_ops interval_ops = {
    .encode = interval_encode,
    .decode = interval_decode,
    .min_size = interval_min_size,
};
static const beam_coder_ops custom_ops = {
    .encode = custom_encode,
    .decode = custom_decode,
    .min_size = custom_min_size,
};

beam_status beam_coder_factory_window(const char *urn, const uint8_t *payload, size_t payload_len,
                                      beam_coder *const *components, size_t n, beam_coder **out,
                                      beam_error *err) {
  bool custom = strcmp(urn, BEAM_CODER_URN_CUSTOM_WINDOW) == 0;
  beam_status s = beam_coder_check_arity(urn, n, custom ? 1 : 0, err);
  if (s != BEAM_OK) return s;
  const beam_coder_ops *ops = custom ? &custom_ops
                              : strcmp(urn, BEAM_CODER_URN_GLOBAL_WINDOW) == 0 ? &global_ops
                                                                               : &interval_ops;
  return beam_coder_new(urn, ops, NULL, payload, payload_len, components, n, out, err);
}

/* --- window lists ------------------------------------------------------------------------ */

beam_status beam_coder_encode_windows(const beam_coder *wc, const beam_window *windows, size_t n,
                                      beam_buf *out, beam_error *err) {
  if (n > INT32_MAX) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "too many windows");
  beam_status s = beam_coder_encode_be32(out, (uint32_t)n);
  for (size_t i = 0; s == BEAM_OK && i < n; i++) {
    if (windows[i].kind == BEAM_WINDOW_CUSTOM) {
      s = beam_buf_append(out, windows[i].custom.data, windows[i].custom.len);
    } else {
      beam_value v;
      v.kind = BEAM_VALUE_WINDOW;
      v.u.window = windows[i];
      s = wc->ops->encode(wc, &v, true, out, err);
    }
  }
  return s;
}

beam_status beam_coder_decode_windows(const beam_coder *wc, beam_reader *in, beam_arena *arena,
                                      beam_window **windows, size_t *n, beam_error *err) {
  uint32_t raw;
  beam_status s = beam_coder_decode_be32(in, &raw);
  if (s != BEAM_OK) return s;
  if (raw > INT32_MAX) return beam_error_set(err, BEAM_ERR_MALFORMED, "negative window count");
  s = beam_coder_check_count(in, raw, wc->min_size, err);
  if (s != BEAM_OK) return s;
  beam_window *w = beam_arena_calloc(arena, raw ? raw : 1, sizeof *w);
  if (!w) return BEAM_ERR_NOMEM;
  for (uint32_t i = 0; i < raw; i++) {
    size_t start = in->pos;
    beam_value v;
    s = wc->ops->decode(wc, in, true, arena, &v, err);
    if (s != BEAM_OK) return s;
    if (v.kind == BEAM_VALUE_WINDOW) {
      w[i] = v.u.window;
    } else {
      /* Unknown window type (e.g. length_prefix around a runner-side coder): keep bytes. */
      w[i].kind = BEAM_WINDOW_CUSTOM;
      w[i].custom.data = in->data + start;
      w[i].custom.len = in->pos - start;
    }
  }
  *windows = w;
  *n = raw;
  return BEAM_OK;
}
