/* In-place JSON object -> schema cells parser (see json_record.h).
 *
 * The text ends in a NUL sentinel, so scanning loops need no bounds checks: every loop
 * stops at a byte that is not what it wants, and NUL is never valid JSON at that point.
 * A NUL before the end is reported as such. */
#include "beam/transforms/json_record.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "field_index.h"

enum { JSON_MAX_DEPTH = 128 };

struct beam_json_record_parser {
  beam_field_index idx;
};

typedef struct jctx {
  char *p;
  char *base;
  char *end;
  beam_etl_parse_error *perr;
  const char *key; /* current top-level key, for messages (NUL-terminated in place) */
  size_t key_len;
  int column;
} jctx;

/* 1 for bytes that can appear in a string without ending it or needing attention. */
static const uint8_t plain_byte[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0),                                            /* 0x00-0x1f: control */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,            /* 0x20-0x2f: '"' */
    R16(1), R16(1),                                            /* 0x30-0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,            /* 0x50-0x5f: '\\' */
    R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1)
#undef R16
};

/* The first byte at or after q that plain_byte does not pass, sixteen bytes a step while
 * sixteen remain before end (the sentinel): most keys and values are short plain text, and
 * the byte loop was a third of the parse. */
static inline char *skip_plain(char *q, const char *end) {
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
  while (end - q >= 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
    /* x < 0x20 unsigned: max(x, 0x20) != x */
    __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, slash)),
                                   _mm_xor_si128(_mm_cmpeq_epi8(_mm_max_epu8(x, space), x), _mm_set1_epi8(-1)));
    unsigned m = (unsigned)_mm_movemask_epi8(special);
    if (m) return q + __builtin_ctz(m);
    q += 16;
  }
#endif
  while (plain_byte[(uint8_t)*q]) q++;
  return q;
}

static inline char *skip_ws(char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  return p;
}

static beam_status jfail(jctx *c, const char *what) {
  size_t off = (size_t)(c->p - c->base);
  const char *found;
  char buf[8];
  if (c->p >= c->end) found = "end of record";
  else if (*c->p == '\0') found = "a NUL byte";
  else {
    buf[0] = '\'';
    buf[1] = *c->p;
    buf[2] = '\'';
    buf[3] = '\0';
    found = buf;
  }
  if (c->key)
    beam_etl_parse_error_set(c->perr, c->column, c->key, c->key_len,
                             "bad JSON in field '%.*s': expected %s, found %s at byte %zu",
                             (int)(c->key_len > 100 ? 100 : c->key_len), c->key, what, found, off + 1);
  else
    beam_etl_parse_error_set(c->perr, 0, NULL, 0, "bad JSON: expected %s, found %s at byte %zu",
                             what, found, off + 1);
  return BEAM_ERR_MALFORMED;
}

static inline int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Reads 4 hex digits; stops at the first non-hex byte, so never passes the NUL sentinel. */
static bool hex4(const char *q, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(q[i]);
    if (h < 0) return false;
    v = (v << 4) | (unsigned)h;
  }
  *out = v;
  return true;
}

static char *utf8_put(char *w, unsigned cp) {
  if (cp < 0x80) {
    *w++ = (char)cp;
  } else if (cp < 0x800) {
    *w++ = (char)(0xC0 | (cp >> 6));
    *w++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *w++ = (char)(0xE0 | (cp >> 12));
    *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *w++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *w++ = (char)(0xF0 | (cp >> 18));
    *w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *w++ = (char)(0x80 | (cp & 0x3F));
  }
  return w;
}

static beam_status string_end_error(jctx *c, char *q) {
  c->p = q;
  if (q >= c->end) return jfail(c, "a closing '\"' (unterminated string)");
  return jfail(c, "an escaped control character in the string (raw control byte)");
}

static beam_status parse_escaped_string(jctx *c, char *s, char *q, char **out, size_t *out_len);

/* Parses the string at c->p (an opening quote) in place: unescapes, NUL-terminates, and
 * leaves c->p after the closing quote. Unescaped text never grows, so the write pointer
 * never passes the read pointer. */
static inline beam_status parse_string(jctx *c, char **out, size_t *out_len) {
  char *s = c->p + 1;
  char *q = skip_plain(s, c->end);
  if (*q == '"') {
    *q = '\0';
    *out = s;
    *out_len = (size_t)(q - s);
    c->p = q + 1;
    return BEAM_OK;
  }
  return parse_escaped_string(c, s, q, out, out_len);
}

/* parse_string's rest once an escape (or an error) is found at q: kept out of line, so that
 * the common string costs no saved registers. */
static __attribute__((noinline)) beam_status parse_escaped_string(jctx *c, char *s, char *q, char **out,
                                                                  size_t *out_len) {
  char *w = q;
  for (;;) {
    while (plain_byte[(uint8_t)*q]) *w++ = *q++;
    unsigned char ch = (unsigned char)*q;
    if (ch == '"') break;
    if (ch != '\\') return string_end_error(c, q);
    char *esc = q;
    q++;
    switch (*q) {
      case '"': *w++ = '"'; q++; break;
      case '\\': *w++ = '\\'; q++; break;
      case '/': *w++ = '/'; q++; break;
      case 'b': *w++ = '\b'; q++; break;
      case 'f': *w++ = '\f'; q++; break;
      case 'n': *w++ = '\n'; q++; break;
      case 'r': *w++ = '\r'; q++; break;
      case 't': *w++ = '\t'; q++; break;
      case 'u': {
        unsigned cp, lo;
        if (!hex4(q + 1, &cp)) {
          c->p = esc;
          return jfail(c, "four hex digits after \\u");
        }
        q += 5;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (q[0] == '\\' && q[1] == 'u' && hex4(q + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            q += 6;
          } else {
            c->p = esc;
            return jfail(c, "a low surrogate \\uDC00-\\uDFFF after a high surrogate");
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          c->p = esc;
          return jfail(c, "a high surrogate before a low surrogate \\u escape");
        }
        w = utf8_put(w, cp);
        break;
      }
      default:
        c->p = q;
        return jfail(c, "a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)");
    }
  }
  *w = '\0';
  *out = s;
  *out_len = (size_t)(w - s);
  c->p = q + 1;
  return BEAM_OK;
}

/* Validates a string without modifying it (inside nested values, whose raw text is kept). */
static beam_status skip_string(jctx *c) {
  char *q = c->p + 1;
  for (;;) {
    q = skip_plain(q, c->end);
    if (*q == '"') break;
    if (*q != '\\') return string_end_error(c, q);
    q++;
    if (*q == 'u') {
      unsigned cp;
      if (!hex4(q + 1, &cp)) {
        c->p = q;
        return jfail(c, "four hex digits after \\u");
      }
      q += 5;
    } else if (*q && strchr("\"\\/bfnrt", *q)) {
      q++;
    } else {
      c->p = q;
      return jfail(c, "a valid escape");
    }
  }
  c->p = q + 1;
  return BEAM_OK;
}

static inline bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static beam_status skip_number(jctx *c) {
  char *q = c->p;
  if (*q == '-') q++;
  if (*q == '0') q++;
  else if (*q >= '1' && *q <= '9') {
    while (is_digit(*q)) q++;
  } else {
    c->p = q;
    return jfail(c, "a digit in the number");
  }
  if (*q == '.') {
    q++;
    if (!is_digit(*q)) {
      c->p = q;
      return jfail(c, "a digit after the decimal point");
    }
    while (is_digit(*q)) q++;
  }
  if (*q == 'e' || *q == 'E') {
    q++;
    if (*q == '+' || *q == '-') q++;
    if (!is_digit(*q)) {
      c->p = q;
      return jfail(c, "a digit in the exponent");
    }
    while (is_digit(*q)) q++;
  }
  c->p = q;
  return BEAM_OK;
}

static beam_status skip_literal(jctx *c, const char *word, size_t n) {
  /* strncmp stops at the NUL sentinel, so a short tail is never over-read. */
  if (strncmp(c->p, word, n) != 0) return jfail(c, "a JSON value (true, false, null, number, string, object, array)");
  c->p += n;
  return BEAM_OK;
}

static beam_status skip_value(jctx *c, int depth);

static beam_status skip_container(jctx *c, int depth) {
  if (depth > JSON_MAX_DEPTH) return jfail(c, "nesting no deeper than 128 levels");
  char open = *c->p;
  char close = open == '{' ? '}' : ']';
  c->p = skip_ws(c->p + 1);
  if (*c->p == close) {
    c->p++;
    return BEAM_OK;
  }
  for (;;) {
    beam_status st;
    if (open == '{') {
      if (*c->p != '"') return jfail(c, "a quoted key in the nested object");
      if ((st = skip_string(c)) != BEAM_OK) return st;
      c->p = skip_ws(c->p);
      if (*c->p != ':') return jfail(c, "':' after a key in the nested object");
      c->p = skip_ws(c->p + 1);
    }
    if ((st = skip_value(c, depth)) != BEAM_OK) return st;
    c->p = skip_ws(c->p);
    if (*c->p == ',') {
      c->p = skip_ws(c->p + 1);
      continue;
    }
    if (*c->p == close) {
      c->p++;
      return BEAM_OK;
    }
    return jfail(c, open == '{' ? "',' or '}' in the nested object" : "',' or ']' in the array");
  }
}

static beam_status skip_value(jctx *c, int depth) {
  switch (*c->p) {
    case '"': return skip_string(c);
    case '{':
    case '[': return skip_container(c, depth + 1);
    case 't': return skip_literal(c, "true", 4);
    case 'f': return skip_literal(c, "false", 5);
    case 'n': return skip_literal(c, "null", 4);
    default:
      if (*c->p == '-' || is_digit(*c->p)) return skip_number(c);
      return jfail(c, "a JSON value (true, false, null, number, string, object, array)");
  }
}

static char empty_text[1] = "";

/* Parses the value of a top-level field into cell. Values other than strings end right
 * before a byte the caller still has to read (',', '}' or space), so their NUL is written
 * later, through *pending, once that byte is consumed. */
static beam_status parse_field_value(jctx *c, beam_etl_cell *cell, char **pending) {
  char *start = c->p;
  beam_status st;
  switch (*start) {
    case '"': {
      char *s;
      size_t n;
      if ((st = parse_string(c, &s, &n)) != BEAM_OK) return st;
      cell->state = BEAM_ETL_CELL_TEXT;
      cell->data = s;
      cell->len = n;
      return BEAM_OK;
    }
    case '{':
    case '[':
      if ((st = skip_container(c, 1)) != BEAM_OK) return st;
      cell->state = BEAM_ETL_CELL_NESTED;
      break;
    case 'n':
      if ((st = skip_literal(c, "null", 4)) != BEAM_OK) return st;
      cell->state = BEAM_ETL_CELL_NULL;
      cell->data = empty_text;
      cell->len = 0;
      return BEAM_OK;
    case 't':
      if ((st = skip_literal(c, "true", 4)) != BEAM_OK) return st;
      cell->state = BEAM_ETL_CELL_LITERAL;
      break;
    case 'f':
      if ((st = skip_literal(c, "false", 5)) != BEAM_OK) return st;
      cell->state = BEAM_ETL_CELL_LITERAL;
      break;
    default:
      if (*start != '-' && !is_digit(*start))
        return jfail(c, "a JSON value (true, false, null, number, string, object, array)");
      if ((st = skip_number(c)) != BEAM_OK) return st;
      cell->state = BEAM_ETL_CELL_LITERAL;
      break;
  }
  cell->data = start;
  cell->len = (size_t)(c->p - start);
  *pending = c->p;
  return BEAM_OK;
}

beam_status beam_json_record_parser_create(const beam_etl_schema *schema,
                                           beam_json_record_parser **out, beam_error *err) {
  *out = NULL;
  beam_json_record_parser *p = calloc(1, sizeof *p);
  if (!p) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory creating the JSON parser");
  beam_status st = beam_field_index_init(&p->idx, schema, err);
  if (st != BEAM_OK) {
    free(p);
    return st;
  }
  *out = p;
  return BEAM_OK;
}

void beam_json_record_parser_free(beam_json_record_parser *p) {
  if (!p) return;
  beam_field_index_free(&p->idx);
  free(p);
}

beam_status beam_json_record_parse(const beam_json_record_parser *jp, char *text, size_t len,
                                   beam_etl_cell *cells, beam_etl_parse_error *perr) {
  const beam_field_index *idx = &jp->idx;
  for (size_t i = 0; i < idx->n; i++) {
    cells[i].state = BEAM_ETL_CELL_ABSENT;
    cells[i].data = empty_text;
    cells[i].len = 0;
  }
  jctx c = {text, text, text + len, perr, NULL, 0, 0};
  c.p = skip_ws(c.p);
  if (*c.p != '{') return jfail(&c, "a JSON object ('{') at the start of the record");
  c.p = skip_ws(c.p + 1);
  if (*c.p == '}') {
    c.p++;
  } else {
    int hint = 0;
    for (;;) {
      if (*c.p != '"') return jfail(&c, "a quoted key");
      char *key;
      size_t klen;
      beam_status st = parse_string(&c, &key, &klen);
      if (st != BEAM_OK) return st;
      c.key = key;
      c.key_len = klen;
      c.p = skip_ws(c.p);
      if (*c.p != ':') return jfail(&c, "':' after the key");
      c.p = skip_ws(c.p + 1);
      int fi = beam_field_index_find(idx, key, klen, hint);
      beam_etl_cell scratch;
      beam_etl_cell *cell = &scratch;
      if (fi >= 0) {
        cell = &cells[fi];
        hint = fi + 1;
        c.column = fi + 1;
      } else {
        c.column = 0;
      }
      char *pending = NULL;
      if ((st = parse_field_value(&c, cell, &pending)) != BEAM_OK) return st;
      c.p = skip_ws(c.p);
      char sep = *c.p;
      if (sep != ',' && sep != '}') return jfail(&c, "',' or '}' after the value");
      c.p++;
      if (pending) *pending = '\0';
      if (sep == '}') break;
      c.p = skip_ws(c.p);
    }
  }
  c.key = NULL;
  c.p = skip_ws(c.p);
  if (c.p != c.end) return jfail(&c, "the end of the record after the closing '}'");
  return BEAM_OK;
}
