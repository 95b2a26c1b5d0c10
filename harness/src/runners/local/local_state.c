/* In-memory user state of the local runner (see local_state.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "beam/coder.h"
#include "bytes_map.h"
#include "local_state.h"

struct beam_local_state {
  pthread_mutex_t mu;   /* worker threads share the store */
  beam_bytes_map index; /* composite key -> bags[i] */
  beam_buf *bags;       /* encoded elements, concatenated */
  size_t cap_bags;
  beam_buf scratch;
};

/* One byte string for the four parts: each length-prefixed but the last. */
static beam_status composite_key(beam_local_state *st, const beam_user_state_key *k, beam_error *err) {
  beam_buf *b = &st->scratch;
  beam_buf_reset(b);
  const char *t = k->transform_id, *id = k->state_id;
  if (beam_coder_encode_lp_bytes(b, t, strlen(t)) != BEAM_OK || beam_coder_encode_lp_bytes(b, id, strlen(id)) != BEAM_OK ||
      beam_coder_encode_lp_bytes(b, k->window.data, k->window.len) != BEAM_OK ||
      beam_buf_append(b, k->key.data, k->key.len) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory in local state");
  return BEAM_OK;
}

static beam_status get_locked(beam_local_state *st, const beam_user_state_key *k, beam_buf *out, beam_error *err) {
  beam_status s = composite_key(st, k, err);
  if (s != BEAM_OK) return s;
  ptrdiff_t i = beam_bytes_map_find(&st->index, st->scratch.data, st->scratch.len);
  if (i < 0) return BEAM_OK;
  if (beam_buf_append(out, st->bags[i].data, st->bags[i].len) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory reading local state");
  return BEAM_OK;
}

static beam_status local_get(void *self, const beam_user_state_key *k, beam_buf *out, beam_error *err) {
  beam_local_state *st = self;
  pthread_mutex_lock(&st->mu);
  beam_status s = get_locked(st, k, out, err);
  pthread_mutex_unlock(&st->mu);
  return s;
}

static beam_buf *bag_for(beam_local_state *st, const beam_user_state_key *k, beam_error *err) {
  if (composite_key(st, k, err) != BEAM_OK) return NULL;
  if (st->index.n == st->cap_bags) {
    size_t cap = st->cap_bags ? st->cap_bags * 2 : 64;
    beam_buf *grown = realloc(st->bags, cap * sizeof *grown);
    if (!grown) goto nomem;
    st->bags = grown;
    st->cap_bags = cap;
  }
  bool added = false;
  ptrdiff_t i = beam_bytes_map_put(&st->index, st->scratch.data, st->scratch.len, &added);
  if (i < 0) goto nomem;
  if (added) st->bags[i] = (beam_buf)BEAM_BUF_INIT;
  return &st->bags[i];
nomem:
  beam_error_set(err, BEAM_ERR_NOMEM, "out of memory in local state");
  return NULL;
}

static beam_status local_append(void *self, const beam_user_state_key *k, const uint8_t *data, size_t len,
                                beam_error *err) {
  beam_local_state *st = self;
  pthread_mutex_lock(&st->mu);
  beam_buf *bag = bag_for(st, k, err);
  beam_status s = bag ? BEAM_OK : err->code;
  if (bag && beam_buf_append(bag, data, len) != BEAM_OK)
    s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory writing local state");
  pthread_mutex_unlock(&st->mu);
  return s;
}

static beam_status local_clear(void *self, const beam_user_state_key *k, beam_error *err) {
  beam_local_state *st = self;
  pthread_mutex_lock(&st->mu);
  beam_buf *bag = bag_for(st, k, err);
  if (bag) beam_buf_free(bag); /* cleared bags give their memory back */
  pthread_mutex_unlock(&st->mu);
  return bag ? BEAM_OK : err->code;
}

beam_status beam_local_state_new(beam_local_state **out, beam_user_state_backend *backend, beam_error *err) {
  beam_local_state *st = calloc(1, sizeof *st);
  if (!st) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&st->mu, NULL);
  *backend = (beam_user_state_backend){local_get, local_append, local_clear, st};
  *out = st;
  return BEAM_OK;
}

void beam_local_state_free(beam_local_state *st) {
  if (!st) return;
  for (size_t i = 0; i < st->index.n; i++) beam_buf_free(&st->bags[i]);
  free(st->bags);
  beam_bytes_map_free(&st->index);
  beam_buf_free(&st->scratch);
  pthread_mutex_destroy(&st->mu);
  free(st);
}
