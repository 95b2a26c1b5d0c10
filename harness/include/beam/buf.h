/* Growable output buffer and bounds-checked input reader.
 *
 * Every encoder appends to a beam_buf; every decoder consumes from a beam_reader.
 * The reader never reads past its end: a short read returns BEAM_ERR_TRUNCATED. */
#ifndef BEAM_BUF_H
#define BEAM_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
} beam_buf;

#define BEAM_BUF_INIT {NULL, 0, 0}

/* Frees the allocation; b is empty and reusable afterwards. */
void beam_buf_free(beam_buf *b);
/* Keeps the allocation, forgets the contents: the hot path reuses one buffer. */
static inline void beam_buf_reset(beam_buf *b) { b->len = 0; }
/* Makes room for extra more bytes (BEAM_ERR_NOMEM when it cannot). */
beam_status beam_buf_reserve(beam_buf *b, size_t extra);
beam_status beam_buf_append(beam_buf *b, const void *data, size_t len);
beam_status beam_buf_append_byte(beam_buf *b, uint8_t byte);
beam_status beam_buf_append_str(beam_buf *b, const char *s);
/* Appends a NUL-terminated copy so data can be used as a C string; len excludes the NUL. */
beam_status beam_buf_terminate(beam_buf *b);

typedef struct beam_reader {
  const uint8_t *data;
  size_t len;
  size_t pos;
} beam_reader;

/* A reader over len bytes at data (not copied: they must outlive the reader). */
static inline beam_reader beam_reader_make(const void *data, size_t len) {
  beam_reader r = {(const uint8_t *)data, len, 0};
  return r;
}
/* Bytes not read yet; and whether there are none. */
static inline size_t beam_reader_remaining(const beam_reader *r) { return r->len - r->pos; }
static inline bool beam_reader_at_end(const beam_reader *r) { return r->pos >= r->len; }

/* Reads one byte; BEAM_ERR_MALFORMED at the end. */
beam_status beam_reader_byte(beam_reader *r, uint8_t *out);
/* Points *out at the next n bytes without copying; they live as long as the input. */
beam_status beam_reader_view(beam_reader *r, size_t n, const uint8_t **out);
beam_status beam_reader_copy(beam_reader *r, void *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
