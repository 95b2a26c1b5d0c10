/* Clean: text-level fixes applied to a parsed record before typing.
 *
 * Only TEXT cells are touched (JSON numbers, booleans, nested values and explicit nulls
 * pass through). In order, per cell:
 *   1. trim      strip ASCII whitespace (space, \t, \n, \r, \f, \v) at both ends.
 *                Spec default: on ("clean": {"trim": false} keeps whitespace).
 *   2. nulls     a cell equal (byte for byte, case-sensitive, after trimming) to one of the
 *                null tokens becomes a NULL cell. Spec default tokens: "", "NULL", "null",
 *                "N/A"; "null_tokens": [] turns this off. This applies to STRING fields too,
 *                so by default an empty CSV field or JSON "" is null, as in BigQuery loads.
 *   3. case      lowercase / uppercase listed fields: ASCII letters only; bytes >= 0x80
 *                (UTF-8 sequences) are left untouched.
 * No malloc: pointers move in place and changed text is copied into the record's arena
 * (only when a byte actually changes or trailing whitespace is cut, so cells stay
 * NUL-terminated). */
#ifndef BEAM_TRANSFORMS_ETL_CLEAN_H
#define BEAM_TRANSFORMS_ETL_CLEAN_H

#include <stdbool.h>
#include <stdint.h>

#include "beam/transforms/etl_types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { BEAM_ETL_CASE_KEEP = 0, BEAM_ETL_CASE_LOWER = 1, BEAM_ETL_CASE_UPPER = 2 };

typedef struct beam_etl_null_token {
  const char *text;
  size_t len;
} beam_etl_null_token;

typedef struct beam_etl_clean {
  bool trim;
  uint8_t *case_fold; /* one BEAM_ETL_CASE_* per schema field; NULL: no case folding */
  size_t n_fields;    /* length of case_fold */
  const beam_etl_null_token *null_tokens;
  size_t n_null_tokens;
} beam_etl_clean;

/* The default null tokens ("", "NULL", "null", "N/A"). */
extern const beam_etl_null_token beam_etl_default_null_tokens[];
extern const size_t beam_etl_default_null_tokens_len;

/* Cleans every cell of rec in place. BEAM_ERR_NOMEM is the only failure. */
beam_status beam_etl_clean_record(const beam_etl_clean *clean, beam_etl_record *rec, beam_arena *arena);

/* The same, adding to *empty_to_null the cells that were empty text ("", or blanks when
 * trimming) and became NULL through a null token: the run reports how many, since a "" that
 * reads as NULL is a choice (the default tokens include ""; "null_tokens": [] keeps it). */
beam_status beam_etl_clean_record_counted(const beam_etl_clean *clean, beam_etl_record *rec, beam_arena *arena,
                                          uint64_t *empty_to_null);

#ifdef __cplusplus
}
#endif
#endif
