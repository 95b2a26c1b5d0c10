/* Typed-value helpers shared by validate, filter, route and dedupe: ordering and text. */
#ifndef BEAM_TRANSFORMS_ETL_VALUE_H
#define BEAM_TRANSFORMS_ETL_VALUE_H

#include <stdbool.h>

#include "beam/transforms/etl_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Orders two non-null values of schema type t (as produced by coercion) into *cmp (<0, 0,
 * >0). STRING and BYTES compare bytewise (UTF-8 code point order), NUMERIC exactly as
 * decimals, BOOL false < true. Returns false when the pair is unordered: a FLOAT64 NaN. */
bool beam_etl_value_compare(beam_etl_type t, const beam_value *a, const beam_value *b, int *cmp);

#define BEAM_ETL_VALUE_TEXT_MAX 40

/* Text form of a typed value, as sinks and messages show it: STRING/NUMERIC/BYTES return
 * the value's own bytes (not NUL-terminated, *len says how many); INT64 decimal; FLOAT64
 * shortest round-trip ("%.17g"-style); BOOL true/false; TIMESTAMP/DATE canonical
 * (etl_time.h); NULL "null". Non-string forms are written to buf. */
const char *beam_etl_value_text(beam_etl_type t, const beam_value *v, char buf[BEAM_ETL_VALUE_TEXT_MAX],
                                size_t *len);

#ifdef __cplusplus
}
#endif
#endif
