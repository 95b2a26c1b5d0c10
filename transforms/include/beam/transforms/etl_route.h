/* Route-to-table: the destination table of each row, from a template over its fields.
 *
 * Spec form: "route": {"table": "events_{event_type}", "default": "events_other"}.
 *   - "table" is literal text with {field} placeholders. Placeholder fields must be STRING,
 *     INT64 or BOOL (their text is substituted as is: clean lowercases it if you want).
 *     There are no {{ }} escapes: braces can never be part of a table name.
 *   - "default" (optional) receives rows whose placeholder field is null. Without it such
 *     rows are dead-lettered.
 *   - A template without placeholders routes every row to one table (no per-row work).
 * Table names: ^[A-Za-z_][A-Za-z0-9_]*$, at most BEAM_ETL_TABLE_NAME_MAX (128, what every
 * sink takes; PostgreSQL's own limit is 63) bytes, and not reserved: names starting with "_"
 * belong to the pipeline's own tables (_dead_letter, _files), "sqlite_" and "pg_" (in any
 * letter case) to the databases' catalogs.
 * The literal parts and the default are checked when the spec is loaded (a reserved default,
 * literal table or leading literal is a spec error); a row value making an invalid or
 * reserved name dead-letters that row (stage "route") and the run goes on:
 *   route: value "ord er" of field "event_type" makes invalid table name "events_ord er"
 *   route: value "sqlite_master" of field "t" makes reserved table name "sqlite_master" (names
 *   starting with "sqlite_" are reserved)
 * Rendering allocates only the name, in the row's arena. */
#ifndef BEAM_TRANSFORMS_ETL_ROUTE_H
#define BEAM_TRANSFORMS_ETL_ROUTE_H

#include <stdbool.h>

#include "beam/transforms/etl_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BEAM_ETL_TABLE_NAME_MAX 128
#define BEAM_ETL_ROUTE_MAX_PLACEHOLDERS 16

typedef struct beam_etl_route_part {
  const char *text; /* literal text (field < 0) */
  size_t len;
  int field;        /* schema index of a placeholder, or -1 */
} beam_etl_route_part;

typedef struct beam_etl_route {
  const char *template_text;
  beam_etl_route_part *parts;
  size_t n_parts;
  size_t n_placeholders;
  const char *default_table; /* NULL when not set */
} beam_etl_route;

/* Parses and checks a template (and the optional default) against schema, in arena.
 * Messages start with "route.table: " or "route.default: ". */
beam_status beam_etl_route_parse(const char *table_template, const char *default_table,
                                 const beam_etl_schema *schema, beam_arena *arena, beam_etl_route *out,
                                 beam_error *err);

/* The row's table name (NUL-terminated, static template text or arena memory).
 * BEAM_ERR_USER with the dead-letter reason for an invalid or reserved name or a null
 * placeholder without a default; BEAM_ERR_NOMEM. */
beam_status beam_etl_route_table(const beam_etl_route *route, const beam_etl_row *row, beam_arena *arena,
                                 const char **table, beam_error *err);

/* True when some row can be routed to table name: the default, or the template with each
 * placeholder standing for a value its field's type can take (schema: the one the route was
 * parsed against). What a destination's "tables" list is checked against. */
bool beam_etl_route_may_produce(const beam_etl_route *route, const beam_etl_schema *schema, const char *name);

/* ^[A-Za-z_][A-Za-z0-9_]*$ and 1..BEAM_ETL_TABLE_NAME_MAX bytes (reserved names pass). */
bool beam_etl_table_name_valid(const char *name, size_t len);

/* The reserved prefix ("_", "sqlite_" or "pg_", compared without case) the first len bytes
 * of name start with, or NULL when they start with none. */
const char *beam_etl_table_name_reserved(const char *name, size_t len);

#ifdef __cplusplus
}
#endif
#endif
