/* Coercion: text cells of a cleaned record -> typed values of a beam_etl_row.
 *
 * Per schema type (target beam_value kind in etl_types.h):
 *   STRING    TEXT as is (must be valid UTF-8); LITERAL its JSON text ("42", "true");
 *             NESTED the object/array's raw JSON text. Values alias the cell bytes.
 *   INT64     TEXT or LITERAL: [+|-]digits, range-checked ("4.2", "1e3", " 7" rejected).
 *   FLOAT64   TEXT or LITERAL: [+|-](digits[.digits]|.digits)[(e|E)[+|-]digits]. Hex floats
 *             and trailing garbage are rejected. Non-finite values are accepted only as
 *             the words NaN, Inf, Infinity with optional sign, case-insensitive (BigQuery's
 *             FLOAT64 holds them); a finite spelling that overflows ("1e999") is out of
 *             range; underflow rounds toward zero as IEEE does.
 *   NUMERIC   TEXT or LITERAL, normalized exact decimal text (see etl_numeric.h).
 *   BOOL      TEXT or LITERAL: true/false/1/0/yes/no, case-insensitive.
 *   TIMESTAMP TEXT: the forms in etl_time.h; LITERAL (a JSON number): seconds since the
 *             epoch with up to six fractional digits. -> micros since the epoch.
 *   DATE      TEXT: YYYY-MM-DD -> days since 1970-01-01.
 *   BYTES     TEXT: base64 (standard or URL-safe alphabet, padding optional) -> raw bytes.
 * ABSENT and NULL cells become BEAM_VALUE_NULL, or an error when the field is REQUIRED.
 * NESTED cells are only accepted by STRING fields.
 *
 * Errors name the field and the value: `field "amount": "abc" is not a FLOAT64`,
 * `field "ts": required but missing`, `field "n": "9223372036854775808" is out of range for
 * INT64`. Nothing here calls malloc: decoded bytes and normalized decimals go to the arena. */
#ifndef BEAM_TRANSFORMS_ETL_COERCE_H
#define BEAM_TRANSFORMS_ETL_COERCE_H

#include "beam/transforms/etl_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* BEAM_OK; BEAM_ERR_MALFORMED for a value the type cannot hold (message in err);
 * BEAM_ERR_NOMEM when the arena is exhausted. */
beam_status beam_etl_coerce_cell(const beam_etl_field *field, const beam_etl_cell *cell, beam_arena *arena,
                                 beam_value *out, beam_error *err);

/* Types every cell of rec (schema order); the first failing field's error is reported.
 * out->values is allocated in arena; out->schema and out->origin are copied from rec. */
beam_status beam_etl_coerce_record(const beam_etl_record *rec, beam_arena *arena, beam_etl_row *out,
                                   beam_error *err);

/* Base64 decoding used for BYTES cells: out needs room for (len / 4 + 1) * 3 bytes. */
beam_status beam_etl_base64_decode(const char *s, size_t len, uint8_t *out, size_t *out_len);

/* Checks UTF-8 well-formedness (no overlongs, no surrogates, <= U+10FFFF); on failure
 * *bad_offset is the offset of the first bad byte. */
bool beam_etl_utf8_valid(const char *s, size_t len, size_t *bad_offset);

#ifdef __cplusplus
}
#endif
#endif
