/* Sorting a shuffle writer's buffer (local_shuffle_sort.h): an LSD radix sort on the keys'
 * hashes (stable, so equal keys keep their write order), then the rare runs of equal hashes
 * ordered by key bytes. */
#include "local_shuffle_sort.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "local_shuffle.h"

enum { RADIX_MIN = 512 }; /* below it, a comparison sort is cheaper than eight histograms */

uint64_t beam_shuffle_key_hash(const uint8_t *key, size_t len) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;
  for (; len >= 8; key += 8, len -= 8) {
    memcpy(&w, key, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  }
  w = 0;
  if (len) memcpy(&w, key, len);
  h = (h ^ w) * 0x94d049bb133111ebULL;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 32);
}

int beam_shuffle_key_order(uint64_t ha, const uint8_t *a, size_t alen, uint64_t hb, const uint8_t *b, size_t blen) {
  if (ha != hb) return ha < hb ? -1 : 1;
  int c = memcmp(a, b, alen < blen ? alen : blen);
  if (c) return c;
  return alen < blen ? -1 : alen > blen;
}

const uint8_t *beam_shuffle_record_key(const uint8_t *rec, uint64_t *len) {
  if (rec[0] < 0x80) { /* keys under 128 bytes: the common case, read inline */
    *len = rec[0];
    return rec + 1;
  }
  *len = 0;
  beam_shuffle_varint(&rec, rec + 10, len);
  return rec;
}

static int compare_entries(const void *x, const void *y, void *records) {
  const beam_shuffle_entry *a = x, *b = y;
  if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
  uint64_t alen, blen;
  const uint8_t *ka = beam_shuffle_record_key((const uint8_t *)records + a->offset, &alen);
  const uint8_t *kb = beam_shuffle_record_key((const uint8_t *)records + b->offset, &blen);
  int c = beam_shuffle_key_order(a->hash, ka, (size_t)alen, b->hash, kb, (size_t)blen);
  if (c) return c;
  return a->offset < b->offset ? -1 : a->offset > b->offset; /* write order */
}

/* Stable LSD radix sort by hash, a byte per pass; a pass whose byte is the same in every
 * entry is skipped. */
static beam_status radix_sort(beam_shuffle_entry *e, size_t n, beam_error *err) {
  beam_shuffle_entry *tmp = malloc(n * sizeof *tmp);
  if (!tmp) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory sorting a shuffle buffer");
  size_t (*count)[256] = calloc(8, sizeof *count);
  if (!count) {
    free(tmp);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory sorting a shuffle buffer");
  }
  for (size_t i = 0; i < n; i++)
    for (int d = 0; d < 8; d++) count[d][(e[i].hash >> (8 * d)) & 0xff]++;
  beam_shuffle_entry *from = e, *to = tmp;
  for (int d = 0; d < 8; d++) {
    if (count[d][(e[0].hash >> (8 * d)) & 0xff] == n) continue;
    size_t at = 0;
    for (int b = 0; b < 256; b++) {
      size_t c = count[d][b];
      count[d][b] = at;
      at += c;
    }
    for (size_t i = 0; i < n; i++) to[count[d][(from[i].hash >> (8 * d)) & 0xff]++] = from[i];
    beam_shuffle_entry *t = from;
    from = to;
    to = t;
  }
  if (from != e) memcpy(e, from, n * sizeof *e);
  free(count);
  free(tmp);
  return BEAM_OK;
}

beam_status beam_shuffle_sort(beam_shuffle_entry *entries, size_t n, const uint8_t *records, beam_error *err) {
  if (n < RADIX_MIN) {
    if (n > 1) qsort_r(entries, n, sizeof *entries, compare_entries, (void *)records);
    return BEAM_OK;
  }
  beam_status s = radix_sort(entries, n, err);
  if (s != BEAM_OK) return s;
  /* Equal hashes: the same key (already in write order) or, rarely, keys that collide. */
  for (size_t i = 0, j; i < n; i = j) {
    bool one_key = true;
    uint64_t len0, len;
    const uint8_t *k0 = beam_shuffle_record_key(records + entries[i].offset, &len0);
    for (j = i + 1; j < n && entries[j].hash == entries[i].hash; j++) {
      const uint8_t *k = beam_shuffle_record_key(records + entries[j].offset, &len);
      one_key = one_key && len == len0 && memcmp(k, k0, (size_t)len) == 0;
    }
    if (!one_key) qsort_r(entries + i, j - i, sizeof *entries, compare_entries, (void *)records);
  }
  return BEAM_OK;
}
