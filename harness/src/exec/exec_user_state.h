/* Bag user state of one stateful ParDo during a bundle: reads are fetched from the backend
 * once per (state, window, key) and kept; appends and clears are buffered and sent to the
 * backend when the bundle finishes (or early, when the bundle touches very many keys), so a
 * DoFn that appends per element costs one state request per key per bundle, not one per
 * element. Reads always see the DoFn's own buffered writes. */
#ifndef BEAM_EXEC_USER_STATE_H
#define BEAM_EXEC_USER_STATE_H

#include "bytes_map.h"
#include "exec.h"

typedef struct beam_bag_entry beam_bag_entry;

typedef struct beam_user_state_cache {
  const char *transform_id;
  const char *const *state_ids; /* n_states names, indexed by the state index */
  size_t n_states;
  beam_bytes_map index;         /* (state, window, key) -> entries[i] */
  beam_bag_entry *entries;
  size_t cap_entries;
  beam_buf scratch_key;
} beam_user_state_cache;

void beam_user_state_cache_init(beam_user_state_cache *c, const char *transform_id, const char *const *state_ids,
                                size_t n_states);
void beam_user_state_cache_free(beam_user_state_cache *c);

/* The bag's encoded elements (backend contents, then buffered appends) copied into arena. */
beam_status beam_user_state_bag_read(beam_user_state_cache *c, const beam_user_state_backend *b, size_t state,
                                     const beam_bytes *window, const beam_bytes *key, beam_arena *arena,
                                     beam_bytes *out, beam_error *err);
beam_status beam_user_state_bag_append(beam_user_state_cache *c, size_t state, const beam_bytes *window,
                                       const beam_bytes *key, const uint8_t *encoded, size_t len, beam_error *err);
beam_status beam_user_state_bag_clear(beam_user_state_cache *c, size_t state, const beam_bytes *window,
                                      const beam_bytes *key, beam_error *err);
/* Sends buffered clears and appends to the backend and forgets everything cached. */
beam_status beam_user_state_flush(beam_user_state_cache *c, const beam_user_state_backend *b, beam_error *err);
/* Flushes when the cache holds more than its limit of keys (bounds a bundle's memory). */
beam_status beam_user_state_maybe_flush(beam_user_state_cache *c, const beam_user_state_backend *b, beam_error *err);
/* Forgets everything without sending it (a failed bundle). */
void beam_user_state_discard(beam_user_state_cache *c);

#endif
