/* Look-ahead pass-through source (see peek_source.h). */
#include "peek_source.h"

#include <stdlib.h>
#include <string.h>

enum { PEEK_CAP = 64 * 1024 };

typedef struct peek_source {
  beam_byte_source base;
  beam_byte_source *inner;
  size_t pos, len;
  uint8_t buf[PEEK_CAP];
} peek_source;

static beam_status peek_read(beam_byte_source *s, void *buf, size_t cap, size_t *n,
                             beam_error *err) {
  peek_source *p = (peek_source *)s;
  if (p->pos < p->len) {
    size_t k = p->len - p->pos;
    if (k > cap) k = cap;
    memcpy(buf, p->buf + p->pos, k);
    p->pos += k;
    *n = k;
    return BEAM_OK;
  }
  return beam_byte_source_read(p->inner, buf, cap, n, err);
}

static void peek_close(beam_byte_source *s) {
  peek_source *p = (peek_source *)s;
  beam_byte_source_close(p->inner);
  free(p);
}

static const beam_byte_source_ops peek_ops = {.read = peek_read, .close = peek_close};

beam_status beam_peek_source_open(beam_byte_source *inner, beam_byte_source **out, int *first,
                                  beam_error *err) {
  *out = NULL;
  *first = -1;
  peek_source *p = calloc(1, sizeof *p);
  if (!p) {
    beam_status st = beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", inner->name);
    beam_byte_source_close(inner);
    return st;
  }
  p->inner = inner;
  p->base.ops = &peek_ops;
  p->base.name = inner->name;
  p->base.size = inner->size;
  size_t scanned = 0;
  while (p->len < PEEK_CAP) {
    size_t got = 0;
    beam_status st = beam_byte_source_read(inner, p->buf + p->len, PEEK_CAP - p->len, &got, err);
    if (st != BEAM_OK) {
      peek_close(&p->base);
      return st;
    }
    if (got == 0) break;
    p->len += got;
    for (; scanned < p->len; scanned++) {
      uint8_t c = p->buf[scanned];
      if (scanned < 3 && (c == 0xEF || c == 0xBB || c == 0xBF)) continue; /* BOM */
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
      *first = c;
      break;
    }
    if (*first >= 0) break;
  }
  *out = &p->base;
  return BEAM_OK;
}
