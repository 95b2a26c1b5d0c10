/* The pipeline's single entry point for reading an input file as schema'd records.
 *
 *   beam_input_options o;
 *   beam_input_options_init(&o);            // format auto, CSV ',' '"' with header
 *   beam_input *in;
 *   if (beam_input_open(path, &o, schema, &in, &err) != BEAM_OK) fail(err.message);
 *   for (;;) {
 *     beam_read_result res;
 *     if (beam_input_next(in, arena, &rec, &res, &perr, &err) != BEAM_OK) fail(err.message);
 *     if (res == BEAM_READ_EOF) break;
 *     if (res == BEAM_READ_BAD_RECORD) dead_letter(&rec.origin, "parse", perr.message);
 *     else process(&rec);
 *   }
 *   beam_input_close(in);
 *
 * Containers are recognised whatever the format option says: gzip by its magic bytes
 * (1f 8b) at any level, ZIP by the ".zip" extension or its magic ("PK\3\4"). A ZIP's
 * members are read one after another in central-directory order, each with its own CSV
 * header; origin.source then names "archive.zip!member.csv". Directories and "__MACOSX/"
 * entries are skipped. A member whose extension (after an optional ".gz") is not .csv,
 * .tsv, .jsonl, .json, .ndjson or .txt is returned as one BEAM_READ_BAD_RECORD (line 0,
 * empty raw) saying so, so it lands in the dead letter instead of vanishing.
 *
 * format AUTO decides per file (or member) from the extension after stripping ".gz":
 * .csv -> CSV, .tsv -> CSV with tab delimiter, .jsonl/.json/.ndjson -> JSONL; otherwise
 * the first non-blank byte decides: '{' -> JSONL, anything else -> CSV. LINES makes each
 * physical line (blank ones included) a record whose first schema field holds the text.
 *
 * Result contract: see parse_error.h. A non-OK status is fatal for the input (I/O error,
 * corrupt or truncated archive or gzip, a record over max_record bytes); the message names
 * the file or "archive!member" and, where it applies, the line. Record memory (cells, raw
 * text) lives in the arena passed to next; origin.source lives until beam_input_close. */
#ifndef BEAM_TRANSFORMS_INPUT_H
#define BEAM_TRANSFORMS_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/arena.h"
#include "beam/transforms/byte_source.h"
#include "beam/transforms/csv_reader.h"
#include "beam/transforms/etl_types.h"
#include "beam/transforms/parse_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum beam_input_format {
  BEAM_INPUT_FORMAT_AUTO = 0,
  BEAM_INPUT_FORMAT_CSV,
  BEAM_INPUT_FORMAT_JSONL,
  BEAM_INPUT_FORMAT_LINES
} beam_input_format;

/* "auto", "csv", "tsv" (CSV + tab: *tab_delimiter set), "jsonl", "json", "ndjson",
 * "lines", "text". tab_delimiter may be NULL. */
beam_status beam_input_format_parse(const char *name, beam_input_format *out,
                                    bool *tab_delimiter, beam_error *err);
const char *beam_input_format_name(beam_input_format f);

typedef struct beam_input_options {
  beam_input_format format;
  beam_csv_options csv; /* delimiter 0: ',' (or '\t' for .tsv under AUTO) */
  size_t buffer_size;   /* read buffer per stream; 0 = 64 KiB */
  size_t max_record;    /* longest record before a fatal error; 0 = 64 MiB */
} beam_input_options;

void beam_input_options_init(beam_input_options *o);

typedef struct beam_input_stats {
  int64_t records;       /* records returned, good and bad */
  int64_t bad_records;   /* of which BEAM_READ_BAD_RECORD */
  uint64_t bytes_read;   /* bytes read from the underlying file/object (compressed) */
  int64_t size;          /* its size in bytes, or -1 if unknown */
  int64_t members;       /* ZIP members opened so far (0 for plain files) */
  double elapsed_seconds; /* since open, for rates */
} beam_input_stats;

typedef struct beam_input beam_input;

/* path: a local file or a GCS object "gs://bucket/object" (streamed, see byte_source.h). schema is borrowed and may be NULL
 * (records are split and checked, no cells: for counting). opts NULL = defaults. */
beam_status beam_input_open(const char *path, const beam_input_options *opts,
                            const beam_etl_schema *schema, beam_input **out, beam_error *err);
/* The same over a source the caller opened (e.g. a GCS object stream); takes ownership
 * of src, even on failure. Its name drives AUTO detection. */
beam_status beam_input_open_source(beam_byte_source *src, const beam_input_options *opts,
                                   const beam_etl_schema *schema, beam_input **out,
                                   beam_error *err);
beam_status beam_input_next(beam_input *in, beam_arena *arena, beam_etl_record *rec,
                            beam_read_result *res, beam_etl_parse_error *perr,
                            beam_error *err);
void beam_input_get_stats(const beam_input *in, beam_input_stats *stats);
/* The file or object the input reads, as opened (NULL once a plain file's stream has ended):
 * what its identity is taken from (file_identity.h). */
const beam_byte_source *beam_input_source(const beam_input *in);
void beam_input_close(beam_input *in);

#ifdef __cplusplus
}
#endif
#endif
