/* A table's own partitioning and clustering (beam_sink_table_options): its names and the
 * front's check that they fit the table's schema, so no sink has to judge them again. */
#include "sink_int.h"

const char *beam_sink_partition_granularity_name(beam_sink_partition_granularity g) {
  switch (g) {
    case BEAM_SINK_PARTITION_DAY: return "DAY";
    case BEAM_SINK_PARTITION_HOUR: return "HOUR";
    case BEAM_SINK_PARTITION_MONTH: return "MONTH";
    case BEAM_SINK_PARTITION_YEAR: return "YEAR";
  }
  return "DAY";
}

beam_status beam_sink_table_options_check(const char *table, const beam_etl_schema *schema,
                                          const beam_sink_table_options *topts, beam_error *err) {
  if (topts->partition_field) {
    int i = beam_etl_schema_find(schema, topts->partition_field);
    beam_etl_type t = i < 0 ? BEAM_ETL_STRING : schema->fields[i].type;
    if (i < 0)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "table %s: partition field \"%s\" is not in its schema", table,
                            topts->partition_field);
    if (t != BEAM_ETL_TIMESTAMP && t != BEAM_ETL_DATE)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "table %s: partition field \"%s\" is %s, not TIMESTAMP or DATE",
                            table, topts->partition_field, beam_etl_type_name(t));
    if (topts->partition_granularity == BEAM_SINK_PARTITION_HOUR && t != BEAM_ETL_TIMESTAMP)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "table %s: HOUR partitioning needs a TIMESTAMP field, \"%s\" is %s",
                            table, topts->partition_field, beam_etl_type_name(t));
  }
  if ((unsigned)topts->partition_granularity > BEAM_SINK_PARTITION_YEAR)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "table %s: unknown partition granularity %d", table,
                          (int)topts->partition_granularity);
  if (topts->n_cluster_fields > 4)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "table %s: %zu clustering fields, at most 4", table,
                          topts->n_cluster_fields);
  for (size_t k = 0; k < topts->n_cluster_fields; k++)
    if (!topts->cluster_fields[k] || beam_etl_schema_find(schema, topts->cluster_fields[k]) < 0)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "table %s: clustering field \"%s\" is not in its schema", table,
                            topts->cluster_fields[k] ? topts->cluster_fields[k] : "(null)");
  return BEAM_OK;
}
