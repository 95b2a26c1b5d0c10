/* CSV records (RFC 4180) over a beam_byte_source, streaming with one reusable buffer.
 *
 * - Fields are separated by a configurable delimiter (',', ';', '\t', '|', ...) and may be
 *   quoted with a configurable quote char; inside quotes the delimiter, CR and LF are data
 *   and a doubled quote is one quote. Records end at LF or CRLF (outside quotes).
 * - header = true: the first record names the columns; names (trimmed) map to schema
 *   fields exactly, else case-insensitively; unknown columns are ignored; schema fields
 *   missing from the header stay ABSENT; a column named twice is a fatal error. header =
 *   false: columns map to schema fields in order. A UTF-8 BOM at the start is skipped.
 * - Blank lines (nothing, or just CR) are skipped: they are not records.
 * - origin.line is the 1-based physical line on which the record starts (so the header is
 *   line 1 and the first data row line 2), origin.raw the record as in the file without its
 *   line terminator (embedded newlines included).
 * - Bad records are returned as BEAM_READ_BAD_RECORD and reading continues with the next
 *   line: a quote inside an unquoted field, text after a closing quote ("bad CSV quoting at
 *   column N: ..."), a field count different from the header's (or the schema's without a
 *   header) ("expected N fields, found M"). An unterminated quote swallows the rest of the
 *   input (there is no well-defined next record) and is a bad record at that line.
 * - Cells are TEXT (empty fields are empty TEXT; null tokens are the clean stage's call),
 *   NUL-terminated, in the arena passed to next. */
#ifndef BEAM_TRANSFORMS_CSV_READER_H
#define BEAM_TRANSFORMS_CSV_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/arena.h"
#include "beam/transforms/byte_source.h"
#include "beam/transforms/etl_types.h"
#include "beam/transforms/parse_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_csv_options {
  char delimiter;  /* 0 -> ',' */
  char quote;      /* 0 -> '"' */
  bool no_quoting; /* quote chars are plain data */
  bool header;     /* first record is a header */
} beam_csv_options;

/* ',' '"' quoting on, header on. */
void beam_csv_options_init(beam_csv_options *o);

typedef struct beam_csv_reader beam_csv_reader;

/* src and schema are borrowed (schema may be NULL: records are split and checked, no
 * cells). buffer_size / max_record 0 pick 64 KiB / 64 MiB. */
beam_status beam_csv_reader_open(beam_byte_source *src, const beam_csv_options *opts,
                                 const beam_etl_schema *schema, size_t buffer_size,
                                 size_t max_record, beam_csv_reader **out, beam_error *err);
/* See parse_error.h for the result contract. Record memory comes from arena. */
beam_status beam_csv_reader_next(beam_csv_reader *r, beam_arena *arena, beam_etl_record *rec,
                                 beam_read_result *res, beam_etl_parse_error *perr,
                                 beam_error *err);
/* Reads the header now (header on; a no-op otherwise or when already read) and sets
 * *header_end to the file offset just past it (0 without a header): a byte range of the
 * file must skip it. */
beam_status beam_csv_reader_read_header(beam_csv_reader *r, uint64_t *header_end, beam_error *err);
/* Makes r read one byte range of the file (range_source.h): from here on it reads src
 * (borrowed; may be the source it was opened over), whose first byte is the file's byte
 * offset. Call it before the first next, or after beam_csv_reader_read_header (the header's
 * columns are kept). Past offset 0 origin.line is 0 (unknown) and messages name byte offsets.
 *
 * A range is cut at '\n', which is wrong inside a quoted field, so a record with a newline
 * inside quotes, or a quote still open where the range's stream ends, is a fatal
 * BEAM_ERR_UNSUPPORTED ("CSV with newlines inside quoted fields cannot be split: read it
 * unsplit", naming the file and byte offset) and beam_csv_reader_split_refused turns true:
 * the caller must drop every range of the file and read it whole. Why that catches every
 * such file: all newlines before a file's first quoted newline Q are outside quotes, so every
 * range boundary before Q is a true record start; the range holding the start of Q's record
 * is therefore parsed in sync and meets Q (its stream runs at least to the first newline at
 * or after its end - 1, and none lies between the record's start and Q). Ranges after Q may be
 * out of sync and return wrong rows without noticing, hence "drop every range": the failure
 * is the file's, not one range's. beam_csv_find_quoted_newline answers the question up
 * front, before a file is split. */
void beam_csv_reader_read_range(beam_csv_reader *r, beam_byte_source *src, uint64_t offset);
/* True once next has refused a split read (see beam_csv_reader_read_range). */
bool beam_csv_reader_split_refused(const beam_csv_reader *r);
/* Reads src (from its current position, which must be the file's start) to its end and sets
 * *offset to the file offset of the first '\n' inside a quoted field, or -1 when there is
 * none, so byte ranges cut at newlines are record boundaries. Quoting as the reader sees it
 * (opts: delimiter and quote; NULL = defaults): a quote opens a field only at a field start,
 * a doubled quote escapes; no_quoting: -1 without reading. A file's BOM is skipped. */
beam_status beam_csv_find_quoted_newline(beam_byte_source *src, const beam_csv_options *opts,
                                         int64_t *offset, beam_error *err);
/* Number of header columns (after the first next), or 0. */
size_t beam_csv_reader_header_count(const beam_csv_reader *r);
void beam_csv_reader_close(beam_csv_reader *r);

#ifdef __cplusplus
}
#endif
#endif
