/* Byte-string hash map (see bytes_map.h): FNV-1a, linear probing, load factor <= 1/2. */
#include <stdlib.h>
#include <string.h>

#include "bytes_map.h"

static uint64_t hash_of(const void *key, size_t len) {
  const uint8_t *p = key;
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

static size_t probe(const beam_bytes_map *m, uint64_t h, const void *key, size_t len, bool *found) {
  size_t mask = m->n_slots - 1;
  size_t j = h & mask;
  for (; m->slots[j]; j = (j + 1) & mask) {
    const beam_bytes_map_key *k = &m->keys[m->slots[j] - 1];
    if (k->hash == h && k->len == len && (len == 0 || memcmp(k->data, key, len) == 0)) {
      *found = true;
      return j;
    }
  }
  *found = false;
  return j;
}

static bool grow_slots(beam_bytes_map *m) {
  size_t n = m->n_slots ? m->n_slots * 2 : 64;
  size_t *slots = calloc(n, sizeof *slots);
  if (!slots) return false;
  for (size_t i = 0; i < m->n; i++) {
    size_t j = m->keys[i].hash & (n - 1);
    while (slots[j]) j = (j + 1) & (n - 1);
    slots[j] = i + 1;
  }
  free(m->slots);
  m->slots = slots;
  m->n_slots = n;
  return true;
}

ptrdiff_t beam_bytes_map_find(const beam_bytes_map *m, const void *key, size_t len) {
  if (!m->n_slots) return -1;
  bool found;
  size_t j = probe(m, hash_of(key, len), key, len, &found);
  return found ? (ptrdiff_t)m->slots[j] - 1 : -1;
}

ptrdiff_t beam_bytes_map_put(beam_bytes_map *m, const void *key, size_t len, bool *added) {
  *added = false;
  if ((m->n + 1) * 2 > m->n_slots && !grow_slots(m)) return -1;
  uint64_t h = hash_of(key, len);
  bool found;
  size_t j = probe(m, h, key, len, &found);
  if (found) return (ptrdiff_t)m->slots[j] - 1;
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 32;
    beam_bytes_map_key *grown = realloc(m->keys, cap * sizeof *grown);
    if (!grown) return -1;
    m->keys = grown;
    m->cap = cap;
  }
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) return -1;
  if (len) memcpy(copy, key, len);
  m->keys[m->n] = (beam_bytes_map_key){h, copy, len};
  m->slots[j] = ++m->n;
  *added = true;
  return (ptrdiff_t)m->n - 1;
}

void beam_bytes_map_clear(beam_bytes_map *m) {
  for (size_t i = 0; i < m->n; i++) free(m->keys[i].data);
  m->n = 0;
  if (m->slots) memset(m->slots, 0, m->n_slots * sizeof *m->slots);
}

void beam_bytes_map_free(beam_bytes_map *m) {
  beam_bytes_map_clear(m);
  free(m->keys);
  free(m->slots);
  *m = (beam_bytes_map)BEAM_BYTES_MAP_INIT;
}
