/* beam:coder:kv:v1: the key nested, then the value in the caller's context. */
#include "coder_internal.h"

static beam_status kv_encode(const beam_coder *c, const beam_value *v, bool nested, beam_buf *out,
                             beam_error *err) {
  if (v->kind != BEAM_VALUE_KV || !v->u.kv.key || !v->u.kv.value)
    return beam_coder_wrong_kind(err, c->urn, v);
  beam_status s = c->components[0]->ops->encode(c->components[0], v->u.kv.key, true, out, err);
  if (s != BEAM_OK) return s;
  return c->components[1]->ops->encode(c->components[1], v->u.kv.value, nested, out, err);
}

static beam_status kv_decode(const beam_coder *c, beam_reader *in, bool nested, beam_arena *arena,
                             beam_value *out, beam_error *err) {
  beam_value *kv = beam_coder_alloc_values(arena, 2);
  if (!kv) return BEAM_ERR_NOMEM;
  beam_status s = c->components[0]->ops->decode(c->components[0], in, true, arena, &kv[0], err);
  if (s != BEAM_OK) return s;
  s = c->components[1]->ops->decode(c->components[1], in, nested, arena, &kv[1], err);
  if (s != BEAM_OK) return s;
  out->kind = BEAM_VALUE_KV;
  out->u.kv.key = &kv[0];
  out->u.kv.value = &kv[1];
  return BEAM_OK;
}

static size_t kv_min_size(const beam_coder *c) {
  return c->components[0]->min_size + c->components[1]->min_size;
}

static const beam_coder_ops kv_ops = {.encode = kv_encode, .decode = kv_decode, .min_size = kv_min_size};

beam_status beam_coder_factory_kv(const char *urn, const uint8_t *payload, size_t payload_len,
                                  beam_coder *const *components, size_t n, beam_coder **out,
                                  beam_error *err) {
  beam_status s = beam_coder_check_arity(urn, n, 2, err);
  if (s != BEAM_OK) return s;
  return beam_coder_new(urn, &kv_ops, NULL, payload, payload_len, components, n, out, err);
}
