/* BigQuery tables for the sink: the Table resource created from the spec's schema (DAY time
 * partitioning on the partition field, clustering on the cluster fields) and the check that
 * an existing table has the spec's schema, naming every difference. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sink_bigquery_internal.h"

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

json_t *beam_bq_table_resource(const bq_sink *q, const char *table, const beam_etl_schema *schema) {
  json_t *fields = json_array();
  for (size_t i = 0; fields && i < schema->n_fields; i++) {
    const beam_etl_field *f = &schema->fields[i];
    json_array_append_new(fields, json_pack("{s:s,s:s,s:s}", "name", f->name, "type", beam_bq_type_name(f->type),
                                            "mode", f->mode == BEAM_ETL_REQUIRED ? "REQUIRED" : "NULLABLE"));
  }
  json_t *r = json_pack("{s:{s:s,s:s,s:s},s:{s:o}}", "tableReference", "projectId", q->project, "datasetId",
                        q->dataset, "tableId", table, "schema", "fields", fields);
  if (!r) return NULL;
  if (q->partition_field && has_field(schema, q->partition_field, true))
    json_object_set_new(r, "timePartitioning", json_pack("{s:s,s:s}", "type", "DAY", "field", q->partition_field));
  bool cluster = q->n_cluster_fields > 0;
  for (size_t i = 0; i < q->n_cluster_fields; i++) cluster = cluster && has_field(schema, q->cluster_fields[i], false);
  if (cluster) {
    json_t *names = json_array();
    for (size_t i = 0; names && i < q->n_cluster_fields; i++) json_array_append_new(names, json_string(q->cluster_fields[i]));
    json_object_set_new(r, "clustering", json_pack("{s:o}", "fields", names));
  }
  return r;
}

/* Appends "; " (after the first) and text to buf. */
static void add_difference(char *buf, size_t cap, size_t *used, const char *text) {
  if (*used >= cap) return;
  int w = snprintf(buf + *used, cap - *used, "%s%s", *used ? "; " : "", text);
  if (w > 0) *used += (size_t)w;
}

beam_status beam_bq_schema_check(const bq_sink *q, const char *table, const beam_etl_schema *schema,
                                 const json_t *existing, beam_error *err) {
  const json_t *fields = json_object_get(json_object_get(existing, "schema"), "fields");
  char diff[900] = "";
  size_t used = 0;
  for (size_t i = 0; i < schema->n_fields; i++) {
    const beam_etl_field *f = &schema->fields[i];
    const json_t *there = NULL;
    for (size_t k = 0; !there && k < json_array_size(fields); k++) {
      const char *name = json_string_value(json_object_get(json_array_get(fields, k), "name"));
      if (name && strcasecmp(name, f->name) == 0) there = json_array_get(fields, k);
    }
    char one[300];
    if (!there) {
      snprintf(one, sizeof one, "%s: missing in the table", f->name);
      add_difference(diff, sizeof diff, &used, one);
      continue;
    }
    const char *type = canonical_type(json_string_value(json_object_get(there, "type")));
    if (strcmp(type, beam_bq_type_name(f->type)) != 0) {
      snprintf(one, sizeof one, "%s: %s in the table, %s in the spec", f->name, type, beam_bq_type_name(f->type));
      add_difference(diff, sizeof diff, &used, one);
    }
    const char *mode = json_string_value(json_object_get(there, "mode"));
    const char *want = f->mode == BEAM_ETL_REQUIRED ? "REQUIRED" : "NULLABLE";
    if (strcmp(mode ? mode : "NULLABLE", want) != 0) {
      snprintf(one, sizeof one, "%s: %s in the table, %s in the spec", f->name, mode, want);
      add_difference(diff, sizeof diff, &used, one);
    }
  }
  for (size_t k = 0; k < json_array_size(fields); k++) {
    const char *name = json_string_value(json_object_get(json_array_get(fields, k), "name"));
    bool known = false;
    for (size_t i = 0; !known && name && i < schema->n_fields; i++) known = strcasecmp(name, schema->fields[i].name) == 0;
    char one[300];
    snprintf(one, sizeof one, "%s: in the table, not in the spec", name ? name : "?");
    if (!known) add_difference(diff, sizeof diff, &used, one);
  }
  if (!used) return BEAM_OK;
  return beam_error_set(err, BEAM_ERR_INVALID_ARG, "bigquery table %s:%s.%s exists with a different schema: %s",
                        q->project, q->dataset, table, diff);
}
