/* Small text helpers shared by the ETL transforms (private to transforms/src). */
#ifndef BEAM_TRANSFORMS_ETL_TEXT_H
#define BEAM_TRANSFORMS_ETL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Room for a quoted value: 64 input bytes, each escaped to at most 4, plus "..." and NUL. */
#define BEAM_ETL_QUOTE_MAX 272

/* Renders s for an error message (without the surrounding quotes): at most 64 bytes of
 * input, '"' and '\\' backslash-escaped, control bytes as \xNN, "..." when cut (never inside
 * a UTF-8 sequence). Error messages embed user values, so they must stay short and one line. */
const char *beam_etl_quote(const char *s, size_t len, char out[BEAM_ETL_QUOTE_MAX]);

/* "a" or "an" before a type name ("an INT64", "a FLOAT64"). */
const char *beam_etl_article(const char *word);

/* Valid identifier: [A-Za-z_][A-Za-z0-9_]*. */
bool beam_etl_is_identifier(const char *s, size_t len);

static inline bool beam_etl_is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

#endif
