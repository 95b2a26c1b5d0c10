/* The ETL spec: one JSON document describing input format, schema, clean, validate,
 * filter, route and the BigQuery table hints. Loaded and checked once, up front: every
 * regex compiles, the filter parses and type-checks, every field named anywhere exists,
 * and unknown keys are errors (a typo must never be silently ignored).
 *
 *   {"format": "jsonl" | "csv" | "auto",            default "auto" (by file extension)
 *    "csv": {"delimiter": ",", "quote": "\"", "header": true},   one-byte delimiter/quote
 *                                                    (quote "" = no quoting); defaults shown
 *    "schema": [{"name": "event_id", "type": "STRING", "mode": "REQUIRED",
 *                "description": "...", "source": "_attributes.id"}, ...],
 *                                                    "source" (streams only): the field's value
 *                                                    is the message's attribute or publish
 *                                                    time (etl_message_fields.h), not data's;
 *                                                    non-empty; types and aliases in
 *                                                    etl_types.h; mode NULLABLE (default) or
 *                                                    REQUIRED; names are identifiers, unique
 *                                                    ignoring case (as BigQuery), <= 300 bytes;
 *                                                    required unless "tables" is given
 *    "tables": {"events_order": {"schema": [...], "partition_field": "order_date",
 *               "partition_granularity": "DAY", "cluster_fields": ["status"]}, ...},
 *                                                    optional: tables with their own columns
 *                                                    and options (see "Tables" below)
 *    "clean": {"trim": true, "lowercase": [fields], "uppercase": [fields],
 *              "null_tokens": ["", "NULL", "null", "N/A"], "dedupe_on": "event_id"},
 *                                                    see etl_clean.h; dedupe in etl_dedupe.h
 *    "validate": {"mode": "soft" | "hard", "rules": [...]},      see etl_validate.h
 *    "filter": "amount >= 0 && event_type != 'test'",            see etl_filter.h
 *    "route": {"table": "events_{event_type}", "default": "events_other"},  required; etl_route.h
 *    "partition_field": "ts",                        TIMESTAMP or DATE field (BigQuery)
 *    "partition_granularity": "DAY",                 DAY (default), HOUR (TIMESTAMP only),
 *                                                    MONTH or YEAR (BigQuery's partition type)
 *    "cluster_fields": ["event_type"],               up to 4; not FLOAT64 or BYTES (BigQuery)
 *    "event_time_field": "ts",                       TIMESTAMP or DATE field of every table: the
 *                                                    partition field of tables without one
 *    "outputs": [{"sink": "jsonl:out", "tables": ["events_order"], "where": "amount > 10"}],
 *                                                    destinations besides --sink; etl_destination.h
 *    "description": "..."}                           free text, ignored
 *
 * Tables. Without "tables" every routed table has the top-level schema, partition_field and
 * cluster_fields. With it, records are parsed against the union of the schemas: the
 * top-level fields first, then each table's new ones in order; a field has one type (and one
 * spelling) everywhere, and is NULLABLE in the union. Clean, validate rules, the filter, the
 * route and dedupe_on see the union. After routing, the row takes its table's shape
 * (etl_table.h): only the table's columns, its REQUIRED fields checked (a failure is a dead
 * letter, stage "table", naming the table and the field). A table without an entry gets
 * the top-level schema and options; without a top-level schema such a row is dead-lettered
 * (stage "table"), and a literal route or route.default must then have an entry. An entry's
 * options are its own (nothing is inherited from the top level). Spec checks: every
 * entry's name is one the route can produce (the template's literal parts around
 * placeholder values, or route.default); an entry the template can produce has the
 * template's placeholder fields (its rows carry what routed them); dedupe_on is in every
 * table; partition_field is a TIMESTAMP or DATE field of that table (HOUR: TIMESTAMP);
 * cluster_fields (at most 4, not FLOAT64 or BYTES) are that table's.
 *
 * Errors name the spec and the key path:
 *   spec.json: schema[2].type: unknown type "FLOT64"
 *   spec.json: validate.rules[0].field: no field "amout" in schema
 *   spec.json: validate.rules[1].regex: invalid regex "^[a-z]+-\d+$(": missing closing
 *     parenthesis at offset 13 (field "event_id")
 *   spec.json: filter: unexpected token ')' at column 9
 *   spec.json: unknown key "filtr" (expected one of: format, csv, ...) */
#ifndef BEAM_TRANSFORMS_ETL_SPEC_H
#define BEAM_TRANSFORMS_ETL_SPEC_H

#include <stdbool.h>

#include "beam/arena.h"
#include "beam/status.h"
#include "beam/transforms/etl_clean.h"
#include "beam/transforms/etl_filter.h"
#include "beam/transforms/etl_destination.h"
#include "beam/transforms/etl_route.h"
#include "beam/transforms/etl_types.h"
#include "beam/transforms/etl_validate.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum beam_etl_format {
  BEAM_ETL_FORMAT_AUTO = 0, /* decide from the file name: .csv / .tsv -> CSV, else JSON lines */
  BEAM_ETL_FORMAT_JSONL,
  BEAM_ETL_FORMAT_CSV
} beam_etl_format;

typedef struct beam_etl_csv_options {
  char delimiter; /* '\0' when the spec gives none: tab for a .tsv file, else ',' */
  char quote;     /* default '"'; '\0' when quoting is off */
  bool header;    /* default true: the first row names the columns */
} beam_etl_csv_options;

/* BigQuery's time partitioning types. */
typedef enum beam_etl_partition_granularity {
  BEAM_ETL_PARTITION_DAY = 0,
  BEAM_ETL_PARTITION_HOUR,
  BEAM_ETL_PARTITION_MONTH,
  BEAM_ETL_PARTITION_YEAR
} beam_etl_partition_granularity;

/* "DAY", "HOUR", "MONTH", "YEAR". */
const char *beam_etl_partition_granularity_name(beam_etl_partition_granularity g);

/* One entry of "tables": a table with its own columns and options. */
typedef struct beam_etl_table_spec {
  char *name;
  beam_etl_schema schema;    /* the table's columns, in its own order and modes */
  int *from_union;           /* per column: its index in the spec's (union) schema */
  int partition_field;       /* index in schema, or -1 */
  beam_etl_partition_granularity partition_granularity;
  int *cluster_fields;       /* indexes in schema */
  size_t n_cluster_fields;
  const char **sources;      /* per column: its "source" text, NULL for the data's; NULL: none */
} beam_etl_table_spec;

/* Where a field's value comes from: the record (the message's data, a file's line), or, for a
 * Pub/Sub message, one of its attributes or its publish time (etl_message_fields.h). */
typedef enum beam_etl_source_kind {
  BEAM_ETL_SOURCE_DATA = 0,
  BEAM_ETL_SOURCE_ATTRIBUTE,   /* "_attributes.NAME" */
  BEAM_ETL_SOURCE_PUBLISH_TIME /* "_publish_time" */
} beam_etl_source_kind;

typedef struct beam_etl_field_source {
  beam_etl_source_kind kind;
  const char *attribute; /* ATTRIBUTE: the attribute's name */
} beam_etl_field_source;

typedef struct beam_etl_spec {
  char *name; /* what errors call the spec (file name) */
  beam_etl_format format;
  beam_etl_csv_options csv;
  beam_etl_schema schema;    /* what records are parsed against: the top-level schema, or with
                              * tables the union of every schema (see "Tables") */
  beam_etl_schema top_schema; /* the top-level schema (tables without an entry); no fields when
                               * tables is given without it. Without tables: schema itself */
  beam_etl_table_spec *tables; /* the "tables" entries, in spec order */
  size_t n_tables;
  beam_etl_clean clean;
  int dedupe_field;          /* schema index, -1 when no dedupe_on */
  beam_etl_validation validate;
  const char *filter_text;   /* NULL when no filter */
  beam_etl_filter *filter;   /* NULL keeps every row */
  beam_etl_route route;
  int partition_field;       /* top_schema index or -1 (top_schema's fields lead the union) */
  beam_etl_partition_granularity partition_granularity;
  int *cluster_fields;       /* top_schema indexes */
  size_t n_cluster_fields;
  /* Message fields. sources: per spec->schema field where its value comes from; NULL when
   * every field is the record's. The last n_hidden fields of schema are the message fields
   * route and filter name ("_attributes.NAME", "_publish_time"): no table has them as
   * columns. message_key: the first key naming a message field ("route.table", "filter",
   * "schema[3].source"), what a file input's error names; NULL when none does. */
  beam_etl_field_source *sources;
  size_t n_hidden;
  const char *message_key;
  /* "event_time_field": a TIMESTAMP or DATE field of every table, the partition field of the
   * tables without one (object paths, BigQuery partitioning); -1 when not given. */
  int event_time_field;
  beam_etl_destination *outputs;  /* the spec's "outputs" (etl_destination.h), checked */
  size_t n_outputs;
  beam_arena arena;          /* owns everything above except the compiled regexes */
} beam_etl_spec;

/* Parses json_text (len bytes, need not be NUL-terminated). spec_name prefixes messages
 * (NULL: "spec"). On failure *out is NULL and err says what and where. */
beam_status beam_etl_spec_parse(const char *json_text, size_t len, const char *spec_name, beam_etl_spec **out,
                                beam_error *err);
/* Reads and parses a file; messages are prefixed with the file's path. */
beam_status beam_etl_spec_load_file(const char *path, beam_etl_spec **out, beam_error *err);
void beam_etl_spec_free(beam_etl_spec *spec);

const char *beam_etl_format_name(beam_etl_format f);

#ifdef __cplusplus
}
#endif
#endif
