/* The tables a sink has ensured (sink_tables.h). */
#include "sink_tables.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The name of table i: the first member of every sink's table struct. */
static const char *table_name(const void *tables, size_t item_size, size_t i) {
  const char *name;
  memcpy(&name, (const unsigned char *)tables + i * item_size, sizeof name);
  return name;
}

size_t beam_sink_table_index(const void *tables, size_t n, size_t item_size, size_t *last,
                             const char *name) {
  if (last && *last < n && strcmp(table_name(tables, item_size, *last), name) == 0) return *last;
  for (size_t i = 0; i < n; i++)
    if (strcmp(table_name(tables, item_size, i), name) == 0) {
      if (last) *last = i;
      return i;
    }
  return n;
}

beam_status beam_sink_table_reensure(const beam_etl_schema *ensured, const beam_etl_schema *schema,
                                     bool with_modes, const char *kind, const char *where,
                                     const char *table, beam_error *err) {
  if (beam_etl_schema_equal(ensured, schema, with_modes)) return BEAM_OK;
  return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                        "%s%s%s: table %s already ensured on this sink with another schema", kind,
                        where ? " " : "", where ? where : "", table);
}

void *beam_sink_tables_reserve(void *tables, size_t n, size_t *cap, size_t item_size) {
  if (n < *cap) return tables;
  size_t grown_cap = *cap ? *cap * 2 : 8;
  if (grown_cap > SIZE_MAX / item_size) return NULL;
  void *grown = realloc(tables, grown_cap * item_size);
  if (grown) *cap = grown_cap;
  return grown;
}
