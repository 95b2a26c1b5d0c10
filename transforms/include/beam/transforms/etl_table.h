/* A routed row's table: its schema, the row in the table's shape, and the table's sink
 * options, from the spec's "tables" (etl_spec.h, "Tables").
 *
 * Records are parsed against the union of the spec's schemas; once routed, a row takes its
 * table's shape (only the table's columns, in its order; its REQUIRED fields checked) before
 * it leaves ReadAndProcess, so every destination and dedupe see the rows the table holds.
 * Without "tables" every table has the spec's schema and nothing changes. */
#ifndef BEAM_TRANSFORMS_ETL_TABLE_H
#define BEAM_TRANSFORMS_ETL_TABLE_H

#include "beam/transforms/etl_spec.h"
#include "beam/transforms/sink.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The "tables" entry named table, or NULL. */
const beam_etl_table_spec *beam_etl_spec_table(const beam_etl_spec *spec, const char *table);

/* The schema of a routed table's rows: its entry's, else the top-level one (spec->schema when
 * the spec has no tables); NULL when it has no entry and the spec no top-level schema. */
const beam_etl_schema *beam_etl_table_schema(const beam_etl_spec *spec, const char *table);

/* Gives row (typed in spec->schema, routed to table) its table's shape: values in arena (the
 * top-level schema's are a prefix of the union's, so those rows are not copied). rec (may be
 * NULL) tells a missing field from a null one in messages. BEAM_ERR_USER, the dead-letter
 * reason, for a null REQUIRED field ("table \"events_order\": field \"order_date\": required
 * but missing") or a table without a schema; BEAM_ERR_NOMEM. */
beam_status beam_etl_row_to_table(const beam_etl_spec *spec, const char *table, const beam_etl_record *rec,
                                  beam_arena *arena, beam_etl_row *row, beam_error *err);

/* The index in row_schema (a table's rows' schema, from beam_etl_table_schema) of field
 * union_field of spec->schema, or -1 when the table lacks it. */
int beam_etl_table_field_index(const beam_etl_spec *spec, const beam_etl_schema *row_schema, int union_field);

/* row (in its table's shape) seen in the union's shape, for what was compiled against the
 * union schema (a destination's `where`): the table's values at their union positions, NULL
 * for the fields the table lacks. *out aliases row's values when row is in the union's shape
 * already; otherwise the array is allocated in arena. */
beam_status beam_etl_row_in_union(const beam_etl_spec *spec, const beam_etl_row *row, beam_arena *arena,
                                  beam_etl_row *out, beam_error *err);

/* The field of row_schema (the rows of table, in its shape) whose time is the row's event time
 * and partition: the table's partition_field (its entry's, else the top-level one), else the
 * spec's event_time_field; -1 when neither (a stream then takes the publish time). *key (may
 * be NULL) says which, for messages. */
int beam_etl_table_time_field(const beam_etl_spec *spec, const char *table, const beam_etl_schema *row_schema,
                              const char **key);

/* beam_sink_ensure_table_with for a routed table: its entry's partitioning and clustering,
 * else the top-level ones; without a partition field the spec's event_time_field (DAY). Bookkeeping tables (_dead_letter, _files) get the sink's own
 * (beam_sink_ensure_table). */
beam_status beam_etl_ensure_table(beam_sink *sink, const beam_etl_spec *spec, const char *table,
                                  const beam_etl_schema *schema, beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
