/* Text lines over a beam_byte_source, with one reusable buffer.
 *
 * Lines end at "\n"; a "\r" before it is stripped too (CRLF files). A last line without a
 * newline is still a line; a file ending in "\n" has no extra empty line after it. Blank
 * lines are returned (callers decide: the JSONL reader skips them but keeps counting).
 * A UTF-8 BOM at the start is skipped. A line longer than max_line is a fatal error
 * naming the line number. */
#ifndef BEAM_TRANSFORMS_LINE_READER_H
#define BEAM_TRANSFORMS_LINE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/transforms/byte_source.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_line_reader beam_line_reader;

/* src is borrowed. buffer_size / max_line 0 pick 64 KiB / 64 MiB. */
beam_status beam_line_reader_open(beam_byte_source *src, size_t buffer_size, size_t max_line,
                                  beam_line_reader **out, beam_error *err);
/* On BEAM_OK: *eof, or *line and *len (without the terminator; line[len] is a writable NUL
 * that the caller may overwrite) and *lineno (1-based physical line). The line stays
 * valid, and may be modified in place, until the next call. */
beam_status beam_line_reader_next(beam_line_reader *lr, char **line, size_t *len,
                                  int64_t *lineno, bool *eof, beam_error *err);
/* Says, before the first next, that src's first byte is the file's byte offset (a byte
 * range's stream, range_source.h): offsets are the file's, and past offset 0 no BOM is looked
 * for and line numbers are unknown, so *lineno is 0 and messages name the byte offset. */
void beam_line_reader_start_at(beam_line_reader *lr, uint64_t offset);
/* The byte offset in the stream where the line last returned by next starts. */
uint64_t beam_line_reader_offset(const beam_line_reader *lr);
void beam_line_reader_close(beam_line_reader *lr);

#ifdef __cplusplus
}
#endif
#endif
