/* beam:coder:windowed_value:v1: timestamp, window list, pane, then the value in the caller's
 * context. Components: [value coder, window coder].
 *
 * beam:coder:param_windowed_value:v1: the element carries only the value; the timestamp,
 * windows and pane are fixed by the payload (encoded like a windowed value's prefix, followed
 * by bytes we ignore). Decoding fills them in from the payload; encoding writes the value. */
#include <stdlib.h>
#include <string.h>

#include "coder_internal.h"

static beam_status wv_encode(const beam_coder *c, const beam_value *v, bool nested, beam_buf *out,
                             beam_error *err) {
  if (v->kind != BEAM_VALUE_WINDOWED || !v->u.windowed.value)
    return beam_coder_wrong_kind(err, c->urn, v);
  const beam_windowed_value *wv = &v->u.windowed;
  beam_status s = beam_coder_encode_timestamp(out, wv->timestamp_ms);
  if (s == BEAM_OK) s = beam_coder_encode_windows(c->components[1], wv->windows, wv->n_windows, out, err);
  if (s == BEAM_OK) {
    s = beam_coder_encode_pane(out, &wv->pane);
    if (s == BEAM_ERR_INVALID_ARG) return beam_error_set(err, s, "%s: bad pane timing", c->urn);
  }
  if (s != BEAM_OK) return s;
  return c->components[0]->ops->encode(c->components[0], wv->value, nested, out, err);
}

static beam_status wv_decode(const beam_coder *c, beam_reader *in, bool nested, beam_arena *arena,
                             beam_value *out, beam_error *err) {
  beam_windowed_value wv;
  memset(&wv, 0, sizeof wv);
  beam_status s = beam_coder_decode_timestamp(in, &wv.timestamp_ms);
  if (s == BEAM_OK)
    s = beam_coder_decode_windows(c->components[1], in, arena, &wv.windows, &wv.n_windows, err);
  if (s == BEAM_OK) s = beam_coder_decode_pane(in, &wv.pane);
  if (s != BEAM_OK) return s;
  wv.value = beam_coder_alloc_values(arena, 1);
  if (!wv.value) return BEAM_ERR_NOMEM;
  s = c->components[0]->ops->decode(c->components[0], in, nested, arena, wv.value, err);
  if (s != BEAM_OK) return s;
  out->kind = BEAM_VALUE_WINDOWED;
  out->u.windowed = wv;
  return BEAM_OK;
}

static size_t wv_min_size(const beam_coder *c) { return 13 + c->components[0]->min_size; }

static const beam_coder_ops wv_ops = {.encode = wv_encode, .decode = wv_decode, .min_size = wv_min_size};

/* --- param_windowed_value ----------------------------------------------------------------- */

typedef struct param_wv {
  beam_arena arena; /* holds windows; custom windows alias payload */
  uint8_t *payload;
  int64_t timestamp_ms;
  beam_window *windows;
  size_t n_windows;
  beam_pane pane;
} param_wv;

static void param_free(void *impl) {
  param_wv *p = impl;
  if (!p) return;
  beam_arena_free(&p->arena);
  free(p->payload);
  free(p);
}

static beam_status param_encode(const beam_coder *c, const beam_value *v, bool nested,
                                beam_buf *out, beam_error *err) {
  const beam_value *value = v;
  if (v->kind == BEAM_VALUE_WINDOWED) {
    if (!v->u.windowed.value) return beam_coder_wrong_kind(err, c->urn, v);
    value = v->u.windowed.value;
  }
  return c->components[0]->ops->encode(c->components[0], value, nested, out, err);
}

static beam_status param_decode(const beam_coder *c, beam_reader *in, bool nested,
                                beam_arena *arena, beam_value *out, beam_error *err) {
  const param_wv *p = c->impl;
  beam_windowed_value wv;
  memset(&wv, 0, sizeof wv);
  wv.timestamp_ms = p->timestamp_ms;
  wv.pane = p->pane;
  wv.n_windows = p->n_windows;
  /* Copy so a consumer that edits its element cannot touch the shared coder. */
  wv.windows = beam_arena_alloc(arena, (p->n_windows ? p->n_windows : 1) * sizeof *wv.windows);
  wv.value = beam_coder_alloc_values(arena, 1);
  if (!wv.windows || !wv.value) return BEAM_ERR_NOMEM;
  if (p->n_windows) memcpy(wv.windows, p->windows, p->n_windows * sizeof *wv.windows);
  beam_status s = c->components[0]->ops->decode(c->components[0], in, nested, arena, wv.value, err);
  if (s != BEAM_OK) return s;
  out->kind = BEAM_VALUE_WINDOWED;
  out->u.windowed = wv;
  return BEAM_OK;
}

static size_t param_min_size(const beam_coder *c) { return c->components[0]->min_size; }

static const beam_coder_ops param_ops = {
    .encode = param_encode,
    .decode = param_decode,
    .free_impl = param_free,
    .min_size = param_min_size,
};

static beam_status param_parse(param_wv *p, const beam_coder *window_coder, const uint8_t *payload,
                               size_t len, beam_error *err) {
  if (len) {
    p->payload = malloc(len);
    if (!p->payload) return BEAM_ERR_NOMEM;
    memcpy(p->payload, payload, len);
  }
  beam_reader r = beam_reader_make(p->payload, len);
  beam_status s = beam_coder_decode_timestamp(&r, &p->timestamp_ms);
  if (s == BEAM_OK)
    s = beam_coder_decode_windows(window_coder, &r, &p->arena, &p->windows, &p->n_windows, err);
  if (s == BEAM_OK) s = beam_coder_decode_pane(&r, &p->pane);
  if (s != BEAM_OK)
    return beam_error_set(err, s == BEAM_ERR_NOMEM ? s : BEAM_ERR_INVALID_ARG,
                          "%s: bad payload (%s at byte %zu)", BEAM_CODER_URN_PARAM_WINDOWED_VALUE,
                          beam_status_name(s), r.pos);
  return BEAM_OK;
}

beam_status beam_coder_factory_windowed_value(const char *urn, const uint8_t *payload,
                                              size_t payload_len, beam_coder *const *components,
                                              size_t n, beam_coder **out, beam_error *err) {
  beam_status s = beam_coder_check_arity(urn, n, 2, err);
  if (s != BEAM_OK) return s;
  if (strcmp(urn, BEAM_CODER_URN_PARAM_WINDOWED_VALUE) != 0)
    return beam_coder_new(urn, &wv_ops, NULL, payload, payload_len, components, n, out, err);
  param_wv *p = calloc(1, sizeof *p);
  if (!p) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  p->arena.block_size = 1024;
  s = param_parse(p, components[1], payload, payload_len, err);
  if (s != BEAM_OK) {
    param_free(p);
    return s;
  }
  return beam_coder_new(urn, &param_ops, p, payload, payload_len, components, n, out, err);
}
