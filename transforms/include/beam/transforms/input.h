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
 * Splitting (one file read as many units, e.g. by parallel workers): range_start/range_end
 * make the input read one byte range of a plain (not gzip) local file or GCS object with
 * exact record boundaries - a record belongs to the range its first byte lies in (see
 * byte_ranges.h for the rule, the planner and the split queries). A ZIP archive's range reads
 * the members whose local header starts in it, each whole, in header order
 * (beam_zip_members_in); origin.member_offset names that header. zip_member reads one
 * member of a ZIP. A range that is the whole file reads exactly as the unsplit input.
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
#include "beam/transforms/byte_ranges.h"
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
  /* The byte range [range_start, range_end) of the file to read: the records whose first
   * byte lies in it. range_end <= 0 means to the end of the file, so the zeroed default is
   * the whole file; range_start >= range_end > 0 is an empty range. A range other than the
   * whole file needs a seekable file, not gzip (else BEAM_ERR_UNSUPPORTED); of a ZIP it reads
   * the members whose local header lies in it (each whole, line numbers known);
   * origin.offset is always the true file offset, origin.line is only known in a range that
   * starts at 0 and is 0 ("unknown") in the others; a CSV range that is not the whole file
   * fails on a newline inside quotes (see split_refused). A CSV header is read from the
   * file's start by every range and returned as data by none; a BOM is seen only by the
   * range starting at 0. */
  int64_t range_start;
  int64_t range_end;
  /* 0: every member of a ZIP; k >= 1: only its k-th file entry (1-based, directories and
   * "__MACOSX/" entries not counted: beam_input_split_info.members says how many). */
  size_t zip_member;
} beam_input_options;

void beam_input_options_init(beam_input_options *o);

typedef struct beam_input_stats {
  int64_t records;       /* records returned, good and bad */
  int64_t bad_records;   /* of which BEAM_READ_BAD_RECORD */
  uint64_t bytes_read;   /* bytes read from the underlying file/object (compressed) */
  int64_t size;          /* its size in bytes, or -1 if unknown */
  int64_t members;       /* ZIP members opened so far (0 for plain files) */
  double elapsed_seconds; /* since open, for rates */
  /* next failed because the file cannot be read by byte ranges (a CSV newline inside a
   * quoted field): drop the output of every range of this file and read it as one unit. */
  bool split_refused;
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

/* How a file may be split into units of work. */
typedef enum beam_input_split_kind {
  BEAM_INPUT_SPLIT_WHOLE = 0, /* one unit: gzip, a JSON array document, not a regular file */
  BEAM_INPUT_SPLIT_BYTES,     /* byte ranges (range_start/range_end): plain CSV, TSV, JSON
                               * lines, lines. A CSV file also needs
                               * beam_input_find_quoted_newline to say -1. */
  BEAM_INPUT_SPLIT_MEMBERS    /* a ZIP: byte ranges cut at members' local headers
                               * (beam_input_zip_ranges), each member read whole */
} beam_input_split_kind;

typedef struct beam_input_split_info {
  beam_input_split_kind kind;
  beam_input_format format; /* the format the input reads it as (AUTO for a ZIP or gzip) */
  int64_t size;             /* the file's size in bytes, -1 when unknown */
  size_t members;           /* MEMBERS: the ZIP's file entries */
  int64_t content_size;     /* MEMBERS: their uncompressed bytes (what reading them costs) */
  const char *reason;       /* WHOLE: why, a static string for messages */
} beam_input_split_info;

/* Decides how the file at path (local or gs://) may be split, from its name, its first
 * bytes (64 KiB at most, and the ZIP's central directory) and opts (format, as for
 * beam_input_open): cheap, no full read. */
beam_status beam_input_splittable(const char *path, const beam_input_options *opts,
                                  beam_input_split_info *out, beam_error *err);
/* The same over a source the caller opened; takes ownership of src, even on failure. */
beam_status beam_input_splittable_source(beam_byte_source *src, const beam_input_options *opts,
                                         beam_input_split_info *out, beam_error *err);

/* The byte ranges of [start, end) of the ZIP archive at path (local or gs://) for split_size:
 * beam_zip_plan_ranges over its central directory. The array is malloc'd. */
beam_status beam_input_zip_ranges(const char *path, int64_t start, int64_t end, int64_t split_size,
                                  beam_byte_range **out, size_t *n, beam_error *err);
/* Scans the CSV file at path (local or gs://; read whole, so meant for local files: several
 * hundred MB/s) for a newline inside a quoted field, with opts' quoting and delimiter ('\t'
 * for a .tsv name under AUTO, as beam_input_open reads it). *offset: the file offset of the
 * first such newline, or -1 when there is none and byte ranges are safe. A file that has one
 * must be read as one unit (beam_csv_reader_read_range says why). */
beam_status beam_input_find_quoted_newline(const char *path, const beam_input_options *opts,
                                           int64_t *offset, beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
