/* Shared vocabulary of the ETL transforms: table schemas, raw records, typed rows.
 *
 * A record flows: reader (raw bytes of one CSV/JSON record, with file and 1-based record
 * number) -> parser (one text cell per schema field) -> clean (on text) -> coerce (typed
 * values) -> validate -> filter -> route (table name) -> sink. At every step a record that
 * fails becomes a dead-letter row naming the field and the stage; nothing is dropped. */
#ifndef BEAM_TRANSFORMS_ETL_TYPES_H
#define BEAM_TRANSFORMS_ETL_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/arena.h"
#include "beam/status.h"
#include "beam/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum beam_etl_type {
  BEAM_ETL_STRING = 0,
  BEAM_ETL_INT64,
  BEAM_ETL_FLOAT64,
  BEAM_ETL_NUMERIC,   /* exact decimal, kept as normalized text */
  BEAM_ETL_BOOL,
  BEAM_ETL_TIMESTAMP, /* microseconds since the epoch, UTC */
  BEAM_ETL_DATE,      /* days since 1970-01-01 */
  BEAM_ETL_BYTES      /* base64 in text inputs, raw bytes once typed */
} beam_etl_type;

typedef enum beam_etl_mode {
  BEAM_ETL_NULLABLE = 0,
  BEAM_ETL_REQUIRED
} beam_etl_mode;

typedef struct beam_etl_field {
  char *name;
  beam_etl_type type;
  beam_etl_mode mode;
} beam_etl_field;

typedef struct beam_etl_schema {
  beam_etl_field *fields;
  size_t n_fields;
} beam_etl_schema;

/* "STRING" / "INT64" / ... (BigQuery's names; "FLOAT", "INTEGER", "BOOLEAN" accepted as aliases). */
beam_status beam_etl_type_parse(const char *name, beam_etl_type *out);
/* The standard SQL name of t ("STRING", "INT64", ...): what messages and schema files show;
 * "UNKNOWN" for a value outside the enum. */
const char *beam_etl_type_name(beam_etl_type t);
/* Index of a field by name, or -1. */
int beam_etl_schema_find(const beam_etl_schema *s, const char *name);
/* True when both have the same fields in the same order, by name and type (and mode when
 * with_modes): what a sink asks when a table is ensured a second time. */
bool beam_etl_schema_equal(const beam_etl_schema *a, const beam_etl_schema *b, bool with_modes);

/* Where a record came from: what the dead letter reports. */
typedef struct beam_etl_origin {
  const char *source; /* file name (or object URI) */
  int64_t line;       /* 1-based record number within the source (header rows excluded) */
  beam_bytes raw;     /* the record's original text */
  /* Where the record starts in its source: the byte offset in the file, or in the decompressed
   * stream of a gzip file or ZIP member (a BOM counts). With the file's identity it is the
   * record's identity, the same at every relaunch. */
  int64_t offset;
  const char *file_id; /* the identity of the file read (file_identity.h); NULL: not read from a file */
  int64_t file_index;  /* the file's place in the run's input order (0, 1, ...; ListFiles) */
  /* For a record of a ZIP member: the archive offset of the member's local header, where the
   * member lies among the archive's byte ranges (a member belongs to the range its header
   * starts in, and is read whole); -1 for any other record. */
  int64_t member_offset;
  /* The row's event time in microseconds when a stream gives it one (its element's timestamp:
   * the table's partition field, the spec's event_time_field or the publish time); 0: none
   * (files). Object sinks name a row's hour folder by it when its table has no partition
   * field value. */
  int64_t event_time_us;
} beam_etl_origin;

/* Where the record lies among its file's byte ranges (what a range claims and a ledger's
 * committed ranges hold): its member's header in a ZIP archive, else its offset. */
static inline int64_t beam_etl_origin_position(const beam_etl_origin *o) {
  return o->member_offset >= 0 ? o->member_offset : o->offset;
}

/* One text cell of a parsed record, before typing. */
typedef enum beam_etl_cell_state {
  BEAM_ETL_CELL_ABSENT = 0, /* field not present in the record (JSON key missing, short CSV row) */
  BEAM_ETL_CELL_NULL,       /* explicit null (JSON null); CSV null tokens are decided by clean */
  BEAM_ETL_CELL_TEXT,       /* a string (JSON string, unescaped; CSV field, unquoted) */
  BEAM_ETL_CELL_LITERAL,    /* a JSON number / true / false, as written */
  BEAM_ETL_CELL_NESTED      /* a JSON object or array, its raw text */
} beam_etl_cell_state;

typedef struct beam_etl_cell {
  beam_etl_cell_state state;
  const char *data; /* NUL-terminated; lives in the record's arena or the input buffer */
  size_t len;
} beam_etl_cell;

/* A parsed record: one cell per schema field, in schema order. */
typedef struct beam_etl_record {
  const beam_etl_schema *schema;
  beam_etl_cell *cells;
  beam_etl_origin origin;
} beam_etl_record;

/* A typed row: one beam_value per schema field, in schema order:
 * STRING/NUMERIC -> BEAM_VALUE_STRING, INT64/TIMESTAMP/DATE -> BEAM_VALUE_INT64,
 * FLOAT64 -> BEAM_VALUE_DOUBLE, BOOL -> BEAM_VALUE_BOOL, BYTES -> BEAM_VALUE_BYTES,
 * null -> BEAM_VALUE_NULL. */
typedef struct beam_etl_row {
  const beam_etl_schema *schema;
  beam_value *values;
  beam_etl_origin origin;
} beam_etl_row;

/* The stages a dead letter can name. */
#define BEAM_ETL_STAGE_READ "read"
#define BEAM_ETL_STAGE_PARSE "parse"
#define BEAM_ETL_STAGE_CLEAN "clean"
#define BEAM_ETL_STAGE_VALIDATE "validate"
#define BEAM_ETL_STAGE_ROUTE "route"
#define BEAM_ETL_STAGE_TABLE "table" /* the row in its table's shape (etl_table.h) */
#define BEAM_ETL_STAGE_EVENT_TIME "event_time" /* a stream's row without its event time */
#define BEAM_ETL_STAGE_SINK "sink"

/* Dead-letter table: source, line, raw, error, stage, offset, message_id. */
#define BEAM_ETL_DEAD_LETTER_TABLE "_dead_letter"
/* File-info table: name, size_bytes, records, written, dead_lettered, filtered,
 * deduplicated, runner, started_at, finished_at, status ("loaded" or "failed"), error (why a
 * file failed), file_id (the file's identity, file_identity.h). One row per file loaded or
 * failed; a failed file has none of its rows committed. */
#define BEAM_ETL_FILES_TABLE "_files"
#define BEAM_ETL_FILE_LOADED "loaded"
#define BEAM_ETL_FILE_FAILED "failed"

/* Stream-bundle table (a Pub/Sub input's bookkeeping instead of _files): one row per
 * committed bundle and destination: subscription, messages, written, dead_lettered,
 * filtered (messages = written + dead_lettered + filtered), first_publish_time,
 * last_publish_time, committed_at. */
#define BEAM_ETL_STREAM_BUNDLES_TABLE "_stream_bundles"

/* The schemas of the bookkeeping tables (static, never freed). */
const beam_etl_schema *beam_etl_dead_letter_schema(void);
const beam_etl_schema *beam_etl_files_schema(void);
const beam_etl_schema *beam_etl_stream_bundles_schema(void);
/* True for _dead_letter, _files and _stream_bundles (tables of their own schema, not the
 * spec's). */
bool beam_etl_is_bookkeeping_table(const char *table);
/* The schema of a bookkeeping table, or NULL for any other name. */
const beam_etl_schema *beam_etl_bookkeeping_schema(const char *table);

#ifdef __cplusplus
}
#endif
#endif
