/* Coercion of cleaned text cells into typed values (the mapping is in etl_coerce.h). */
#include "beam/transforms/etl_coerce.h"

#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "beam/transforms/etl_numeric.h"
#include "beam/transforms/etl_time.h"
#include "etl_text.h"

/* The common failure: `field "amount": "abc" is not a FLOAT64`. */
static beam_status not_a(beam_error *err, const beam_etl_field *f, const beam_etl_cell *c) {
  char q[BEAM_ETL_QUOTE_MAX];
  const char *tn = beam_etl_type_name(f->type);
  return beam_error_set(err, BEAM_ERR_MALFORMED, "field \"%s\": \"%s\" is not %s %s", f->name,
                        beam_etl_quote(c->data, c->len, q), beam_etl_article(tn), tn);
}

static beam_status out_of_range(beam_error *err, const beam_etl_field *f, const beam_etl_cell *c) {
  char q[BEAM_ETL_QUOTE_MAX];
  return beam_error_set(err, BEAM_ERR_MALFORMED, "field \"%s\": \"%s\" is out of range for %s", f->name,
                        beam_etl_quote(c->data, c->len, q), beam_etl_type_name(f->type));
}

static bool parse_int64(const char *s, size_t len, int64_t *out, bool *overflow) {
  size_t p = 0;
  bool neg = false;
  *overflow = false;
  if (p < len && (s[p] == '+' || s[p] == '-')) neg = s[p++] == '-';
  if (p == len) return false;
  /* Accumulate as a negative number: INT64_MIN has no positive counterpart. */
  int64_t v = 0;
  for (; p < len; p++) {
    char c = s[p];
    if (c < '0' || c > '9') return false;
    int d = c - '0';
    if (v < (INT64_MIN + d) / 10) {
      *overflow = true;
      /* Keep scanning so "99999999999999999999x" is reported as syntax, not range. */
      for (p++; p < len; p++)
        if (s[p] < '0' || s[p] > '9') {
          *overflow = false;
          return false;
        }
      return false;
    }
    v = v * 10 - d;
  }
  if (!neg) {
    if (v == INT64_MIN) {
      *overflow = true;
      return false;
    }
    v = -v;
  }
  *out = v;
  return true;
}

/* Strict decimal float syntax; strtod alone would take hex, "nan(...)" and leading spaces. */
static bool float_syntax(const char *s, size_t len) {
  size_t p = 0;
  if (p < len && (s[p] == '+' || s[p] == '-')) p++;
  size_t d = 0;
  while (p < len && s[p] >= '0' && s[p] <= '9') p++, d++;
  if (p < len && s[p] == '.') {
    p++;
    while (p < len && s[p] >= '0' && s[p] <= '9') p++, d++;
  }
  if (d == 0) return false;
  if (p < len && (s[p] == 'e' || s[p] == 'E')) {
    p++;
    if (p < len && (s[p] == '+' || s[p] == '-')) p++;
    size_t e = p;
    while (p < len && s[p] >= '0' && s[p] <= '9') p++;
    if (p == e) return false;
  }
  return p == len;
}

static bool float_special(const char *s, size_t len, double *out) {
  double sign = 1.0;
  if (len && (s[0] == '+' || s[0] == '-')) {
    sign = s[0] == '-' ? -1.0 : 1.0;
    s++, len--;
  }
  if (len == 3 && strncasecmp(s, "nan", 3) == 0 && sign > 0) {
    *out = NAN;
    return true;
  }
  if ((len == 3 && strncasecmp(s, "inf", 3) == 0) || (len == 8 && strncasecmp(s, "infinity", 8) == 0)) {
    *out = sign * INFINITY;
    return true;
  }
  return false;
}

/* The exact fast path for the common decimal ("92.25", "-3", "0.125"): at most 15 digits
 * and no exponent, so the digits are an integer m < 2^53 and the value m / 10^k with k <= 15.
 * Both are exact doubles and IEEE division rounds correctly, so the result is strtod's, for a
 * tenth of its cost. Anything else (more digits, an exponent) returns false for strtod. The
 * syntax is already checked. */
static bool float_decimal_fast(const char *s, size_t len, double *out) {
  static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  size_t p = 0;
  bool negative = false;
  if (p < len && (s[p] == '+' || s[p] == '-')) negative = s[p++] == '-';
  uint64_t m = 0;
  int digits = 0, fraction = -1; /* fraction digits once the point is seen */
  for (; p < len; p++) {
    char ch = s[p];
    if (ch == '.') {
      fraction = 0;
      continue;
    }
    if (ch < '0' || ch > '9' || ++digits > 15) return false; /* an exponent, or too many digits */
    m = m * 10 + (uint64_t)(ch - '0');
    if (fraction >= 0) fraction++;
  }
  double v = (double)m;
  if (fraction > 0) v /= pow10[fraction];
  *out = negative ? -v : v;
  return true;
}

static beam_status coerce_float(const beam_etl_field *f, const beam_etl_cell *c, beam_arena *arena,
                                beam_value *out, beam_error *err) {
  double v;
  if (c->state == BEAM_ETL_CELL_TEXT && float_special(c->data, c->len, &v)) {
    *out = beam_value_double(v);
    return BEAM_OK;
  }
  if (!float_syntax(c->data, c->len)) return not_a(err, f, c);
  if (float_decimal_fast(c->data, c->len, &v)) {
    *out = beam_value_double(v);
    return BEAM_OK;
  }
  /* strtod needs a terminator; cells are NUL-terminated by contract, but a copy keeps this
   * independent of that (stack for ordinary numbers, arena for absurdly long ones). */
  char stack[64];
  char *tmp = stack;
  if (c->len >= sizeof stack) {
    tmp = beam_arena_alloc(arena, c->len + 1);
    if (!tmp) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  memcpy(tmp, c->data, c->len);
  tmp[c->len] = '\0';
  errno = 0;
  v = strtod(tmp, NULL);
  if (errno == ERANGE && isinf(v)) return out_of_range(err, f, c);
  *out = beam_value_double(v);
  return BEAM_OK;
}

static bool parse_bool(const char *s, size_t len, bool *out) {
  switch (len) {
    case 1:
      if (s[0] == '1' || s[0] == '0') {
        *out = s[0] == '1';
        return true;
      }
      return false;
    case 2:
      if (strncasecmp(s, "no", 2) == 0) return *out = false, true;
      return false;
    case 3:
      if (strncasecmp(s, "yes", 3) == 0) return *out = true, true;
      return false;
    case 4:
      if (strncasecmp(s, "true", 4) == 0) return *out = true, true;
      return false;
    case 5:
      if (strncasecmp(s, "false", 5) == 0) return *out = false, true;
      return false;
    default:
      return false;
  }
}

beam_status beam_etl_coerce_cell(const beam_etl_field *f, const beam_etl_cell *c, beam_arena *arena,
                                 beam_value *out, beam_error *err) {
  if (c->state == BEAM_ETL_CELL_ABSENT || c->state == BEAM_ETL_CELL_NULL) {
    if (f->mode == BEAM_ETL_REQUIRED)
      return beam_error_set(err, BEAM_ERR_MALFORMED, "field \"%s\": required but %s", f->name,
                            c->state == BEAM_ETL_CELL_ABSENT ? "missing" : "null");
    *out = beam_value_null();
    return BEAM_OK;
  }
  if (c->state == BEAM_ETL_CELL_NESTED && f->type != BEAM_ETL_STRING) return not_a(err, f, c);
  bool text = c->state == BEAM_ETL_CELL_TEXT;
  switch (f->type) {
    case BEAM_ETL_STRING: {
      size_t bad;
      if (!beam_etl_utf8_valid(c->data, c->len, &bad))
        return beam_error_set(err, BEAM_ERR_MALFORMED, "field \"%s\": value is not valid UTF-8 (byte %zu)",
                              f->name, bad);
      *out = beam_value_string(c->data, c->len);
      return BEAM_OK;
    }
    case BEAM_ETL_INT64: {
      int64_t v;
      bool overflow;
      if (!parse_int64(c->data, c->len, &v, &overflow))
        return overflow ? out_of_range(err, f, c) : not_a(err, f, c);
      *out = beam_value_int64(v);
      return BEAM_OK;
    }
    case BEAM_ETL_FLOAT64:
      return coerce_float(f, c, arena, out, err);
    case BEAM_ETL_NUMERIC: {
      char norm[BEAM_ETL_NUMERIC_MAX_LEN + 1];
      size_t n;
      beam_status st = beam_etl_numeric_normalize(c->data, c->len, norm, &n);
      if (st == BEAM_ERR_INVALID_ARG) {
        char q[BEAM_ETL_QUOTE_MAX];
        return beam_error_set(err, BEAM_ERR_MALFORMED,
                              "field \"%s\": \"%s\" is out of range for NUMERIC (at most %d integer and %d "
                              "fractional digits)",
                              f->name, beam_etl_quote(c->data, c->len, q), BEAM_ETL_NUMERIC_INT_DIGITS,
                              BEAM_ETL_NUMERIC_SCALE);
      }
      if (st != BEAM_OK) return not_a(err, f, c);
      /* Already normalized text aliases the cell; otherwise keep the normal form. */
      const char *s = c->data;
      if (n != c->len || memcmp(norm, c->data, n) != 0) {
        char *copy = beam_arena_strndup(arena, norm, n);
        if (!copy) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
        s = copy;
      }
      *out = beam_value_string(s, n);
      return BEAM_OK;
    }
    case BEAM_ETL_BOOL: {
      bool b;
      if (!parse_bool(c->data, c->len, &b)) return not_a(err, f, c);
      *out = beam_value_bool(b);
      return BEAM_OK;
    }
    case BEAM_ETL_TIMESTAMP: {
      int64_t us;
      beam_status st = text ? beam_etl_parse_timestamp(c->data, c->len, &us)
                            : beam_etl_parse_epoch_seconds(c->data, c->len, &us);
      if (st == BEAM_ERR_INVALID_ARG) return out_of_range(err, f, c);
      if (st != BEAM_OK) return not_a(err, f, c);
      *out = beam_value_int64(us);
      return BEAM_OK;
    }
    case BEAM_ETL_DATE: {
      int64_t days;
      if (!text || beam_etl_parse_date(c->data, c->len, &days) != BEAM_OK) return not_a(err, f, c);
      *out = beam_value_int64(days);
      return BEAM_OK;
    }
    case BEAM_ETL_BYTES: {
      if (!text) return not_a(err, f, c);
      uint8_t *buf = beam_arena_alloc(arena, (c->len / 4 + 1) * 3);
      if (!buf) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      size_t n;
      if (beam_etl_base64_decode(c->data, c->len, buf, &n) != BEAM_OK) {
        char q[BEAM_ETL_QUOTE_MAX];
        return beam_error_set(err, BEAM_ERR_MALFORMED, "field \"%s\": \"%s\" is not BYTES (base64)", f->name,
                              beam_etl_quote(c->data, c->len, q));
      }
      *out = beam_value_bytes(buf, n);
      return BEAM_OK;
    }
  }
  return beam_error_set(err, BEAM_ERR_INTERNAL, "field \"%s\": unknown type %d", f->name, (int)f->type);
}

beam_status beam_etl_coerce_record(const beam_etl_record *rec, beam_arena *arena, beam_etl_row *out,
                                   beam_error *err) {
  const beam_etl_schema *s = rec->schema;
  beam_value *values = beam_arena_alloc(arena, (s->n_fields ? s->n_fields : 1) * sizeof *values);
  if (!values) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < s->n_fields; i++) {
    beam_status st = beam_etl_coerce_cell(&s->fields[i], &rec->cells[i], arena, &values[i], err);
    if (st != BEAM_OK) return st;
  }
  out->schema = s;
  out->values = values;
  out->origin = rec->origin;
  return BEAM_OK;
}
