/* Fast JSON text for typed rows. The buffer is reserved for the worst case of each value
 * up front so the inner loops write without capacity checks. */
#include "beam/transforms/json_row_writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink_text.h"

/* 1 for bytes that end a run of plain ASCII copy: controls, '"', '\\', and every byte
 * >= 0x80 (UTF-8, validated separately). */
static const uint8_t needs_care[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

static const char hex_digits[] = "0123456789abcdef";

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0 if malformed
 * (Unicode Table 3-7: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq_len(const uint8_t *p, size_t avail) {
  uint8_t c = p[0];
  if (c >= 0xC2 && c <= 0xDF) return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 3 || (p[2] & 0xC0) != 0x80) return 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    return p[1] >= lo && p[1] <= hi ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 4 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    return p[1] >= lo && p[1] <= hi ? 4 : 0;
  }
  return 0;
}

beam_status beam_json_write_string(beam_buf *b, const void *data, size_t len) {
  /* Worst case: every byte becomes \u00XX (6 bytes); U+FFFD is 3 bytes for 1. */
  if (len > (SIZE_MAX - 2) / 6) return BEAM_ERR_NOMEM;
  beam_status st = beam_buf_reserve(b, len * 6 + 2);
  if (st != BEAM_OK) return st;
  const uint8_t *s = data;
  uint8_t *o = b->data + b->len;
  *o++ = '"';
  size_t i = 0;
  while (i < len) {
    size_t run = i;
    while (run < len && !needs_care[s[run]]) run++;
    if (run > i) {
      memcpy(o, s + i, run - i);
      o += run - i;
      i = run;
      if (i == len) break;
    }
    uint8_t c = s[i];
    if (c >= 0x80) {
      size_t n = utf8_seq_len(s + i, len - i);
      if (n) {
        memcpy(o, s + i, n);
        o += n;
        i += n;
      } else {
        *o++ = 0xEF;
        *o++ = 0xBF;
        *o++ = 0xBD;
        i++;
      }
      continue;
    }
    *o++ = '\\';
    switch (c) {
      case '"': *o++ = '"'; break;
      case '\\': *o++ = '\\'; break;
      case '\b': *o++ = 'b'; break;
      case '\f': *o++ = 'f'; break;
      case '\n': *o++ = 'n'; break;
      case '\r': *o++ = 'r'; break;
      case '\t': *o++ = 't'; break;
      default:
        *o++ = 'u';
        *o++ = '0';
        *o++ = '0';
        *o++ = hex_digits[c >> 4];
        *o++ = hex_digits[c & 15];
    }
    i++;
  }
  *o++ = '"';
  b->len = (size_t)(o - b->data);
  return BEAM_OK;
}

/* Writes the decimal digits of v ending just before end; returns the first digit. */
static char *u64_digits(uint64_t v, char *end) {
  char *p = end;
  do {
    *--p = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return p;
}

beam_status beam_json_write_int64(beam_buf *b, int64_t x) {
  char tmp[24];
  char *end = tmp + sizeof tmp;
  uint64_t mag = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
  char *p = u64_digits(mag, end);
  if (x < 0) *--p = '-';
  return beam_buf_append(b, p, (size_t)(end - p));
}

beam_status beam_json_write_double(beam_buf *b, double x) {
  if (isnan(x)) return beam_buf_append(b, "\"NaN\"", 5);
  if (isinf(x)) return x > 0 ? beam_buf_append(b, "\"Infinity\"", 10)
                             : beam_buf_append(b, "\"-Infinity\"", 11);
  char tmp[40];
  double ax = fabs(x);
  /* Fast path for values with at most six decimals (prices, measurements): if m / 1e6
   * is exactly x then the decimal text of m / 10^6 reads back as x (IEEE division is
   * correctly rounded and so is strtod). m < 2^53 keeps m and the division exact. */
  if (ax < 9.0e9) {
    double scaled = ax * 1e6;
    uint64_t m = (uint64_t)(scaled + 0.5);
    if ((double)m / 1e6 == ax) {
      char *end = tmp + sizeof tmp;
      uint64_t ip = m / 1000000u;
      unsigned frac = (unsigned)(m % 1000000u);
      char *p = end;
      if (frac) {
        int digits = 6;
        while (frac % 10 == 0) {
          frac /= 10;
          digits--;
        }
        for (int k = 0; k < digits; k++) {
          *--p = (char)('0' + frac % 10);
          frac /= 10;
        }
        *--p = '.';
      }
      p = u64_digits(ip, p);
      if (signbit(x)) *--p = '-';
      return beam_buf_append(b, p, (size_t)(end - p));
    }
  }
  /* Shortest of 15..17 significant digits that round-trips. */
  for (int prec = 15; prec <= 17; prec++) {
    int n = snprintf(tmp, sizeof tmp, "%.*g", prec, x);
    if (n < 0 || (size_t)n >= sizeof tmp) break;
    if (prec == 17 || strtod(tmp, NULL) == x) return beam_buf_append(b, tmp, (size_t)n);
  }
  return BEAM_ERR_INTERNAL;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

beam_status beam_json_write_base64(beam_buf *b, const void *data, size_t len) {
  if (len > (SIZE_MAX - 8) / 4 * 3) return BEAM_ERR_NOMEM;
  beam_status st = beam_buf_reserve(b, (len + 2) / 3 * 4 + 2);
  if (st != BEAM_OK) return st;
  const uint8_t *s = data;
  uint8_t *o = b->data + b->len;
  *o++ = '"';
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    *o++ = (uint8_t)b64_alphabet[v >> 18];
    *o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
    *o++ = (uint8_t)b64_alphabet[(v >> 6) & 63];
    *o++ = (uint8_t)b64_alphabet[v & 63];
  }
  if (i < len) {
    uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < len ? (uint32_t)s[i + 1] << 8 : 0);
    *o++ = (uint8_t)b64_alphabet[v >> 18];
    *o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
    *o++ = i + 1 < len ? (uint8_t)b64_alphabet[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  *o++ = '"';
  b->len = (size_t)(o - b->data);
  return BEAM_OK;
}

beam_status beam_json_row_writer_init(beam_json_row_writer *w, const beam_etl_schema *schema) {
  memset(w, 0, sizeof *w);
  w->schema = schema;
  w->key_end = calloc(schema->n_fields ? schema->n_fields : 1, sizeof *w->key_end);
  if (!w->key_end) return BEAM_ERR_NOMEM;
  for (size_t i = 0; i < schema->n_fields; i++) {
    const char *name = schema->fields[i].name;
    beam_status st = beam_buf_append_byte(&w->keys, i ? ',' : '{');
    if (st == BEAM_OK) st = beam_json_write_string(&w->keys, name, strlen(name));
    if (st == BEAM_OK) st = beam_buf_append_byte(&w->keys, ':');
    if (st != BEAM_OK) {
      beam_json_row_writer_free(w);
      return st;
    }
    w->key_end[i] = w->keys.len;
  }
  return BEAM_OK;
}

void beam_json_row_writer_free(beam_json_row_writer *w) {
  beam_buf_free(&w->keys);
  free(w->key_end);
  w->key_end = NULL;
}

static beam_status append_text(beam_buf *out, const char *s, size_t n) {
  beam_status st = beam_buf_reserve(out, n + 2);
  if (st != BEAM_OK) return st;
  out->data[out->len++] = '"';
  memcpy(out->data + out->len, s, n);
  out->len += n;
  out->data[out->len++] = '"';
  return BEAM_OK;
}

beam_status beam_json_row_writer_append(const beam_json_row_writer *w, beam_buf *out,
                                        const beam_value *values) {
  const beam_etl_schema *schema = w->schema;
  size_t key_start = 0;
  for (size_t i = 0; i < schema->n_fields; i++) {
    beam_status st = beam_buf_append(out, w->keys.data + key_start, w->key_end[i] - key_start);
    key_start = w->key_end[i];
    if (st != BEAM_OK) return st;
    const beam_value *v = &values[i];
    if (v->kind == BEAM_VALUE_NULL) {
      st = beam_buf_append(out, "null", 4);
      if (st != BEAM_OK) return st;
      continue;
    }
    bool span = v->kind == BEAM_VALUE_STRING || v->kind == BEAM_VALUE_BYTES;
    char text[BEAM_SINK_TEXT_MAX];
    switch (schema->fields[i].type) {
      case BEAM_ETL_STRING:
      case BEAM_ETL_NUMERIC:
        if (!span) return BEAM_ERR_INVALID_ARG;
        st = beam_json_write_string(out, v->u.bytes.data, v->u.bytes.len);
        break;
      case BEAM_ETL_BYTES:
        if (!span) return BEAM_ERR_INVALID_ARG;
        st = beam_json_write_base64(out, v->u.bytes.data, v->u.bytes.len);
        break;
      case BEAM_ETL_INT64:
        if (v->kind != BEAM_VALUE_INT64) return BEAM_ERR_INVALID_ARG;
        st = beam_json_write_int64(out, v->u.i64);
        break;
      case BEAM_ETL_FLOAT64:
        if (v->kind != BEAM_VALUE_DOUBLE) return BEAM_ERR_INVALID_ARG;
        st = beam_json_write_double(out, v->u.f64);
        break;
      case BEAM_ETL_BOOL:
        if (v->kind != BEAM_VALUE_BOOL) return BEAM_ERR_INVALID_ARG;
        st = v->u.b ? beam_buf_append(out, "true", 4) : beam_buf_append(out, "false", 5);
        break;
      case BEAM_ETL_TIMESTAMP:
        if (v->kind != BEAM_VALUE_INT64) return BEAM_ERR_INVALID_ARG;
        st = append_text(out, text, beam_sink_text_timestamp(v->u.i64, text));
        break;
      case BEAM_ETL_DATE:
        if (v->kind != BEAM_VALUE_INT64) return BEAM_ERR_INVALID_ARG;
        st = append_text(out, text, beam_sink_text_date(v->u.i64, text));
        break;
      default: return BEAM_ERR_INVALID_ARG;
    }
    if (st != BEAM_OK) return st;
  }
  return schema->n_fields ? beam_buf_append_byte(out, '}') : beam_buf_append(out, "{}", 2);
}
