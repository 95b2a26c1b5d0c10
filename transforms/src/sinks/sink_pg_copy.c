/* Binary COPY encoding for the PostgreSQL sink: see sink_pg_copy.h for the wire facts. */
#include "sink_pg_copy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const unsigned char beam_sink_pg_copy_header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0,
                                                    0,   0,   0,   0,   0,   0,   0,    0};
const unsigned char beam_sink_pg_copy_trailer[2] = {0xff, 0xff};

/* PostgreSQL's epoch (2000-01-01) in the ETL's units. */
#define PG_EPOCH_MICROS INT64_C(946684800000000)
#define PG_EPOCH_DAYS INT64_C(10957)
#define NUMERIC_MAX_DIGITS 1000

static unsigned char *put16(unsigned char *p, uint16_t v) {
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
  return p + 2;
}

static unsigned char *put32(unsigned char *p, uint32_t v) {
  for (int i = 3; i >= 0; i--) p[3 - i] = (unsigned char)(v >> (8 * i));
  return p + 4;
}

static unsigned char *put64(unsigned char *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) p[7 - i] = (unsigned char)(v >> (8 * i));
  return p + 8;
}

void beam_sink_pg_copy_reset(beam_sink_pg_copy *c) {
  beam_buf_reset(&c->rows);
  c->n = 0;
}

void beam_sink_pg_copy_free(beam_sink_pg_copy *c) {
  beam_buf_free(&c->rows);
  free(c->start);
  free(c->index);
  memset(c, 0, sizeof *c);
}

/* Base-10000 digit at group g of a digit string padded with `lead` zeros on the left
 * (and zeros on the right past its end). */
static uint16_t group_at(const char *digits, size_t len, size_t lead, size_t g) {
  uint16_t v = 0;
  for (size_t k = 0; k < 4; k++) {
    size_t pos = g * 4 + k; /* position in the padded string */
    int d = 0;
    if (pos >= lead && pos - lead < len) d = digits[pos - lead] - '0';
    v = (uint16_t)(v * 10 + d);
  }
  return v;
}

static bool all_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

size_t beam_sink_pg_numeric_encode(const char *text, size_t len, unsigned char out[BEAM_SINK_PG_NUMERIC_MAX]) {
  if (!text || len == 0) return 0;
  size_t i = 0;
  bool negative = false;
  if (i < len && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  const char *int_digits = text + i;
  const char *dot = memchr(int_digits, '.', len - i);
  size_t int_len = dot ? (size_t)(dot - int_digits) : len - i;
  const char *frac = dot ? dot + 1 : text + len;
  size_t frac_len = (size_t)(text + len - frac);
  if (int_len + frac_len == 0 || !all_digits(int_digits, int_len) || !all_digits(frac, frac_len)) return 0;
  while (int_len > 0 && int_digits[0] == '0') int_digits++, int_len--;
  if (int_len > NUMERIC_MAX_DIGITS || frac_len > NUMERIC_MAX_DIGITS) return 0;
  /* Groups aligned on the decimal point: the integer part padded on the left, the
   * fraction on the right, so group weight falls out of the group's position. */
  size_t int_groups = (int_len + 3) / 4, frac_groups = (frac_len + 3) / 4;
  size_t int_lead = int_groups * 4 - int_len;
  uint16_t digits[(NUMERIC_MAX_DIGITS / 4 + 1) * 2];
  size_t n = 0;
  for (size_t g = 0; g < int_groups; g++) digits[n++] = group_at(int_digits, int_len, int_lead, g);
  for (size_t g = 0; g < frac_groups; g++) digits[n++] = group_at(frac, frac_len, 0, g);
  int weight = (int)int_groups - 1;
  size_t first = 0;
  while (first < n && digits[first] == 0) first++, weight--;
  while (n > first && digits[n - 1] == 0) n--;
  size_t ndigits = n - first;
  if (ndigits == 0) weight = 0, negative = false;
  unsigned char *p = out;
  p = put16(p, (uint16_t)ndigits);
  p = put16(p, (uint16_t)(int16_t)weight);
  p = put16(p, negative ? 0x4000 : 0x0000);
  p = put16(p, (uint16_t)frac_len); /* dscale: the fractional digits the text shows */
  for (size_t g = first; g < n; g++) p = put16(p, digits[g]);
  return (size_t)(p - out);
}

static bool grow_index(beam_sink_pg_copy *c) {
  if (c->n < c->cap) return true; /* index[n] and start[n + 1] exist */
  size_t cap = c->cap ? c->cap * 2 : 256;
  size_t *start = realloc(c->start, (cap + 1) * sizeof *start);
  if (start) c->start = start;
  size_t *index = realloc(c->index, cap * sizeof *index);
  if (index) c->index = index;
  if (!start || !index) return false;
  c->cap = cap;
  return true;
}

/* Bytes the row takes on the wire, NUMERIC at its worst case. */
static size_t row_size(const beam_etl_schema *schema, const beam_value *values) {
  size_t size = 2;
  for (size_t f = 0; f < schema->n_fields; f++) {
    size += 4;
    const beam_value *v = &values[f];
    if (v->kind == BEAM_VALUE_NULL) continue;
    switch (schema->fields[f].type) {
      case BEAM_ETL_STRING:
      case BEAM_ETL_BYTES: size += v->u.bytes.len; break;
      case BEAM_ETL_NUMERIC: size += BEAM_SINK_PG_NUMERIC_MAX; break;
      default: size += 8; break;
    }
  }
  return size;
}

/* Writes one non-null field at p; returns the end, or NULL with a reason. */
static unsigned char *put_field(unsigned char *p, const beam_etl_field *field, const beam_value *v, char *reason,
                                size_t reason_cap) {
  switch (field->type) {
    case BEAM_ETL_STRING:
    case BEAM_ETL_BYTES:
      p = put32(p, (uint32_t)v->u.bytes.len);
      if (v->u.bytes.len) memcpy(p, v->u.bytes.data, v->u.bytes.len);
      return p + v->u.bytes.len;
    case BEAM_ETL_NUMERIC: {
      size_t n = beam_sink_pg_numeric_encode((const char *)v->u.bytes.data, v->u.bytes.len, p + 4);
      if (n == 0) {
        /* The value need not be NUL-terminated: print at most its length. */
        int shown = v->u.bytes.len < 40 ? (int)v->u.bytes.len : 40;
        snprintf(reason, reason_cap, "field %s: NUMERIC value \"%.*s\" is not a plain decimal", field->name, shown,
                 v->u.bytes.data ? (const char *)v->u.bytes.data : "");
        return NULL;
      }
      put32(p, (uint32_t)n);
      return p + 4 + n;
    }
    case BEAM_ETL_INT64: return put64(put32(p, 8), (uint64_t)v->u.i64);
    case BEAM_ETL_FLOAT64: {
      uint64_t bits;
      memcpy(&bits, &v->u.f64, sizeof bits);
      return put64(put32(p, 8), bits);
    }
    case BEAM_ETL_BOOL:
      p = put32(p, 1);
      *p = v->u.b ? 1 : 0;
      return p + 1;
    case BEAM_ETL_TIMESTAMP:
      if (v->u.i64 < INT64_MIN + PG_EPOCH_MICROS) {
        snprintf(reason, reason_cap, "field %s: TIMESTAMP out of range", field->name);
        return NULL;
      }
      return put64(put32(p, 8), (uint64_t)(v->u.i64 - PG_EPOCH_MICROS));
    case BEAM_ETL_DATE: {
      int64_t days = v->u.i64 >= INT32_MIN && v->u.i64 <= INT32_MAX ? v->u.i64 - PG_EPOCH_DAYS : INT64_MIN;
      if (days < INT32_MIN || days > INT32_MAX) {
        snprintf(reason, reason_cap, "field %s: DATE out of range", field->name);
        return NULL;
      }
      return put32(put32(p, 4), (uint32_t)(int32_t)days);
    }
  }
  snprintf(reason, reason_cap, "field %s: unknown type", field->name);
  return NULL;
}

bool beam_sink_pg_copy_add(beam_sink_pg_copy *c, const beam_etl_schema *schema, const beam_value *values,
                           size_t index, char *reason, size_t reason_cap, bool *nomem) {
  *nomem = false;
  if (!grow_index(c) || beam_buf_reserve(&c->rows, row_size(schema, values)) != BEAM_OK) {
    *nomem = true;
    snprintf(reason, reason_cap, "out of memory");
    return false;
  }
  if (c->n == 0) c->start[0] = c->rows.len;
  unsigned char *p = put16(c->rows.data + c->rows.len, (uint16_t)schema->n_fields);
  for (size_t f = 0; p && f < schema->n_fields; f++) {
    if (values[f].kind == BEAM_VALUE_NULL) p = put32(p, UINT32_MAX); /* -1: NULL */
    else p = put_field(p, &schema->fields[f], &values[f], reason, reason_cap);
  }
  if (!p) return false; /* nothing committed to the buffer: len is unchanged */
  c->rows.len = (size_t)(p - c->rows.data);
  c->index[c->n++] = index;
  c->start[c->n] = c->rows.len;
  return true;
}
