/* Ordering and text of typed ETL values. */
#include "beam/transforms/etl_value.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/etl_numeric.h"
#include "beam/transforms/etl_time.h"

static int cmp_bytes(const beam_value *a, const beam_value *b) {
  size_t n = a->u.bytes.len < b->u.bytes.len ? a->u.bytes.len : b->u.bytes.len;
  int c = n ? memcmp(a->u.bytes.data, b->u.bytes.data, n) : 0;
  if (c) return c < 0 ? -1 : 1;
  return a->u.bytes.len == b->u.bytes.len ? 0 : (a->u.bytes.len < b->u.bytes.len ? -1 : 1);
}

bool beam_etl_value_compare(beam_etl_type t, const beam_value *a, const beam_value *b, int *cmp) {
  switch (t) {
    case BEAM_ETL_STRING:
    case BEAM_ETL_BYTES:
      *cmp = cmp_bytes(a, b);
      return true;
    case BEAM_ETL_NUMERIC:
      *cmp = beam_etl_numeric_compare((const char *)a->u.bytes.data, a->u.bytes.len,
                                      (const char *)b->u.bytes.data, b->u.bytes.len);
      return true;
    case BEAM_ETL_INT64:
    case BEAM_ETL_TIMESTAMP:
    case BEAM_ETL_DATE:
      *cmp = a->u.i64 < b->u.i64 ? -1 : (a->u.i64 > b->u.i64 ? 1 : 0);
      return true;
    case BEAM_ETL_FLOAT64:
      if (isnan(a->u.f64) || isnan(b->u.f64)) return false;
      *cmp = a->u.f64 < b->u.f64 ? -1 : (a->u.f64 > b->u.f64 ? 1 : 0);
      return true;
    case BEAM_ETL_BOOL:
      *cmp = (int)a->u.b - (int)b->u.b;
      return true;
  }
  return false;
}

/* Shortest "%.{15,16,17}g" that reads back to the same double, so 0.1 prints as 0.1. */
static size_t format_double(double d, char *buf, size_t cap) {
  if (!buf || cap == 0) return 0; /* also tells the optimizer buf is never NULL below */
  if (isnan(d)) return (size_t)snprintf(buf, cap, "NaN");
  if (isinf(d)) return (size_t)snprintf(buf, cap, d < 0 ? "-Infinity" : "Infinity");
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, cap, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  return n < 0 ? 0 : (size_t)n;
}

const char *beam_etl_value_text(beam_etl_type t, const beam_value *v, char buf[BEAM_ETL_VALUE_TEXT_MAX],
                                size_t *len) {
  if (v->kind == BEAM_VALUE_NULL) {
    memcpy(buf, "null", 5);
    *len = 4;
    return buf;
  }
  switch (t) {
    case BEAM_ETL_STRING:
    case BEAM_ETL_NUMERIC:
    case BEAM_ETL_BYTES:
      *len = v->u.bytes.len;
      return (const char *)v->u.bytes.data;
    case BEAM_ETL_INT64: {
      int n = snprintf(buf, BEAM_ETL_VALUE_TEXT_MAX, "%" PRId64, v->u.i64);
      *len = n < 0 ? 0 : (size_t)n;
      return buf;
    }
    case BEAM_ETL_FLOAT64:
      *len = format_double(v->u.f64, buf, BEAM_ETL_VALUE_TEXT_MAX);
      return buf;
    case BEAM_ETL_BOOL:
      *len = v->u.b ? 4 : 5;
      memcpy(buf, v->u.b ? "true" : "false", *len + 1);
      return buf;
    case BEAM_ETL_TIMESTAMP:
      *len = beam_etl_format_timestamp(v->u.i64, buf);
      return buf;
    case BEAM_ETL_DATE:
      *len = beam_etl_format_date(v->u.i64, buf);
      return buf;
  }
  *len = 0;
  buf[0] = '\0';
  return buf;
}
