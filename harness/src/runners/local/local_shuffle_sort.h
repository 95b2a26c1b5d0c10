/* The order of a sorted shuffle's records: by a 64-bit hash of the key, then by the key's
 * bytes, then by write order. A GroupByKey needs equal keys together, not keys in byte order;
 * sorting by hash first compares two integers where a byte order would follow two pointers
 * into a buffer of hundreds of megabytes for each comparison, and lets a radix sort do it. */
#ifndef BEAM_LOCAL_SHUFFLE_SORT_H
#define BEAM_LOCAL_SHUFFLE_SORT_H

#include <stddef.h>
#include <stdint.h>

#include "beam/status.h"

/* One buffered record: its key's hash and where it starts in the writer's buffer. */
typedef struct beam_shuffle_entry {
  uint64_t hash;
  uint64_t offset;
} beam_shuffle_entry;

/* The hash the shuffle orders keys by (fixed for the process: runs are never read by another). */
uint64_t beam_shuffle_key_hash(const uint8_t *key, size_t len);

/* <0, 0, >0 as key a orders before, with, after key b (hash, then bytes). */
int beam_shuffle_key_order(uint64_t ha, const uint8_t *a, size_t alen, uint64_t hb, const uint8_t *b, size_t blen);

/* The key of the record at rec (varint length, key, ...), its length in *len. */
const uint8_t *beam_shuffle_record_key(const uint8_t *rec, uint64_t *len);

/* Sorts entries (in write order, records in records) into shuffle order, stably. */
beam_status beam_shuffle_sort(beam_shuffle_entry *entries, size_t n, const uint8_t *records, beam_error *err);

#endif
