/* A byte range of a file cut at line starts (see range_source.h).
 *
 * The cut costs one memchr on the chunk that reaches end - 1 and nothing on the chunks
 * before it, so a range streams as fast as the whole file. */
#include "range_source.h"

#include <stdlib.h>
#include <string.h>

enum { SKIP_CHUNK = 64 * 1024 };

typedef struct range_source {
  beam_byte_source base;
  beam_byte_source *inner;
  uint64_t pos;  /* file offset of the next byte to yield */
  uint64_t end;  /* lines starting at or past end are not ours */
  bool done;
  uint8_t *left; /* bytes read while skipping to the first line start, not yet yielded */
  size_t left_pos, left_len;
} range_source;

/* Keeps data[0, *n) (file offsets pos...) up to the '\n' ending the line that holds byte
 * end - 1, and marks the range done when that '\n' is in it. */
static void cut(range_source *r, const uint8_t *data, size_t *n) {
  if (r->end == BEAM_RANGE_NO_END || r->pos + *n <= r->end - 1) return;
  size_t from = r->pos >= r->end - 1 ? 0 : (size_t)(r->end - 1 - r->pos);
  const uint8_t *nl = memchr(data + from, '\n', *n - from);
  if (!nl) return;
  *n = (size_t)(nl - data) + 1;
  r->done = true;
}

static beam_status range_read(beam_byte_source *s, void *buf, size_t cap, size_t *n, beam_error *err) {
  range_source *r = (range_source *)s;
  *n = 0;
  if (r->done) return BEAM_OK;
  size_t got = 0;
  if (r->left_pos < r->left_len) {
    got = r->left_len - r->left_pos < cap ? r->left_len - r->left_pos : cap;
    memcpy(buf, r->left + r->left_pos, got);
    r->left_pos += got;
  } else {
    beam_status st = beam_byte_source_read(r->inner, buf, cap, &got, err);
    if (st != BEAM_OK) return st;
    if (got == 0) {
      r->done = true;
      return BEAM_OK;
    }
  }
  cut(r, buf, &got);
  r->pos += got;
  *n = got;
  return BEAM_OK;
}

static void range_close(beam_byte_source *s) {
  range_source *r = (range_source *)s;
  beam_byte_source_close(r->inner);
  free(r->left);
  free(r);
}

static const beam_byte_source_ops range_ops = {.read = range_read, .close = range_close};

/* Reads from start - 1 to the first '\n' before end - 1 and keeps what follows it; no such
 * '\n' (a long line spans the range, or the file ends) leaves the range empty. Stops reading
 * at end - 1, so many small ranges inside one long line cost no more than the line. */
static beam_status skip_to_line_start(range_source *r, uint64_t start, beam_error *err) {
  beam_status st = beam_byte_source_seek(r->inner, start - 1, err);
  if (st != BEAM_OK) return st;
  r->left = malloc(SKIP_CHUNK);
  if (!r->left) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", r->inner->name);
  uint64_t at = start - 1; /* file offset of left[0] */
  for (;;) {
    size_t got = 0;
    if ((st = beam_byte_source_read(r->inner, r->left, SKIP_CHUNK, &got, err)) != BEAM_OK) return st;
    if (got == 0) break;
    size_t look = got;
    if (at + look > r->end - 1) look = (size_t)(r->end - 1 - at);
    const uint8_t *nl = memchr(r->left, '\n', look);
    if (nl) {
      size_t k = (size_t)(nl - r->left) + 1;
      r->pos = at + k;
      r->left_pos = k;
      r->left_len = got;
      return BEAM_OK;
    }
    at += got;
    if (look < got || at >= r->end - 1) break;
  }
  r->done = true;
  r->pos = r->end;
  return BEAM_OK;
}

/* Whether the file begins with a UTF-8 BOM. Its first record starts at byte 3, which the
 * readers report as its offset and a range claims it at: so the range holding byte 3 reads
 * it, and a range that ends at or before byte 3 holds no record. */
static bool has_bom(beam_byte_source *inner) {
  uint8_t head[3];
  size_t got = 0;
  beam_error ignored = {0};
  uint64_t before = inner->bytes_read;
  bool bom = beam_byte_source_read_at(inner, 0, head, sizeof head, &got, &ignored) == BEAM_OK && got == 3 &&
             memcmp(head, "\xEF\xBB\xBF", 3) == 0;
  inner->bytes_read = before; /* a look, not progress */
  return bom;
}

beam_status beam_range_source_open(beam_byte_source *inner, uint64_t start, uint64_t end,
                                   beam_byte_source **out, uint64_t *first, beam_error *err) {
  *out = NULL;
  *first = start;
  range_source *r = calloc(1, sizeof *r);
  if (!r) {
    beam_status st = beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", inner->name);
    beam_byte_source_close(inner);
    return st;
  }
  r->inner = inner;
  r->base.ops = &range_ops;
  r->base.name = inner->name;
  r->base.size = -1;
  r->base.identity = inner->identity;
  r->end = end;
  r->pos = start;
  beam_status st = BEAM_OK;
  if (start >= end || (start <= 3 && end <= 3 && has_bom(inner))) {
    r->done = true;
  } else if (start > 0 && start <= 3 && has_bom(inner)) {
    st = beam_byte_source_seek(inner, 3, err); /* the first record starts after the BOM */
    r->pos = 3;
    if (st != BEAM_OK) {
      range_close(&r->base);
      return st;
    }
  } else if (start > 0) {
    st = skip_to_line_start(r, start, err);
    if (st != BEAM_OK) {
      range_close(&r->base);
      return st;
    }
  }
  *first = r->pos;
  *out = &r->base;
  return BEAM_OK;
}
