/* Spec-section parsers shared between etl_spec.c and the files owning each section.
 * Private to transforms/src: jansson stays out of the public headers.
 * Messages start with the key path ("validate.rules[0].field: ..."); the spec loader adds
 * the spec name in front. */
#ifndef BEAM_TRANSFORMS_ETL_SPEC_INTERNAL_H
#define BEAM_TRANSFORMS_ETL_SPEC_INTERNAL_H

#include <jansson.h>

#include "beam/transforms/etl_spec.h"
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

/* A field name listed somewhere in the spec: a string naming a field of s; messages say
 * "no field "x" in <schema_path>". */
beam_status beam_etl_field_ref(json_t *j, const char *path, const beam_etl_schema *s, const char *schema_path, int *out,
                              beam_error *err);

/* A "schema" array at key path `where` ("schema", "tables.t.schema") into out, in arena;
 * *sources: per field its checked "source" text (etl_message_fields.h) or NULL, NULL when no
 * field has one. */
beam_status beam_etl_schema_parse(json_t *j, const char *where, beam_arena *arena, beam_etl_schema *out,
                                 const char ***sources, beam_error *err);

/* obj's "partition_field" and "partition_granularity" (both optional; prefix "" or
 * "tables.t." starts the key paths), against schema (named schema_path in messages). */
beam_status beam_etl_partition_parse(json_t *obj, const char *prefix, const beam_etl_schema *schema,
                                     const char *schema_path, int *field, beam_etl_partition_granularity *granularity,
                                     beam_error *err);

/* obj's optional "cluster_fields": schema indexes into *out (arena), their count in *n_out. */
beam_status beam_etl_cluster_parse(json_t *obj, const char *prefix, const beam_etl_schema *schema,
                                   const char *schema_path, beam_arena *arena, int **out, size_t *n_out,
                                   beam_error *err);

/* The "tables" section (etl_spec_tables.c): spec->tables, and spec->schema made the union of
 * spec->top_schema and every table's schema. Called before the sections that name fields. */
beam_status beam_etl_tables_parse(json_t *tables, beam_etl_spec *spec, beam_error *err);

/* The checks of "tables" against the rest of the spec, once the route and clean are parsed:
 * each entry can be routed to, has the template's fields and dedupe_on; a literal route or
 * route.default without a top-level schema has an entry. */
beam_status beam_etl_tables_check(const beam_etl_spec *spec, beam_error *err);

/* The "validate" section. On failure *out is still safe to pass to beam_etl_validation_free. */
beam_status beam_etl_validation_parse(json_t *section, const beam_etl_schema *schema, beam_arena *arena,
                                      beam_etl_validation *out, beam_error *err);

#endif
