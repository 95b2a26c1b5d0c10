/* Name -> schema field index, for mapping JSON keys and CSV header names.
 *
 * Built once per reader. Lookups first try a hint (the field after the previous match,
 * since JSON lines from one producer keep one key order), then a small open-addressing
 * hash table, so a row costs one memcmp per key in the common case. */
#ifndef BEAM_TRANSFORMS_FIELD_INDEX_H
#define BEAM_TRANSFORMS_FIELD_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "beam/transforms/etl_types.h"

typedef struct beam_field_index {
  const beam_etl_schema *schema; /* may be NULL: no fields */
  size_t n;
  size_t *lens;                  /* strlen of each field name */
  int32_t *slots;                /* hash table of field indexes, -1 empty */
  uint32_t mask;
} beam_field_index;

beam_status beam_field_index_init(beam_field_index *idx, const beam_etl_schema *schema,
                                  beam_error *err);
void beam_field_index_free(beam_field_index *idx);
/* Field index for key[0..len), or -1. hint: a likely index (or -1). */
int beam_field_index_find(const beam_field_index *idx, const char *key, size_t len, int hint);

#endif
