/* beam:coder:c:value:v1 — a self-describing coder for any beam_value of the plain kinds
 * (null, bool, int64, double, bytes, string, list, kv, row, map, timestamp).
 *
 * Why: the ETL stages pass rows whose schema depends on the destination table (routed rows,
 * dead letters, file info) through one PCollection. A schema'd row coder cannot carry them
 * all, so each value carries its own kind. Runners treat this SDK-specific coder as opaque
 * (they length-prefix it), which Beam allows for PCollections consumed by SDK transforms.
 *
 * Encoding (always self-delimiting, so nested and outer contexts coincide): one kind byte
 * (the beam_value_kind number), then NULL: nothing; BOOL: one byte 0/1; INT64: varint of
 * the two's complement; DOUBLE: big-endian IEEE bits; BYTES/STRING: varint length + bytes;
 * LIST/ROW: varint count + items; MAP: varint pair count + key, value, ...; KV: key, value;
 * TIMESTAMP: Beam's timestamp encoding. */
#include <string.h>

#include "coder_internal.h"

/* Hostile input may nest lists inside lists; bound the recursion. */
#define DYNAMIC_MAX_DEPTH 32

static beam_status encode_value(const beam_value *v, beam_buf *out, int depth, beam_error *err);

/* Appends the varint v at p (room for 10 bytes reserved); returns the end. */
static uint8_t *put_varint(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

/* The kind byte and a varint (an INT64, a count) after one reservation: the shuffle writes
 * several of each per element. */
static beam_status encode_kind_varint(beam_buf *out, beam_value_kind kind, uint64_t v) {
  if (11 > out->cap - out->len) {
    beam_status s = beam_buf_reserve(out, 11);
    if (s != BEAM_OK) return s;
  }
  uint8_t *p = out->data + out->len;
  *p++ = (uint8_t)kind;
  out->len = (size_t)(put_varint(p, v) - out->data);
  return BEAM_OK;
}

static beam_status encode_items(beam_value_kind kind, const beam_value *items, size_t n, size_t count, beam_buf *out,
                                int depth, beam_error *err) {
  beam_status s = encode_kind_varint(out, kind, count);
  for (size_t i = 0; i < n && s == BEAM_OK; i++) s = encode_value(&items[i], out, depth + 1, err);
  return s;
}

/* A string or bytes value: kind, length and bytes written after one reservation. The local
 * runner's shuffle encodes every element through here, most of whose values are strings. */
static beam_status encode_bytes(const beam_value *v, beam_buf *out) {
  size_t len = v->u.bytes.len;
  if (len > SIZE_MAX - 11) return BEAM_ERR_NOMEM;
  if (len + 11 > out->cap - out->len) {
    beam_status s = beam_buf_reserve(out, len + 11);
    if (s != BEAM_OK) return s;
  }
  uint8_t *p = out->data + out->len;
  *p++ = (uint8_t)v->kind;
  p = put_varint(p, len);
  if (len) memcpy(p, v->u.bytes.data, len);
  out->len = (size_t)(p - out->data) + len;
  return BEAM_OK;
}

static beam_status encode_value(const beam_value *v, beam_buf *out, int depth, beam_error *err) {
  if (v->kind == BEAM_VALUE_STRING || v->kind == BEAM_VALUE_BYTES) return encode_bytes(v, out);
  if (v->kind == BEAM_VALUE_INT64 && depth <= DYNAMIC_MAX_DEPTH)
    return encode_kind_varint(out, v->kind, (uint64_t)v->u.i64);
  if (depth > DYNAMIC_MAX_DEPTH)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: value nested deeper than %d",
                          BEAM_CODER_URN_C_VALUE, DYNAMIC_MAX_DEPTH);
  if (v->kind == BEAM_VALUE_LIST || v->kind == BEAM_VALUE_ROW)
    return encode_items(v->kind, v->u.list.items, v->u.list.len, v->u.list.len, out, depth, err);
  if (v->kind == BEAM_VALUE_MAP)
    return encode_items(v->kind, v->u.list.items, v->u.list.len & ~(size_t)1, v->u.list.len / 2, out, depth, err);
  beam_status s = beam_buf_append_byte(out, (uint8_t)v->kind);
  if (s != BEAM_OK) return s;
  switch (v->kind) {
    case BEAM_VALUE_NULL: return BEAM_OK;
    case BEAM_VALUE_BOOL: return beam_buf_append_byte(out, v->u.b ? 1 : 0);
    case BEAM_VALUE_DOUBLE: return beam_coder_encode_double(out, v->u.f64);
    case BEAM_VALUE_KV:
      s = encode_value(v->u.kv.key, out, depth + 1, err);
      return s == BEAM_OK ? encode_value(v->u.kv.value, out, depth + 1, err) : s;
    case BEAM_VALUE_TIMESTAMP: return beam_coder_encode_timestamp(out, v->u.i64);
    default:
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: cannot encode value kind %d",
                            BEAM_CODER_URN_C_VALUE, (int)v->kind);
  }
}

static beam_status decode_value(beam_reader *in, beam_arena *a, beam_value *out, int depth,
                                beam_error *err);

static beam_status decode_items(beam_reader *in, beam_arena *a, beam_value *out, size_t per_item,
                                int depth, beam_error *err) {
  uint64_t count;
  beam_status s = beam_coder_read_varint(in, &count);
  if (s != BEAM_OK) return s;
  /* Every item takes at least one byte: a count beyond the input is malformed, not a reason
   * to allocate. */
  if (count > beam_reader_remaining(in) / per_item)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: %llu items but %zu bytes left",
                          BEAM_CODER_URN_C_VALUE, (unsigned long long)count, beam_reader_remaining(in));
  size_t n = (size_t)count * per_item;
  out->u.list.len = n;
  out->u.list.items = n ? beam_arena_alloc(a, n * sizeof(beam_value)) : NULL;
  if (n && !out->u.list.items) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n && s == BEAM_OK; i++) s = decode_value(in, a, &out->u.list.items[i], depth + 1, err);
  return s;
}

static beam_status decode_value(beam_reader *in, beam_arena *a, beam_value *out, int depth,
                                beam_error *err) {
  if (depth > DYNAMIC_MAX_DEPTH)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: nested deeper than %d", BEAM_CODER_URN_C_VALUE,
                          DYNAMIC_MAX_DEPTH);
  uint8_t kind, b = 0;
  uint64_t bits;
  beam_status s = beam_reader_byte(in, &kind);
  if (s != BEAM_OK) return s;
  out->kind = (beam_value_kind)kind;
  /* The common short string (length < 128) without the calls of the general case. */
  if ((kind == BEAM_VALUE_STRING || kind == BEAM_VALUE_BYTES) && in->pos < in->len && in->data[in->pos] < 0x80 &&
      in->data[in->pos] < in->len - in->pos) {
    size_t len = in->data[in->pos++];
    out->u.bytes.data = in->data + in->pos;
    out->u.bytes.len = len;
    in->pos += len;
    return BEAM_OK;
  }
  switch (kind) {
    case BEAM_VALUE_NULL: out->u.i64 = 0; return BEAM_OK;
    case BEAM_VALUE_BOOL:
      s = beam_reader_byte(in, &b);
      if (s == BEAM_OK && b > 1)
        return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: bool byte %u", BEAM_CODER_URN_C_VALUE, b);
      out->u.b = b == 1;
      return s;
    case BEAM_VALUE_INT64: {
      uint64_t u = 0;
      s = beam_coder_read_varint(in, &u);
      out->u.i64 = (int64_t)u;
      return s;
    }
    case BEAM_VALUE_DOUBLE:
      s = beam_coder_decode_be64(in, &bits);
      memcpy(&out->u.f64, &bits, sizeof bits);
      return s;
    case BEAM_VALUE_BYTES:
    case BEAM_VALUE_STRING: return beam_coder_decode_lp_bytes(in, &out->u.bytes);
    case BEAM_VALUE_LIST:
    case BEAM_VALUE_ROW: return decode_items(in, a, out, 1, depth, err);
    case BEAM_VALUE_MAP: return decode_items(in, a, out, 2, depth, err);
    case BEAM_VALUE_KV: {
      beam_value *kv = beam_arena_alloc(a, 2 * sizeof *kv);
      if (!kv) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      out->u.kv.key = &kv[0];
      out->u.kv.value = &kv[1];
      s = decode_value(in, a, &kv[0], depth + 1, err);
      return s == BEAM_OK ? decode_value(in, a, &kv[1], depth + 1, err) : s;
    }
    case BEAM_VALUE_TIMESTAMP: return beam_coder_decode_timestamp(in, &out->u.i64);
    default:
      return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: unknown value kind %u", BEAM_CODER_URN_C_VALUE, kind);
  }
}

static beam_status dynamic_encode(const beam_coder *c, const beam_value *v, bool nested, beam_buf *out,
                                  beam_error *err) {
  return encode_value(v, out, 0, err);
}

static beam_status dynamic_decode(const beam_coder *c, beam_reader *in, bool nested, beam_arena *arena,
                                  beam_value *out, beam_error *err) {
  return decode_value(in, arena, out, 0, err);
}

static const beam_coder_ops dynamic_ops = {.encode = dynamic_encode, .decode = dynamic_decode};

beam_status beam_coder_factory_dynamic(const char *urn, const uint8_t *payload, size_t payload_len,
                                       beam_coder *const *components, size_t n, beam_coder **out,
                                       beam_error *err) {
  beam_status s = beam_coder_check_arity(urn, n, 0, err);
  if (s != BEAM_OK) return s;
  return beam_coder_new(urn, &dynamic_ops, NULL, payload, payload_len, components, n, out, err);
}
