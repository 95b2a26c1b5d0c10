/* Materialized side inputs, shared read-only by every thread (see local_side.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "beam/coder.h"
#include "beam/urns.h"
#include "bytes_map.h"
#include "coder_proto.h"
#include "local_side.h"
#include "proto_lookup.h"

typedef struct materialized {
  const char *pcollection_id;
  pthread_mutex_t mu; /* adding values; building the index */
  beam_arena arena;
  beam_value *items;
  size_t n, cap;
  beam_value_list list;
  /* Multimap access: encoded key -> the values under it, built on the first lookup. */
  atomic_bool indexed;
  beam_bytes_map index;
  beam_value_list *groups;
} materialized;

struct beam_local_side {
  const PIPE(Components) *components;
  materialized *items;
  size_t n;
};

beam_status beam_local_side_new(const PIPE(Components) *components, const char *const *ids, size_t n,
                                beam_local_side **out, beam_error *err) {
  beam_local_side *s = calloc(1, sizeof *s);
  if (s) s->items = calloc(n + 1, sizeof *s->items);
  if (!s || !s->items) {
    free(s);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  s->components = components;
  s->n = n;
  for (size_t i = 0; i < n; i++) {
    s->items[i].pcollection_id = ids[i];
    pthread_mutex_init(&s->items[i].mu, NULL);
    atomic_init(&s->items[i].indexed, false);
  }
  *out = s;
  return BEAM_OK;
}

void beam_local_side_free(beam_local_side *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) {
    free(s->items[i].items);
    beam_bytes_map_free(&s->items[i].index);
    beam_arena_free(&s->items[i].arena);
    pthread_mutex_destroy(&s->items[i].mu);
  }
  free(s->items);
  free(s);
}

ptrdiff_t beam_local_side_find(const beam_local_side *s, const char *pcollection_id) {
  for (size_t i = 0; s && i < s->n; i++)
    if (strcmp(s->items[i].pcollection_id, pcollection_id) == 0) return (ptrdiff_t)i;
  return -1;
}

beam_status beam_local_side_add(beam_local_side *s, size_t item, const beam_value *v, beam_error *err) {
  materialized *m = &s->items[item];
  beam_status st = BEAM_OK;
  pthread_mutex_lock(&m->mu);
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    beam_value *grown = realloc(m->items, cap * sizeof *grown);
    if (grown) m->items = grown, m->cap = cap;
    else st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory materializing a side input");
  }
  beam_value *copy = st == BEAM_OK ? beam_value_clone(&m->arena, v) : NULL;
  if (copy) m->items[m->n++] = *copy;
  else if (st == BEAM_OK) st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory materializing a side input");
  m->list = (beam_value_list){m->items, m->n};
  pthread_mutex_unlock(&m->mu);
  return st;
}

static materialized *find(beam_local_side *s, const char *pcollection_id) {
  ptrdiff_t i = beam_local_side_find(s, pcollection_id);
  return i < 0 ? NULL : &s->items[i];
}

static beam_status side_get(void *self, const char *transform_id, const char *local_name, const char *pcollection_id,
                            beam_arena *arena, const beam_value_list **out, beam_error *err) {
  (void)arena;
  materialized *m = find(self, pcollection_id);
  if (!m)
    return beam_error_set(err, BEAM_ERR_NOT_FOUND, "%s: side input %s (%s) was not materialized", transform_id,
                          local_name, pcollection_id);
  *out = &m->list; /* complete: its producing stage has finished */
  return BEAM_OK;
}

/* Groups a KV side input's values by encoded key (two passes: count, then fill). */
static beam_status build_index(beam_local_side *si, materialized *m, beam_error *err) {
  const PIPE(PCollection) *pc = beam_proto_find_pcollection(si->components, m->pcollection_id);
  if (!pc) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "PCollection %s is not in the components", m->pcollection_id);
  beam_coder *kv = NULL;
  beam_status s = beam_coder_from_components(si->components, pc->coder_id, &kv, err);
  if (s == BEAM_OK && (strcmp(beam_coder_urn(kv), BEAM_URN_CODER_KV) != 0 || beam_coder_n_components(kv) != 2))
    s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "PCollection %s has coder %s, not a KV coder", m->pcollection_id,
                       beam_coder_urn(kv));
  const beam_coder *key_coder = s == BEAM_OK ? beam_coder_component(kv, 0) : NULL;
  size_t *group_of = s == BEAM_OK ? calloc(m->n + 1, sizeof *group_of) : NULL;
  if (s == BEAM_OK && !group_of) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory indexing a side input");
  beam_buf key = BEAM_BUF_INIT;
  for (size_t i = 0; s == BEAM_OK && i < m->n; i++) {
    if (m->items[i].kind != BEAM_VALUE_KV) {
      s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "multimap side input %s: element %zu is not a KV", m->pcollection_id, i);
      break;
    }
    beam_buf_reset(&key);
    s = beam_coder_encode(key_coder, m->items[i].u.kv.key, true, &key, err);
    bool added;
    ptrdiff_t g = s == BEAM_OK ? beam_bytes_map_put(&m->index, key.data, key.len, &added) : 0;
    if (g < 0) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory indexing a side input");
    group_of[i] = (size_t)g;
  }
  beam_buf_free(&key);
  if (s == BEAM_OK) m->groups = beam_arena_calloc(&m->arena, m->index.n + 1, sizeof *m->groups);
  if (s == BEAM_OK && !m->groups) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory indexing a side input");
  for (size_t i = 0; s == BEAM_OK && i < m->n; i++) m->groups[group_of[i]].len++;
  for (size_t g = 0; s == BEAM_OK && g < m->index.n; g++) {
    m->groups[g].items = beam_arena_alloc(&m->arena, m->groups[g].len * sizeof(beam_value));
    if (!m->groups[g].items) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory indexing a side input");
    m->groups[g].len = 0;
  }
  for (size_t i = 0; s == BEAM_OK && i < m->n; i++) {
    beam_value_list *grp = &m->groups[group_of[i]];
    grp->items[grp->len++] = *m->items[i].u.kv.value;
  }
  free(group_of);
  beam_coder_free(kv);
  if (s != BEAM_OK) beam_bytes_map_clear(&m->index);
  return s;
}

static beam_status side_lookup(void *self, const char *transform_id, const char *local_name,
                               const char *pcollection_id, const beam_value *key, const beam_bytes *key_bytes,
                               beam_arena *arena, const beam_value_list **out, beam_error *err) {
  static const beam_value_list empty = {NULL, 0};
  (void)key, (void)arena;
  materialized *m = find(self, pcollection_id);
  if (!m)
    return beam_error_set(err, BEAM_ERR_NOT_FOUND, "%s: side input %s (%s) was not materialized", transform_id,
                          local_name, pcollection_id);
  if (!atomic_load_explicit(&m->indexed, memory_order_acquire)) {
    /* Built once by the first reader; the others wait for it, then read without a lock. */
    pthread_mutex_lock(&m->mu);
    beam_status s = atomic_load_explicit(&m->indexed, memory_order_relaxed) ? BEAM_OK : build_index(self, m, err);
    if (s == BEAM_OK) atomic_store_explicit(&m->indexed, true, memory_order_release);
    pthread_mutex_unlock(&m->mu);
    if (s != BEAM_OK) return beam_error_prefix(err, "%s: side input %s: ", transform_id, local_name);
  }
  ptrdiff_t g = beam_bytes_map_find(&m->index, key_bytes->data, key_bytes->len);
  *out = g < 0 ? &empty : &m->groups[g];
  return BEAM_OK;
}

beam_side_input_source beam_local_side_source(beam_local_side *s) {
  return (beam_side_input_source){side_get, side_lookup, s};
}
