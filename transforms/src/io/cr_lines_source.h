/* Classic Mac line endings: a file whose lines end in CR alone (old "CSV (Macintosh)"
 * exports) read by the line readers, which end records at LF. Internal to the io layer. */
#ifndef BEAM_TRANSFORMS_CR_LINES_SOURCE_H
#define BEAM_TRANSFORMS_CR_LINES_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/transforms/byte_source.h"

/* True when the first bytes of a stream (buf, len: up to 64 KiB) hold a CR and no LF. */
bool beam_cr_only_lines(const uint8_t *buf, size_t len);

/* A pass-through over inner that reads its first 64 KiB ahead and, when they have
 * CR-only line endings (beam_cr_only_lines), hands every CR on as LF: byte for byte, so
 * records keep their offsets. Otherwise the bytes pass unchanged. *translated says which.
 * Takes ownership of inner, even on failure. */
beam_status beam_cr_lines_source_open(beam_byte_source *inner, beam_byte_source **out, bool *translated,
                                      beam_error *err);

#endif
