/* A routed row's table: schema lookup, the row in its table's shape, the table's sink
 * options (etl_table.h). */
#include "beam/transforms/etl_table.h"

#include <string.h>

_Static_assert((int)BEAM_ETL_PARTITION_DAY == (int)BEAM_SINK_PARTITION_DAY &&
                   (int)BEAM_ETL_PARTITION_HOUR == (int)BEAM_SINK_PARTITION_HOUR &&
                   (int)BEAM_ETL_PARTITION_MONTH == (int)BEAM_SINK_PARTITION_MONTH &&
                   (int)BEAM_ETL_PARTITION_YEAR == (int)BEAM_SINK_PARTITION_YEAR,
               "the spec's partition granularities are the sink's");

const beam_etl_table_spec *beam_etl_spec_table(const beam_etl_spec *spec, const char *table) {
  for (size_t i = 0; i < spec->n_tables; i++)
    if (strcmp(spec->tables[i].name, table) == 0) return &spec->tables[i];
  return NULL;
}

const beam_etl_schema *beam_etl_table_schema(const beam_etl_spec *spec, const char *table) {
  /* The message fields route and filter name (the last n_hidden) are no table's columns. */
  if (spec->n_tables == 0) return spec->n_hidden ? &spec->top_schema : &spec->schema;
  const beam_etl_table_spec *t = beam_etl_spec_table(spec, table);
  if (t) return &t->schema;
  return spec->top_schema.n_fields ? &spec->top_schema : NULL;
}

beam_status beam_etl_row_to_table(const beam_etl_spec *spec, const char *table, const beam_etl_record *rec,
                                  beam_arena *arena, beam_etl_row *row, beam_error *err) {
  if (spec->n_tables == 0) { /* every table has the spec's schema, a prefix of the record's */
    row->schema = beam_etl_table_schema(spec, table);
    return BEAM_OK;
  }
  const beam_etl_table_spec *t = beam_etl_spec_table(spec, table);
  const beam_etl_schema *ts = t ? &t->schema : (spec->top_schema.n_fields ? &spec->top_schema : NULL);
  if (!ts)
    return beam_error_set(err, BEAM_ERR_USER, "table \"%s\": no entry in tables and the spec has no top-level schema",
                          table);
  for (size_t i = 0; i < ts->n_fields; i++) {
    int k = t ? t->from_union[i] : (int)i;
    if (ts->fields[i].mode != BEAM_ETL_REQUIRED || row->values[k].kind != BEAM_VALUE_NULL) continue;
    bool missing = rec && rec->cells && rec->cells[k].state == BEAM_ETL_CELL_ABSENT;
    return beam_error_set(err, BEAM_ERR_USER, "table \"%s\": field \"%s\": required but %s", table, ts->fields[i].name,
                          missing ? "missing" : "null");
  }
  if (t) {
    beam_value *v = beam_arena_alloc(arena, ts->n_fields * sizeof *v);
    if (!v) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < ts->n_fields; i++) v[i] = row->values[t->from_union[i]];
    row->values = v;
  }
  row->schema = ts;
  return BEAM_OK;
}

int beam_etl_table_field_index(const beam_etl_spec *spec, const beam_etl_schema *row_schema, int union_field) {
  if (row_schema == &spec->schema) return union_field;
  if (row_schema == &spec->top_schema) return (size_t)union_field < row_schema->n_fields ? union_field : -1;
  for (size_t i = 0; i < spec->n_tables; i++) {
    const beam_etl_table_spec *t = &spec->tables[i];
    if (row_schema != &t->schema) continue;
    for (size_t k = 0; k < t->schema.n_fields; k++)
      if (t->from_union[k] == union_field) return (int)k;
    return -1;
  }
  return -1;
}

beam_status beam_etl_row_in_union(const beam_etl_spec *spec, const beam_etl_row *row, beam_arena *arena,
                                  beam_etl_row *out, beam_error *err) {
  *out = *row;
  if (row->schema == &spec->schema) return BEAM_OK;
  beam_value *values = beam_arena_alloc(arena, (spec->schema.n_fields + 1) * sizeof *values);
  if (!values) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t u = 0; u < spec->schema.n_fields; u++) {
    int k = beam_etl_table_field_index(spec, row->schema, (int)u);
    values[u] = k >= 0 ? row->values[k] : beam_value_null();
  }
  out->schema = &spec->schema;
  out->values = values;
  return BEAM_OK;
}

int beam_etl_table_time_field(const beam_etl_spec *spec, const char *table, const beam_etl_schema *row_schema,
                              const char **key) {
  const beam_etl_table_spec *t = beam_etl_spec_table(spec, table);
  int own = t ? t->partition_field : spec->partition_field;
  const beam_etl_schema *own_schema = t ? &t->schema : &spec->top_schema;
  if (own >= 0) {
    if (key) *key = t ? "its tables entry's partition_field" : "partition_field";
    if (row_schema == own_schema) return own;
    return beam_etl_schema_find(row_schema, own_schema->fields[own].name);
  }
  if (spec->event_time_field < 0) return -1;
  if (key) *key = "event_time_field";
  return beam_etl_table_field_index(spec, row_schema, spec->event_time_field);
}

beam_status beam_etl_ensure_table(beam_sink *sink, const beam_etl_spec *spec, const char *table,
                                  const beam_etl_schema *schema, beam_error *err) {
  if (!spec || beam_etl_is_bookkeeping_table(table))
    return beam_sink_ensure_table(sink, table, schema, err);
  const beam_etl_table_spec *t = beam_etl_spec_table(spec, table);
  const beam_etl_schema *own = t ? &t->schema : &spec->top_schema;
  const int *cluster = t ? t->cluster_fields : spec->cluster_fields;
  size_t n_cluster = t ? t->n_cluster_fields : spec->n_cluster_fields;
  const char *names[4];
  beam_sink_table_options o = {0};
  int time_field = beam_etl_table_time_field(spec, table, schema, NULL);
  if (time_field >= 0) {
    o.partition_field = schema->fields[time_field].name;
    bool own_field = t ? t->partition_field >= 0 : spec->partition_field >= 0; /* else the event time's: DAY */
    if (own_field)
      o.partition_granularity = (beam_sink_partition_granularity)(t ? t->partition_granularity : spec->partition_granularity);
  }
  for (size_t i = 0; i < n_cluster && i < 4; i++) names[i] = own->fields[cluster[i]].name;
  o.cluster_fields = names;
  o.n_cluster_fields = n_cluster < 4 ? n_cluster : 4;
  return beam_sink_ensure_table_with(sink, table, schema, &o, err);
}
