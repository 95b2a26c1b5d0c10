/* Generic byte_source helpers, plus the in-memory source (tests, small payloads). */
#include "beam/transforms/byte_source.h"

#include <stdlib.h>
#include <string.h>

beam_status beam_byte_source_read(beam_byte_source *src, void *buf, size_t cap, size_t *n,
                                  beam_error *err) {
  *n = 0;
  if (cap == 0) return BEAM_OK;
  beam_status st = src->ops->read(src, buf, cap, n, err);
  if (st == BEAM_OK) src->bytes_read += *n;
  return st;
}

beam_status beam_byte_source_read_full(beam_byte_source *src, void *buf, size_t cap, size_t *n,
                                       beam_error *err) {
  size_t total = 0;
  while (total < cap) {
    size_t got = 0;
    beam_status st = beam_byte_source_read(src, (uint8_t *)buf + total, cap - total, &got, err);
    if (st != BEAM_OK) return st;
    if (got == 0) break;
    total += got;
  }
  *n = total;
  return BEAM_OK;
}

beam_status beam_byte_source_read_at(beam_byte_source *src, uint64_t offset, void *buf,
                                     size_t cap, size_t *n, beam_error *err) {
  *n = 0;
  if (!src->ops->read_at)
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "%s: source is not seekable", src->name);
  size_t total = 0;
  while (total < cap) {
    size_t got = 0;
    beam_status st =
        src->ops->read_at(src, offset + total, (uint8_t *)buf + total, cap - total, &got, err);
    if (st != BEAM_OK) return st;
    if (got == 0) break;
    total += got;
  }
  src->bytes_read += total;
  *n = total;
  return BEAM_OK;
}

beam_status beam_byte_source_seek(beam_byte_source *src, uint64_t offset, beam_error *err) {
  if (!src->ops->seek)
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "%s: source cannot seek", src->name);
  return src->ops->seek(src, offset, err);
}

void beam_byte_source_close(beam_byte_source *src) {
  if (src) src->ops->close(src);
}

/* ---- in-memory source ---- */

typedef struct memory_source {
  beam_byte_source base;
  const uint8_t *data;
  size_t len;
  size_t pos;
  char name[];
} memory_source;

static beam_status memory_read(beam_byte_source *s, void *buf, size_t cap, size_t *n,
                               beam_error *err) {
  memory_source *m = (memory_source *)s;
  size_t left = m->len - m->pos;
  size_t k = cap < left ? cap : left;
  if (k) memcpy(buf, m->data + m->pos, k);
  m->pos += k;
  *n = k;
  return BEAM_OK;
}

static beam_status memory_read_at(beam_byte_source *s, uint64_t off, void *buf, size_t cap,
                                  size_t *n, beam_error *err) {
  memory_source *m = (memory_source *)s;
  *n = 0;
  if (off >= m->len) return BEAM_OK;
  size_t left = m->len - (size_t)off;
  size_t k = cap < left ? cap : left;
  memcpy(buf, m->data + off, k);
  *n = k;
  return BEAM_OK;
}

static beam_status memory_seek(beam_byte_source *s, uint64_t off, beam_error *err) {
  (void)err;
  memory_source *m = (memory_source *)s;
  m->pos = off < m->len ? (size_t)off : m->len;
  return BEAM_OK;
}

static void memory_close(beam_byte_source *s) { free(s); }

static const beam_byte_source_ops memory_ops = {
    .read = memory_read,
    .read_at = memory_read_at,
    .seek = memory_seek,
    .close = memory_close,
};

beam_status beam_memory_source_open(const char *name, const void *data, size_t len,
                                    beam_byte_source **out, beam_error *err) {
  if (!name) name = "<memory>";
  size_t nlen = strlen(name);
  memory_source *m = calloc(1, sizeof *m + nlen + 1);
  if (!m) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", name);
  memcpy(m->name, name, nlen + 1);
  m->base.ops = &memory_ops;
  m->base.name = m->name;
  m->base.size = (int64_t)len;
  m->data = data;
  m->len = len;
  *out = &m->base;
  return BEAM_OK;
}
