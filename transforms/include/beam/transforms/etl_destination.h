/* A destination of the file ETL and the rows it takes.
 *
 * A run writes into one or more destinations: the spec's "outputs" and the --sink flags.
 * Records are read, cleaned, validated and routed once; each destination gets every routed
 * row, dead letter and _files row it selects:
 *   - "tables": the tables it takes (routed tables the route can produce, "_dead_letter",
 *     "_files"); absent: every table.
 *   - "where": a filter expression (etl_filter.h syntax) over a routed row; rows for which it
 *     is not TRUE are not taken. Dead letters and _files rows are selected by "tables" only.
 * On a URI both are options after '?', percent-encoded and '&'-separated
 * (jsonl:out/orders?tables=events_order, pubsub:projects/p/topics/t?where=amount%20%3E%2010;
 * tables is a comma-separated list); they are taken out before the URI reaches its sink, the
 * sink's own options (BigQuery's, libpq's query parameters) stay.
 * Whatever a destination takes, it records in its own ledger every unit it committed. */
#ifndef BEAM_TRANSFORMS_ETL_DESTINATION_H
#define BEAM_TRANSFORMS_ETL_DESTINATION_H

#include <stdbool.h>
#include <stddef.h>

#include "beam/arena.h"
#include "beam/status.h"
#include "beam/transforms/etl_filter.h"
#include "beam/transforms/etl_route.h"
#include "beam/transforms/etl_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_etl_destination {
  const char *sink;          /* the URI its sink opens (tables= and where= taken out) */
  const char *const *tables; /* the tables it takes; NULL: every table */
  size_t n_tables;
  const char *where;         /* the filter over routed rows, or NULL */
  beam_etl_filter *where_filter;
} beam_etl_destination;

/* A destination from uri, its selection options taken out, plus an explicit selection
 * (tables, NULL for none; where, NULL for none: the spec's outputs entries); the same key both
 * in the URI and explicitly is an error. Every table must be one the route (parsed against
 * schema) can produce, "_files" or "_dead_letter"; where must parse and type-check against
 * schema. Messages start with the key: "tables: ...", "where: ...". Strings live in arena. */
beam_status beam_etl_destination_make(const char *uri, const char *const *tables, size_t n_tables, const char *where,
                                 const beam_etl_schema *schema, const beam_etl_route *route, beam_arena *arena,
                                 beam_etl_destination *out, beam_error *err);

/* True when o takes rows of table. */
bool beam_etl_destination_takes_table(const beam_etl_destination *o, const char *table);

/* True when o takes row of table: its table, and for a routed row (not "_dead_letter" or
 * "_files") its where. */
bool beam_etl_destination_takes_row(const beam_etl_destination *o, const char *table, const beam_etl_row *row);

/* "every table", or "tables a, b" and/or "where EXPR", in buf (cap bytes). */
const char *beam_etl_destination_describe(const beam_etl_destination *o, char *buf, size_t cap);

/* The destinations of a run: spec_outputs (the spec's "outputs") and then one per uri;
 * *out is allocated in arena. A sink named twice is an error (two writers would share one
 * ledger); a uri's messages start with sink "URI": . */
beam_status beam_etl_destinations_collect(const beam_etl_destination *spec_outputs, size_t n_spec_outputs,
                                     const char *const *uris, size_t n_uris, const beam_etl_schema *schema,
                                     const beam_etl_route *route, beam_arena *arena, beam_etl_destination **out,
                                     size_t *n_out, beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
