/* Name -> field index lookup (see field_index.h). */
#include "field_index.h"

#include <stdlib.h>
#include <string.h>

static uint32_t fi_hash(const char *s, size_t len) {
  uint32_t h = 2166136261u; /* FNV-1a: short keys, no setup cost */
  for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

beam_status beam_field_index_init(beam_field_index *idx, const beam_etl_schema *schema,
                                  beam_error *err) {
  memset(idx, 0, sizeof *idx);
  idx->schema = schema;
  idx->n = schema ? schema->n_fields : 0;
  size_t cap = 8;
  while (cap < 2 * idx->n) cap *= 2;
  idx->lens = calloc(idx->n ? idx->n : 1, sizeof *idx->lens);
  idx->slots = malloc(cap * sizeof *idx->slots);
  if (!idx->lens || !idx->slots) {
    beam_field_index_free(idx);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory building the field index");
  }
  idx->mask = (uint32_t)(cap - 1);
  for (size_t i = 0; i < cap; i++) idx->slots[i] = -1;
  for (size_t i = 0; i < idx->n; i++) {
    const char *name = schema->fields[i].name ? schema->fields[i].name : "";
    idx->lens[i] = strlen(name);
    uint32_t h = fi_hash(name, idx->lens[i]) & idx->mask;
    /* A duplicate schema name keeps its first field: later ones are unreachable by name. */
    bool dup = false;
    while (idx->slots[h] >= 0) {
      size_t j = (size_t)idx->slots[h];
      if (idx->lens[j] == idx->lens[i] && memcmp(schema->fields[j].name, name, idx->lens[i]) == 0) {
        dup = true;
        break;
      }
      h = (h + 1) & idx->mask;
    }
    if (!dup) idx->slots[h] = (int32_t)i;
  }
  return BEAM_OK;
}

void beam_field_index_free(beam_field_index *idx) {
  free(idx->lens);
  free(idx->slots);
  idx->lens = NULL;
  idx->slots = NULL;
}

int beam_field_index_find(const beam_field_index *idx, const char *key, size_t len, int hint) {
  if (hint >= 0 && (size_t)hint < idx->n && idx->lens[hint] == len &&
      memcmp(idx->schema->fields[hint].name, key, len) == 0)
    return hint;
  if (idx->n == 0) return -1;
  uint32_t h = fi_hash(key, len) & idx->mask;
  for (;;) {
    int32_t s = idx->slots[h];
    if (s < 0) return -1;
    if (idx->lens[s] == len && memcmp(idx->schema->fields[s].name, key, len) == 0) return s;
    h = (h + 1) & idx->mask;
  }
}
