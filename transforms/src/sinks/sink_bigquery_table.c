/* BigQuery tables for the sink: the Table resource created from the table's schema (time
 * partitioning of the table's type on its partition field, clustering on its cluster fields:
 * the table's own options, else the sink-wide ones where the table has those fields), the check that
 * an existing table has the spec's schema but for missing NULLABLE fields, naming every other
 * difference, and the tables.patch body that adds those fields. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>

#include "sink_bigquery_internal.h"
#include "sink_tables.h"

const char *beam_bq_type_name(beam_etl_type t) {
  switch (t) {
    case BEAM_ETL_STRING: return "STRING";
    case BEAM_ETL_INT64: return "INTEGER";
    case BEAM_ETL_FLOAT64: return "FLOAT";
    case BEAM_ETL_NUMERIC: return "NUMERIC";
    case BEAM_ETL_BOOL: return "BOOLEAN";
    case BEAM_ETL_TIMESTAMP: return "TIMESTAMP";
    case BEAM_ETL_DATE: return "DATE";
    case BEAM_ETL_BYTES: return "BYTES";
  }
  return "STRING";
}

/* Standard SQL names and their legacy twins are one type. */
static const char *canonical_type(const char *t) {
  if (!t) return "";
  if (strcmp(t, "INT64") == 0) return "INTEGER";
  if (strcmp(t, "FLOAT64") == 0) return "FLOAT";
  if (strcmp(t, "BOOL") == 0) return "BOOLEAN";
  if (strcmp(t, "STRUCT") == 0) return "RECORD";
  return t;
}

static bool has_field(const beam_etl_schema *schema, const char *name, bool time_only) {
  int i = beam_etl_schema_find(schema, name);
  if (i < 0) return false;
  beam_etl_type t = schema->fields[i].type;
  return !time_only || t == BEAM_ETL_TIMESTAMP || t == BEAM_ETL_DATE;
}

void beam_bq_sink_wide_options(const bq_sink *q, const beam_etl_schema *schema, beam_sink_table_options *out) {
  *out = (beam_sink_table_options){0};
  if (q->partition_field && has_field(schema, q->partition_field, true)) out->partition_field = q->partition_field;
  bool cluster = q->n_cluster_fields > 0;
  for (size_t i = 0; i < q->n_cluster_fields; i++) cluster = cluster && has_field(schema, q->cluster_fields[i], false);
  if (cluster) {
    out->cluster_fields = (const char *const *)q->cluster_fields;
    out->n_cluster_fields = q->n_cluster_fields;
  }
}

json_t *beam_bq_table_resource(const bq_sink *q, const char *table, const beam_etl_schema *schema,
                               const beam_sink_table_options *topts) {
  json_t *fields = json_array();
  for (size_t i = 0; fields && i < schema->n_fields; i++) {
    const beam_etl_field *f = &schema->fields[i];
    json_array_append_new(fields, json_pack("{s:s,s:s,s:s}", "name", f->name, "type", beam_bq_type_name(f->type),
                                            "mode", f->mode == BEAM_ETL_REQUIRED ? "REQUIRED" : "NULLABLE"));
  }
  json_t *r = json_pack("{s:{s:s,s:s,s:s},s:{s:o}}", "tableReference", "projectId", q->project, "datasetId",
                        q->dataset, "tableId", table, "schema", "fields", fields);
  if (!r) return NULL;
  if (topts->partition_field)
    json_object_set_new(r, "timePartitioning",
                        json_pack("{s:s,s:s}", "type", beam_sink_partition_granularity_name(topts->partition_granularity),
                                  "field", topts->partition_field));
  else if (q->stream) /* partitioned by ingestion day; rows go to their event day's partition */
    json_object_set_new(r, "timePartitioning", json_pack("{s:s}", "type", "DAY"));
  if (topts->n_cluster_fields) {
    json_t *names = json_array();
    for (size_t i = 0; names && i < topts->n_cluster_fields; i++) json_array_append_new(names, json_string(topts->cluster_fields[i]));
    json_object_set_new(r, "clustering", json_pack("{s:o}", "fields", names));
  }
  return r;
}

beam_status beam_bq_schema_plan(const bq_sink *q, const char *table, const beam_etl_schema *schema,
                                const json_t *existing, bool *add, beam_error *err) {
  const json_t *fields = json_object_get(json_object_get(existing, "schema"), "fields");
  size_t n = json_array_size(fields);
  beam_sink_column *cols = calloc(n ? n : 1, sizeof *cols);
  if (!cols) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t k = 0; k < n; k++) {
    const json_t *f = json_array_get(fields, k);
    const char *mode = json_string_value(json_object_get(f, "mode"));
    cols[k] = (beam_sink_column){json_string_value(json_object_get(f, "name")),
                                 canonical_type(json_string_value(json_object_get(f, "type"))), mode ? mode : "NULLABLE"};
  }
  char diff[900];
  bool fits = beam_sink_columns_plan(cols, n, schema, beam_bq_type_name, true, add, diff, sizeof diff);
  free(cols);
  if (fits) return BEAM_OK;
  return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                        "bigquery table %s:%s.%s exists with different columns: %s (existing tables only gain "
                        "missing NULLABLE columns)",
                        q->project, q->dataset, table, diff);
}

json_t *beam_bq_schema_patch(const json_t *existing, const beam_etl_schema *schema, const bool *add) {
  /* The existing fields as the service gave them (descriptions, policy tags and all), since
   * a patched schema replaces the whole list; then the new fields. */
  json_t *fields = json_deep_copy(json_object_get(json_object_get(existing, "schema"), "fields"));
  if (!fields) fields = json_array();
  for (size_t i = 0; fields && i < schema->n_fields; i++) {
    if (!add[i]) continue;
    const beam_etl_field *f = &schema->fields[i];
    json_array_append_new(fields, json_pack("{s:s,s:s,s:s}", "name", f->name, "type", beam_bq_type_name(f->type),
                                            "mode", "NULLABLE"));
  }
  return fields ? json_pack("{s:{s:o}}", "schema", "fields", fields) : NULL;
}
