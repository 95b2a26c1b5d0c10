/* CR-only line endings read as LF (cr_lines_source.h). */
#include "cr_lines_source.h"

#include <stdlib.h>
#include <string.h>

enum { AHEAD = 64 * 1024 };

typedef struct cr_source {
  beam_byte_source base;
  beam_byte_source *inner;
  bool translate;
  size_t pos, len;
  uint8_t buf[AHEAD];
} cr_source;

bool beam_cr_only_lines(const uint8_t *buf, size_t len) {
  return len && memchr(buf, '\r', len) && !memchr(buf, '\n', len);
}

static void to_lf(uint8_t *p, size_t n) {
  for (uint8_t *end = p + n; (p = memchr(p, '\r', (size_t)(end - p))) != NULL; p++) *p = '\n';
}

static beam_status cr_read(beam_byte_source *s, void *buf, size_t cap, size_t *n, beam_error *err) {
  cr_source *c = (cr_source *)s;
  beam_status st = BEAM_OK;
  if (c->pos < c->len) {
    size_t k = c->len - c->pos < cap ? c->len - c->pos : cap;
    memcpy(buf, c->buf + c->pos, k);
    c->pos += k;
    *n = k;
  } else {
    st = beam_byte_source_read(c->inner, buf, cap, n, err);
  }
  if (st == BEAM_OK && c->translate) to_lf(buf, *n);
  return st;
}

static void cr_close(beam_byte_source *s) {
  cr_source *c = (cr_source *)s;
  beam_byte_source_close(c->inner);
  free(c);
}

static const beam_byte_source_ops cr_ops = {.read = cr_read, .close = cr_close};

beam_status beam_cr_lines_source_open(beam_byte_source *inner, beam_byte_source **out, bool *translated,
                                      beam_error *err) {
  *out = NULL;
  *translated = false;
  cr_source *c = calloc(1, sizeof *c);
  if (!c) {
    beam_status st = beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", inner->name);
    beam_byte_source_close(inner);
    return st;
  }
  c->inner = inner;
  c->base.ops = &cr_ops;
  c->base.name = inner->name;
  c->base.size = inner->size;
  beam_status st = beam_byte_source_read_full(inner, c->buf, AHEAD, &c->len, err);
  if (st != BEAM_OK) {
    cr_close(&c->base);
    return st;
  }
  c->translate = *translated = beam_cr_only_lines(c->buf, c->len);
  *out = &c->base;
  return BEAM_OK;
}
