/* beam:coder:iterable:v1 and beam:coder:state_backed_iterable:v1.
 *
 * Known length: big-endian int32 count, then each element nested. Unknown length (count
 * -1): blocks of (varint n, n elements) ending with n = 0. A state-backed iterable may end
 * instead with n = -1 followed by a length-prefixed state token: the elements after the
 * inline prefix must be read from the runner's state API with that token. We decode that
 * form to BEAM_VALUE_STATE_ITERABLE and encode it back the same way. */
#include <string.h>

#include "coder_internal.h"

static beam_status iterable_encode(const beam_coder *c, const beam_value *v, bool nested,
                                   beam_buf *out, beam_error *err) {
  const beam_coder *elem = c->components[0];
  beam_status s;
  if (v->kind == BEAM_VALUE_STATE_ITERABLE) {
    const beam_value_state_iterable *si = &v->u.state_iterable;
    s = beam_coder_encode_be32(out, 0xFFFFFFFFu);
    if (s == BEAM_OK && si->len) s = beam_coder_encode_varint(out, si->len);
    for (size_t i = 0; s == BEAM_OK && i < si->len; i++)
      s = elem->ops->encode(elem, &si->items[i], true, out, err);
    if (s == BEAM_OK) s = beam_coder_encode_varint_i64(out, -1);
    if (s == BEAM_OK) s = beam_coder_encode_lp_bytes(out, si->token.data, si->token.len);
    return s;
  }
  if (v->kind != BEAM_VALUE_LIST) return beam_coder_wrong_kind(err, c->urn, v);
  if (v->u.list.len > INT32_MAX)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: %zu elements do not fit an int32 count",
                          c->urn, v->u.list.len);
  s = beam_coder_encode_be32(out, (uint32_t)v->u.list.len);
  for (size_t i = 0; s == BEAM_OK && i < v->u.list.len; i++)
    s = elem->ops->encode(elem, &v->u.list.items[i], true, out, err);
  return s;
}

/* Appends n decoded elements to *items (arena array of *len used, *cap allocated). */
static beam_status decode_block(const beam_coder *elem, beam_reader *in, uint64_t n,
                                beam_arena *arena, beam_value **items, size_t *len, size_t *cap,
                                beam_error *err) {
  beam_status s = beam_coder_check_count(in, n, elem->min_size, err);
  if (s != BEAM_OK) return s;
  if (elem->min_size == 0 && *len + n > BEAM_CODER_ZERO_SIZE_CAP)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "iterable of %llu empty elements",
                          (unsigned long long)(*len + n));
  if (*len + n > *cap) {
    size_t ncap = *cap * 2 > *len + n ? *cap * 2 : *len + (size_t)n;
    beam_value *p = beam_coder_alloc_values(arena, ncap);
    if (!p) return BEAM_ERR_NOMEM;
    if (*len) memcpy(p, *items, *len * sizeof *p);
    *items = p;
    *cap = ncap;
  }
  for (uint64_t i = 0; i < n; i++) {
    s = elem->ops->decode(elem, in, true, arena, &(*items)[*len], err);
    if (s != BEAM_OK) return s;
    (*len)++;
  }
  return BEAM_OK;
}

static beam_status iterable_decode(const beam_coder *c, beam_reader *in, bool nested,
                                   beam_arena *arena, beam_value *out, beam_error *err) {
  const beam_coder *elem = c->components[0];
  uint32_t raw;
  beam_status s = beam_coder_decode_be32(in, &raw);
  if (s != BEAM_OK) return s;
  int32_t count = (int32_t)raw;
  beam_value *items = NULL;
  size_t len = 0, cap = 0;
  if (count >= 0) {
    s = decode_block(elem, in, (uint64_t)count, arena, &items, &len, &cap, err);
    if (s != BEAM_OK) return s;
  } else if (count == -1) {
    for (;;) {
      int64_t n;
      s = beam_coder_decode_varint_i64(in, &n);
      if (s != BEAM_OK) return s;
      if (n == 0) break;
      if (n == -1) {
        beam_bytes token;
        s = beam_coder_decode_lp_bytes(in, &token);
        if (s != BEAM_OK) return s;
        if (!items && !(items = beam_coder_alloc_values(arena, 0))) return BEAM_ERR_NOMEM;
        out->kind = BEAM_VALUE_STATE_ITERABLE;
        out->u.state_iterable.items = items;
        out->u.state_iterable.len = len;
        out->u.state_iterable.token = token;
        return BEAM_OK;
      }
      if (n < 0)
        return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: negative block size %lld", c->urn,
                              (long long)n);
      s = decode_block(elem, in, (uint64_t)n, arena, &items, &len, &cap, err);
      if (s != BEAM_OK) return s;
    }
  } else {
    return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: negative element count %d", c->urn, count);
  }
  if (!items && !(items = beam_coder_alloc_values(arena, 0))) return BEAM_ERR_NOMEM;
  out->kind = BEAM_VALUE_LIST;
  out->u.list.items = items;
  out->u.list.len = len;
  return BEAM_OK;
}

static size_t iterable_min_size(const beam_coder *c) { return 4; }

static const beam_coder_ops iterable_ops = {
    .encode = iterable_encode,
    .decode = iterable_decode,
    .min_size = iterable_min_size,
};

beam_status beam_coder_factory_iterable(const char *urn, const uint8_t *payload, size_t payload_len,
                                        beam_coder *const *components, size_t n, beam_coder **out,
                                        beam_error *err) {
  beam_status s = beam_coder_check_arity(urn, n, 1, err);
  if (s != BEAM_OK) return s;
  return beam_coder_new(urn, &iterable_ops, NULL, payload, payload_len, components, n, out, err);
}
