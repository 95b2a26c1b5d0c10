/* Regular expressions for the ETL's validate rules: PCRE2 behind an opaque type, so the
 * public headers (etl_validate.h) need no PCRE2 headers. Private to transforms/src.
 *
 * Syntax is PCRE2's, what Python's re and BigQuery's REGEXP_CONTAINS users write: \d \w \s,
 * non-greedy quantifiers, (?i), and lookaround and backreferences (Python has them, BigQuery's
 * RE2 does not). Compiled with
 *   UTF            patterns and subjects are UTF-8; '.' is one code point
 *   MATCH_INVALID_UTF  a subject with invalid UTF-8 cannot crash or misparse: no character
 *                  matches inside an invalid sequence (text cells are checked by coercion
 *                  already; rows built by hand are not)
 *   DOLLAR_ENDONLY '$' is the end of the value only, not before a final newline (as the POSIX
 *                  regexes before and BigQuery; Python differs), so "^\d+$" refuses "12\n"
 *   NEVER_BACKSLASH_C  \C could split a UTF-8 character
 * \d \w \s are ASCII (as in BigQuery; (*UCP) at the start of a pattern makes them Unicode).
 * '.' does not match a newline (as in Python and BigQuery; (?s) makes it). A search finds the
 * pattern anywhere in the value unless it anchors with ^ and $ (as before, and as Python's
 * re.search and REGEXP_CONTAINS).
 *
 * A compiled regex is shared: several threads may search with it at once. */
#ifndef BEAM_TRANSFORMS_ETL_REGEX_H
#define BEAM_TRANSFORMS_ETL_REGEX_H

#include <stddef.h>

#include "beam/status.h"

typedef struct beam_etl_regex beam_etl_regex;

typedef enum beam_etl_regex_result {
  BEAM_ETL_REGEX_NO_MATCH = 0,
  BEAM_ETL_REGEX_MATCH,
  BEAM_ETL_REGEX_GAVE_UP, /* a match or memory limit stopped the search (runaway backtracking) */
  BEAM_ETL_REGEX_NOMEM
} beam_etl_regex_result;

/* Compiles pattern (NUL-terminated UTF-8) into *out, JIT-compiled when the platform has
 * PCRE2's JIT. BEAM_ERR_INVALID_ARG on a syntax error, the message PCRE2's text and where:
 * "missing closing parenthesis at offset 13" (offset in characters from the pattern's start);
 * BEAM_ERR_NOMEM. */
beam_status beam_etl_regex_compile(const char *pattern, beam_etl_regex **out, beam_error *err);

/* Searches s[0, len) (NUL bytes allowed, no terminator needed). Thread-safe; no allocation
 * once the regex has served as many concurrent callers. On GAVE_UP, why (cap bytes) gets
 * PCRE2's reason ("match limit exceeded"). */
beam_etl_regex_result beam_etl_regex_search(beam_etl_regex *re, const char *s, size_t len, char *why, size_t cap);

/* Frees re and its cached match data; NULL is a no-op. No search may be running on re. */
void beam_etl_regex_free(beam_etl_regex *re);

#endif
