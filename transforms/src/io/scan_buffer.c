/* Reusable, bounded read buffer for the record readers (see scan_buffer.h). */
#include "scan_buffer.h"

#include <stdlib.h>
#include <string.h>

beam_status beam_scan_buffer_init(beam_scan_buffer *b, beam_byte_source *src, size_t cap,
                                  size_t max_cap, beam_error *err) {
  memset(b, 0, sizeof *b);
  b->src = src;
  b->cap = cap ? cap : BEAM_SCAN_DEFAULT_CAP;
  b->max_cap = max_cap ? max_cap : BEAM_SCAN_DEFAULT_MAX;
  if (b->cap < 16) b->cap = 16;
  if (b->max_cap < b->cap) b->max_cap = b->cap;
  /* +1: readers may place a NUL sentinel at end. */
  b->data = malloc(b->cap + 1);
  if (!b->data) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", src->name);
  return BEAM_OK;
}

void beam_scan_buffer_free(beam_scan_buffer *b) {
  free(b->data);
  b->data = NULL;
}

void beam_scan_buffer_rebase(beam_scan_buffer *b, beam_byte_source *src, uint64_t base) {
  b->src = src;
  b->pos = b->end = 0;
  b->base = base;
  b->eof = false;
  b->started = base > 0;
}

beam_status beam_scan_buffer_more(beam_scan_buffer *b, size_t *got, beam_error *err) {
  *got = 0;
  if (b->eof) return BEAM_OK;
  if (b->pos > 0) {
    memmove(b->data, b->data + b->pos, b->end - b->pos);
    b->end -= b->pos;
    b->base += b->pos;
    b->pos = 0;
  }
  if (b->end == b->cap) {
    if (b->cap >= b->max_cap)
      return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "record longer than the %zu-byte limit",
                            b->max_cap);
    size_t ncap = b->cap * 2 > b->max_cap ? b->max_cap : b->cap * 2;
    char *nd = realloc(b->data, ncap + 1);
    if (!nd) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", b->src->name);
    b->data = nd;
    b->cap = ncap;
  }
  for (;;) {
    size_t n = 0;
    beam_status st = beam_byte_source_read(b->src, b->data + b->end, b->cap - b->end, &n, err);
    if (st != BEAM_OK) return st;
    if (n == 0) {
      b->eof = true;
      return BEAM_OK;
    }
    size_t skip = 0;
    if (!b->started) {
      /* The BOM may arrive split over reads; wait for three bytes (or EOF) to decide. */
      if (b->end + n < 3) {
        b->end += n;
        if (memcmp(b->data, "\xEF\xBB\xBF", b->end) == 0) continue;
        b->started = true;
        *got = b->end;
        return BEAM_OK;
      }
      b->started = true;
      b->end += n;
      n = b->end;
      b->end = 0;
      if (memcmp(b->data, "\xEF\xBB\xBF", 3) == 0) {
        memmove(b->data, b->data + 3, n - 3);
        skip = 3;
        b->base = 3;
      }
      n -= skip;
    }
    b->end += n;
    *got = n;
    if (n == 0) continue;
    return BEAM_OK;
  }
}
