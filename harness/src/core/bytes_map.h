/* A hash map from byte strings to dense indexes 0..n-1, for tables keyed by encoded bytes
 * (Beam compares keys and windows by their encodings). The caller keeps the values in its
 * own array indexed the same way, so the map never needs to know what they are. */
#ifndef BEAM_BYTES_MAP_H
#define BEAM_BYTES_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct beam_bytes_map_key {
  uint64_t hash;
  uint8_t *data; /* owned copy */
  size_t len;
} beam_bytes_map_key;

typedef struct beam_bytes_map {
  beam_bytes_map_key *keys; /* in insertion order: index i is the i-th key added */
  size_t n, cap;
  size_t *slots; /* open addressing: index + 1, 0 = empty */
  size_t n_slots;
} beam_bytes_map;

#define BEAM_BYTES_MAP_INIT {NULL, 0, 0, NULL, 0}

/* The index of key, or -1. */
ptrdiff_t beam_bytes_map_find(const beam_bytes_map *m, const void *key, size_t len);
/* The index of key, adding it (the next index, *added = true) when absent; -1 when out of
 * memory. */
ptrdiff_t beam_bytes_map_put(beam_bytes_map *m, const void *key, size_t len, bool *added);
/* Forgets every key; keeps the memory for reuse. */
void beam_bytes_map_clear(beam_bytes_map *m);
void beam_bytes_map_free(beam_bytes_map *m);

#endif
