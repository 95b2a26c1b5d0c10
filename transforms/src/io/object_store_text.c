/* Small objects put from memory (object_store.h): markers and ledger segments. */
#include <string.h>

#include "object_store.h"

typedef struct text_ctx {
  const char *data;
  size_t len, pos;
} text_ctx;

static beam_status text_read(void *ctx, void *buf, size_t cap, size_t *n, beam_error *err) {
  (void)err;
  text_ctx *t = ctx;
  *n = t->len - t->pos < cap ? t->len - t->pos : cap;
  memcpy(buf, t->data + t->pos, *n);
  t->pos += *n;
  return BEAM_OK;
}

static beam_status text_rewind(void *ctx, beam_error *err) {
  (void)err;
  ((text_ctx *)ctx)->pos = 0;
  return BEAM_OK;
}

beam_status beam_object_store_put_text(beam_object_store *st, const char *name, const char *text, bool *created,
                                       beam_error *err) {
  text_ctx t = {text, strlen(text), 0};
  return st->ops->put_if_absent(st, name, text_read, text_rewind, &t, created, err);
}
