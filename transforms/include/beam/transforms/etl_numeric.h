/* NUMERIC: exact decimals kept as normalized text (BigQuery NUMERIC: precision 38, scale 9,
 * i.e. at most 29 integer digits and 9 fractional digits).
 *
 * Accepted input: [+|-] digits [. digits] [(e|E) [+|-] digits], or [+|-] . digits; at least
 * one digit in the mantissa. Normalized output: no '+', no leading zeros (a lone "0" before
 * the point), no trailing fractional zeros, no point when the fraction is empty, no
 * exponent, and "-0" becomes "0". So "+007.5000" -> "7.5" and "1.5e3" -> "1500".
 * A value needing more than 9 fractional digits is rejected, not rounded: the ETL never
 * changes a number silently. Normalized text compares exactly with beam_etl_numeric_compare. */
#ifndef BEAM_TRANSFORMS_ETL_NUMERIC_H
#define BEAM_TRANSFORMS_ETL_NUMERIC_H

#include <stddef.h>

#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BEAM_ETL_NUMERIC_INT_DIGITS 29
#define BEAM_ETL_NUMERIC_SCALE 9
/* Longest normalized text: sign, 29 digits, point, 9 digits. */
#define BEAM_ETL_NUMERIC_MAX_LEN 40

/* Writes the normalized text (NUL-terminated) to out and its length to *out_len.
 * BEAM_ERR_MALFORMED for bad syntax, BEAM_ERR_INVALID_ARG for too many digits. */
beam_status beam_etl_numeric_normalize(const char *s, size_t len, char out[BEAM_ETL_NUMERIC_MAX_LEN + 1],
                                       size_t *out_len);

/* Orders two normalized decimals: <0, 0, >0. */
int beam_etl_numeric_compare(const char *a, size_t alen, const char *b, size_t blen);

#ifdef __cplusplus
}
#endif
#endif
