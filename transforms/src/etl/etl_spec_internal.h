/* Spec-section parsers shared between etl_spec.c and the files owning each section.
 * Private to transforms/src: jansson stays out of the public headers.
 * Messages start with the key path ("validate.rules[0].field: ..."); the spec loader adds
 * the spec name in front. */
#ifndef BEAM_TRANSFORMS_ETL_SPEC_INTERNAL_H
#define BEAM_TRANSFORMS_ETL_SPEC_INTERNAL_H

#include <jansson.h>

#include "beam/transforms/etl_types.h"
#include "beam/transforms/etl_validate.h"

/* Errors when obj has a key outside known (NULL-terminated): typos must not be silent. */
beam_status beam_etl_json_check_keys(json_t *obj, const char *path, const char *const *known, beam_error *err);

/* "string", "integer", ... for messages. */
const char *beam_etl_json_kind(const json_t *j);

/* A JSON scalar typed as field f would type a cell holding it (strings as TEXT, numbers
 * and booleans as LITERAL), allocated in arena. */
beam_status beam_etl_json_to_value(json_t *j, const beam_etl_field *f, beam_arena *arena, beam_value *out,
                                   const char *path, beam_error *err);

/* The "validate" section. On failure *out is still safe to pass to beam_etl_validation_free. */
beam_status beam_etl_validation_parse(json_t *section, const beam_etl_schema *schema, beam_arena *arena,
                                      beam_etl_validation *out, beam_error *err);

#endif
