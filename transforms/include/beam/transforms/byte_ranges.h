/* Byte ranges: how one file becomes many units of work.
 *
 * A range is [start, end) of a file's bytes. The readers (beam_input_options.range_start /
 * range_end) follow Beam's rule: a record belongs to the range its first byte lies in. A
 * range starting past 0 skips to the first record start at or after start (the byte after
 * the first '\n' at or after start - 1); it returns every record that starts before end and
 * reads past end to finish the last one. So the ranges of a partition of the file return
 * every record exactly once, whatever the cut points: a line crossing a boundary belongs to
 * the range it starts in, a range inside one long line returns nothing.
 *
 * Which files may be split: beam_input_splittable (input.h) - plain CSV, TSV, JSON lines
 * and lines by bytes; a ZIP by member (a range reads the members whose local header starts
 * in it, beam_zip_plan_ranges cuts at headers); gzip and JSON array documents not at all;
 * and a CSV only when beam_input_find_quoted_newline finds no newline inside quotes. */
#ifndef BEAM_TRANSFORMS_BYTE_RANGES_H
#define BEAM_TRANSFORMS_BYTE_RANGES_H

#include <stddef.h>
#include <stdint.h>

#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_byte_range {
  int64_t start; /* first byte */
  int64_t end;   /* one past the last byte */
} beam_byte_range;

/* At most this many ranges per file: a smaller split size (--split_size=1 on a big file)
 * is raised to size / BEAM_BYTE_RANGES_MAX, so that a run is not millions of units. */
#define BEAM_BYTE_RANGES_MAX 4096

/* How many ranges beam_byte_ranges_plan makes: ceil(size / split_size) (at most
 * BEAM_BYTE_RANGES_MAX), and 1 when split_size <= 0 or size <= split_size (an empty file is
 * one empty range [0, 0), so it is still a unit that reports itself). size < 0 (unknown) is
 * one range. */
size_t beam_byte_ranges_count(int64_t size, int64_t split_size);
/* Range i (< count) of the plan: [i * split_size, min((i + 1) * split_size, size)) (split_size
 * as raised by the cap above); the
 * single range of an unsplit file is [0, size) (or [0, -1) for an unknown size: read with
 * range_end <= 0, to the end). */
beam_byte_range beam_byte_ranges_at(int64_t size, int64_t split_size, size_t i);
/* The whole plan in a malloc'd array the caller frees: consecutive, covering [0, size),
 * none empty except the single range of an empty file. */
beam_status beam_byte_ranges_plan(int64_t size, int64_t split_size, beam_byte_range **out,
                                  size_t *n, beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
