/* A pass-through source that has looked ahead: format sniffing reads the first bytes of a
 * stream (past a BOM and blank space) and must hand every byte on to the real reader. The
 * look also tells classic Mac line endings (lines that end in CR alone, old "CSV
 * (Macintosh)" exports), which the source then hands on as LF, byte for byte, so that the
 * line readers (which end records at LF) see those lines at the same offsets. */
#ifndef BEAM_TRANSFORMS_PEEK_SOURCE_H
#define BEAM_TRANSFORMS_PEEK_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/transforms/byte_source.h"

/* True when the first bytes of a stream (buf, len: up to 64 KiB) hold a CR and no LF. */
bool beam_cr_only_lines(const uint8_t *buf, size_t len);

/* Reads ahead until the first byte that is not a BOM or ASCII whitespace and the first LF
 * (at most 64 KiB). *first is that byte (-1 if none: empty or all blank); *cr_only says
 * whether the bytes read have CR-only line endings (beam_cr_only_lines), and then every CR
 * the source yields is LF. Takes ownership of inner, even on failure; the result replays the
 * peeked bytes and then reads inner. */
beam_status beam_peek_source_open(beam_byte_source *inner, beam_byte_source **out, int *first, bool *cr_only,
                                  beam_error *err);

#endif
