/* beam:coder:row:v1 (payload: Schema proto).
 *
 * Encoding: varint field count; varint null-bitmap length and the bitmap (bit i, LSB first,
 * set when field i is null; empty when nothing is null); then each non-null field nested,
 * in encoding-position order. Decoding tolerates schema evolution the way the SDKs do:
 * fields beyond the encoded count decode as null; encoded fields beyond the schema are
 * left unread. */
#include <stdlib.h>
#include <string.h>

#include "coder_decimal.h"
#include "coder_internal.h"
#include "coder_row_schema.h"

typedef struct row_impl {
  beam_arena arena; /* the parsed schema */
  beam_row_schema *schema;
} row_impl;

static beam_status encode_row(const beam_row_schema *sc, const beam_value *v, beam_buf *out,
                              beam_error *err);
static beam_status decode_row(const beam_row_schema *sc, beam_reader *in, beam_arena *arena,
                              beam_value *out, beam_error *err);
static beam_status encode_typed(const beam_row_type *t, const beam_value *v, beam_buf *out,
                                beam_error *err);
static beam_status decode_typed(const beam_row_type *t, beam_reader *in, beam_arena *arena,
                                beam_value *out, beam_error *err);

static beam_status type_error(beam_error *err, const char *want, const beam_value *v) {
  return beam_error_set(err, BEAM_ERR_INVALID_ARG, "row field expects %s, got value kind %d", want,
                        (int)v->kind);
}

static beam_status int_in_range(const beam_value *v, int64_t lo, int64_t hi, const char *want,
                                beam_error *err) {
  if (v->kind != BEAM_VALUE_INT64) return type_error(err, want, v);
  if (v->u.i64 < lo || v->u.i64 > hi)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%lld out of range for %s",
                          (long long)v->u.i64, want);
  return BEAM_OK;
}

/* Encodes an element of an array or map: nullable ones get NullableCoder's marker byte. */
static beam_status encode_elem(const beam_row_type *t, const beam_value *v, beam_buf *out,
                               beam_error *err) {
  if (t->nullable) {
    if (v->kind == BEAM_VALUE_NULL) return beam_buf_append_byte(out, 0);
    beam_status s = beam_buf_append_byte(out, 1);
    if (s != BEAM_OK) return s;
  } else if (v->kind == BEAM_VALUE_NULL) {
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "null in a non-nullable array or map element");
  }
  return encode_typed(t, v, out, err);
}

static beam_status decode_elem(const beam_row_type *t, beam_reader *in, beam_arena *arena,
                               beam_value *out, beam_error *err) {
  if (t->nullable) {
    uint8_t b;
    beam_status s = beam_reader_byte(in, &b);
    if (s != BEAM_OK) return s;
    if (b == 0) {
      *out = beam_value_null();
      return BEAM_OK;
    }
    if (b != 1) return beam_error_set(err, BEAM_ERR_MALFORMED, "row: nullable marker %u", b);
  }
  return decode_typed(t, in, arena, out, err);
}

/* Smallest encoding of an element, for bounding counts. */
static size_t elem_min_size(const beam_row_type *t) {
  if (t->nullable) return 1;
  switch (t->kind) {
    case BEAM_ROW_INT16: return 2;
    case BEAM_ROW_FLOAT: case BEAM_ROW_ARRAY: case BEAM_ROW_MAP: return 4;
    case BEAM_ROW_DOUBLE: case BEAM_ROW_MILLIS_INSTANT: return 8;
    case BEAM_ROW_ROW: case BEAM_ROW_DECIMAL: return 2;
    default: return 1;
  }
}

static beam_status encode_typed(const beam_row_type *t, const beam_value *v, beam_buf *out,
                                beam_error *err) {
  beam_status s;
  switch (t->kind) {
    case BEAM_ROW_BYTE:
      if ((s = int_in_range(v, INT8_MIN, INT8_MAX, "BYTE", err)) != BEAM_OK) return s;
      return beam_buf_append_byte(out, (uint8_t)(int8_t)v->u.i64);
    case BEAM_ROW_INT16: {
      if ((s = int_in_range(v, INT16_MIN, INT16_MAX, "INT16", err)) != BEAM_OK) return s;
      uint16_t u = (uint16_t)(int16_t)v->u.i64;
      uint8_t b[2] = {(uint8_t)(u >> 8), (uint8_t)u};
      return beam_buf_append(out, b, 2);
    }
    case BEAM_ROW_INT32:
      if ((s = int_in_range(v, INT32_MIN, INT32_MAX, "INT32", err)) != BEAM_OK) return s;
      return beam_coder_encode_varint(out, (uint32_t)(int32_t)v->u.i64);
    case BEAM_ROW_INT64:
      if (v->kind != BEAM_VALUE_INT64) return type_error(err, "INT64", v);
      return beam_coder_encode_varint_i64(out, v->u.i64);
    case BEAM_ROW_FLOAT: {
      if (v->kind != BEAM_VALUE_DOUBLE) return type_error(err, "FLOAT", v);
      float f = (float)v->u.f64;
      uint32_t u;
      memcpy(&u, &f, sizeof u);
      return beam_coder_encode_be32(out, u);
    }
    case BEAM_ROW_DOUBLE:
      if (v->kind != BEAM_VALUE_DOUBLE) return type_error(err, "DOUBLE", v);
      return beam_coder_encode_double(out, v->u.f64);
    case BEAM_ROW_STRING:
    case BEAM_ROW_BYTES:
      if (v->kind != BEAM_VALUE_STRING && v->kind != BEAM_VALUE_BYTES)
        return type_error(err, "STRING or BYTES", v);
      return beam_coder_encode_lp_bytes(out, v->u.bytes.data, v->u.bytes.len);
    case BEAM_ROW_BOOLEAN:
      if (v->kind != BEAM_VALUE_BOOL) return type_error(err, "BOOLEAN", v);
      return beam_buf_append_byte(out, v->u.b ? 1 : 0);
    case BEAM_ROW_ARRAY:
      if (v->kind != BEAM_VALUE_LIST) return type_error(err, "ARRAY", v);
      if (v->u.list.len > INT32_MAX) return type_error(err, "ARRAY (fewer elements)", v);
      s = beam_coder_encode_be32(out, (uint32_t)v->u.list.len);
      for (size_t i = 0; s == BEAM_OK && i < v->u.list.len; i++)
        s = encode_elem(t->elem, &v->u.list.items[i], out, err);
      return s;
    case BEAM_ROW_MAP:
      if (v->kind != BEAM_VALUE_MAP || v->u.list.len % 2) return type_error(err, "MAP", v);
      if (v->u.list.len / 2 > INT32_MAX) return type_error(err, "MAP (fewer entries)", v);
      s = beam_coder_encode_be32(out, (uint32_t)(v->u.list.len / 2));
      for (size_t i = 0; s == BEAM_OK && i < v->u.list.len; i += 2) {
        s = encode_elem(t->elem, &v->u.list.items[i], out, err);
        if (s == BEAM_OK) s = encode_elem(t->value, &v->u.list.items[i + 1], out, err);
      }
      return s;
    case BEAM_ROW_ROW:
      return encode_row(t->row, v, out, err);
    case BEAM_ROW_MILLIS_INSTANT:
      if (v->kind != BEAM_VALUE_TIMESTAMP && v->kind != BEAM_VALUE_INT64)
        return type_error(err, "TIMESTAMP", v);
      return beam_coder_encode_timestamp(out, v->u.i64);
    case BEAM_ROW_DECIMAL:
      if (v->kind != BEAM_VALUE_STRING) return type_error(err, "decimal STRING", v);
      return beam_coder_decimal_encode((const char *)v->u.bytes.data, v->u.bytes.len, out, err);
  }
  return beam_error_set(err, BEAM_ERR_INTERNAL, "row: unknown type kind %d", (int)t->kind);
}

static beam_status decode_list(const beam_row_type *t, beam_reader *in, beam_arena *arena,
                               beam_value *out, bool map, beam_error *err) {
  uint32_t raw;
  beam_status s = beam_coder_decode_be32(in, &raw);
  if (s != BEAM_OK) return s;
  if (raw > INT32_MAX) return beam_error_set(err, BEAM_ERR_MALFORMED, "row: negative element count");
  size_t per = map ? 2 : 1;
  size_t min = elem_min_size(t->elem) + (map ? elem_min_size(t->value) : 0);
  s = beam_coder_check_count(in, raw, min, err);
  if (s != BEAM_OK) return s;
  beam_value *items = beam_coder_alloc_values(arena, (size_t)raw * per);
  if (!items) return BEAM_ERR_NOMEM;
  for (size_t i = 0; i < raw; i++) {
    s = decode_elem(t->elem, in, arena, &items[i * per], err);
    if (s == BEAM_OK && map) s = decode_elem(t->value, in, arena, &items[i * per + 1], err);
    if (s != BEAM_OK) return s;
  }
  out->kind = map ? BEAM_VALUE_MAP : BEAM_VALUE_LIST;
  out->u.list.items = items;
  out->u.list.len = (size_t)raw * per;
  return BEAM_OK;
}

static beam_status decode_typed(const beam_row_type *t, beam_reader *in, beam_arena *arena,
                                beam_value *out, beam_error *err) {
  beam_status s;
  uint8_t b;
  switch (t->kind) {
    case BEAM_ROW_BYTE:
      if ((s = beam_reader_byte(in, &b)) != BEAM_OK) return s;
      *out = beam_value_int64((int8_t)b);
      return BEAM_OK;
    case BEAM_ROW_INT16: {
      const uint8_t *p;
      if ((s = beam_reader_view(in, 2, &p)) != BEAM_OK) return s;
      *out = beam_value_int64((int16_t)(uint16_t)(p[0] << 8 | p[1]));
      return BEAM_OK;
    }
    case BEAM_ROW_INT32: {
      uint64_t u;
      if ((s = beam_coder_decode_varint(in, &u)) != BEAM_OK) return s;
      *out = beam_value_int64((int32_t)(uint32_t)u);
      return BEAM_OK;
    }
    case BEAM_ROW_INT64: {
      int64_t x;
      if ((s = beam_coder_decode_varint_i64(in, &x)) != BEAM_OK) return s;
      *out = beam_value_int64(x);
      return BEAM_OK;
    }
    case BEAM_ROW_FLOAT: {
      uint32_t u;
      float f;
      if ((s = beam_coder_decode_be32(in, &u)) != BEAM_OK) return s;
      memcpy(&f, &u, sizeof f);
      *out = beam_value_double((double)f);
      return BEAM_OK;
    }
    case BEAM_ROW_DOUBLE: {
      double d;
      if ((s = beam_coder_decode_double(in, &d)) != BEAM_OK) return s;
      *out = beam_value_double(d);
      return BEAM_OK;
    }
    case BEAM_ROW_STRING:
    case BEAM_ROW_BYTES: {
      beam_bytes bytes;
      if ((s = beam_coder_decode_lp_bytes(in, &bytes)) != BEAM_OK) return s;
      out->kind = t->kind == BEAM_ROW_STRING ? BEAM_VALUE_STRING : BEAM_VALUE_BYTES;
      out->u.bytes = bytes;
      return BEAM_OK;
    }
    case BEAM_ROW_BOOLEAN:
      if ((s = beam_reader_byte(in, &b)) != BEAM_OK) return s;
      if (b > 1) return beam_error_set(err, BEAM_ERR_MALFORMED, "row: boolean byte %u", b);
      *out = beam_value_bool(b != 0);
      return BEAM_OK;
    case BEAM_ROW_ARRAY: return decode_list(t, in, arena, out, false, err);
    case BEAM_ROW_MAP: return decode_list(t, in, arena, out, true, err);
    case BEAM_ROW_ROW: return decode_row(t->row, in, arena, out, err);
    case BEAM_ROW_MILLIS_INSTANT: {
      int64_t ms;
      if ((s = beam_coder_decode_timestamp(in, &ms)) != BEAM_OK) return s;
      out->kind = BEAM_VALUE_TIMESTAMP;
      out->u.i64 = ms;
      return BEAM_OK;
    }
    case BEAM_ROW_DECIMAL: {
      beam_bytes text;
      if ((s = beam_coder_decimal_decode(in, arena, &text, err)) != BEAM_OK) return s;
      out->kind = BEAM_VALUE_STRING;
      out->u.bytes = text;
      return BEAM_OK;
    }
  }
  return beam_error_set(err, BEAM_ERR_INTERNAL, "row: unknown type kind %d", (int)t->kind);
}

static beam_status encode_row(const beam_row_schema *sc, const beam_value *v, beam_buf *out,
                              beam_error *err) {
  if (v->kind != BEAM_VALUE_ROW) return type_error(err, "ROW", v);
  if (v->u.list.len != sc->n_fields)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "row has %zu values, schema has %zu fields",
                          v->u.list.len, sc->n_fields);
  const beam_value *f = v->u.list.items;
  beam_status s = beam_coder_encode_varint(out, sc->n_fields);
  if (s != BEAM_OK) return s;
  bool any_null = false;
  for (size_t i = 0; i < sc->n_fields; i++) {
    if (f[i].kind != BEAM_VALUE_NULL) continue;
    if (!sc->types[i].nullable)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "null for non-nullable row field \"%s\"",
                            sc->names[i]);
    any_null = true;
  }
  if (!any_null) {
    s = beam_buf_append_byte(out, 0);
  } else {
    /* Same layout as the Python SDK: ceil(n/8) bytes whenever any field is null. */
    size_t nbytes = (sc->n_fields + 7) / 8;
    s = beam_coder_encode_varint(out, nbytes);
    for (size_t byte = 0; s == BEAM_OK && byte < nbytes; byte++) {
      uint8_t bits = 0;
      for (size_t j = 0; j < 8 && byte * 8 + j < sc->n_fields; j++)
        if (f[byte * 8 + j].kind == BEAM_VALUE_NULL) bits |= (uint8_t)(1u << j);
      s = beam_buf_append_byte(out, bits);
    }
  }
  for (size_t k = 0; s == BEAM_OK && k < sc->n_fields; k++) {
    size_t i = sc->enc_order[k];
    if (f[i].kind == BEAM_VALUE_NULL) continue;
    s = encode_typed(&sc->types[i], &f[i], out, err);
    if (s != BEAM_OK && err && err->code == s && !strstr(err->message, "field \""))
      beam_error_prefix(err, "row field \"%s\": ", sc->names[i]);
  }
  return s;
}

static beam_status decode_row(const beam_row_schema *sc, beam_reader *in, beam_arena *arena,
                              beam_value *out, beam_error *err) {
  uint64_t nvals, mask_len;
  beam_status s = beam_coder_decode_varint(in, &nvals);
  if (s == BEAM_OK) s = beam_coder_decode_varint(in, &mask_len);
  if (s != BEAM_OK) return s;
  const uint8_t *mask = NULL;
  if (mask_len > beam_reader_remaining(in)) return BEAM_ERR_TRUNCATED;
  if ((s = beam_reader_view(in, (size_t)mask_len, &mask)) != BEAM_OK) return s;
  beam_value *items = beam_coder_alloc_values(arena, sc->n_fields);
  if (!items) return BEAM_ERR_NOMEM;
  size_t present = nvals < sc->n_fields ? (size_t)nvals : sc->n_fields;
  for (size_t k = 0; k < sc->n_fields; k++) items[k] = beam_value_null();
  for (size_t k = 0; k < present; k++) {
    size_t i = sc->enc_order[k];
    if ((i >> 3) < mask_len && (mask[i >> 3] & (1u << (i & 7)))) continue;
    s = decode_typed(&sc->types[i], in, arena, &items[i], err);
    if (s != BEAM_OK) return s;
  }
  out->kind = BEAM_VALUE_ROW;
  out->u.list.items = items;
  out->u.list.len = sc->n_fields;
  return BEAM_OK;
}

static beam_status row_encode(const beam_coder *c, const beam_value *v, bool nested, beam_buf *out,
                              beam_error *err) {
  return encode_row(((const row_impl *)c->impl)->schema, v, out, err);
}

static beam_status row_decode(const beam_coder *c, beam_reader *in, bool nested, beam_arena *arena,
                              beam_value *out, beam_error *err) {
  return decode_row(((const row_impl *)c->impl)->schema, in, arena, out, err);
}

static void row_free(void *impl) {
  row_impl *r = impl;
  if (!r) return;
  beam_arena_free(&r->arena);
  free(r);
}

static size_t row_min_size(const beam_coder *c) { return 2; }

static const beam_coder_ops row_ops = {
    .encode = row_encode,
    .decode = row_decode,
    .free_impl = row_free,
    .min_size = row_min_size,
};

beam_status beam_coder_factory_row(const char *urn, const uint8_t *payload, size_t payload_len,
                                   beam_coder *const *components, size_t n, beam_coder **out,
                                   beam_error *err) {
  beam_status s = beam_coder_check_arity(urn, n, 0, err);
  if (s != BEAM_OK) return s;
  row_impl *r = calloc(1, sizeof *r);
  if (!r) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  r->arena.block_size = 4096;
  s = beam_row_schema_parse(payload, payload_len, &r->arena, &r->schema, err);
  if (s != BEAM_OK) {
    row_free(r);
    if (s == BEAM_ERR_NOMEM) return beam_error_set(err, s, "out of memory parsing row schema");
    return s;
  }
  return beam_coder_new(urn, &row_ops, r, payload, payload_len, NULL, 0, out, err);
}
