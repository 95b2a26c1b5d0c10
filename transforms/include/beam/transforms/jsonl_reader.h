/* JSON Lines records over a beam_byte_source: one JSON object per line, parsed with the
 * fast in-place parser (json_record.h).
 *
 * Blank lines (only spaces, tabs, CR) are skipped but still counted, so origin.line is the
 * physical 1-based line number a user finds in an editor; origin.raw is the line without
 * its terminator. A malformed line is a BEAM_READ_BAD_RECORD and reading continues with
 * the next line. A file whose first non-blank line starts with '[' (one JSON array, not
 * JSON Lines) is a fatal error saying so. */
#ifndef BEAM_TRANSFORMS_JSONL_READER_H
#define BEAM_TRANSFORMS_JSONL_READER_H

#include <stddef.h>

#include "beam/arena.h"
#include "beam/transforms/byte_source.h"
#include "beam/transforms/etl_types.h"
#include "beam/transforms/parse_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_jsonl_reader beam_jsonl_reader;

/* src and schema are borrowed; schema may be NULL (lines are validated, no cells).
 * buffer_size / max_record 0 pick 64 KiB / 64 MiB. */
beam_status beam_jsonl_reader_open(beam_byte_source *src, const beam_etl_schema *schema,
                                   size_t buffer_size, size_t max_record,
                                   beam_jsonl_reader **out, beam_error *err);
beam_status beam_jsonl_reader_next(beam_jsonl_reader *r, beam_arena *arena,
                                   beam_etl_record *rec, beam_read_result *res,
                                   beam_etl_parse_error *perr, beam_error *err);
/* Says, before the first next, that src's first byte is the file's byte offset (a byte
 * range, see beam_line_reader_start_at): past offset 0 origin.line is 0 (unknown) and the
 * JSON-array check, which belongs to the file's first line, is not made. */
void beam_jsonl_reader_start_at(beam_jsonl_reader *r, uint64_t offset);
void beam_jsonl_reader_close(beam_jsonl_reader *r);

#ifdef __cplusplus
}
#endif
#endif
