/* Beam's decimal encoding (Java BigDecimalCoder): varint scale, then the unscaled value as
 * nested big-endian two's-complement bytes. beam-c carries decimals as text. */
#ifndef BEAM_CODER_DECIMAL_H
#define BEAM_CODER_DECIMAL_H

#include "beam/arena.h"
#include "beam/buf.h"
#include "beam/status.h"
#include "beam/value.h"

/* Longest unscaled value accepted, in bytes (about 1200 decimal digits). */
#define BEAM_DECIMAL_MAX_BYTES 512

beam_status beam_coder_decimal_decode(beam_reader *in, beam_arena *arena, beam_bytes *text,
                                      beam_error *err);
beam_status beam_coder_decimal_encode(const char *text, size_t len, beam_buf *out, beam_error *err);

#endif
