/* Look-ahead pass-through source (see peek_source.h). */
#include "peek_source.h"

#include <stdlib.h>
#include <string.h>

enum { PEEK_CAP = 64 * 1024 };

typedef struct peek_source {
  beam_byte_source base;
  beam_byte_source *inner;
  bool cr_only; /* hand every CR on as LF */
  size_t pos, len;
  uint8_t buf[PEEK_CAP];
} peek_source;

bool beam_cr_only_lines(const uint8_t *buf, size_t len) {
  return len && memchr(buf, '\r', len) && !memchr(buf, '\n', len);
}

static void to_lf(uint8_t *p, size_t n) {
  for (uint8_t *end = p + n; (p = memchr(p, '\r', (size_t)(end - p))) != NULL; p++) *p = '\n';
}

static beam_status peek_read(beam_byte_source *s, void *buf, size_t cap, size_t *n,
                             beam_error *err) {
  peek_source *p = (peek_source *)s;
  beam_status st = BEAM_OK;
  if (p->pos < p->len) {
    size_t k = p->len - p->pos;
    if (k > cap) k = cap;
    memcpy(buf, p->buf + p->pos, k);
    p->pos += k;
    *n = k;
  } else {
    st = beam_byte_source_read(p->inner, buf, cap, n, err);
  }
  if (st == BEAM_OK && p->cr_only) to_lf(buf, *n);
  return st;
}

static void peek_close(beam_byte_source *s) {
  peek_source *p = (peek_source *)s;
  beam_byte_source_close(p->inner);
  free(p);
}

static const beam_byte_source_ops peek_ops = {.read = peek_read, .close = peek_close};

/* The first byte of buf[*scanned, len) that is not a BOM or blank, or -1; *scanned moves on. */
static int first_content(const uint8_t *buf, size_t len, size_t *scanned) {
  for (; *scanned < len; ++*scanned) {
    uint8_t c = buf[*scanned];
    if (*scanned < 3 && (c == 0xEF || c == 0xBB || c == 0xBF)) continue; /* BOM */
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c;
  }
  return -1;
}

beam_status beam_peek_source_open(beam_byte_source *inner, beam_byte_source **out, int *first, bool *cr_only,
                                  beam_error *err) {
  *out = NULL;
  *first = -1;
  *cr_only = false;
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
  bool lf = false;
  while (p->len < PEEK_CAP && (*first < 0 || !lf)) {
    size_t got = 0;
    beam_status st = beam_byte_source_read(inner, p->buf + p->len, PEEK_CAP - p->len, &got, err);
    if (st != BEAM_OK) {
      peek_close(&p->base);
      return st;
    }
    if (got == 0) break;
    lf = lf || memchr(p->buf + p->len, '\n', got);
    p->len += got;
    if (*first < 0) *first = first_content(p->buf, p->len, &scanned);
  }
  p->cr_only = *cr_only = beam_cr_only_lines(p->buf, p->len);
  *out = &p->base;
  return BEAM_OK;
}
