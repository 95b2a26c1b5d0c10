/* ETL elements and file statistics as beam_values (see etl_element.h). */
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "beam/transforms/etl_element.h"
#include "beam/transforms/etl_table.h"

static beam_value string_value(const char *s) { return beam_value_string(s, s ? strlen(s) : 0); }

beam_status beam_etl_element_make(beam_arena *arena, const char *table, const char *file,
                                  const beam_etl_row *row, bool with_raw, beam_value *out) {
  size_t n = row->schema->n_fields;
  beam_value *items = beam_arena_alloc(arena, (BEAM_ETL_ELEMENT_HEADER + n) * sizeof *items);
  if (!items) return BEAM_ERR_NOMEM;
  items[0] = string_value(table);
  items[1] = string_value(file ? file : "");
  /* The source is most often the file itself: NULL then, one string less to carry. */
  const char *source = row->origin.source ? row->origin.source : "";
  items[2] = file && (source == file || strcmp(source, file) == 0) ? beam_value_null() : string_value(source);
  items[3] = row->origin.line > 0 ? beam_value_int64(row->origin.line) : beam_value_null();
  items[4] = with_raw && row->origin.raw.data
                 ? beam_value_string((const char *)row->origin.raw.data, row->origin.raw.len)
                 : beam_value_null();
  items[5] = row->origin.file_id ? beam_value_int64(row->origin.offset) : beam_value_null();
  items[6] = row->origin.file_id ? string_value(row->origin.file_id) : beam_value_null();
  items[7] = beam_value_int64(row->origin.file_index);
  items[8] = row->origin.member_offset >= 0 ? beam_value_int64(row->origin.member_offset) : beam_value_null();
  memcpy(items + BEAM_ETL_ELEMENT_HEADER, row->values, n * sizeof *items);
  out->kind = BEAM_VALUE_ROW;
  out->u.list.items = items;
  out->u.list.len = BEAM_ETL_ELEMENT_HEADER + n;
  return BEAM_OK;
}

static const beam_etl_schema *schema_for(const char *table, const beam_etl_spec *spec) {
  const beam_etl_schema *own = beam_etl_bookkeeping_schema(table);
  if (own) return own;
  return spec ? beam_etl_table_schema(spec, table) : NULL;
}

/* Header string k (1..3) of an element as a NUL-terminated string in arena: cache's when equal. */
static const char *view_string(beam_arena *arena, beam_etl_view_cache *cache, int k, const beam_bytes *b) {
  if (cache && cache->s[k] && cache->len[k] == b->len && (b->len == 0 || memcmp(cache->s[k], b->data, b->len) == 0))
    return cache->s[k];
  const char *copy = beam_arena_strndup(arena, (const char *)b->data, b->len);
  if (cache && copy) {
    cache->s[k] = copy;
    cache->len[k] = b->len;
  }
  return copy;
}

/* The element's table name (NUL-terminated, in arena or cache's) and its schema (NULL when
 * the spec has no such table). false: out of memory. */
static bool view_table(beam_arena *arena, beam_etl_view_cache *cache, const beam_bytes *b, const beam_etl_spec *spec,
                       const char **name, const beam_etl_schema **schema) {
  for (size_t i = 0; cache && i < cache->n_tables; i++)
    if (cache->tables[i].len == b->len && memcmp(cache->tables[i].name, b->data, b->len) == 0) {
      *name = cache->tables[i].name;
      *schema = cache->tables[i].schema;
      return true;
    }
  if (!(*name = beam_arena_strndup(arena, (const char *)b->data, b->len))) return false;
  *schema = schema_for(*name, spec);
  if (cache) {
    size_t i = cache->n_tables < BEAM_ETL_VIEW_TABLES ? cache->n_tables++ : cache->next_table++ % BEAM_ETL_VIEW_TABLES;
    cache->tables[i].name = *name;
    cache->tables[i].len = b->len;
    cache->tables[i].schema = *schema;
  }
  return true;
}

beam_status beam_etl_element_table_cached(const beam_value *v, const beam_etl_spec *spec, beam_arena *arena,
                                          beam_etl_view_cache *cache, const char **table,
                                          const beam_etl_schema **schema, beam_error *err) {
  const beam_value *h = v->u.list.items;
  if (v->kind != BEAM_VALUE_ROW || v->u.list.len < BEAM_ETL_ELEMENT_HEADER || h[0].kind != BEAM_VALUE_STRING ||
      h[1].kind != BEAM_VALUE_STRING || (h[2].kind != BEAM_VALUE_STRING && h[2].kind != BEAM_VALUE_NULL))
    return beam_error_set(err, BEAM_ERR_MALFORMED,
                          "not an ETL element (table, file, source, line, raw, offset, file_id, file_index, member_offset, values)");
  if (!view_table(arena, cache, &h[0].u.bytes, spec, table, schema))
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t n = v->u.list.len - BEAM_ETL_ELEMENT_HEADER;
  if (!*schema || (*schema)->n_fields != n)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "ETL element for table \"%s\" has %zu values, schema has %zu",
                          *table, n, *schema ? (*schema)->n_fields : 0);
  return BEAM_OK;
}

beam_status beam_etl_element_view_cached(const beam_value *v, const beam_etl_spec *spec, beam_arena *arena,
                                         beam_etl_view_cache *cache, const char **table, const char **file,
                                         beam_etl_row *row, beam_error *err) {
  const char *name = NULL;
  const beam_etl_schema *schema = NULL;
  beam_status s = beam_etl_element_table_cached(v, spec, arena, cache, &name, &schema, err);
  if (s != BEAM_OK) return s;
  const beam_value *h = v->u.list.items;
  const char *path = view_string(arena, cache, 1, &h[1].u.bytes);
  const char *source = h[2].kind == BEAM_VALUE_NULL ? path : view_string(arena, cache, 2, &h[2].u.bytes);
  const char *file_id = h[6].kind == BEAM_VALUE_STRING ? view_string(arena, cache, 3, &h[6].u.bytes) : NULL;
  if (!path || !source || (h[6].kind == BEAM_VALUE_STRING && !file_id))
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  *table = name;
  *file = path;
  row->schema = schema;
  row->values = (beam_value *)h + BEAM_ETL_ELEMENT_HEADER;
  row->origin.source = source;
  row->origin.line = h[3].kind == BEAM_VALUE_INT64 ? h[3].u.i64 : 0;
  row->origin.raw = h[4].kind == BEAM_VALUE_STRING ? h[4].u.bytes : (beam_bytes){NULL, 0};
  row->origin.offset = h[5].kind == BEAM_VALUE_INT64 ? h[5].u.i64 : 0;
  row->origin.file_id = file_id;
  row->origin.file_index = h[7].kind == BEAM_VALUE_INT64 ? h[7].u.i64 : 0;
  row->origin.member_offset = h[8].kind == BEAM_VALUE_INT64 ? h[8].u.i64 : -1;
  row->origin.event_time_us = 0; /* not carried: a stream's writer takes the element's timestamp */
  return BEAM_OK;
}

beam_status beam_etl_element_view(const beam_value *v, const beam_etl_spec *spec, beam_arena *arena,
                                  const char **table, const char **file, beam_etl_row *row,
                                  beam_error *err) {
  return beam_etl_element_view_cached(v, spec, arena, NULL, table, file, row, err);
}

beam_status beam_etl_stats_make(beam_arena *arena, const char *file, const beam_etl_file_stats *st,
                                beam_value *out) {
  beam_value *kv = beam_arena_alloc(arena, 2 * sizeof *kv);
  beam_value *items = beam_arena_alloc(arena, BEAM_ETL_STAT_COUNT * sizeof *items);
  if (!kv || !items) return BEAM_ERR_NOMEM;
  for (int i = 0; i < BEAM_ETL_STAT_COUNT; i++) items[i] = beam_value_int64(st->v[i]);
  kv[0] = string_value(file);
  kv[1].kind = BEAM_VALUE_ROW;
  kv[1].u.list.items = items;
  kv[1].u.list.len = BEAM_ETL_STAT_COUNT;
  out->kind = BEAM_VALUE_KV;
  out->u.kv.key = &kv[0];
  out->u.kv.value = &kv[1];
  return BEAM_OK;
}

beam_status beam_etl_stats_read(const beam_value *row, beam_etl_file_stats *st, beam_error *err) {
  if (row->kind != BEAM_VALUE_ROW || row->u.list.len != BEAM_ETL_STAT_COUNT)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "file statistics must be a row of %d integers",
                          BEAM_ETL_STAT_COUNT);
  for (int i = 0; i < BEAM_ETL_STAT_COUNT; i++) {
    if (row->u.list.items[i].kind != BEAM_VALUE_INT64)
      return beam_error_set(err, BEAM_ERR_MALFORMED, "file statistics field %d is not an integer", i);
    st->v[i] = row->u.list.items[i].u.i64;
  }
  return BEAM_OK;
}

void beam_etl_stats_merge(beam_etl_file_stats *a, const beam_etl_file_stats *b) {
  for (int i = 0; i < BEAM_ETL_STAT_COUNT; i++) {
    int64_t x = a->v[i], y = b->v[i];
    if (i == BEAM_ETL_STAT_STARTED_AT)
      a->v[i] = !x ? y : (!y ? x : (x < y ? x : y));
    else if (i == BEAM_ETL_STAT_FINISHED_AT)
      a->v[i] = x > y ? x : y;
    else
      a->v[i] = x + y;
  }
}

