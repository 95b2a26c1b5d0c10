/* Dedupe keys and the record order that makes the kept row deterministic. */
#include "beam/transforms/etl_dedupe.h"
#include "beam/transforms/etl_table.h"

#include <math.h>
#include <string.h>

static beam_status put_be64(beam_buf *out, uint64_t v) {
  uint8_t b[8];
  for (int i = 7; i >= 0; i--) {
    b[i] = (uint8_t)v;
    v >>= 8;
  }
  return beam_buf_append(out, b, 8);
}

beam_status beam_etl_dedupe_key(const beam_etl_spec *spec, const beam_etl_row *row, beam_buf *out) {
  if (!spec || spec->dedupe_field < 0) return BEAM_ERR_INVALID_ARG;
  beam_buf_reset(out);
  int at = beam_etl_table_field_index(spec, row->schema, spec->dedupe_field); /* rows are in their table's shape */
  if (at < 0) return BEAM_ERR_INVALID_ARG; /* the spec check puts dedupe_on in every table */
  const beam_value *v = &row->values[at];
  beam_status st;
  if (v->kind == BEAM_VALUE_NULL) {
    const char *src = row->origin.source ? row->origin.source : "";
    if ((st = beam_buf_append_byte(out, 0)) || (st = beam_buf_append(out, src, strlen(src))) ||
        (st = beam_buf_append_byte(out, 0)))
      return st;
    return put_be64(out, (uint64_t)row->origin.offset); /* ranges of a split file know no lines */
  }
  if ((st = beam_buf_append_byte(out, 1))) return st;
  switch (spec->schema.fields[spec->dedupe_field].type) {
    case BEAM_ETL_STRING:
    case BEAM_ETL_NUMERIC:
    case BEAM_ETL_BYTES:
      return beam_buf_append(out, v->u.bytes.data, v->u.bytes.len);
    case BEAM_ETL_INT64:
    case BEAM_ETL_TIMESTAMP:
    case BEAM_ETL_DATE:
      return put_be64(out, (uint64_t)v->u.i64);
    case BEAM_ETL_FLOAT64: {
      double d = v->u.f64;
      if (d == 0) d = 0.0; /* -0 == 0 */
      if (isnan(d)) d = NAN;
      uint64_t bits;
      memcpy(&bits, &d, sizeof bits);
      return put_be64(out, bits);
    }
    case BEAM_ETL_BOOL:
      return beam_buf_append_byte(out, v->u.b ? 1 : 0);
  }
  return BEAM_ERR_INTERNAL;
}

int beam_etl_origin_compare(const beam_etl_origin *a, const beam_etl_origin *b) {
  if (a->file_index != b->file_index) return a->file_index < b->file_index ? -1 : 1;
  if (a->source != b->source) {
    if (!a->source) return -1;
    if (!b->source) return 1;
    int c = strcmp(a->source, b->source);
    if (c) return c < 0 ? -1 : 1;
  }
  /* The byte offset, not the line: a range of a split file knows offsets only. */
  return a->offset < b->offset ? -1 : (a->offset > b->offset ? 1 : 0);
}

int beam_etl_row_order_compare(const beam_etl_row *a, const beam_etl_row *b) {
  return beam_etl_origin_compare(&a->origin, &b->origin);
}
