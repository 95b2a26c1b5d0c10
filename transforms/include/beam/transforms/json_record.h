/* The per-row JSON object parser: one flat record per call, no DOM, no malloc.
 *
 * It parses a JSON object in place in a writable buffer and fills one beam_etl_cell per
 * schema field:
 *  - top-level keys map to schema fields by exact name; unknown keys are validated and
 *    ignored; a field whose key is missing stays BEAM_ETL_CELL_ABSENT;
 *  - duplicate keys: the last one wins (as jansson and Python do);
 *  - strings -> TEXT, unescaped in place (\" \\ \/ \b \f \n \r \t \uXXXX, surrogate pairs
 *    -> UTF-8; an unpaired surrogate is an error); a string without escapes is not copied;
 *  - numbers, true, false -> LITERAL, exactly as written (numbers checked against the
 *    JSON grammar); null -> NULL;
 *  - objects and arrays -> NESTED, their raw text, validated as well-formed JSON (nesting
 *    deeper than 128 is rejected).
 * Every cell's data is NUL-terminated and points into the text buffer (ABSENT and NULL
 * cells point at ""). Anything malformed, or any non-whitespace after the closing '}', is
 * a parse error naming the key and what was expected. Strings are not checked for valid
 * UTF-8 here (the clean stage owns encodings). */
#ifndef BEAM_TRANSFORMS_JSON_RECORD_H
#define BEAM_TRANSFORMS_JSON_RECORD_H

#include <stddef.h>

#include "beam/transforms/etl_types.h"
#include "beam/transforms/parse_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_json_record_parser beam_json_record_parser;

/* schema may be NULL (validate only, no cells). The parser keeps a pointer to it. */
beam_status beam_json_record_parser_create(const beam_etl_schema *schema,
                                           beam_json_record_parser **out, beam_error *err);
void beam_json_record_parser_free(beam_json_record_parser *p);

/* text[0..len) is the record and text[len] must be '\0'; the buffer is modified (strings
 * unescaped and NUL-terminated in place), so pass a copy if the original is needed.
 * cells has one slot per schema field. Returns BEAM_OK, or BEAM_ERR_MALFORMED with perr
 * filled (cells then unspecified). */
beam_status beam_json_record_parse(const beam_json_record_parser *p, char *text, size_t len,
                                   beam_etl_cell *cells, beam_etl_parse_error *perr);

#ifdef __cplusplus
}
#endif
#endif
