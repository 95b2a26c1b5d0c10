/* SQL text the SQL sinks (SQLite, PostgreSQL) both write: quoted identifiers and column
 * definitions. Internal to the sinks layer. */
#ifndef BEAM_TRANSFORMS_SINK_SQL_H
#define BEAM_TRANSFORMS_SINK_SQL_H

#include "beam/buf.h"
#include "beam/transforms/etl_types.h"

/* Appends "name" with embedded quotes doubled: an identifier, whatever the name holds. */
beam_status beam_sink_sql_append_ident(beam_buf *b, const char *name);

/* Appends a column definition: "name" TYPE, plus NOT NULL for a REQUIRED field. */
beam_status beam_sink_sql_append_column(beam_buf *b, const beam_etl_field *f, const char *type);

#endif
