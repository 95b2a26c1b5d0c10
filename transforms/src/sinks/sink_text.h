/* Text forms of typed values shared by the sinks (private to transforms/src).
 *
 * TIMESTAMP micros -> "2024-01-02T03:04:05.123456Z" (fraction omitted when zero),
 * DATE days -> "2024-01-02". Years outside 0000..9999 are written with a sign and at
 * least four digits (ISO 8601 expanded form), e.g. "-0001-12-31", "+10000-01-01".
 * These are local until the shared ETL formatting helpers land; the output is the
 * canonical form the readers parse, so swapping implementations changes nothing. */
#ifndef BEAM_TRANSFORMS_SINK_TEXT_H
#define BEAM_TRANSFORMS_SINK_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Big enough for any int64 input of either function. */
#define BEAM_SINK_TEXT_MAX 48

/* Write into buf (at least BEAM_SINK_TEXT_MAX bytes), NUL-terminate, return the length. */
size_t beam_sink_text_timestamp(int64_t micros, char *buf);
size_t beam_sink_text_date(int64_t days, char *buf);

#endif
