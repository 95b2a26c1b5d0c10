/* The lines of a file whose first byte lies in a byte range [start, end): the stream a
 * reader of one split of a file reads (Beam's rule: a record belongs to the range its first
 * byte lies in).
 *
 * A range with start > 0 skips to the first line start at or after start: the byte after
 * the first '\n' at or after offset start - 1, so a line starting exactly at start is
 * kept and a line that began earlier is left to the range before. The stream then runs past
 * end to finish the line that holds byte end - 1 (up to and including its '\n', or to the
 * end of the file), so every line is read by exactly one range of a partition, a CR LF split
 * over a boundary included. A range whose bytes hold no line start (one long line spans it)
 * yields nothing. In a file that begins with a UTF-8 BOM the first line starts after it, at
 * byte 3 (the offset its record reports and a range claims it at). */
#ifndef BEAM_TRANSFORMS_RANGE_SOURCE_H
#define BEAM_TRANSFORMS_RANGE_SOURCE_H

#include <stdint.h>

#include "beam/transforms/byte_source.h"

/* No end: the range runs to the end of the file. */
#define BEAM_RANGE_NO_END UINT64_MAX

/* Takes ownership of inner, even on failure. start > 0 seeks inner (it must have a seek op);
 * start = 0 reads inner from where it is, which must be the file's first byte. *first is the
 * file offset of the first byte the source yields (a line start; when the range holds none,
 * the source is empty and *first is meaningless). The source is not seekable. */
beam_status beam_range_source_open(beam_byte_source *inner, uint64_t start, uint64_t end,
                                   beam_byte_source **out, uint64_t *first, beam_error *err);

#endif
