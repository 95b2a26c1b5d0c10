/* The ETL spec: one JSON document describing input format, schema, clean, validate,
 * filter, route and the BigQuery table hints. Loaded and checked once, up front: every
 * regex compiles, the filter parses and type-checks, every field named anywhere exists,
 * and unknown keys are errors (a typo must never be silently ignored).
 *
 *   {"format": "jsonl" | "csv" | "auto",            default "auto" (by file extension)
 *    "csv": {"delimiter": ",", "quote": "\"", "header": true},   one-byte delimiter/quote
 *                                                    (quote "" = no quoting); defaults shown
 *    "schema": [{"name": "event_id", "type": "STRING", "mode": "REQUIRED",
 *                "description": "..."}, ...],       required, non-empty; types and aliases in
 *                                                    etl_types.h; mode NULLABLE (default) or
 *                                                    REQUIRED; names are identifiers, unique
 *                                                    ignoring case (as BigQuery), <= 300 bytes
 *    "clean": {"trim": true, "lowercase": [fields], "uppercase": [fields],
 *              "null_tokens": ["", "NULL", "null", "N/A"], "dedupe_on": "event_id"},
 *                                                    see etl_clean.h; dedupe in etl_dedupe.h
 *    "validate": {"mode": "soft" | "hard", "rules": [...]},      see etl_validate.h
 *    "filter": "amount >= 0 && event_type != 'test'",            see etl_filter.h
 *    "route": {"table": "events_{event_type}", "default": "events_other"},  required; etl_route.h
 *    "partition_field": "ts",                        TIMESTAMP or DATE field (BigQuery)
 *    "cluster_fields": ["event_type"],               up to 4; not FLOAT64 or BYTES (BigQuery)
 *    "outputs": [{"sink": "jsonl:out", "tables": ["events_order"], "where": "amount > 10"}],
 *                                                    destinations besides --sink; etl_destination.h
 *    "description": "..."}                           free text, ignored
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
  char delimiter; /* default ',' */
  char quote;     /* default '"'; '\0' when quoting is off */
  bool header;    /* default true: the first row names the columns */
} beam_etl_csv_options;

typedef struct beam_etl_spec {
  char *name; /* what errors call the spec (file name) */
  beam_etl_format format;
  beam_etl_csv_options csv;
  beam_etl_schema schema;
  beam_etl_clean clean;
  int dedupe_field;          /* schema index, -1 when no dedupe_on */
  beam_etl_validation validate;
  const char *filter_text;   /* NULL when no filter */
  beam_etl_filter *filter;   /* NULL keeps every row */
  beam_etl_route route;
  int partition_field;       /* schema index or -1 */
  int *cluster_fields;       /* schema indexes */
  size_t n_cluster_fields;
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
