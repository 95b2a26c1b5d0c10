/* beam:coder:sharded_key:v1: the shard id as nested bytes, then the user key, nested in both
 * contexts (the standard vectors are identical for nested and outer). */
#include "coder_internal.h"

static beam_status sk_encode(const beam_coder *c, const beam_value *v, bool nested, beam_buf *out,
                             beam_error *err) {
  if (v->kind != BEAM_VALUE_SHARDED_KEY || !v->u.kv.key || !v->u.kv.value ||
      (v->u.kv.key->kind != BEAM_VALUE_BYTES && v->u.kv.key->kind != BEAM_VALUE_STRING))
    return beam_coder_wrong_kind(err, c->urn, v);
  beam_status s = beam_coder_encode_lp_bytes(out, v->u.kv.key->u.bytes.data, v->u.kv.key->u.bytes.len);
  if (s != BEAM_OK) return s;
  return c->components[0]->ops->encode(c->components[0], v->u.kv.value, true, out, err);
}

static beam_status sk_decode(const beam_coder *c, beam_reader *in, bool nested, beam_arena *arena,
                             beam_value *out, beam_error *err) {
  beam_value *kv = beam_coder_alloc_values(arena, 2);
  if (!kv) return BEAM_ERR_NOMEM;
  beam_bytes shard;
  beam_status s = beam_coder_decode_lp_bytes(in, &shard);
  if (s != BEAM_OK) return s;
  kv[0] = beam_value_bytes(shard.data, shard.len);
  s = c->components[0]->ops->decode(c->components[0], in, true, arena, &kv[1], err);
  if (s != BEAM_OK) return s;
  out->kind = BEAM_VALUE_SHARDED_KEY;
  out->u.kv.key = &kv[0];
  out->u.kv.value = &kv[1];
  return BEAM_OK;
}

static size_t sk_min_size(const beam_coder *c) { return 1 + c->components[0]->min_size; }

static const beam_coder_ops sk_ops = {.encode = sk_encode, .decode = sk_decode, .min_size = sk_min_size};

beam_status beam_coder_factory_sharded_key(const char *urn, const uint8_t *payload,
                                           size_t payload_len, beam_coder *const *components,
                                           size_t n, beam_coder **out, beam_error *err) {
  beam_status s = beam_coder_check_arity(urn, n, 1, err);
  if (s != BEAM_OK) return s;
  return beam_coder_new(urn, &sk_ops, NULL, payload, payload_len, components, n, out, err);
}
