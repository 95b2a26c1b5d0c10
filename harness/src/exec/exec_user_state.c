/* Bag user state cache of a ParDo's bundle (see exec_user_state.h). */
#include <stdlib.h>
#include <string.h>

#include "beam/coder.h"
#include "exec_user_state.h"

/* (state, window, key) triples held before an early flush. */
enum { USER_STATE_MAX_ENTRIES = 4096 };

struct beam_bag_entry {
  size_t state;
  beam_buf window, key;
  bool loaded;       /* base holds what the backend had (or nothing, after a clear) */
  bool cleared;      /* a clear to send before the appends */
  beam_buf base;     /* encoded elements read from the backend */
  beam_buf appended; /* encoded elements appended in this bundle, not yet sent */
};

void beam_user_state_cache_init(beam_user_state_cache *c, const char *transform_id, const char *const *state_ids,
                                size_t n_states) {
  memset(c, 0, sizeof *c);
  c->transform_id = transform_id;
  c->state_ids = state_ids;
  c->n_states = n_states;
}

static void entry_free(beam_bag_entry *e) {
  beam_buf_free(&e->window);
  beam_buf_free(&e->key);
  beam_buf_free(&e->base);
  beam_buf_free(&e->appended);
}

void beam_user_state_discard(beam_user_state_cache *c) {
  for (size_t i = 0; i < c->index.n; i++) entry_free(&c->entries[i]);
  beam_bytes_map_clear(&c->index);
}

void beam_user_state_cache_free(beam_user_state_cache *c) {
  beam_user_state_discard(c);
  beam_bytes_map_free(&c->index);
  free(c->entries);
  beam_buf_free(&c->scratch_key);
  c->entries = NULL;
  c->cap_entries = 0;
}

/* The map key: state index, then the window length-prefixed, then the key. */
static beam_bag_entry *entry_for(beam_user_state_cache *c, size_t state, const beam_bytes *window,
                                 const beam_bytes *key, beam_error *err) {
  beam_buf *k = &c->scratch_key;
  beam_buf_reset(k);
  if (beam_coder_encode_varint(k, state) != BEAM_OK || beam_coder_encode_lp_bytes(k, window->data, window->len) != BEAM_OK ||
      beam_buf_append(k, key->data, key->len) != BEAM_OK)
    goto nomem;
  if (c->index.n == c->cap_entries) {
    size_t cap = c->cap_entries ? c->cap_entries * 2 : 64;
    beam_bag_entry *grown = realloc(c->entries, cap * sizeof *grown);
    if (!grown) goto nomem;
    c->entries = grown;
    c->cap_entries = cap;
  }
  bool added = false;
  ptrdiff_t i = beam_bytes_map_put(&c->index, k->data, k->len, &added);
  if (i < 0) goto nomem;
  beam_bag_entry *e = &c->entries[i];
  if (added) {
    memset(e, 0, sizeof *e);
    e->state = state;
    if (beam_buf_append(&e->window, window->data, window->len) != BEAM_OK ||
        beam_buf_append(&e->key, key->data, key->len) != BEAM_OK)
      goto nomem;
  }
  return e;
nomem:
  beam_error_set(err, BEAM_ERR_NOMEM, "out of memory in user state");
  return NULL;
}

static beam_user_state_key backend_key(const beam_user_state_cache *c, const beam_bag_entry *e) {
  return (beam_user_state_key){c->transform_id, c->state_ids[e->state], {e->window.data, e->window.len},
                               {e->key.data, e->key.len}};
}

beam_status beam_user_state_bag_read(beam_user_state_cache *c, const beam_user_state_backend *b, size_t state,
                                     const beam_bytes *window, const beam_bytes *key, beam_arena *arena,
                                     beam_bytes *out, beam_error *err) {
  beam_bag_entry *e = entry_for(c, state, window, key, err);
  if (!e) return err->code;
  if (!e->loaded) {
    if (!b->get) return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "%s: no user state backend", c->transform_id);
    beam_user_state_key k = backend_key(c, e);
    beam_status s = b->get(b->self, &k, &e->base, err);
    if (s != BEAM_OK) return beam_error_prefix(err, "%s: reading state \"%s\": ", c->transform_id, k.state_id);
    e->loaded = true;
  }
  /* A copy: later appends may move the entry's buffers while the DoFn holds the list. */
  size_t len = e->base.len + e->appended.len;
  uint8_t *copy = beam_arena_alloc(arena, len + 1);
  if (!copy) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory reading user state");
  if (e->base.len) memcpy(copy, e->base.data, e->base.len);
  if (e->appended.len) memcpy(copy + e->base.len, e->appended.data, e->appended.len);
  *out = (beam_bytes){copy, len};
  return BEAM_OK;
}

beam_status beam_user_state_bag_append(beam_user_state_cache *c, size_t state, const beam_bytes *window,
                                       const beam_bytes *key, const uint8_t *encoded, size_t len, beam_error *err) {
  beam_bag_entry *e = entry_for(c, state, window, key, err);
  if (!e) return err->code;
  if (beam_buf_append(&e->appended, encoded, len) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory appending to user state");
  return BEAM_OK;
}

beam_status beam_user_state_bag_clear(beam_user_state_cache *c, size_t state, const beam_bytes *window,
                                      const beam_bytes *key, beam_error *err) {
  beam_bag_entry *e = entry_for(c, state, window, key, err);
  if (!e) return err->code;
  e->cleared = true;
  e->loaded = true; /* nothing left to read from the backend */
  beam_buf_reset(&e->base);
  beam_buf_reset(&e->appended);
  return BEAM_OK;
}

beam_status beam_user_state_flush(beam_user_state_cache *c, const beam_user_state_backend *b, beam_error *err) {
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < c->index.n; i++) {
    beam_bag_entry *e = &c->entries[i];
    if (!e->cleared && !e->appended.len) continue;
    if (!b->append || !b->clear) {
      s = beam_error_set(err, BEAM_ERR_UNSUPPORTED, "%s: no user state backend", c->transform_id);
      break;
    }
    beam_user_state_key k = backend_key(c, e);
    if (e->cleared) s = b->clear(b->self, &k, err);
    if (s == BEAM_OK && e->appended.len) s = b->append(b->self, &k, e->appended.data, e->appended.len, err);
    if (s != BEAM_OK) beam_error_prefix(err, "%s: writing state \"%s\": ", c->transform_id, k.state_id);
  }
  beam_user_state_discard(c);
  return s;
}

beam_status beam_user_state_maybe_flush(beam_user_state_cache *c, const beam_user_state_backend *b, beam_error *err) {
  return c->index.n > USER_STATE_MAX_ENTRIES ? beam_user_state_flush(c, b, err) : BEAM_OK;
}
