/* Validate: rules checked on typed rows after coercion.
 *
 * Spec form: "validate": {"mode": "soft" | "hard", "rules": [rule, ...]}, each rule an
 * object naming one schema field and one or more checks:
 *   {"field": "amount",
 *    "required": true,            the value must not be null
 *    "type": "INT64",             on a STRING field: the text must also parse as that type
 *                                 (e.g. a code kept as text but digits only); on any other
 *                                 field it must equal the schema type (typing already did it)
 *    "regex": "^[a-z]+-\\d+$",    PCRE2 syntax, as in Python and BigQuery (\d \w \s, lazy
 *                                 quantifiers; lookaround and backreferences too, which
 *                                 BigQuery lacks); found anywhere in the value
 *                                 unless anchored with ^ and $; STRING and NUMERIC fields;
 *                                 compiled once at spec load (a syntax error names the
 *                                 position). \d \w \s are ASCII as in BigQuery ((*UCP) for
 *                                 Unicode); '$' is the end of the value, never before a final
 *                                 newline; '.' skips newlines unless (?s)
 *    "min": 0, "max": 100000,     inclusive bounds typed as the field: JSON numbers for INT64,
 *                                 FLOAT64 (NUMERIC also takes exact decimal strings);
 *                                 strings for TIMESTAMP and DATE
 *                                 ("2020-01-01"); not allowed on STRING, BYTES, BOOL
 *    "min_length": 1, "max_length": 64,  STRING: Unicode code points; BYTES: bytes
 *    "enum": ["order", "user"]}   allowed values typed as the field; STRING compares exact
 *                                 bytes (case-sensitive: lowercase in "clean" first)
 * Checks of one object run in the order listed above; rules run in spec order and the first
 * failure decides. A null value passes every check except "required" (SQL CHECK semantics;
 * REQUIRED schema fields are already non-null after coercion). NaN fails min/max.
 * Unknown keys, an empty rule, or a check that cannot apply to the field's type are spec
 * errors.
 *
 * Failure messages name the field, the value and the rule:
 *   field "amount": "-5" fails rule min 0 (validate.rules[0])
 * Soft mode: the row goes to the dead-letter table with that message. Hard mode: the caller
 * stops the run before committing anything (see beam_etl_outcome in etl_process.h). */
#ifndef BEAM_TRANSFORMS_ETL_VALIDATE_H
#define BEAM_TRANSFORMS_ETL_VALIDATE_H

#include <stdbool.h>

#include "beam/transforms/etl_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum beam_etl_rule_kind {
  BEAM_ETL_RULE_REQUIRED = 0,
  BEAM_ETL_RULE_TYPE,
  BEAM_ETL_RULE_REGEX,
  BEAM_ETL_RULE_MIN,
  BEAM_ETL_RULE_MAX,
  BEAM_ETL_RULE_MIN_LENGTH,
  BEAM_ETL_RULE_MAX_LENGTH,
  BEAM_ETL_RULE_ENUM
} beam_etl_rule_kind;

/* A compiled pattern (PCRE2 inside, opaque: users of this header need no PCRE2 headers). */
struct beam_etl_regex;

/* One check. Rules from one spec object share `index` (its position in validate.rules). */
typedef struct beam_etl_rule {
  beam_etl_rule_kind kind;
  int field;           /* schema index */
  size_t index;        /* position in the spec's rules array, for messages */
  beam_etl_type type;  /* TYPE */
  const char *pattern; /* REGEX: the source text */
  struct beam_etl_regex *regex; /* REGEX: compiled, owned (freed by beam_etl_validation_free);
                                   shared by threads validating at once */
  beam_value bound;    /* MIN/MAX: typed as the field; MIN_LENGTH/MAX_LENGTH: INT64 */
  const char *bound_text;
  beam_value *values;  /* ENUM */
  size_t n_values;
} beam_etl_rule;

typedef struct beam_etl_validation {
  bool hard;
  beam_etl_rule *rules;
  size_t n_rules;
  /* Guard rails per file, as BigQuery's maxBadRecords: past either, the file fails (none of
   * its rows kept) naming the most frequent error. Bad records are dead letters of every stage
   * but "sink". -1: no limit. */
  int64_t max_bad_records;
  double max_bad_ratio;    /* 0..1 of the file's records; checked when the file is read; -1 */
} beam_etl_validation;

/* BEAM_OK when every rule passes; BEAM_ERR_USER with the first failure's message in err;
 * BEAM_ERR_NOMEM. arena holds scratch values (a TYPE check on BYTES decodes into it).
 * Several threads may validate with the same v at once, each with its own arena. */
beam_status beam_etl_validate_row(const beam_etl_validation *v, const beam_etl_row *row, beam_arena *arena,
                                  beam_error *err);

/* Releases the compiled regexes (the rest lives in the spec's arena). No validation may be
 * running on v. */
void beam_etl_validation_free(beam_etl_validation *v);

/* "required", "regex", ...: the spec key of a rule kind, for messages. */
const char *beam_etl_rule_kind_name(beam_etl_rule_kind k);

#ifdef __cplusplus
}
#endif
#endif
