#include "beam/buf.h"

#include <stdlib.h>
#include <string.h>

void beam_buf_free(beam_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

beam_status beam_buf_reserve(beam_buf *b, size_t extra) {
  if (extra > SIZE_MAX - b->len) return BEAM_ERR_NOMEM;
  size_t need = b->len + extra;
  if (need <= b->cap) return BEAM_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  uint8_t *p = realloc(b->data, cap);
  if (!p) return BEAM_ERR_NOMEM;
  b->data = p;
  b->cap = cap;
  return BEAM_OK;
}

/* The external definitions of the inline functions in buf.h. */
extern beam_status beam_buf_append(beam_buf *b, const void *data, size_t len);
extern beam_status beam_buf_append_byte(beam_buf *b, uint8_t byte);
extern beam_status beam_reader_byte(beam_reader *r, uint8_t *out);
extern beam_status beam_reader_view(beam_reader *r, size_t n, const uint8_t **out);

beam_status beam_buf_append_str(beam_buf *b, const char *s) {
  return beam_buf_append(b, s, strlen(s));
}

beam_status beam_buf_terminate(beam_buf *b) {
  beam_status s = beam_buf_reserve(b, 1);
  if (s != BEAM_OK) return s;
  b->data[b->len] = '\0';
  return BEAM_OK;
}

beam_status beam_reader_copy(beam_reader *r, void *out, size_t n) {
  const uint8_t *p;
  beam_status s = beam_reader_view(r, n, &p);
  if (s == BEAM_OK && n) memcpy(out, p, n);
  return s;
}
