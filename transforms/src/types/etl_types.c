/* ETL vocabulary: type names and the two bookkeeping schemas every pipeline writes. */
#include "beam/transforms/etl_types.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

typedef struct etl_type_alias {
  const char *name;
  beam_etl_type type;
} etl_type_alias;

/* BigQuery's standard SQL names first (a type's first entry is the name beam_etl_type_name
 * gives it), then the legacy-SQL and schema-JSON aliases it also accepts, so a schema
 * exported from BigQuery loads unchanged. */
static const etl_type_alias etl_type_aliases[] = {
    {"STRING", BEAM_ETL_STRING},       {"INT64", BEAM_ETL_INT64},
    {"FLOAT64", BEAM_ETL_FLOAT64},     {"NUMERIC", BEAM_ETL_NUMERIC},
    {"BOOL", BEAM_ETL_BOOL},           {"TIMESTAMP", BEAM_ETL_TIMESTAMP},
    {"DATE", BEAM_ETL_DATE},           {"BYTES", BEAM_ETL_BYTES},
    {"INTEGER", BEAM_ETL_INT64},       {"INT", BEAM_ETL_INT64},
    {"FLOAT", BEAM_ETL_FLOAT64},       {"BOOLEAN", BEAM_ETL_BOOL},
    {"DECIMAL", BEAM_ETL_NUMERIC},
};

/* Real BigQuery types this build cannot hold: named so the error says "unsupported"
 * rather than "unknown" (the user did not make a typo). */
static const char *const etl_unsupported_types[] = {
    "BIGNUMERIC", "BIGDECIMAL", "DATETIME", "TIME", "GEOGRAPHY", "JSON",
    "RECORD", "STRUCT", "INTERVAL", "RANGE", "ARRAY",
};

beam_status beam_etl_type_parse(const char *name, beam_etl_type *out) {
  if (!name || !out) return BEAM_ERR_INVALID_ARG;
  for (size_t i = 0; i < sizeof etl_type_aliases / sizeof etl_type_aliases[0]; i++) {
    if (strcasecmp(name, etl_type_aliases[i].name) == 0) {
      *out = etl_type_aliases[i].type;
      return BEAM_OK;
    }
  }
  for (size_t i = 0; i < sizeof etl_unsupported_types / sizeof etl_unsupported_types[0]; i++)
    if (strcasecmp(name, etl_unsupported_types[i]) == 0) return BEAM_ERR_UNSUPPORTED;
  return BEAM_ERR_NOT_FOUND;
}

const char *beam_etl_type_name(beam_etl_type t) {
  for (size_t i = 0; i < sizeof etl_type_aliases / sizeof etl_type_aliases[0]; i++)
    if (etl_type_aliases[i].type == t) return etl_type_aliases[i].name;
  return "UNKNOWN";
}

int beam_etl_schema_find(const beam_etl_schema *s, const char *name) {
  if (!s || !name) return -1;
  for (size_t i = 0; i < s->n_fields; i++)
    if (s->fields[i].name && strcmp(s->fields[i].name, name) == 0) return (int)i;
  return -1;
}

bool beam_etl_schema_equal(const beam_etl_schema *a, const beam_etl_schema *b, bool with_modes) {
  if (a == b) return true;
  if (a->n_fields != b->n_fields) return false;
  for (size_t i = 0; i < a->n_fields; i++)
    if (strcmp(a->fields[i].name, b->fields[i].name) != 0 || a->fields[i].type != b->fields[i].type ||
        (with_modes && a->fields[i].mode != b->fields[i].mode))
      return false;
  return true;
}

/* String literals are char[] in C, so they initialise the non-const name pointers; the
 * schemas are never written through them. */
static beam_etl_field etl_dead_letter_fields[] = {
    {"source", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},
    {"line", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"raw", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
    {"error", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},
    {"stage", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},
    /* Where the record starts in its source (file, or the decompressed stream of a gzip file or
     * ZIP member): finds it when line numbers cannot (a record split across ranges, a binary
     * editor). Last and NULLABLE, so a table of an earlier release gains it. */
    {"offset", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    /* Added by the streaming release: the Pub/Sub message a dead letter came from (NULL for
     * files); last and NULLABLE, so tables of earlier releases gain it. */
    {"message_id", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
};
static const beam_etl_schema etl_dead_letter_schema = {
    etl_dead_letter_fields, sizeof etl_dead_letter_fields / sizeof etl_dead_letter_fields[0]};

static beam_etl_field etl_files_fields[] = {
    {"name", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},
    {"size_bytes", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"records", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"written", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"dead_lettered", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"filtered", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"deduplicated", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"runner", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
    {"started_at", BEAM_ETL_TIMESTAMP, BEAM_ETL_NULLABLE},
    {"finished_at", BEAM_ETL_TIMESTAMP, BEAM_ETL_NULLABLE},
    /* Added by the exactly-once release: nullable and last, so tables of the previous
     * release gain them (beam_sink_ensure_table). */
    {"status", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
    {"error", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
    {"file_id", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
    /* Added by the scale release: how many units (byte ranges) the file was read in. */
    {"ranges", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
};
static const beam_etl_schema etl_files_schema = {
    etl_files_fields, sizeof etl_files_fields / sizeof etl_files_fields[0]};

static beam_etl_field etl_stream_bundles_fields[] = {
    {"subscription", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},
    {"messages", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"written", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"dead_lettered", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"filtered", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"first_publish_time", BEAM_ETL_TIMESTAMP, BEAM_ETL_NULLABLE},
    {"last_publish_time", BEAM_ETL_TIMESTAMP, BEAM_ETL_NULLABLE},
    {"committed_at", BEAM_ETL_TIMESTAMP, BEAM_ETL_NULLABLE},
};
static const beam_etl_schema etl_stream_bundles_schema = {
    etl_stream_bundles_fields, sizeof etl_stream_bundles_fields / sizeof etl_stream_bundles_fields[0]};

const beam_etl_schema *beam_etl_dead_letter_schema(void) { return &etl_dead_letter_schema; }
const beam_etl_schema *beam_etl_stream_bundles_schema(void) { return &etl_stream_bundles_schema; }

bool beam_etl_is_bookkeeping_table(const char *table) {
  return strcmp(table, BEAM_ETL_DEAD_LETTER_TABLE) == 0 || strcmp(table, BEAM_ETL_FILES_TABLE) == 0 ||
         strcmp(table, BEAM_ETL_STREAM_BUNDLES_TABLE) == 0;
}

const beam_etl_schema *beam_etl_bookkeeping_schema(const char *table) {
  if (strcmp(table, BEAM_ETL_DEAD_LETTER_TABLE) == 0) return &etl_dead_letter_schema;
  if (strcmp(table, BEAM_ETL_FILES_TABLE) == 0) return &etl_files_schema;
  if (strcmp(table, BEAM_ETL_STREAM_BUNDLES_TABLE) == 0) return &etl_stream_bundles_schema;
  return NULL;
}
const beam_etl_schema *beam_etl_files_schema(void) { return &etl_files_schema; }
