/* Filter: a boolean expression over a typed row, parsed once from the spec.
 *
 * Grammar (keywords case-insensitive; whitespace free):
 *   expr       := and_expr { ("||" | "or") and_expr }
 *   and_expr   := unary { ("&&" | "and") unary }
 *   unary      := ("!" | "not") unary | "(" expr ")" | atom
 *   atom       := field op literal | literal op field
 *               | field "is" ["not"] "null"
 *               | field              (a BOOL field on its own)
 *               | "true" | "false"
 *   op         := "==" | "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
 *   literal    := number ([-]digits[.digits][e[+-]digits]) | 'string' | "string"
 *               | true | false          (strings take \\ \' \" escapes)
 * Precedence: ! binds tightest, then comparisons, then &&, then ||. A comparison is an atom
 * (operands are one field and one literal), so "!amount > 5" means "!(amount > 5)".
 * Field names are identifiers; the keywords is/not/null/true/false/and/or cannot name one.
 *
 * Types are checked at parse time against the schema: INT64, FLOAT64, NUMERIC fields take
 * number literals (an INT64 field needs an integer); STRING, BYTES (base64), TIMESTAMP and
 * DATE fields take string literals, the latter two parsed as in etl_time.h
 * (ts >= '2024-01-01T00:00:00Z'); BOOL fields take true/false. Comparing with null is an
 * error: write "field is null".
 *
 * Evaluation is SQL three-valued: a comparison involving a null field is UNKNOWN (a FLOAT64
 * NaN compares as IEEE says: FALSE, except != which is TRUE); NOT UNKNOWN is UNKNOWN; AND is
 * FALSE if either side is FALSE; OR is TRUE if either side is TRUE. A row is kept only when
 * the expression is TRUE; FALSE and UNKNOWN rows are filtered (the caller counts them).
 * Errors give the 1-based column: "unexpected token ')' at column 9". */
#ifndef BEAM_TRANSFORMS_ETL_FILTER_H
#define BEAM_TRANSFORMS_ETL_FILTER_H

#include <stdbool.h>

#include "beam/transforms/etl_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_etl_filter beam_etl_filter;

typedef enum beam_etl_truth { BEAM_ETL_FALSE = 0, BEAM_ETL_TRUE = 1, BEAM_ETL_UNKNOWN = 2 } beam_etl_truth;

/* Parses and type-checks text against schema; the tree lives in arena (which must outlive
 * it and is also where literals are kept). Messages have no "filter:" prefix. */
beam_status beam_etl_filter_parse(const char *text, const beam_etl_schema *schema, beam_arena *arena,
                                  beam_etl_filter **out, beam_error *err);

beam_etl_truth beam_etl_filter_eval(const beam_etl_filter *f, const beam_etl_row *row);

/* True when the row passes; a NULL filter keeps every row. */
static inline bool beam_etl_filter_keep(const beam_etl_filter *f, const beam_etl_row *row) {
  return !f || beam_etl_filter_eval(f, row) == BEAM_ETL_TRUE;
}

#ifdef __cplusplus
}
#endif
#endif
