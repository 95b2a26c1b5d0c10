/* Retracting what the ranges of a split file committed to a SQLite database (sink_sqlite.c).
 *
 * A split file's ranges commit one by one, each a transaction of its own with its ledger
 * entry "<file identity>@<start>-<end>". When the file fails afterwards (a later range finds
 * it changed, an I/O error), its `_files` row says failed and none of its rows may stay. So
 * the ledger entry of a range unit also records, per table, the rowids its transaction's
 * inserts took - they run under the write lock, and each table's new rowids follow its
 * largest one, so they are the span (largest before, largest after] - and the bundle id and
 * content key it was recognised by (columns `spans`, `bundle_id`, `content_id` of
 * `_beam_ledger`). Retracting a file deletes those spans' rows, its range entries and the
 * `_bundles` rows of those ids (so that a later load of the same content is written again),
 * in the transaction of the bundle that writes the failed `_files` row. A table whose rowids
 * the sink does not choose (made outside file_etl with a primary key or constraints) gets a
 * span marked unknown, and retracting it fails rather than delete a wrong row. Internal to
 * the sinks layer. */
#ifndef BEAM_SINKS_SQLITE_RETRACT_H
#define BEAM_SINKS_SQLITE_RETRACT_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "beam/buf.h"
#include "beam/status.h"
#include "sink_int.h"

/* Gives `_beam_ledger` (which must exist) the columns above when it lacks them (a database
 * of an earlier release). */
int beam_sqlite_retract_setup(sqlite3 *db);

/* The largest rowid of table (a valid name), 0 when it is empty. */
int beam_sqlite_max_rowid(sqlite3 *db, const char *table, int64_t *out);

/* True when key is a range unit ("<identity>@<start>-<end>"), which may be retracted. */
bool beam_sqlite_is_range_unit(const char *key);

/* Appends "table first last\n" to spans (known false: "table - -\n", rows it cannot name). */
beam_status beam_sqlite_spans_add(beam_buf *spans, const char *table, int64_t first, int64_t last, bool known);

/* Stores spans and the ids on unit's ledger entry (content_id NULL: none). */
int beam_sqlite_unit_rows_record(sqlite3 *db, const char *unit, const char *spans, const char *bundle_id,
                                 const char *content_id);

/* Inside the write transaction: deletes the rows, range ledger entries and bundle ids of
 * every range unit of file_id, noting the rows per table on s (beam_sink_note_retracted).
 * path names the database in messages. BEAM_ERR_UNSUPPORTED when a span is unknown (the
 * caller's commit then fails). */
beam_status beam_sqlite_retract_file(beam_sink *s, sqlite3 *db, const char *path, const char *file_id,
                                     beam_error *err);

#endif
