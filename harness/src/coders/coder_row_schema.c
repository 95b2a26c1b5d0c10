/* Minimal protobuf wire reader for org.apache.beam.model.pipeline.v1.Schema.
 *
 * Field numbers (schema.proto): Schema{fields=1, id=2, options=3, encoding_positions_set=4};
 * Field{name=1, description=2, type=3, id=4, encoding_position=5, options=6};
 * FieldType{nullable=1, atomic_type=2, array_type=3, iterable_type=4, map_type=5,
 * row_type=6, logical_type=7}; ArrayType/IterableType{element_type=1};
 * MapType{key_type=1, value_type=2}; RowType{schema=1};
 * LogicalType{urn=1, payload=2, representation=3, argument_type=4, argument=5}. */
#include <string.h>

#include "beam/coder.h"
#include "coder_row_schema.h"

typedef struct pb_field {
  uint32_t number;
  uint32_t wire;
  uint64_t varint;      /* wire 0 */
  const uint8_t *data;  /* wire 2 */
  size_t len;
} pb_field;

/* Reads the next field; returns BEAM_OK with *more=false at the end of input. */
static beam_status pb_next(beam_reader *r, pb_field *f, bool *more) {
  *more = !beam_reader_at_end(r);
  if (!*more) return BEAM_OK;
  uint64_t tag;
  beam_status s = beam_coder_decode_varint(r, &tag);
  if (s != BEAM_OK) return s;
  f->number = (uint32_t)(tag >> 3);
  f->wire = (uint32_t)(tag & 7);
  if (f->number == 0 || tag >> 32) return BEAM_ERR_MALFORMED;
  const uint8_t *skip;
  switch (f->wire) {
    case 0: return beam_coder_decode_varint(r, &f->varint);
    case 1: return beam_reader_view(r, 8, &skip);
    case 5: return beam_reader_view(r, 4, &skip);
    case 2: {
      uint64_t len;
      s = beam_coder_decode_varint(r, &len);
      if (s != BEAM_OK) return s;
      if (len > beam_reader_remaining(r)) return BEAM_ERR_TRUNCATED;
      f->len = (size_t)len;
      return beam_reader_view(r, f->len, &f->data);
    }
    default: return BEAM_ERR_MALFORMED; /* groups are not used by Beam's protos */
  }
}

static beam_status parse_schema(const uint8_t *data, size_t len, beam_arena *a, int depth,
                                beam_row_schema **out, beam_error *err);

static beam_status bad(beam_error *err, const char *what) {
  return beam_error_set(err, BEAM_ERR_INVALID_ARG, "row schema: %s", what);
}

/* Finds the last length-delimited field `number` in a message. */
static beam_status pb_find(const uint8_t *data, size_t len, uint32_t number, const uint8_t **out,
                           size_t *out_len, bool *found) {
  beam_reader r = beam_reader_make(data, len);
  pb_field f;
  bool more;
  *found = false;
  for (;;) {
    beam_status s = pb_next(&r, &f, &more);
    if (s != BEAM_OK) return s;
    if (!more) return BEAM_OK;
    if (f.number == number && f.wire == 2) {
      *out = f.data;
      *out_len = f.len;
      *found = true;
    }
  }
}

static beam_status parse_type(const uint8_t *data, size_t len, beam_arena *a, int depth,
                              beam_row_type *t, beam_error *err) {
  if (depth > BEAM_ROW_SCHEMA_MAX_DEPTH) return bad(err, "types nested too deeply");
  beam_reader r = beam_reader_make(data, len);
  pb_field f, which = {0};
  bool more, have = false;
  memset(t, 0, sizeof *t);
  for (;;) {
    beam_status s = pb_next(&r, &f, &more);
    if (s != BEAM_OK) return bad(err, "malformed FieldType");
    if (!more) break;
    if (f.number == 1 && f.wire == 0) t->nullable = f.varint != 0;
    else if (f.number >= 2 && f.number <= 7) which = f, have = true;
  }
  if (!have) return bad(err, "FieldType without a type");
  beam_status s;
  const uint8_t *sub;
  size_t sub_len;
  bool found;
  switch (which.number) {
    case 2:
      if (which.wire != 0 || which.varint < BEAM_ROW_BYTE || which.varint > BEAM_ROW_BYTES)
        return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "row schema: unsupported atomic type %llu",
                              (unsigned long long)which.varint);
      t->kind = (beam_row_type_kind)which.varint;
      return BEAM_OK;
    case 3:
    case 4:
      if (which.wire != 2) return bad(err, "malformed array type");
      t->kind = BEAM_ROW_ARRAY;
      s = pb_find(which.data, which.len, 1, &sub, &sub_len, &found);
      if (s != BEAM_OK || !found) return bad(err, "array without element type");
      t->elem = beam_arena_calloc(a, 1, sizeof *t->elem);
      if (!t->elem) return BEAM_ERR_NOMEM;
      return parse_type(sub, sub_len, a, depth + 1, t->elem, err);
    case 5:
      if (which.wire != 2) return bad(err, "malformed map type");
      t->kind = BEAM_ROW_MAP;
      t->elem = beam_arena_calloc(a, 1, sizeof *t->elem);
      t->value = beam_arena_calloc(a, 1, sizeof *t->value);
      if (!t->elem || !t->value) return BEAM_ERR_NOMEM;
      s = pb_find(which.data, which.len, 1, &sub, &sub_len, &found);
      if (s != BEAM_OK || !found) return bad(err, "map without key type");
      s = parse_type(sub, sub_len, a, depth + 1, t->elem, err);
      if (s != BEAM_OK) return s;
      s = pb_find(which.data, which.len, 2, &sub, &sub_len, &found);
      if (s != BEAM_OK || !found) return bad(err, "map without value type");
      return parse_type(sub, sub_len, a, depth + 1, t->value, err);
    case 6:
      if (which.wire != 2) return bad(err, "malformed row type");
      t->kind = BEAM_ROW_ROW;
      s = pb_find(which.data, which.len, 1, &sub, &sub_len, &found);
      if (s != BEAM_OK) return bad(err, "malformed row type");
      if (!found) sub = NULL, sub_len = 0;
      return parse_schema(sub, sub_len, a, depth + 1, &t->row, err);
    default: { /* 7: logical type */
      if (which.wire != 2) return bad(err, "malformed logical type");
      const uint8_t *urn = NULL;
      size_t urn_len = 0;
      s = pb_find(which.data, which.len, 1, &urn, &urn_len, &found);
      if (s != BEAM_OK) return bad(err, "malformed logical type");
      bool nullable = t->nullable;
      if (urn_len == strlen("beam:logical_type:millis_instant:v1") &&
          memcmp(urn, "beam:logical_type:millis_instant:v1", urn_len) == 0) {
        t->kind = BEAM_ROW_MILLIS_INSTANT;
        return BEAM_OK;
      }
      if (urn_len == strlen("beam:logical_type:decimal:v1") &&
          memcmp(urn, "beam:logical_type:decimal:v1", urn_len) == 0) {
        t->kind = BEAM_ROW_DECIMAL;
        return BEAM_OK;
      }
      /* Every other logical type travels as its representation. */
      s = pb_find(which.data, which.len, 3, &sub, &sub_len, &found);
      if (s != BEAM_OK || !found)
        return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                              "row schema: logical type %.*s has no representation", (int)urn_len,
                              urn ? (const char *)urn : "");
      s = parse_type(sub, sub_len, a, depth + 1, t, err);
      t->nullable = nullable;
      return s;
    }
  }
}

static beam_status parse_field(const uint8_t *data, size_t len, beam_arena *a, int depth,
                               const char **name, beam_row_type *type, uint64_t *enc_pos,
                               beam_error *err) {
  beam_reader r = beam_reader_make(data, len);
  pb_field f;
  bool more, have_type = false;
  *name = "";
  *enc_pos = 0;
  for (;;) {
    beam_status s = pb_next(&r, &f, &more);
    if (s != BEAM_OK) return bad(err, "malformed Field");
    if (!more) break;
    if (f.number == 1 && f.wire == 2) {
      *name = beam_arena_strndup(a, (const char *)f.data, f.len);
      if (!*name) return BEAM_ERR_NOMEM;
    } else if (f.number == 3 && f.wire == 2) {
      s = parse_type(f.data, f.len, a, depth, type, err);
      if (s != BEAM_OK) return s;
      have_type = true;
    } else if (f.number == 5 && f.wire == 0) {
      *enc_pos = f.varint;
    }
  }
  if (!have_type) return bad(err, "field without type");
  return BEAM_OK;
}

static beam_status parse_schema(const uint8_t *data, size_t len, beam_arena *a, int depth,
                                beam_row_schema **out, beam_error *err) {
  if (depth > BEAM_ROW_SCHEMA_MAX_DEPTH) return bad(err, "rows nested too deeply");
  beam_row_schema *sc = beam_arena_calloc(a, 1, sizeof *sc);
  if (!sc) return BEAM_ERR_NOMEM;
  /* Pass 1: count fields and read the flag; pass 2: parse the fields. */
  beam_reader r = beam_reader_make(data, len);
  pb_field f;
  bool more, positions_set = false;
  size_t n = 0;
  for (;;) {
    beam_status s = pb_next(&r, &f, &more);
    if (s != BEAM_OK) return bad(err, "malformed Schema");
    if (!more) break;
    if (f.number == 1 && f.wire == 2) n++;
    if (f.number == 4 && f.wire == 0) positions_set = f.varint != 0;
  }
  sc->n_fields = n;
  sc->names = beam_arena_calloc(a, n ? n : 1, sizeof *sc->names);
  sc->types = beam_arena_calloc(a, n ? n : 1, sizeof *sc->types);
  sc->enc_order = beam_arena_calloc(a, n ? n : 1, sizeof *sc->enc_order);
  uint64_t *pos = beam_arena_calloc(a, n ? n : 1, sizeof *pos);
  if (!sc->names || !sc->types || !sc->enc_order || !pos) return BEAM_ERR_NOMEM;
  r = beam_reader_make(data, len);
  size_t i = 0;
  for (;;) {
    beam_status s = pb_next(&r, &f, &more);
    if (s != BEAM_OK) return bad(err, "malformed Schema");
    if (!more) break;
    if (f.number != 1 || f.wire != 2) continue;
    s = parse_field(f.data, f.len, a, depth, &sc->names[i], &sc->types[i], &pos[i], err);
    if (s != BEAM_OK) return s;
    i++;
  }
  sc->trivial_order = true;
  for (i = 0; i < n; i++) sc->enc_order[i] = i;
  if (positions_set) {
    /* Positions must be a permutation of 0..n-1. */
    for (i = 0; i < n; i++) sc->enc_order[i] = SIZE_MAX;
    for (i = 0; i < n; i++) {
      if (pos[i] >= n || sc->enc_order[pos[i]] != SIZE_MAX)
        return bad(err, "encoding positions are not a permutation of the fields");
      sc->enc_order[pos[i]] = i;
      if (pos[i] != i) sc->trivial_order = false;
    }
  }
  *out = sc;
  return BEAM_OK;
}

beam_status beam_row_schema_parse(const uint8_t *data, size_t len, beam_arena *arena,
                                  beam_row_schema **out, beam_error *err) {
  return parse_schema(data, len, arena, 0, out, err);
}
