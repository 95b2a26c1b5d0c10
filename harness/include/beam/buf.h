/* Growable output buffer and bounds-checked input reader.
 *
 * Every encoder appends to a beam_buf; every decoder consumes from a beam_reader.
 * The reader never reads past its end: a short read returns BEAM_ERR_TRUNCATED. */
#ifndef BEAM_BUF_H
#define BEAM_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
/* Appends len bytes (BEAM_ERR_NOMEM when the buffer cannot grow). Inline: encoders call
 * these once per field, and a call that only copies a few bytes into room already there
 * cost more than the copy (the local runner's shuffle encodes every element through them).
 * buf.c holds the external definitions (C99 inline). */
inline beam_status beam_buf_append(beam_buf *b, const void *data, size_t len) {
  if (len == 0) return BEAM_OK;
  if (len > b->cap - b->len) {
    beam_status s = beam_buf_reserve(b, len);
    if (s != BEAM_OK) return s;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
  return BEAM_OK;
}
inline beam_status beam_buf_append_byte(beam_buf *b, uint8_t byte) {
  if (b->len == b->cap) {
    beam_status s = beam_buf_reserve(b, 1);
    if (s != BEAM_OK) return s;
  }
  b->data[b->len++] = byte;
  return BEAM_OK;
}
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

/* Reads one byte; BEAM_ERR_TRUNCATED at the end. Inline, like the appends above. */
inline beam_status beam_reader_byte(beam_reader *r, uint8_t *out) {
  if (r->pos >= r->len) return BEAM_ERR_TRUNCATED;
  *out = r->data[r->pos++];
  return BEAM_OK;
}
/* Points *out at the next n bytes without copying; they live as long as the input. */
inline beam_status beam_reader_view(beam_reader *r, size_t n, const uint8_t **out) {
  if (n > r->len - r->pos) return BEAM_ERR_TRUNCATED;
  /* An empty input may have data == NULL (empty beam_buf, protobuf-c empty bytes):
   * NULL + 0 is undefined behaviour, so hand back the pointer untouched. */
  *out = r->data ? r->data + r->pos : r->data;
  r->pos += n;
  return BEAM_OK;
}
beam_status beam_reader_copy(beam_reader *r, void *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
