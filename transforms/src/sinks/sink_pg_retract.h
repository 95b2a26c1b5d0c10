/* Retracting what the ranges of a split file committed to PostgreSQL (sink_postgres.c).
 *
 * A split file's ranges commit one by one, each a unit of some bundle with its ledger entry
 * "<file identity>@<start>-<end>". When the file fails afterwards (a later range finds it
 * changed, a corrupt ZIP member), its `_files` row says failed and none of its rows may stay.
 * PostgreSQL rows have no stable row id (a ctid moves with VACUUM FULL or an UPDATE) and the
 * tables carry no origin column, and adding one would change the user's tables. What does
 * name a row exactly is the transaction id that inserted it (the system column xmin): every
 * COPY of the sink runs in a subtransaction of its own (its savepoint), whose xid only that
 * COPY's rows carry, and which freezing keeps (PostgreSQL 9.4 and later freeze by a flag).
 * So each COPY ends with a probe - an insert into a session-private temporary table
 * returning its xmin (the COPY's subtransaction id) and the 64-bit id of the top-level
 * transaction (its epoch) - and the ledger entry of a range unit records, per table, the
 * table's OID and the 64-bit ids of its COPYs (column `xids` of `_beam_ledger`: lines
 * "table oid xid xid ...").
 *
 * Retracting a file deletes, in the transaction of the bundle that writes its failed `_files`
 * row, the rows whose xmin is one of those ids, and the range entries. It fails (the commit
 * fails, nothing is deleted) rather than delete a wrong row when an id could name another
 * transaction by now: a table dropped and made again (another OID, also after a dump and
 * restore), or an id 2^31 or more transactions old (32-bit xids repeat after 2^32). A row a
 * user updated since has a new xmin and stays. A range entry without `xids` (an earlier
 * release wrote it) is left with its rows, as before. Internal to the sinks layer. */
#ifndef BEAM_SINKS_SINK_PG_RETRACT_H
#define BEAM_SINKS_SINK_PG_RETRACT_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "beam/status.h"
#include "sink_int.h"

/* Creates the probe's table for the session (no-op when there); runs inside the bundle's
 * transaction, so a rolled-back bundle drops it and the next one makes it again. */
#define BEAM_SINK_PG_PROBE_TABLE "CREATE TEMP TABLE IF NOT EXISTS beam_xid_probe (x int) ON COMMIT DELETE ROWS"
/* Appended to each COPY statement: one row (xmin, top-level 64-bit xid: txid_current, in every PostgreSQL release) after the COPY's result. */
#define BEAM_SINK_PG_PROBE "; INSERT INTO pg_temp.beam_xid_probe VALUES (0) RETURNING xmin::text, pg_catalog.txid_current()::text"
/* Run at open, after `_beam_ledger` is made: it gains `xids` when it lacks it (a database of
 * an earlier release). Looked up first: ALTER TABLE takes the table's exclusive lock even when
 * the column is there, and would wait for every open bundle that wrote the ledger. */
#define BEAM_SINK_PG_RETRACT_SETUP                                                                     \
  "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = "                \
  "'\"_beam_ledger\"'::regclass AND attname = 'xids' AND NOT attisdropped) THEN "                       \
  "ALTER TABLE \"_beam_ledger\" ADD COLUMN xids text; END IF; END $$"

/* One COPY's rows: their table (name owned by the sink, OID) and 64-bit transaction id. */
typedef struct beam_sink_pg_xid {
  const char *table;
  uint32_t oid;
  uint64_t xid;
} beam_sink_pg_xid;

/* The open bundle's COPYs in order; at_mark: where the open unit's start. Zero-initialise. */
typedef struct beam_sink_pg_xids {
  beam_sink_pg_xid *items;
  size_t len, cap, at_mark;
} beam_sink_pg_xids;

/* The 64-bit id of a probe's result (res: one row, xmin and the top-level xid8 as text).
 * 0 when res is not a probe's. */
uint64_t beam_sink_pg_probe_xid(const PGresult *res);

/* Appends a COPY's id. BEAM_ERR_NOMEM only. */
beam_status beam_sink_pg_xids_add(beam_sink_pg_xids *x, const char *table, uint32_t oid, uint64_t xid);

/* The open unit's ids as the ledger's `xids` text (NUL-terminated, caller frees); "" when
 * it wrote no rows; NULL when out of memory. */
char *beam_sink_pg_xids_text(const beam_sink_pg_xids *x);

void beam_sink_pg_xids_free(beam_sink_pg_xids *x);

/* Inside the bundle's transaction on conn: deletes the rows and the ledger entries of every
 * range unit of file_id, noting the rows per table on s (beam_sink_note_retracted). who names
 * the database in messages. BEAM_ERR_UNSUPPORTED when an id cannot be trusted (above); a
 * failed statement fails with the server's message (the transaction is then aborted). */
beam_status beam_sink_pg_retract_file(beam_sink *s, PGconn *conn, const char *who, const char *file_id,
                                      beam_error *err);

#endif
