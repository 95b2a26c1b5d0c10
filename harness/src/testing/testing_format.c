/* Readable renderings of values for failure reports: strings quoted and escaped, bytes in
 * hex, composites bracketed; long renderings end in "...". */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/testing.h"

typedef struct out {
  char *buf;
  size_t cap, len;
  bool full;
} out;

static void put(out *o, const char *s, size_t n) {
  for (size_t i = 0; i < n && !o->full; i++) {
    if (o->len + 1 >= o->cap) {
      o->full = true;
      break;
    }
    o->buf[o->len++] = s[i];
  }
  o->buf[o->len] = '\0';
}

static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }

static void putf(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(out *o, const char *fmt, ...) {
  char tmp[64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put_text(out *o, const beam_bytes *b) {
  puts_(o, "\"");
  for (size_t i = 0; i < b->len && !o->full; i++) {
    unsigned char c = b->data[i];
    if (c == '"' || c == '\\') putf(o, "\\%c", c);
    else if (c == '\n') puts_(o, "\\n");
    else if (c < 0x20 || c == 0x7f) putf(o, "\\x%02x", c);
    else put(o, (const char *)&c, 1);
  }
  puts_(o, "\"");
}

/* The shortest rendering that reads back as the same double (21.4, not 21.399999999999999). */
static void put_double(out *o, double x) {
  char tmp[40];
  for (int precision = 15; precision <= 17; precision++) {
    snprintf(tmp, sizeof tmp, "%.*g", precision, x);
    if (strtod(tmp, NULL) == x) break;
  }
  puts_(o, tmp);
}

static void put_value(out *o, const beam_value *v, int depth);

static void put_items(out *o, const beam_value_list *l, const char *open, const char *close, int depth) {
  puts_(o, open);
  for (size_t i = 0; i < l->len && !o->full; i++) {
    if (i) puts_(o, ", ");
    put_value(o, &l->items[i], depth + 1);
  }
  puts_(o, close);
}

static void put_value(out *o, const beam_value *v, int depth) {
  if (depth > 16) return puts_(o, "...");
  switch (v->kind) {
    case BEAM_VALUE_NULL: return puts_(o, "null");
    case BEAM_VALUE_BOOL: return puts_(o, v->u.b ? "true" : "false");
    case BEAM_VALUE_INT64: return putf(o, "%" PRId64, v->u.i64);
    case BEAM_VALUE_DOUBLE: return put_double(o, v->u.f64);
    case BEAM_VALUE_STRING: return put_text(o, &v->u.bytes);
    case BEAM_VALUE_BYTES:
      puts_(o, "0x");
      for (size_t i = 0; i < v->u.bytes.len && !o->full; i++) putf(o, "%02x", v->u.bytes.data[i]);
      return;
    case BEAM_VALUE_LIST: return put_items(o, &v->u.list, "[", "]", depth);
    case BEAM_VALUE_ROW: return put_items(o, &v->u.list, "{", "}", depth);
    case BEAM_VALUE_MAP: return put_items(o, &v->u.list, "map[", "]", depth);
    case BEAM_VALUE_KV:
      puts_(o, "(");
      put_value(o, v->u.kv.key, depth + 1);
      puts_(o, ", ");
      put_value(o, v->u.kv.value, depth + 1);
      return puts_(o, ")");
    case BEAM_VALUE_TIMESTAMP: return putf(o, "@%" PRId64 "ms", v->u.i64);
    default: return putf(o, "<value kind %d>", (int)v->kind);
  }
}

const char *beam_test_format_value(const beam_value *v, char *buf, size_t cap) {
  if (!cap) return buf;
  out o = {buf, cap, 0, false};
  buf[0] = '\0';
  put_value(&o, v, 0);
  if (o.full && cap > 4) memcpy(buf + cap - 4, "...", 4);
  return buf;
}
