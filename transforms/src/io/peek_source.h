/* A pass-through source that has looked ahead: format sniffing reads the first bytes of a
 * stream (past a BOM and blank space) and must hand every byte on to the real reader. */
#ifndef BEAM_TRANSFORMS_PEEK_SOURCE_H
#define BEAM_TRANSFORMS_PEEK_SOURCE_H

#include "beam/transforms/byte_source.h"

/* Reads ahead until the first byte that is not a BOM or ASCII whitespace (at most 64 KiB)
 * and returns it in *first (-1 if none: empty or all blank). Takes ownership of inner, even
 * on failure; the result replays the peeked bytes and then reads inner. */
beam_status beam_peek_source_open(beam_byte_source *inner, beam_byte_source **out, int *first,
                                  beam_error *err);

#endif
