/* Table sinks: where typed ETL rows end up (SQLite, a JSON-lines directory, PostgreSQL,
 * BigQuery, JSON-lines objects on GCS or in a local directory, Pub/Sub).
 *
 * A sink is opened from a URI ("sqlite:out.db", "jsonl:out/") and written in bundles:
 *
 *   beam_sink_ensure_table(s, "events", schema, &err);   // create if missing, cached
 *   beam_sink_begin(s, bundle_id, &err);
 *   beam_sink_write_rows(s, "events", rows, n, &rejected, &err);   // any number of calls
 *   beam_sink_commit(s, &err);        // or beam_sink_abort(s) on any failure
 *   ...
 *   beam_sink_close(s, &err);         // flushes; a full disk is reported here or earlier
 *   beam_sink_free(s);
 *
 * Contract every sink honours:
 *  - Atomic bundles. Nothing written between begin and commit is visible to readers before
 *    commit returns BEAM_OK; after abort (or a failed commit) nothing of the bundle is
 *    visible. Several tables may be written in one bundle (routed rows plus dead letters)
 *    and commit atomically together. (Exception: BigQuery's streaming inserts are not
 *    transactional; transforms/src/sinks/sink_bigquery.c says what that sink guarantees
 *    instead.)
 *  - Idempotent retries. A runner retries a failed bundle with the same bundle_id (and may
 *    run a bundle twice). Committing a bundle_id that is already committed writes nothing
 *    and returns BEAM_OK; beam_sink_last_bundle_was_duplicate() tells the caller.
 *  - Poisoning. After any call inside a bundle fails, only beam_sink_abort is accepted
 *    until the bundle ends; the caller retries the bundle from the start.
 *  - Per-row rejection. write_rows may refuse individual rows (type mismatch with the
 *    schema, NULL in a REQUIRED field, a database constraint; BigQuery's insertErrors come
 *    later, through beam_sink_send) while accepting the rest: each refused row is reported
 *    in `rejected` (index into the rows passed to that call, and a reason) so the caller can
 *    dead-letter it. A sink never silently drops a row. Passing rejected == NULL turns any
 *    rejection into a BEAM_ERR_INVALID_ARG failure of the call.
 *  - Table names match ^[A-Za-z_][A-Za-z0-9_]*$ (checked here, for every sink) and are
 *    always quoted as identifiers; names are never spliced into SQL unchecked. Column
 *    names come from the schema and are quoted too.
 *  - Table existence is cached per sink: ensure_table asks the catalog once per table,
 *    never per row or per bundle.
 *  - Errors are reported, not swallowed: SQLITE_FULL, ENOSPC, EIO, a failed fsync or
 *    close all come back as BEAM_ERR_IO naming the table or file.
 *
 * Threading (the concurrency contract): a beam_sink is NOT thread-safe. Use one sink instance
 * per worker thread; any number of instances - threads of one process, or processes - may
 * write the same destination at once, each committing its own bundles and units, and:
 *  - a bundle is prepared (rows checked, encoded, buffered) without any lock shared with the
 *    other instances; only its commit is serialised, and only as far as the backend needs:
 *    SQLite stages the rows (sink_sqlite.c) and inserts them at commit under the database's
 *    write lock, instances of one process queueing on a mutex per database file (no
 *    SQLITE_BUSY between them; other processes wait up to busy_timeout_ms); JSON lines
 *    buffers the rows, writes them to side files at commit, and appends those to the
 *    tables under an exclusive flock of the directory's bundle log (each instance opens
 *    the log itself, so flock separates threads too); PostgreSQL
 *    instances hold one connection each and meet on the bundle id's primary key in
 *    _beam_bundles;
 *  - a bundle id or content key committed by another instance while a bundle ran makes
 *    that bundle a duplicate at commit (nothing written, beam_sink_last_bundle_was_duplicate);
 *  - the ledger stays exact: a unit recorded without replace that another instance
 *    committed while the bundle ran (two files of one content loaded by two threads, two
 *    runs) is not committed twice: SQLite and JSON lines check the bundle's entries again
 *    under the commit's lock, and a bundle whose every entry is such a unit is a duplicate,
 *    while one holding other units too fails with BEAM_ERR_IO and writes nothing (its retry
 *    finds the unit in the ledger and skips it).
 * The scheme registry is thread-safe. */
#ifndef BEAM_TRANSFORMS_SINK_H
#define BEAM_TRANSFORMS_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/arena.h"
#include "beam/status.h"
#include "beam/transforms/etl_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_sink beam_sink;

/* Options shared by all sinks; zero-initialize and set what you need (0 = default). */
typedef struct beam_sink_options {
  /* Rows per batched write (SQLite: rows per multi-row INSERT statement; later sinks:
   * rows per request). Default 64 for SQLite. Clamped to what the backend allows. */
  size_t batch_rows;
  /* SQLite: how long to wait for another writer's lock before failing. Default 30000. */
  int busy_timeout_ms;
  /* Durability at commit. false (default): committed bundles survive a process crash and,
   * for JSONL, a power loss (fsync at commit); SQLite uses WAL + synchronous=NORMAL (a
   * power loss may lose the last commits, never corrupt). true: no fsync (JSONL), and
   * synchronous=OFF (SQLite) - for scratch outputs and benchmarks. */
  bool no_sync;
  /* A deliberate reload (file_etl --reload): bundles are recognised by their bundle id only,
   * not by their content, so rows committed by an earlier load are written again. */
  bool reload;
  /* JSONL: bytes of a table's bundle kept in memory before spilling to an unnamed
   * temporary file in the directory; SQLite: bytes of the bundle's staged rows kept in
   * memory before spilling to an unnamed temporary file beside the database (they are
   * inserted at commit); gcs:/file:: bytes of the whole bundle kept in memory
   * before parts spill to unnamed temporary files in $TMPDIR. Default 8 MiB. Pub/Sub: bytes
   * of a bundle's messages held before publishing early (default
   * BEAM_PUBSUB_EARLY_PUBLISH_BYTES). */
  size_t spill_bytes;
  /* SQLite: cap the database at this many pages (PRAGMA max_page_count), a quota.
   * 0 = no cap. Exceeding it fails like a full disk (BEAM_ERR_IO). */
  int64_t sqlite_max_pages;
  /* Object-file sinks (gcs:, file:): the TIMESTAMP or DATE field whose UTC hour names a
   * row's {yyyy}/{mm}/{dd}/{hh} path (the spec's partition_field). NULL, a table without
   * the field, or a null value: the bundle's ingestion hour. Copied at open.
   * BigQuery: the field of the DAY time partitioning of created tables that have it. */
  const char *partition_field;
  /* BigQuery: clustering fields of created tables (those that have all of them), in order;
   * at most 4. Copied at open. */
  const char *const *cluster_fields;
  size_t n_cluster_fields;
  /* The rows are a stream's (a stream's writer sets it). Object-file sinks (gcs:, file:):
   * keep a ledger of the message units the bundles record (it lives in their bundle
   * markers), so that a redelivered message is written once; without it these sinks keep no
   * ledger (files are recognised by their bundles' content). The other sinks keep theirs
   * either way. BigQuery: a table without a partition field is created partitioned by
   * ingestion day, and rows with an event time (origin.event_time_us) go to their day's
   * partition through a decorator ("events$20261107"). */
  bool stream_ledger;
  /* With stream_ledger: message units ("pubsub:...") committed more than this many days ago
   * are forgotten: SQLite and PostgreSQL delete them at the first commit or begin and then
   * hourly, JSON lines and file:/gcs: do not load them at open (file:/gcs: also drop them from
   * memory as the set grows; JSON lines leaves them out of its bundle log, and out of memory,
   * whenever a commit compacts the log). Pub/Sub
   * redelivers a committed message whose ack was lost within minutes, not days (a seek back
   * does, and such a replay is written again). 0: kept for ever. */
  int message_ledger_days;
} beam_sink_options;

/* BigQuery's time partitioning types (timePartitioning.type). */
typedef enum beam_sink_partition_granularity {
  BEAM_SINK_PARTITION_DAY = 0,
  BEAM_SINK_PARTITION_HOUR,
  BEAM_SINK_PARTITION_MONTH,
  BEAM_SINK_PARTITION_YEAR
} beam_sink_partition_granularity;

/* One table's partitioning and clustering (beam_sink_ensure_table_with), where a spec gives
 * each table its own. Read during the call only. BigQuery creates the table with them;
 * gcs:/file: name each row's {yyyy}/{mm}/{dd}/{hh} path by partition_field; SQLite,
 * PostgreSQL, JSON lines and Pub/Sub accept and ignore them. */
typedef struct beam_sink_table_options {
  const char *partition_field; /* a TIMESTAMP or DATE field of the table, or NULL: none */
  beam_sink_partition_granularity partition_granularity; /* HOUR needs a TIMESTAMP field */
  const char *const *cluster_fields; /* fields of the table, in order; at most 4 */
  size_t n_cluster_fields;
} beam_sink_table_options;

/* A record's identity, for sinks whose writes are at-least-once (BigQuery's insertIds,
 * Pub/Sub's beam_c_row_id): 32 hex digits of SHA-256 over the table and the row's origin
 * (file identity, byte offset), so the same at every retry and every relaunch of the same
 * input. False, and out untouched, when the row was not read from a file (origin.file_id is
 * NULL, such as _files rows). */
#define BEAM_SINK_RECORD_ID_LEN 32
bool beam_sink_record_id(const char *table, const beam_etl_row *row, char out[BEAM_SINK_RECORD_ID_LEN + 1]);

/* One row a sink refused. */
typedef struct beam_sink_row_error {
  size_t index;       /* into the rows array of the write_rows call (beam_sink_send: the
                       * row's position among the bundle's rows written to the table) */
  const char *reason; /* owned by the beam_sink_row_errors, valid until reset/free */
  const char *row;    /* beam_sink_send: the row as the sink sent it (JSON), else NULL */
} beam_sink_row_error;

typedef struct beam_sink_row_errors {
  beam_sink_row_error *items;
  size_t len;
  size_t cap;
  beam_arena arena; /* holds the reasons */
} beam_sink_row_errors;

#define BEAM_SINK_ROW_ERRORS_INIT {NULL, 0, 0, BEAM_ARENA_INIT}

/* Empties the list (keeping its memory), or frees it. */
void beam_sink_row_errors_reset(beam_sink_row_errors *e);
void beam_sink_row_errors_free(beam_sink_row_errors *e);
/* Appends a refused row: its index and a printf-formatted reason. */
beam_status beam_sink_row_errors_add(beam_sink_row_errors *e, size_t index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, keeping a copy of the row's text (row_len bytes) in the entry's `row`. */
beam_status beam_sink_row_errors_add_row(beam_sink_row_errors *e, size_t index, const char *row,
                                         size_t row_len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Counters since open. rows_written counts only rows of committed, non-duplicate bundles. */
typedef struct beam_sink_stats {
  uint64_t rows_written;
  uint64_t rows_rejected;
  uint64_t bundles_committed;
  uint64_t bundles_duplicate; /* commits skipped because the bundle_id was already committed */
  uint64_t bundles_aborted;
} beam_sink_stats;

/* ---- Using a sink ------------------------------------------------------------------ */

/* Opens "scheme:location". Built-in schemes: sqlite:PATH (database file, created if
 * missing; its directory must exist), jsonl:DIR (directory, created with its
 * parents if missing), the object-file sinks gcs:gs://BUCKET[/PREFIX] and file:DIR
 * (JSON-lines objects {table}/{yyyy}/{mm}/{dd}/{hh}/part-<bundle hash>.jsonl, written at
 * commit, never overwritten; see transforms/src/sinks/sink_objects.c),
 * pubsub:projects/P/topics/T (sink_pubsub.h), bigquery:PROJECT.DATASET
 * (transforms/src/sinks/sink_bigquery.c) and postgres:CONNINFO (a libpq connection string,
 * "host=h port=p dbname=d user=u" or "postgresql://u@h:p/d"; the password best comes from
 * PGPASSWORD or ~/.pgpass so it stays off command lines). opts may be NULL. An unknown
 * scheme fails with BEAM_ERR_NOT_FOUND and a message listing the known schemes. */
beam_status beam_sink_open(const char *uri, const beam_sink_options *opts, beam_sink **out,
                           beam_error *err);

/* Checks a sink URI before a run, creating, writing and connecting to nothing, so that a
 * bad destination is refused before any work and leaves no database file or directory
 * behind. The scheme must be registered and the location non-empty; for the built-in
 * schemes also:
 *   sqlite:PATH  an existing PATH is a readable, writable SQLite file (or empty), and its
 *                directory exists and is writable;
 *   jsonl:DIR, file:DIR  DIR is a writable directory, or can be created: its nearest
 *                existing ancestor is a writable directory;
 *   gcs:, bigquery:, pubsub:, postgres:  the location's syntax only (no request is made).
 * A scheme registered by the caller over a built-in one gets only the generic checks.
 * Unknown scheme: BEAM_ERR_NOT_FOUND listing the known ones; a bad location:
 * BEAM_ERR_INVALID_ARG, the message starting with the URI and naming the path and the
 * system error ("sqlite:/x/out.db: directory /x: No such file or directory").
 * beam_sink_open can still fail later (a server that refuses the connection, a disk that
 * fills, a directory removed in between). */
beam_status beam_sink_check_uri(const char *uri, beam_error *err);

/* Creates the table if missing (REQUIRED fields NOT NULL where the backend has the notion).
 * A table that exists (SQLite, PostgreSQL, BigQuery) but lacks some of the schema's NULLABLE
 * fields gains them as nullable columns without a default (its rows read NULL there); any
 * other difference - a missing REQUIRED field, another type, a column the schema lacks - is
 * an error (BEAM_ERR_INVALID_ARG) naming each. Columns are never dropped or changed, and
 * writes name their columns, so the table's column order does not matter. JSON-lines and
 * object sinks store no schema: rows carry whatever fields the schema has. May be called
 * inside or outside a bundle; inside, the creation or addition belongs to the bundle (an
 * abort undoes it where the backend has transactional DDL; PostgreSQL commits it at once,
 * see beam_sink_postgres_open; SQLite creates a missing table at the bundle's commit, where
 * a table another writer made meanwhile with other columns fails the commit). The schema must
 * outlive the sink (schemas are long-lived: parsed once from the pipeline spec). */
beam_status beam_sink_ensure_table(beam_sink *s, const char *table, const beam_etl_schema *schema,
                                   beam_error *err);

/* beam_sink_ensure_table with the table's own partitioning and clustering instead of the
 * sink-wide ones of beam_sink_options (topts NULL: those, as beam_sink_ensure_table). Every
 * field topts names must be in schema (partition_field TIMESTAMP or DATE, a TIMESTAMP for
 * HOUR) and at most 4 cluster fields, else BEAM_ERR_INVALID_ARG naming the table and field.
 * A table ensured before on this sink keeps the options it was first ensured with. */
beam_status beam_sink_ensure_table_with(beam_sink *s, const char *table, const beam_etl_schema *schema,
                                        const beam_sink_table_options *topts, beam_error *err);

/* "DAY", "HOUR", "MONTH", "YEAR". */
const char *beam_sink_partition_granularity_name(beam_sink_partition_granularity g);

/* Starts a bundle. bundle_id identifies the unit of retry (the Fn API instruction's bundle,
 * or the file being loaded plus its attempt-independent identity): non-empty. */
beam_status beam_sink_begin(beam_sink *s, const char *bundle_id, beam_error *err);

/* Writes rows (each row->values in the table's schema order) into the open bundle. Table
 * must have been ensured on this sink. rejected (reset by this call) receives refused rows;
 * see the contract above. The rows' memory need only live for the duration of the call. */
beam_status beam_sink_write_rows(beam_sink *s, const char *table, const beam_etl_row *rows,
                                 size_t n, beam_sink_row_errors *rejected, beam_error *err);

/* Late rejections. Most sinks judge rows in write_rows. A sink that sends rows only at commit
 * and learns which ones the backend refuses only then (BigQuery: insertErrors) reports
 * them here instead: beam_sink_send pushes the bundle's rows written so far to `table` to the
 * backend now, still inside the bundle, and lists the refused ones in `rejected` with index =
 * the row's position among ALL rows written to that table in this bundle (0-based, in
 * write_rows order, rows refused by write_rows counted too) and `row` = its text. The
 * caller dead-letters them (writing to another table of the same bundle is allowed after).
 * Rows still unsent at commit are sent by commit, where a refusal fails the commit. For
 * sinks without late rejections this does nothing and reports none; their rows are only
 * visible at commit as always. beam_sink_rejects_late() says which kind a sink is. */
beam_status beam_sink_send(beam_sink *s, const char *table, beam_sink_row_errors *rejected,
                           beam_error *err);
bool beam_sink_rejects_late(const beam_sink *s);

/* Makes the bundle visible atomically (or recognizes it as already committed). On failure
 * nothing of the bundle is visible and the sink is back outside a bundle. */
beam_status beam_sink_commit(beam_sink *s, beam_error *err);

/* Discards the open bundle, if any. Never fails; safe to call outside a bundle. */
void beam_sink_abort(beam_sink *s);

/* True when the last commit found its bundle_id already committed and wrote nothing. */
bool beam_sink_last_bundle_was_duplicate(const beam_sink *s);

void beam_sink_get_stats(const beam_sink *s, beam_sink_stats *out);

/* Aborts any open bundle, flushes and releases the backend; reports what failed (a close
 * or final flush error is BEAM_ERR_IO). Call once; beam_sink_free is still required. */
beam_status beam_sink_close(beam_sink *s, beam_error *err);

/* Releases the sink (closing it first, errors ignored, if close was not called). NULL ok. */
void beam_sink_free(beam_sink *s);

/* ---- Units and the ledger (exactly once across retries, relaunches and crashes) -------
 *
 * A unit is what a destination commits and remembers: today a whole input file, keyed by its
 * content identity (file_identity.h); later a byte range of a file, keyed
 * "<file identity>@<start>-<end>" and compacted to the file's key once the file is done.
 * The ledger is the destination's own record of the units it committed, written in the same
 * atomic commit as the rows it describes (SQLite and PostgreSQL: table _beam_ledger in the
 * bundle's transaction; JSON lines: the directory's bundle log). A unit the ledger holds is
 * never loaded again (unless the user asks for a reload). Sinks without a ledger
 * (beam_sink_keeps_ledger false) find nothing and record nothing; their exactly-once rests on
 * record ids and content keys (see beam_sink_record_id). */

/* Savepoints: true when the sink can drop the rows of one unit from an open bundle
 * (beam_sink_unit_rollback) and keep the rest. A caller with a sink that cannot commits each
 * unit as a bundle of its own, so that dropping a unit is aborting its bundle. */
bool beam_sink_has_savepoints(const beam_sink *s);

/* Inside a bundle: marks the point a unit's rows start (replacing any earlier mark). */
beam_status beam_sink_unit_begin(beam_sink *s, beam_error *err);

/* Inside a bundle: drops every row and ledger entry written since beam_sink_unit_begin (a
 * unit that failed part way), keeping the bundle's earlier ones. The bundle stays open and healthy. Tables
 * created since the mark may be dropped with it (they are ensured again when next used).
 * BEAM_ERR_UNSUPPORTED when the sink has no savepoints. */
beam_status beam_sink_unit_rollback(beam_sink *s, beam_error *err);

/* True when the sink keeps a ledger. */
bool beam_sink_keeps_ledger(const beam_sink *s);

/* Inside a bundle: records that the unit `key` (read from input `file`) is committed; the
 * entry becomes visible with the bundle's rows, atomically, and not at all if the bundle
 * aborts. An entry for the key that exists already is kept (replace false) or replaced by
 * this one (replace true: a reload). Does nothing on a sink without a ledger. */
beam_status beam_sink_ledger_record(beam_sink *s, const char *key, const char *file, bool replace,
                                    beam_error *err);

/* What the ledger holds for a unit. */
typedef struct beam_sink_ledger_hit {
  bool found;
  char committed_at[40]; /* ISO 8601 UTC, "2026-12-07T01:40:00.123Z" */
  char file[1024];       /* the input's name when it was committed (cut to fit) */
} beam_sink_ledger_hit;

/* Looks a unit up among the committed entries (inside a bundle the bundle's own entries count
 * too). Outside or inside a bundle; never fails on a sink without a ledger (found false). A
 * lookup that fails inside a bundle fails the bundle (a database aborts the transaction). */
beam_status beam_sink_ledger_find(beam_sink *s, const char *key, beam_sink_ledger_hit *hit, beam_error *err);

/* Looks n units up at once: found[i] is true when the ledger holds keys[i] (inside a bundle
 * the bundle's own entries count too). What a stream's writer asks for each bundle's message
 * ids: one query on PostgreSQL, one look at the log for JSON lines, a prepared lookup per key
 * on SQLite (in-process). Outside or inside a bundle; never fails on a sink without a ledger
 * (all false). A lookup that fails inside a bundle fails the bundle. */
beam_status beam_sink_ledger_find_many(beam_sink *s, const char *const *keys, size_t n, bool *found,
                                       beam_error *err);

/* True in *any when the ledger holds at least one entry: a caller can skip identifying its
 * inputs against an empty ledger (a first load). */
beam_status beam_sink_ledger_any(beam_sink *s, bool *any, beam_error *err);

/* Byte ranges [start, end) of an input file, sorted by start, overlapping and adjacent ones
 * merged (what beam_sink_ledger_ranges answers). Zero-initialise; free with
 * beam_sink_ranges_free. */
typedef struct beam_sink_byte_range {
  int64_t start, end;
} beam_sink_byte_range;

typedef struct beam_sink_ranges {
  beam_sink_byte_range *items;
  size_t len, cap;
} beam_sink_ranges;

/* The byte ranges of file_id (a file identity) the ledger holds committed: every unit
 * "<file_id>@<start>-<end>" (beam_etl_unit_key), and [0, INT64_MAX) when the whole file's
 * unit "<file_id>" is there. A split file's ranges are units of their own, and a rerun may cut
 * the file at other boundaries than the run that committed them (another split size, another
 * CPU count, a runner's dynamic split): this is how it finds what is loaded whatever the
 * boundaries. Replaces out's content (out->len 0: none). Inside a bundle the bundle's own
 * entries count too. Outside or inside a bundle; on a sink without a ledger out is empty. A
 * lookup that fails inside a bundle fails the bundle. */
beam_status beam_sink_ledger_ranges(beam_sink *s, const char *file_id, beam_sink_ranges *out, beam_error *err);

/* Retraction: a split file's ranges commit one by one; when the file fails afterwards (a
 * range finds it changed, an I/O error outlasts the retries) none of its rows may stay.
 * Inside a bundle: removes, atomically with the bundle's commit, every row committed with a
 * range unit of file_id ("<file_id>@<start>-<end>"), those ledger entries and what made their
 * bundles recognisable (so a later load of the same content is written again). Nothing
 * committed for file_id: nothing happens. BEAM_ERR_UNSUPPORTED (the bundle stays healthy) on
 * a sink that cannot (beam_sink_can_retract false); a retraction the commit finds impossible
 * (SQLite: a table made outside file_etl that chooses its own rowids; PostgreSQL: a table made
 * again since; JSON lines: a table file not as the log committed it) fails the commit. What each sink does: SQLite by the rowid spans its range
 * commits recorded (sinks/sqlite_retract.h); PostgreSQL by the transaction ids of the ranges'
 * COPYs (xmin; sinks/sink_pg_retract.h); JSON lines by writing the tables again without the
 * byte spans the ranges' entries recorded (sinks/jsonl_retract.h); objects, BigQuery and
 * Pub/Sub cannot yet (README, "Exactly once"). */
beam_status beam_sink_retract_units(beam_sink *s, const char *file_id, beam_error *err);
bool beam_sink_can_retract(const beam_sink *s);

/* Called with a ledger unit (or a file identity, as beam_sink_ledger_unfinished says) and the
 * input name it was recorded under. */
typedef beam_status (*beam_sink_unit_fn)(void *ctx, const char *unit, const char *file, beam_error *err);

/* Loads that stopped in the middle of a split file: calls each(ctx, file_id, file) once for
 * every file identity with committed range units ("<file_id>@<start>-<end>") but no whole-file
 * unit "<file_id>" (the load of that content never finished: a crash, then the file changed,
 * so the same command reads another content under the name), with the input name its ranges
 * were recorded under. A load of that name under another identity retracts them
 * (beam_sink_retract_units): rows of a content that never loaded whole must not stay beside
 * the new one's. Outside a bundle; nothing on a sink that cannot retract. */
beam_status beam_sink_ledger_unfinished(beam_sink *s, beam_sink_unit_fn each, void *ctx, beam_error *err);

/* Rows a retraction removed from one table. */
typedef struct beam_sink_table_rows {
  char table[129];
  int64_t rows;
} beam_sink_table_rows;

/* After a commit: the rows its retractions removed, per table (*out valid until the next
 * begin; 0 entries when none, or the commit failed or was a duplicate). */
size_t beam_sink_retracted_rows(const beam_sink *s, const beam_sink_table_rows **out);

/* True when offset lies in one of r's ranges (binary search). */
bool beam_sink_ranges_contain(const beam_sink_ranges *r, int64_t offset);

/* True when r's ranges cover [start, end) without a gap (an empty range is covered). */
bool beam_sink_ranges_cover(const beam_sink_ranges *r, int64_t start, int64_t end);

/* Releases r's array and empties it. NULL ok. */
void beam_sink_ranges_free(beam_sink_ranges *r);

/* ---- The scheme registry ----------------------------------------------------------- */

/* Opens the sink for the part of the URI after "scheme:". */
typedef beam_status (*beam_sink_factory)(const char *location, const beam_sink_options *opts,
                                         beam_sink **out, beam_error *err);

/* Registers (or replaces) a scheme: lowercase letters, digits, '+', '-', '.'; first a letter.
 * Thread-safe. sqlite and jsonl are registered before the first lookup. */
beam_status beam_sink_register_scheme(const char *scheme, beam_sink_factory factory,
                                      beam_error *err);

/* Writes "a, b, c" (the registered schemes, sorted) into buf; returns buf. */
const char *beam_sink_known_schemes(char *buf, size_t cap);

/* True when name matches ^[A-Za-z_][A-Za-z0-9_]*$ and is at most 128 bytes. */
bool beam_sink_table_name_valid(const char *name);

/* The built-in factories (also usable directly). */
beam_status beam_sink_sqlite_open(const char *path, const beam_sink_options *opts, beam_sink **out,
                                  beam_error *err);
beam_status beam_sink_jsonl_open(const char *dir, const beam_sink_options *opts, beam_sink **out,
                                 beam_error *err);
beam_status beam_sink_gcs_open(const char *uri, const beam_sink_options *opts, beam_sink **out,
                               beam_error *err);
beam_status beam_sink_file_open(const char *dir, const beam_sink_options *opts, beam_sink **out,
                                beam_error *err);
/* bigquery:PROJECT.DATASET[?endpoint=URL&load_threshold=ROWS&...]: see
 * transforms/src/sinks/sink_bigquery.c. */
beam_status beam_sink_bigquery_open(const char *location, const beam_sink_options *opts,
                                    beam_sink **out, beam_error *err);
/* PostgreSQL (transforms/src/sinks/sink_postgres.c): binary COPY, one transaction per
 * bundle, bundle ids in `_beam_bundles`. Tables are created in a transaction of their own
 * even inside a bundle (so concurrent workers never wait on each other's bundles to create
 * one): an aborted bundle leaves no rows but may leave the empty tables it created. Columns
 * added to an existing table are committed the same way (under the table's advisory lock,
 * waiting at most 60 s for other workers' open bundles on that table when inside a bundle). A lost
 * connection is re-established with backoff; inside a bundle the bundle is claimed again and
 * what it did replayed: its rows, unit savepoint and ledger entries (up to 16 MB; bigger
 * bundles fail with BEAM_ERR_IO for the caller to retry). Savepoints: yes (SAVEPOINT
 * beam_unit; a unit rollback never drops a table, since tables are created apart). The
 * ledger is the table `_beam_ledger` (unit, file, committed_at), created at open when
 * missing (a database of an earlier release gains it) and written in the bundle's
 * transaction; ledger_find and ledger_any inside a bundle see its own entries. no_sync sets
 * synchronous_commit=off. */
beam_status beam_sink_postgres_open(const char *conninfo, const beam_sink_options *opts, beam_sink **out,
                                    beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
