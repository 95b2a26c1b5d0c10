/* The tables a sink has ensured: the lookup, the second-ensure check and the growth every
 * sink's ensure_table repeated. Internal to the sinks layer.
 *
 * Each sink keeps its own array of table structs (jl_table, sq_table, ...) holding what it
 * needs per table; every such struct begins with `char *name`, the only member these
 * helpers read. */
#ifndef BEAM_TRANSFORMS_SINK_TABLES_H
#define BEAM_TRANSFORMS_SINK_TABLES_H

#include <stdbool.h>
#include <stddef.h>

#include "beam/status.h"
#include "beam/transforms/etl_types.h"

/* Placed next to a sink's table struct: fails the build unless the struct begins with its
 * name, the one member the helpers below read. */
#define BEAM_SINK_TABLE_NAME_FIRST(type) \
  _Static_assert(offsetof(type, name) == 0, #type " must begin with its name (sink_tables.h)")

/* Index of the table called name among a sink's n ensured tables (an array of item_size-byte
 * structs, each beginning with its `char *name`), or n when it is not there. *last, when not
 * NULL, is tried first and set to the index found: write_rows mostly names the table of the
 * call before. */
size_t beam_sink_table_index(const void *tables, size_t n, size_t item_size, size_t *last,
                             const char *name);

/* ensure_table of a table the sink has ensured before, with the schema `ensured`: BEAM_OK when
 * schema is the same (field modes compared too when with_modes, for sinks whose columns carry
 * NOT NULL); else BEAM_ERR_INVALID_ARG "<kind> <where>: table <table> already ensured on this
 * sink with another schema", since a sink writes one shape per table. where may be NULL (kind
 * then names the sink alone). */
beam_status beam_sink_table_reensure(const beam_etl_schema *ensured, const beam_etl_schema *schema,
                                     bool with_modes, const char *kind, const char *where,
                                     const char *table, beam_error *err);

/* One column of a table that exists, as the backend's catalog describes it. */
typedef struct beam_sink_column {
  const char *name;
  const char *type; /* the backend's type name, compared with type_name() of the field's type */
  const char *mode; /* "REQUIRED", "NULLABLE", ... where the backend enforces modes, else NULL */
} beam_sink_column;

/* Plans the additive migration of a table that exists with columns cols[0..n_cols) to the
 * wanted schema: existing tables gain missing NULLABLE columns and nothing else, so rows the
 * previous release wrote stay as they are (NULL in the new columns) and every insert names
 * its columns. Names (and types) compare case-insensitively when fold_case (SQLite,
 * BigQuery). Sets add[i] (one per schema field) for each field to add and returns true when
 * the table fits after adding them (no field to add: it fits as it is). Returns false, with
 * diff holding "; "-separated differences, when anything else differs: a missing REQUIRED
 * column, a column of another type or mode, or an extra column the schema lacks (refused,
 * not tolerated: an older release writing NULL into a newer release's bookkeeping columns
 * would corrupt them). */
bool beam_sink_columns_plan(const beam_sink_column *cols, size_t n_cols, const beam_etl_schema *schema,
                            const char *(*type_name)(beam_etl_type), bool fold_case, bool *add, char *diff,
                            size_t cap);

/* True when the plan adds at least one of the n fields (add as beam_sink_columns_plan set it). */
bool beam_sink_columns_any_added(const bool *add, size_t n);

/* Room for one more table in a sink's array of n tables of item_size bytes, *cap of them
 * allocated: returns the array, moved when it had to grow (capacity doubled, 8 at first, and
 * *cap updated), or NULL when out of memory, the old array then still standing. */
void *beam_sink_tables_reserve(void *tables, size_t n, size_t *cap, size_t item_size);

#endif
