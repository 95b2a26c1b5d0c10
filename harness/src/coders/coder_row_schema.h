/* The row coder's view of a Beam Schema proto (schema.proto), parsed straight from the
 * wire format so the row coder does not depend on generated code. */
#ifndef BEAM_CODER_ROW_SCHEMA_H
#define BEAM_CODER_ROW_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/arena.h"
#include "beam/status.h"

typedef enum beam_row_type_kind {
  BEAM_ROW_BYTE = 1, /* values of schema_pb2.AtomicType */
  BEAM_ROW_INT16,
  BEAM_ROW_INT32,
  BEAM_ROW_INT64,
  BEAM_ROW_FLOAT,
  BEAM_ROW_DOUBLE,
  BEAM_ROW_STRING,
  BEAM_ROW_BOOLEAN,
  BEAM_ROW_BYTES,
  BEAM_ROW_ARRAY, /* ARRAY and ITERABLE: same encoding */
  BEAM_ROW_MAP,
  BEAM_ROW_ROW,
  BEAM_ROW_MILLIS_INSTANT, /* logical millis_instant (Java DATETIME): 8-byte timestamp */
  BEAM_ROW_DECIMAL         /* logical decimal: varint scale + nested big-endian unscaled */
} beam_row_type_kind;

typedef struct beam_row_schema beam_row_schema;

typedef struct beam_row_type {
  beam_row_type_kind kind;
  bool nullable;
  struct beam_row_type *elem;  /* ARRAY element, MAP key */
  struct beam_row_type *value; /* MAP value */
  beam_row_schema *row;        /* ROW */
} beam_row_type;

struct beam_row_schema {
  size_t n_fields;
  const char **names;
  beam_row_type *types;
  size_t *enc_order; /* enc_order[k] = index of the field written k-th */
  bool trivial_order;
};

#define BEAM_ROW_SCHEMA_MAX_DEPTH 32

/* Parses a serialized Schema proto; everything is allocated in arena. */
beam_status beam_row_schema_parse(const uint8_t *data, size_t len, beam_arena *arena,
                                  beam_row_schema **out, beam_error *err);

#endif
