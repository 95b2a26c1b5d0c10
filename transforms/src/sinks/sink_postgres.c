/* PostgreSQL sink: "postgres:CONNINFO" (libpq key=value string or postgresql:// URI).
 *
 * - One transaction per bundle. begin inserts the bundle id into `_beam_bundles`
 *   (primary key) with ON CONFLICT DO NOTHING: no row inserted means the bundle is already
 *   committed, so the bundle writes nothing (a duplicate). A concurrent worker running the
 *   same bundle waits on that key until the first one commits (then it is a duplicate) or
 *   aborts (then it proceeds): two workers never both write a bundle.
 * - Rows go in with binary COPY (sink_pg_copy.c), one COPY per write_rows call, each under
 *   a savepoint. When the server refuses the COPY for a row's values (SQLSTATE 22 or 23:
 *   a constraint, an encoding error), the COPY is rolled back to the savepoint and the rows
 *   are bisected to find the offending ones, which are rejected with the server's message;
 *   the rest of the bundle still commits.
 * - Tables are created from the schema (REQUIRED -> NOT NULL) in a transaction of their
 *   own, on a short-lived second connection when a bundle is open: uncommitted DDL inside
 *   a bundle would make every other worker wait for that bundle to create or even look at
 *   the table, and two workers creating two tables in opposite orders would deadlock. An
 *   aborted bundle therefore leaves no rows, but may leave the empty tables it created.
 *   Concurrent creators serialize on an advisory lock per table name.
 * - A table that exists gains the schema's missing NULLABLE columns (ALTER TABLE ADD COLUMN
 *   IF NOT EXISTS, no default: old rows read NULL) the same way, in a transaction of its own
 *   under the same advisory lock, the columns read again under it; any other difference
 *   (a missing REQUIRED column, another type, an extra column) is an error naming it. COPY
 *   names its columns, so the order of a migrated table's columns does not matter.
 * - A connection lost outside a bundle is re-established with backoff at the next begin
 *   or ensure_table. Lost inside a bundle (a COPY, ensure_table, COMMIT), the server rolled
 *   the bundle back, or committed it if COMMIT got through: the sink reconnects, claims the
 *   bundle id again (already there: the commit got through, or another worker committed
 *   it) and replays what the bundle had done from its replay log (sink_pg_replay.c: its
 *   rows, unit savepoints and ledger entries, up to REPLAY_MAX_BYTES). A bundle too big to
 *   replay, or a server that stays away, fails the call with BEAM_ERR_IO naming the cause;
 *   the caller retries.
 * - Units (beam_sink_unit_begin/unit_rollback) are the savepoint beam_unit, set anew at each
 *   unit_begin: the previous one is released first (its rows stay in the bundle) so a
 *   bundle of many units does not pile up nested subtransactions. The per-COPY savepoint
 *   beam_write is released before beam_unit is set, so it always nests inside beam_unit
 *   (releasing or rolling back to beam_write never touches beam_unit; rolling back to
 *   beam_unit discards beam_write). Each COPY is finished within its write_rows call, so no
 *   COPY is ever open when a savepoint is set or rolled back to. A unit rollback truncates
 *   the replay log back to the savepoint, so a reconnect after it replays exactly the rows
 *   kept. Tables are created in transactions of their own (above): a rollback never drops
 *   one, and the sink's table cache stays true.
 * - The ledger is the table `_beam_ledger` (unit text PRIMARY KEY, file, committed_at),
 *   created IF NOT EXISTS at open like `_beam_bundles` (a database the previous release wrote
 *   gains it). ledger_record inserts in the bundle's transaction (ON CONFLICT DO NOTHING, or
 *   DO UPDATE for a reload), so an entry commits with the bundle's rows or not at all, and is
 *   replayed after a reconnect like them. ledger_find and ledger_any read on the sink's own
 *   connection: inside a bundle they see the bundle's own entries.
 * - Retraction (sink_pg_retract.h): each COPY statement ends with a probe returning the
 *   transaction id its rows carry (the COPY's subtransaction), the entry of a range unit
 *   records its COPYs' ids (column `xids`), and retract_units deletes those rows and entries
 *   at commit, before COMMIT (run again after a reconnect: the replay log does not hold it).
 *   A bundle that records range units claims no content key: its units' entries recognise a
 *   retry, and a key would outlive their retraction. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "beam/buf.h"
#include "sink_int.h"
#include "sink_pg_conn.h"
#include "sink_pg_copy.h"
#include "sink_pg_replay.h"
#include "sink_pg_retract.h"
#include "sink_sql.h"
#include "sink_tables.h"

#define BUNDLES_TABLE "_beam_bundles"
#define PG_NAME_MAX 63 /* NAMEDATALEN - 1 */
#define LEDGER_TABLE "_beam_ledger"
#define SAVEPOINT "beam_write"
#define UNIT_SAVEPOINT "beam_unit"
/* What one bundle did (encoded rows, ledger entries) kept for replay after a lost
 * connection; it bounds the memory (file_etl stays far under 64 MB) while covering the
 * bundles runners send. */
#define REPLAY_MAX_BYTES ((size_t)16 << 20)
/* Reconnect-and-replay rounds per call before giving up. */
#define MAX_RECOVERIES 3
/* pg_advisory_xact_lock(int4, int4) key space of this sink: "beam" in ASCII. */
#define LOCK_CLASS "1650811245"

/* The COPY statement with what must run before it, depending on the savepoint: its tail
 * from RELEASE_LEN (set a savepoint first) or from PLAIN_LEN (the COPY alone) serve too. */
#define COPY_PREFIX "RELEASE SAVEPOINT " SAVEPOINT "; SAVEPOINT " SAVEPOINT "; "
#define RELEASE_LEN (sizeof "RELEASE SAVEPOINT " SAVEPOINT "; " - 1)
#define PLAIN_LEN (sizeof COPY_PREFIX - 1)

typedef struct pg_table {
  char *name;
  const beam_etl_schema *schema;
  char *copy_sql; /* COPY_PREFIX COPY "t" ("a", "b") FROM STDIN (FORMAT binary) BEAM_SINK_PG_PROBE */
  uint32_t oid;   /* as the COPYs' ids record it (sink_pg_retract.h) */
} pg_table;
BEAM_SINK_TABLE_NAME_FIRST(pg_table);

/* Where the write savepoint stands: none yet, just set (nothing after it), or holding
 * the accepted rows of the previous COPY (release it before setting the next). */
typedef enum pg_savepoint { SP_NONE = 0, SP_CLEAN, SP_DIRTY } pg_savepoint;

typedef struct pg_sink {
  beam_sink base;
  int64_t messages_expired_at; /* monotonic seconds of the last expire_messages, or 0 */
  PGconn *conn;
  char *conninfo;
  char who[192]; /* "postgres db@host:port" for messages; never the password */
  pg_table *tables;
  size_t n_tables, cap_tables, last_table;
  bool in_txn;
  char *bundle_id;
  pg_savepoint savepoint;
  bool unit_savepoint; /* beam_unit is set in the open transaction */
  beam_sink_pg_copy copy;
  size_t *refused; /* positions in copy the server refused in this write_rows call */
  size_t n_refused, cap_refused;
  beam_sink_pg_replay replay;
  beam_buf sql;
  /* The bundle's ledger entries that do not replace, and those of them another writer had
   * committed when ours was inserted (ON CONFLICT DO NOTHING inserted nothing: it waited for
   * that writer's transaction, which committed); both as of the unit savepoint too. */
  size_t units, units_taken, units_at_mark, taken_at_mark;
  char taken_example[256];
  /* Retraction (sink_pg_retract.h): the bundle's COPYs' transaction ids, the last COPY's,
   * the range units recorded (as of the unit savepoint too), the files to retract at commit. */
  beam_sink_pg_xids xids;
  uint64_t last_xid;
  size_t ranges, ranges_at_mark;
  char **retract;
  size_t n_retract;
} pg_sink;

static beam_status nomem(beam_error *err) { return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory"); }

/* "postgres sample@127.0.0.1:5432: table events: copy: <server message>" */
static beam_status pg_fail(pg_sink *p, PGresult *res, const char *table, const char *what, beam_error *err) {
  char msg[400];
  beam_sink_pg_message(p->conn, res, msg, sizeof msg);
  beam_status st = beam_sink_pg_status(p->conn, res);
  const char *lost = beam_sink_pg_connection_lost(p->conn, res) ? " (connection lost; retry the bundle)" : "";
  if (table) beam_error_set(err, st, "%s: table %s: %s: %s%s", p->who, table, what, msg, lost);
  else beam_error_set(err, st, "%s: %s: %s%s", p->who, what, msg, lost);
  PQclear(res);
  return st;
}

static void describe(pg_sink *p) {
  const char *host = PQhost(p->conn);
  snprintf(p->who, sizeof p->who, "postgres %s@%s:%s", PQdb(p->conn), host && host[0] ? host : "localhost",
           PQport(p->conn));
}

static const char *pg_type(beam_etl_type t) {
  switch (t) {
    case BEAM_ETL_STRING: return "text";
    case BEAM_ETL_INT64: return "bigint";
    case BEAM_ETL_FLOAT64: return "double precision";
    case BEAM_ETL_NUMERIC: return "numeric";
    case BEAM_ETL_BOOL: return "boolean";
    case BEAM_ETL_TIMESTAMP: return "timestamp with time zone";
    case BEAM_ETL_DATE: return "date";
    case BEAM_ETL_BYTES: return "bytea";
  }
  return "?";
}

static pg_table *table_find(pg_sink *p, const char *name) {
  size_t i = beam_sink_table_index(p->tables, p->n_tables, sizeof *p->tables, &p->last_table, name);
  return i < p->n_tables ? &p->tables[i] : NULL;
}

static beam_status recover(pg_sink *p, bool *elsewhere, beam_error *err);

/* ---- Catalog: does the table exist, with which columns ----------------------------- */

/* "postgres db@host:port: table t: <what>: <server message>" for a failure on conn (the
 * sink's connection or a side one). */
static beam_status conn_fail(pg_sink *p, PGconn *conn, PGresult *res, const char *table, const char *what,
                             beam_error *err) {
  char msg[400];
  beam_sink_pg_message(conn, res, msg, sizeof msg);
  beam_status st = beam_sink_pg_status(conn, res);
  PQclear(res);
  return beam_error_set(err, st, "%s: table %s: %s: %s", p->who, table, what, msg);
}

/* The live columns (res rows: name, type) as sink_tables.h describes them; NULL when out of
 * memory. A table without columns gives one row of NULLs: no columns. */
static beam_sink_column *live_columns(const PGresult *res, size_t *n) {
  int rows = PQntuples(res);
  beam_sink_column *cols = calloc((size_t)rows + 1, sizeof *cols);
  *n = 0;
  for (int r = 0; cols && r < rows; r++) {
    if (PQgetisnull(res, r, 0)) continue;
    /* NOT NULL is not compared: a stricter column only rejects rows, which are reported. */
    cols[(*n)++] = (beam_sink_column){PQgetvalue(res, r, 0), PQgetvalue(res, r, 1), NULL};
  }
  return cols;
}

/* Reads the table's columns on conn and compares them with the schema (sink_tables.h:
 * beam_sink_columns_plan; add[i] set for each NULLABLE field to add). 0 = table missing,
 * 1 = fits after those additions, -1 = error or differs (err set). */
static int check_columns(pg_sink *p, PGconn *conn, const char *table, const beam_etl_schema *schema, bool *add,
                         beam_status *st, beam_error *err) {
  beam_buf_reset(&p->sql);
  *st = beam_sink_sql_append_ident(&p->sql, table);
  if (*st == BEAM_OK) *st = beam_buf_terminate(&p->sql);
  if (*st != BEAM_OK) return nomem(err), -1;
  const char *params[1] = {(const char *)p->sql.data};
  PGresult *res = PQexecParams(conn,
                               "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) "
                               "FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_attribute a "
                               "ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
                               "WHERE c.oid = pg_catalog.to_regclass($1) ORDER BY a.attnum",
                               1, NULL, params, NULL, NULL, 0);
  if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
    *st = conn == p->conn ? pg_fail(p, res, table, "reading columns", err)
                          : conn_fail(p, conn, res, table, "reading columns", err);
    return -1;
  }
  if (PQntuples(res) == 0) return PQclear(res), *st = BEAM_OK, 0;
  size_t n = 0;
  beam_sink_column *cols = live_columns(res, &n);
  char diff[600];
  bool oom = !cols;
  bool fits = !oom && beam_sink_columns_plan(cols, n, schema, pg_type, false, add, diff, sizeof diff);
  free(cols);
  PQclear(res);
  if (fits) return *st = BEAM_OK, 1;
  if (oom) return *st = nomem(err), -1;
  *st = beam_error_set(err, BEAM_ERR_INVALID_ARG,
                       "%s: table %s exists with different columns: %s (existing tables only gain missing NULLABLE "
                       "columns)",
                       p->who, table, diff);
  return -1;
}

/* BEGIN; lock on the name; CREATE TABLE IF NOT EXISTS ...; COMMIT - as one statement string. */
static beam_status create_sql(beam_buf *b, const char *table, const beam_etl_schema *schema) {
  char lock[256];
  /* Valid table names are [A-Za-z0-9_]: safe inside a literal. */
  snprintf(lock, sizeof lock,
           "BEGIN; SELECT pg_catalog.pg_advisory_xact_lock(" LOCK_CLASS ", pg_catalog.hashtext('%s')); "
           "CREATE TABLE IF NOT EXISTS ",
           table);
  beam_buf_reset(b);
  beam_status st = beam_buf_append_str(b, lock);
  if (st == BEAM_OK) st = beam_sink_sql_append_ident(b, table);
  for (size_t i = 0; st == BEAM_OK && i < schema->n_fields; i++) {
    st = beam_buf_append_str(b, i ? ", " : " (");
    if (st == BEAM_OK) st = beam_sink_sql_append_column(b, &schema->fields[i], pg_type(schema->fields[i].type));
  }
  if (st == BEAM_OK) st = beam_buf_append_str(b, "); COMMIT");
  return st == BEAM_OK ? beam_buf_terminate(b) : st;
}

/* Runs the creation on conn, which must be outside a transaction. */
static beam_status run_create(pg_sink *p, PGconn *conn, const char *table, beam_error *err) {
  PGresult *res = NULL;
  if (beam_sink_pg_exec(conn, (const char *)p->sql.data, PGRES_COMMAND_OK, &res)) return BEAM_OK;
  char msg[400];
  beam_sink_pg_message(conn, res, msg, sizeof msg);
  beam_status st = beam_sink_pg_status(conn, res);
  PQclear(res);
  if (PQtransactionStatus(conn) != PQTRANS_IDLE) beam_sink_pg_exec(conn, "ROLLBACK", PGRES_COMMAND_OK, NULL);
  return beam_error_set(err, st, "%s: table %s: create: %s", p->who, table, msg);
}

static beam_status create_table(pg_sink *p, const char *table, const beam_etl_schema *schema, beam_error *err) {
  if (create_sql(&p->sql, table, schema) != BEAM_OK) return nomem(err);
  if (!p->in_txn) return run_create(p, p->conn, table, err);
  /* Inside a bundle: commit the creation at once, on a connection of its own. */
  PGconn *side = NULL;
  beam_status st = beam_sink_pg_connect(p->conninfo, false, &side, err);
  if (st == BEAM_OK) st = run_create(p, side, table, err);
  PQfinish(side);
  return st;
}

/* ALTER TABLE "t" ADD COLUMN IF NOT EXISTS "c" type, ... for the fields marked in add. */
static beam_status alter_sql(beam_buf *b, const char *table, const beam_etl_schema *schema, const bool *add) {
  beam_buf_reset(b);
  beam_status st = beam_buf_append_str(b, "ALTER TABLE ");
  if (st == BEAM_OK) st = beam_sink_sql_append_ident(b, table);
  bool first = true;
  for (size_t i = 0; st == BEAM_OK && i < schema->n_fields; i++) {
    if (!add[i]) continue;
    st = beam_buf_append_str(b, first ? " ADD COLUMN IF NOT EXISTS " : ", ADD COLUMN IF NOT EXISTS ");
    first = false;
    if (st == BEAM_OK) st = beam_sink_sql_append_column(b, &schema->fields[i], pg_type(schema->fields[i].type));
  }
  return st == BEAM_OK ? beam_buf_terminate(b) : st;
}

/* Under the table's advisory lock (the one creation takes): reads the columns again, since
 * another worker may have added them meanwhile, and adds the ones still missing, nullable
 * without a default (rows already there read NULL). add is scratch of n_fields flags. */
static beam_status alter_locked(pg_sink *p, PGconn *conn, const char *table, const beam_etl_schema *schema,
                                bool *add, beam_error *err) {
  char lock[256];
  /* Inside a bundle the wait is bounded: a worker whose open bundle holds the table, waiting
   * in turn for us, would otherwise deadlock where the server cannot see it. */
  snprintf(lock, sizeof lock,
           "BEGIN; %sSELECT pg_catalog.pg_advisory_xact_lock(" LOCK_CLASS ", pg_catalog.hashtext('%s'))",
           p->in_txn ? "SET LOCAL lock_timeout = '60s'; " : "", table);
  PGresult *res = NULL;
  if (!beam_sink_pg_exec(conn, lock, PGRES_TUPLES_OK, &res)) return conn_fail(p, conn, res, table, "lock", err);
  beam_status st;
  memset(add, 0, schema->n_fields * sizeof *add);
  int found = check_columns(p, conn, table, schema, add, &st, err);
  if (found == 0) st = beam_error_set(err, BEAM_ERR_IO, "%s: table %s: dropped while adding columns", p->who, table);
  if (found == 1 && beam_sink_columns_any_added(add, schema->n_fields)) {
    st = alter_sql(&p->sql, table, schema, add) == BEAM_OK ? BEAM_OK : nomem(err);
    if (st == BEAM_OK && !beam_sink_pg_exec(conn, (const char *)p->sql.data, PGRES_COMMAND_OK, &res))
      st = conn_fail(p, conn, res, table, "add columns", err);
  }
  if (st == BEAM_OK && !beam_sink_pg_exec(conn, "COMMIT", PGRES_COMMAND_OK, &res))
    st = conn_fail(p, conn, res, table, "commit added columns", err);
  if (st != BEAM_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
    beam_sink_pg_exec(conn, "ROLLBACK", PGRES_COMMAND_OK, NULL);
  return st;
}

/* Adds the schema's missing NULLABLE columns in a transaction of their own, like creation:
 * on a short-lived side connection when a bundle is open. */
static beam_status add_columns(pg_sink *p, const char *table, const beam_etl_schema *schema, bool *add,
                               beam_error *err) {
  if (!p->in_txn) return alter_locked(p, p->conn, table, schema, add, err);
  PGconn *side = NULL;
  beam_status st = beam_sink_pg_connect(p->conninfo, false, &side, err);
  if (st == BEAM_OK) st = alter_locked(p, side, table, schema, add, err);
  PQfinish(side);
  return st;
}

/* The table's OID, for the ids its COPYs record (sink_pg_retract.h). */
static beam_status read_oid(pg_sink *p, const char *table, uint32_t *oid, beam_error *err) {
  beam_buf_reset(&p->sql);
  beam_status st = beam_sink_sql_append_ident(&p->sql, table);
  if (st == BEAM_OK) st = beam_buf_terminate(&p->sql);
  if (st != BEAM_OK) return nomem(err);
  const char *params[1] = {(const char *)p->sql.data};
  PGresult *res = PQexecParams(p->conn, "SELECT pg_catalog.to_regclass($1)::oid::text", 1, NULL, params, NULL, NULL, 0);
  if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
    return pg_fail(p, res, table, "reading its OID", err);
  *oid = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  return BEAM_OK;
}

static beam_status remember_table(pg_sink *p, const char *table, const beam_etl_schema *schema, beam_error *err) {
  pg_table *grown = beam_sink_tables_reserve(p->tables, p->n_tables, &p->cap_tables, sizeof *grown);
  if (!grown) return nomem(err);
  p->tables = grown;
  beam_buf_reset(&p->sql);
  beam_status st = beam_buf_append_str(&p->sql, COPY_PREFIX "COPY ");
  if (st == BEAM_OK) st = beam_sink_sql_append_ident(&p->sql, table);
  for (size_t i = 0; st == BEAM_OK && i < schema->n_fields; i++) {
    st = beam_buf_append_str(&p->sql, i ? ", " : " (");
    if (st == BEAM_OK) st = beam_sink_sql_append_ident(&p->sql, schema->fields[i].name);
  }
  if (st == BEAM_OK) st = beam_buf_append_str(&p->sql, ") FROM STDIN (FORMAT binary)" BEAM_SINK_PG_PROBE);
  if (st == BEAM_OK) st = beam_buf_terminate(&p->sql);
  pg_table t = {strdup(table), schema, st == BEAM_OK ? strdup((const char *)p->sql.data) : NULL, 0};
  if (!t.name || !t.copy_sql) return free(t.name), free(t.copy_sql), nomem(err);
  if ((st = read_oid(p, table, &t.oid, err)) != BEAM_OK) return free(t.name), free(t.copy_sql), st;
  p->tables[p->n_tables++] = t;
  return BEAM_OK;
}

/* Outside a bundle a lost connection costs nothing: reconnect before the next statement. */
static beam_status ensure_connected(pg_sink *p, beam_error *err) {
  if (PQstatus(p->conn) == CONNECTION_OK) return BEAM_OK;
  return beam_sink_pg_reconnect(p->conn, p->who, err);
}

/* Makes the live table fit the schema: creates it, or adds its missing NULLABLE columns;
 * any other difference is an error. add is scratch of n_fields flags. */
static beam_status fit_table(pg_sink *p, const char *table, const beam_etl_schema *schema, bool *add,
                             beam_error *err) {
  beam_status st;
  int found = check_columns(p, p->conn, table, schema, add, &st, err);
  if (found < 0 && PQstatus(p->conn) != CONNECTION_OK) {
    /* libpq notices a server restart only at the next statement. Outside a bundle nothing
     * is lost: reconnect. Inside one: reconnect and replay the bundle. Then ask again. */
    bool elsewhere = false;
    st = p->in_txn ? recover(p, &elsewhere, err) : beam_sink_pg_reconnect(p->conn, p->who, err);
    if (st != BEAM_OK) return st;
    if (elsewhere) p->base.duplicate = true; /* another worker committed this bundle meanwhile */
    found = check_columns(p, p->conn, table, schema, add, &st, err);
  }
  if (found < 0) return st;
  if (found == 0) {
    if ((st = create_table(p, table, schema, err)) != BEAM_OK) return st;
    /* Another worker may have created it first, with other columns: check what is there. */
    found = check_columns(p, p->conn, table, schema, add, &st, err);
    if (found < 0) return st;
    if (found == 0)
      return beam_error_set(err, BEAM_ERR_IO, "%s: table %s: created but not visible (search_path?)", p->who, table);
  }
  if (!beam_sink_columns_any_added(add, schema->n_fields)) return BEAM_OK;
  if ((st = add_columns(p, table, schema, add, err)) != BEAM_OK) return st;
  /* Read back on the sink's connection, which its COPY uses: the columns are committed. */
  found = check_columns(p, p->conn, table, schema, add, &st, err);
  if (found < 0) return st;
  if (found == 0 || beam_sink_columns_any_added(add, schema->n_fields))
    return beam_error_set(err, BEAM_ERR_IO, "%s: table %s: added columns not visible", p->who, table);
  return BEAM_OK;
}

static beam_status pg_ensure_table(beam_sink *s, const char *table, const beam_etl_schema *schema,
                                   const beam_sink_table_options *topts, beam_error *err) {
  (void)topts; /* no partitioning or clustering here */
  pg_sink *p = (pg_sink *)s;
  pg_table *t = table_find(p, table);
  if (t) return beam_sink_table_reensure(t->schema, schema, true, p->who, NULL, table, err);
  if (strcmp(table, BUNDLES_TABLE) == 0 || strcmp(table, LEDGER_TABLE) == 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: table name %s is reserved for bundle bookkeeping", p->who,
                          table);
  /* PostgreSQL would cut a longer name to 63 bytes, and two names to one table. */
  if (strlen(table) > PG_NAME_MAX)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: table name %s is longer than %d bytes (PostgreSQL's limit)",
                          p->who, table, PG_NAME_MAX);
  beam_status st = p->in_txn ? BEAM_OK : ensure_connected(p, err);
  if (st != BEAM_OK) return st;
  bool *add = calloc(schema->n_fields ? schema->n_fields : 1, sizeof *add);
  if (!add) return nomem(err);
  st = fit_table(p, table, schema, add, err);
  free(add);
  if (st != BEAM_OK) return st;
  return remember_table(p, table, schema, err);
}

/* ---- Bundles ------------------------------------------------------------------------ */

static void end_txn(pg_sink *p) {
  if (PQstatus(p->conn) == CONNECTION_OK && PQtransactionStatus(p->conn) != PQTRANS_IDLE)
    beam_sink_pg_exec(p->conn, "ROLLBACK", PGRES_COMMAND_OK, NULL);
  p->in_txn = false;
  p->savepoint = SP_NONE;
  p->unit_savepoint = false;
  p->units = p->units_taken = p->units_at_mark = p->taken_at_mark = 0;
  p->xids.len = p->xids.at_mark = 0;
  p->ranges = p->ranges_at_mark = 0;
  for (size_t i = 0; i < p->n_retract; i++) free(p->retract[i]);
  p->n_retract = 0;
}

/* A new bundle: its id (kept to claim it again after a reconnect) and an empty replay log. */
static beam_status start_bundle(pg_sink *p, const char *bundle_id, beam_error *err) {
  free(p->bundle_id);
  p->bundle_id = strdup(bundle_id);
  beam_sink_pg_replay_reset(&p->replay);
  return p->bundle_id ? BEAM_OK : nomem(err);
}

/* BEGIN and claim the bundle id. *claimed false: already committed by someone. */
static beam_status claim_bundle(pg_sink *p, const char *bundle_id, bool *claimed, bool *lost, beam_error *err) {
  PGresult *res = NULL;
  *lost = false;
  if (!beam_sink_pg_exec(p->conn, "BEGIN ISOLATION LEVEL READ COMMITTED; " BEAM_SINK_PG_PROBE_TABLE, PGRES_COMMAND_OK,
                         &res)) {
    *lost = beam_sink_pg_connection_lost(p->conn, res);
    return pg_fail(p, res, NULL, "begin bundle", err);
  }
  p->in_txn = true;
  const char *params[1] = {bundle_id};
  res = PQexecParams(p->conn,
                     "INSERT INTO \"" BUNDLES_TABLE "\" (bundle_id) VALUES ($1) ON CONFLICT (bundle_id) DO NOTHING", 1,
                     NULL, params, NULL, NULL, 0);
  if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
    *claimed = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return BEAM_OK;
  }
  if (beam_sink_pg_sqlstate_is(res, "23505")) { /* a unique violation: the same, a duplicate */
    PQclear(res);
    *claimed = false;
    return BEAM_OK;
  }
  *lost = beam_sink_pg_connection_lost(p->conn, res);
  beam_status st = pg_fail(p, res, BUNDLES_TABLE, "claim bundle", err);
  end_txn(p);
  return st;
}

/* A stream's old message units go (sink.h: message_ledger_days): before a bundle, outside its
 * transaction, at the first bundle and then once an hour. A range of the primary key (in byte
 * order, whatever the database's collation) so the index serves it; rows locked by a writer
 * are not old ones. */
static beam_status expire_messages(pg_sink *p, beam_error *err) {
  int64_t last = p->messages_expired_at;
  if (!beam_sink_message_expiry_due(&p->base, &last)) return BEAM_OK;
  char sql[300];
  snprintf(sql, sizeof sql,
           "DELETE FROM \"" LEDGER_TABLE "\" WHERE unit COLLATE \"C\" >= 'pubsub:' AND unit COLLATE \"C\" < 'pubsub;' "
           "AND committed_at < now() - interval '%d days'",
           p->base.opts.message_ledger_days);
  PGresult *res = NULL;
  if (!beam_sink_pg_exec(p->conn, sql, PGRES_COMMAND_OK, &res))
    return pg_fail(p, res, LEDGER_TABLE, "forget old message units", err);
  p->messages_expired_at = last;
  return BEAM_OK;
}

static beam_status pg_begin(beam_sink *s, const char *bundle_id, beam_error *err) {
  pg_sink *p = (pg_sink *)s;
  if (start_bundle(p, bundle_id, err) != BEAM_OK) return BEAM_ERR_NOMEM;
  /* Nothing of the bundle exists yet: a lost connection is retried here, not failed. */
  for (int attempt = 0;; attempt++) {
    beam_status st = ensure_connected(p, err);
    if (st == BEAM_OK) st = expire_messages(p, err);
    if (st != BEAM_OK) return st;
    bool claimed = false, lost = false;
    st = claim_bundle(p, bundle_id, &claimed, &lost, err);
    if (st == BEAM_OK) {
      if (!claimed) {
        s->duplicate = true;
        end_txn(p);
      }
      return BEAM_OK;
    }
    end_txn(p);
    if (!lost || attempt == 2) return st;
  }
}

/* Runs sql (ending in a COPY FROM STDIN) and streams header, rows, trailer. NULL on success,
 * else the failed result. */
static PGresult *copy_bytes(pg_sink *p, const char *sql, const unsigned char *rows, size_t len) {
  PGresult *res = PQexec(p->conn, sql);
  if (!res || PQresultStatus(res) != PGRES_COPY_IN) return res ? res : PQmakeEmptyPGresult(p->conn, PGRES_FATAL_ERROR);
  PQclear(res);
  if (strncmp(sql, "COPY", 4) != 0) p->savepoint = SP_CLEAN; /* the statements before it set one */
  const char *data = (const char *)rows;
  int ok = PQputCopyData(p->conn, (const char *)beam_sink_pg_copy_header, sizeof beam_sink_pg_copy_header);
  for (size_t off = 0; ok == 1 && off < len; off += 1 << 20) {
    size_t piece = len - off < (1u << 20) ? len - off : (1u << 20);
    ok = PQputCopyData(p->conn, data + off, (int)piece);
  }
  if (ok == 1)
    ok = PQputCopyData(p->conn, (const char *)beam_sink_pg_copy_trailer, sizeof beam_sink_pg_copy_trailer);
  PQputCopyEnd(p->conn, ok == 1 ? NULL : "beam-c: sending rows failed");
  PGresult *failed = NULL;
  p->last_xid = 0;
  for (PGresult *r; (r = PQgetResult(p->conn)) != NULL;) {
    if (PQresultStatus(r) == PGRES_TUPLES_OK && !failed) p->last_xid = beam_sink_pg_probe_xid(r); /* the probe */
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK && !failed) failed = r;
    else PQclear(r);
  }
  if (!failed && !p->last_xid) failed = PQmakeEmptyPGresult(p->conn, PGRES_FATAL_ERROR);
  if (!failed && PQstatus(p->conn) != CONNECTION_OK) failed = PQmakeEmptyPGresult(p->conn, PGRES_FATAL_ERROR);
  return failed;
}

/* Sends rows [lo, hi) of the encoder as one COPY under the savepoint (one round trip to
 * set the savepoint and start the COPY, one for the data). Returns NULL on success, else
 * the failed result (the caller clears it). */
static PGresult *copy_range(pg_sink *p, const pg_table *t, size_t lo, size_t hi) {
  const char *sql = t->copy_sql + (p->savepoint == SP_DIRTY ? 0 : p->savepoint == SP_NONE ? RELEASE_LEN : PLAIN_LEN);
  const beam_sink_pg_copy *c = &p->copy;
  PGresult *failed = copy_bytes(p, sql, c->rows.data + c->start[lo], c->start[hi] - c->start[lo]);
  if (!failed) p->savepoint = SP_DIRTY;
  return failed;
}

/* Keeps the last COPY's transaction id for the ledger entry of its unit (sink_pg_retract.h). */
static beam_status note_xid(pg_sink *p, const pg_table *t, beam_error *err) {
  return beam_sink_pg_xids_add(&p->xids, t->name, t->oid, p->last_xid) == BEAM_OK ? BEAM_OK : nomem(err);
}

static beam_status note_refused(pg_sink *p, size_t pos, beam_error *err) {
  if (p->n_refused == p->cap_refused) {
    size_t cap = p->cap_refused ? p->cap_refused * 2 : 16;
    size_t *grown = realloc(p->refused, cap * sizeof *grown);
    if (!grown) return nomem(err);
    p->refused = grown;
    p->cap_refused = cap;
  }
  p->refused[p->n_refused++] = pos;
  return BEAM_OK;
}

/* Loads rows [lo, hi); rows the server refuses are found by halving and rejected. */
static beam_status load_range(pg_sink *p, const pg_table *t, size_t lo, size_t hi, beam_sink_row_errors *rejected,
                              beam_error *err) {
  PGresult *res = copy_range(p, t, lo, hi);
  if (!res) return note_xid(p, t, err);
  if (!beam_sink_pg_row_level(res) || beam_sink_pg_connection_lost(p->conn, res))
    return pg_fail(p, res, t->name, "copy", err);
  PGresult *back = NULL;
  if (!beam_sink_pg_exec(p->conn, "ROLLBACK TO SAVEPOINT " SAVEPOINT, PGRES_COMMAND_OK, &back)) {
    PQclear(res);
    return pg_fail(p, back, t->name, "rollback to savepoint", err);
  }
  p->savepoint = SP_CLEAN;
  if (hi - lo == 1) {
    char msg[400];
    beam_sink_pg_message(p->conn, res, msg, sizeof msg);
    PQclear(res);
    if (beam_sink_row_errors_add(rejected, p->copy.index[lo], "postgres: %s", msg) != BEAM_OK) return nomem(err);
    return note_refused(p, lo, err);
  }
  PQclear(res);
  size_t mid = lo + (hi - lo) / 2;
  beam_status st = load_range(p, t, lo, mid, rejected, err);
  return st == BEAM_OK ? load_range(p, t, mid, hi, rejected, err) : st;
}

/* Sets the unit savepoint, replacing the previous one (see the header comment for why
 * beam_write is released first). False on failure, the result in *failed (caller clears). */
static bool set_unit_savepoint(pg_sink *p, PGresult **failed) {
  const char *sql = p->unit_savepoint         ? "RELEASE SAVEPOINT " UNIT_SAVEPOINT "; SAVEPOINT " UNIT_SAVEPOINT
                    : p->savepoint != SP_NONE ? "RELEASE SAVEPOINT " SAVEPOINT "; SAVEPOINT " UNIT_SAVEPOINT
                                              : "SAVEPOINT " UNIT_SAVEPOINT;
  if (!beam_sink_pg_exec(p->conn, sql, PGRES_COMMAND_OK, failed)) return false;
  p->unit_savepoint = true;
  p->savepoint = SP_NONE;
  return true;
}

/* Inserts a ledger entry in the open transaction; the result (caller clears). */
/* A range unit's entry records its COPYs' transaction ids (sink_pg_retract.h); NULL when out
 * of memory. */
static PGresult *ledger_insert(pg_sink *p, const char *key, const char *file, bool replace) {
  bool range = beam_sink_unit_is_range(key);
  char *xids = range ? beam_sink_pg_xids_text(&p->xids) : NULL;
  if (range && !xids) return NULL;
  if (range) p->ranges++;
  const char *params[3] = {key, file, xids};
  PGresult *res =
      PQexecParams(p->conn,
                   replace ? "INSERT INTO \"" LEDGER_TABLE "\" (unit, file, xids) VALUES ($1, $2, $3) ON CONFLICT (unit) "
                             "DO UPDATE SET file = EXCLUDED.file, xids = EXCLUDED.xids, committed_at = now()"
                           : "INSERT INTO \"" LEDGER_TABLE "\" (unit, file, xids) VALUES ($1, $2, $3) ON CONFLICT (unit) "
                             "DO NOTHING",
                   3, NULL, params, NULL, NULL, 0);
  free(xids);
  return res;
}

/* Counts a recorded unit, and whether another writer had committed it. */
static void note_unit(pg_sink *p, const char *key, bool taken) {
  p->units++;
  if (!taken) return;
  if (!p->units_taken++) snprintf(p->taken_example, sizeof p->taken_example, "%s", key);
}

/* Sets the unit savepoint and marks the unit counts there. */
static bool mark_unit(pg_sink *p, PGresult **failed) {
  if (!set_unit_savepoint(p, failed)) return false;
  p->units_at_mark = p->units;
  p->taken_at_mark = p->units_taken;
  p->xids.at_mark = p->xids.len;
  p->ranges_at_mark = p->ranges;
  return true;
}

/* Runs the replay log's steps on the new connection, in order (counting the units again:
 * another writer may have committed one since). */
static beam_status replay_log(pg_sink *p, beam_error *err) {
  p->units = p->units_taken = p->units_at_mark = p->taken_at_mark = 0;
  p->xids.len = p->xids.at_mark = 0;
  p->ranges = p->ranges_at_mark = 0;
  for (size_t i = 0; i < p->replay.n_steps; i++) {
    const beam_sink_pg_replay_step *step = &p->replay.steps[i];
    PGresult *res = NULL;
    if (step->kind == BEAM_SINK_PG_REPLAY_ROWS) {
      const pg_table *t = &p->tables[step->table];
      res = copy_bytes(p, t->copy_sql + PLAIN_LEN, p->replay.bytes.data + step->off, step->len);
      if (res) return pg_fail(p, res, t->name, "replay after reconnect", err);
      if (note_xid(p, t, err) != BEAM_OK) return BEAM_ERR_NOMEM;
    } else if (step->kind == BEAM_SINK_PG_REPLAY_SAVEPOINT) {
      if (!mark_unit(p, &res)) return pg_fail(p, res, NULL, "replay unit savepoint after reconnect", err);
    } else {
      const char *key, *file;
      beam_sink_pg_replay_ledger_args(&p->replay, step, &key, &file);
      res = ledger_insert(p, key, file, step->replace);
      if (res == NULL && PQstatus(p->conn) == CONNECTION_OK) return nomem(err);
      if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        return pg_fail(p, res, LEDGER_TABLE, "replay ledger entry after reconnect", err);
      if (!step->replace) note_unit(p, key, strcmp(PQcmdTuples(res), "1") != 0);
      PQclear(res);
    }
  }
  return BEAM_OK;
}

/* The connection died inside the bundle, so the server rolled the bundle back (or, at
 * COMMIT, perhaps committed it). Reconnect, claim the bundle again and replay what it had
 * done (rows, unit savepoint, ledger entries). *elsewhere: the bundle id is already
 * committed (by our COMMIT that got through, or by another worker); nothing was replayed. */
static beam_status recover(pg_sink *p, bool *elsewhere, beam_error *err) {
  *elsewhere = false;
  p->in_txn = false;
  p->savepoint = SP_NONE;
  p->unit_savepoint = false;
  beam_status st = beam_sink_pg_reconnect(p->conn, p->who, err);
  bool claimed = false, lost = false;
  if (st == BEAM_OK) st = claim_bundle(p, p->bundle_id, &claimed, &lost, err);
  if (st != BEAM_OK) return st;
  if (!claimed) {
    end_txn(p);
    *elsewhere = true;
    return BEAM_OK;
  }
  if (p->replay.overflow) {
    end_txn(p);
    return beam_error_set(err, BEAM_ERR_IO,
                          "%s: connection lost inside a bundle of more than %zu MB of rows, too big to replay: "
                          "retry the bundle",
                          p->who, REPLAY_MAX_BYTES >> 20);
  }
  return replay_log(p, err);
}

/* Rejections come from two passes (schema checks, then the server): keep them in order. */
static void sort_rejections(beam_sink_row_errors *rejected) {
  for (size_t a = 1; a < rejected->len; a++) {
    beam_sink_row_error e = rejected->items[a];
    size_t b = a;
    while (b > 0 && rejected->items[b - 1].index > e.index) rejected->items[b] = rejected->items[b - 1], b--;
    rejected->items[b] = e;
  }
}

static beam_status pg_write_rows(beam_sink *s, const char *table, const beam_etl_row *rows, size_t n,
                                 beam_sink_row_errors *rejected, beam_error *err) {
  pg_sink *p = (pg_sink *)s;
  pg_table *t = table_find(p, table);
  if (!t) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "%s: table %s was not ensured on this sink", p->who, table);
  beam_sink_pg_copy_reset(&p->copy);
  char reason[256];
  for (size_t i = 0; i < n; i++) {
    bool out_of_memory = false;
    if (beam_sink_row_conforms(t->schema, &rows[i], reason, sizeof reason) &&
        beam_sink_pg_copy_add(&p->copy, t->schema, rows[i].values, i, reason, sizeof reason, &out_of_memory))
      continue;
    if (out_of_memory || beam_sink_row_errors_add(rejected, i, "%s", reason) != BEAM_OK) return nomem(err);
  }
  size_t server_rejections = rejected->len;
  if (!p->copy.n) return BEAM_OK;
  beam_status st;
  for (int attempt = 0;; attempt++) {
    p->n_refused = 0;
    rejected->len = server_rejections;
    st = load_range(p, t, 0, p->copy.n, rejected, err);
    if (st == BEAM_OK || PQstatus(p->conn) == CONNECTION_OK || attempt == MAX_RECOVERIES) break;
    bool elsewhere = false;
    if ((st = recover(p, &elsewhere, err)) != BEAM_OK) return st;
    if (elsewhere) { /* another worker committed this bundle meanwhile: ours is a duplicate */
      s->duplicate = true;
      rejected->len = server_rejections;
      return BEAM_OK;
    }
  }
  if (st != BEAM_OK) return st;
  beam_sink_pg_replay_add(&p->replay, (size_t)(t - p->tables), &p->copy, p->refused, p->n_refused);
  if (rejected->len > server_rejections) sort_rejections(rejected);
  return BEAM_OK;
}

/* The bundle's content key, claimed in the bundle's transaction like its id: a key another
 * bundle id committed before (a runner's retry of the same records) makes this bundle a
 * duplicate. A concurrent attempt holding the key makes this INSERT wait for its outcome. */
static beam_status claim_content(pg_sink *p, beam_error *err) {
  beam_sink *s = &p->base;
  /* A bundle that commits range units is recognised by their ledger entries instead: a key
   * here would outlive a retraction of them and make a later load of the same records a
   * duplicate (sink_pg_retract.h). */
  if (!s->content_key[0] || p->ranges) return BEAM_OK;
  char id[64];
  snprintf(id, sizeof id, "content:%s", s->content_key);
  const char *params[1] = {id};
  PGresult *res = PQexecParams(p->conn,
                               "INSERT INTO \"" BUNDLES_TABLE "\" (bundle_id) VALUES ($1) ON CONFLICT (bundle_id) "
                               "DO NOTHING",
                               1, NULL, params, NULL, NULL, 0);
  if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
    s->duplicate = strcmp(PQcmdTuples(res), "1") != 0;
    PQclear(res);
    return BEAM_OK;
  }
  if (beam_sink_pg_sqlstate_is(res, "23505")) {
    PQclear(res);
    s->duplicate = true;
    return BEAM_OK;
  }
  /* A lost connection here fails the bundle loudly: the runner's retry will succeed. */
  return pg_fail(p, res, BUNDLES_TABLE, "claim bundle content", err);
}

/* Units another writer committed while this bundle ran (a thread or process loading a file
 * of the same content): the bundle is a duplicate when they are all its units, else it fails
 * and writes nothing (its retry finds them in the ledger and skips them), as SQLite does. */
static beam_status check_units_taken(pg_sink *p, beam_error *err) {
  if (!p->units_taken) return BEAM_OK;
  if (p->units_taken == p->units) {
    p->base.duplicate = true;
    return BEAM_OK;
  }
  return beam_error_set(err, BEAM_ERR_IO,
                        "%s: %zu of the bundle's %zu units (%s) were committed by another writer while it ran; "
                        "nothing of the bundle is written (a retry skips them)",
                        p->who, p->units_taken, p->units, p->taken_example);
}

/* At commit, in the bundle's transaction: the retractions asked for (sink_pg_retract.h). Run
 * again after a reconnect replayed the bundle, with the counts anew. */
static beam_status retract_files(pg_sink *p, beam_error *err) {
  p->base.n_retracted = 0;
  beam_status st = BEAM_OK;
  for (size_t i = 0; st == BEAM_OK && i < p->n_retract; i++)
    st = beam_sink_pg_retract_file(&p->base, p->conn, p->who, p->retract[i], err);
  return st;
}

static beam_status pg_retract_units(beam_sink *s, const char *file_id, beam_error *err) {
  pg_sink *p = (pg_sink *)s;
  char **grown = realloc(p->retract, (p->n_retract + 1) * sizeof *grown);
  if (!grown) return nomem(err);
  p->retract = grown;
  if (!(p->retract[p->n_retract] = strdup(file_id))) return nomem(err);
  p->n_retract++;
  return BEAM_OK;
}

static beam_status pg_commit(beam_sink *s, beam_error *err) {
  pg_sink *p = (pg_sink *)s;
  if (s->duplicate) return BEAM_OK;
  beam_status cs = check_units_taken(p, err);
  if (cs != BEAM_OK || s->duplicate) {
    end_txn(p);
    return cs;
  }
  cs = claim_content(p, err);
  if (cs == BEAM_OK && !s->duplicate) cs = retract_files(p, err);
  if (cs != BEAM_OK || s->duplicate) {
    end_txn(p);
    return cs;
  }
  PGresult *res = NULL;
  bool ok = beam_sink_pg_exec(p->conn, "COMMIT", PGRES_COMMAND_OK, &res);
  for (int attempt = 0; !ok && PQstatus(p->conn) != CONNECTION_OK && attempt < MAX_RECOVERIES; attempt++) {
    bool elsewhere = false;
    PQclear(res);
    res = NULL;
    beam_status st = recover(p, &elsewhere, err);
    if (st != BEAM_OK) return end_txn(p), st;
    if (elsewhere) return BEAM_OK; /* our COMMIT got through before the connection died */
    if ((st = retract_files(p, err)) != BEAM_OK) return end_txn(p), st; /* not in the replay log */
    ok = beam_sink_pg_exec(p->conn, "COMMIT", PGRES_COMMAND_OK, &res);
  }
  if (!ok && beam_sink_pg_sqlstate_is(res, "23505") && PQresultErrorField(res, PG_DIAG_TABLE_NAME) &&
      strcmp(PQresultErrorField(res, PG_DIAG_TABLE_NAME), BUNDLES_TABLE) == 0) {
    PQclear(res); /* someone committed the same bundle first: ours is a duplicate */
    s->duplicate = true;
    ok = true;
    res = NULL;
  }
  beam_status st = ok ? BEAM_OK : pg_fail(p, res, NULL, "commit bundle", err);
  end_txn(p);
  return st;
}

static void pg_abort(beam_sink *s) { end_txn((pg_sink *)s); }

/* ---- Units and the ledger ----------------------------------------------------------- */

/* After a statement failed: when the connection was lost and tries remain, reconnects -
 * inside a bundle also claiming it again and replaying it - for the caller to run the
 * statement again. *elsewhere: another attempt committed the bundle meanwhile, so it is a
 * duplicate now and no transaction is open. Otherwise fails with the server's message.
 * Takes res. */
static beam_status after_failure(pg_sink *p, PGresult *res, int attempt, const char *table, const char *what,
                                 bool *elsewhere, beam_error *err) {
  *elsewhere = false;
  if (PQstatus(p->conn) == CONNECTION_OK || attempt == MAX_RECOVERIES) return pg_fail(p, res, table, what, err);
  PQclear(res);
  if (!p->in_txn) return beam_sink_pg_reconnect(p->conn, p->who, err);
  beam_status st = recover(p, elsewhere, err);
  if (st == BEAM_OK && *elsewhere) p->base.duplicate = true;
  return st;
}

static beam_status pg_unit_savepoint(beam_sink *s, beam_error *err) {
  pg_sink *p = (pg_sink *)s;
  for (int attempt = 0;; attempt++) {
    PGresult *res = NULL;
    if (mark_unit(p, &res)) break;
    bool elsewhere = false;
    beam_status st = after_failure(p, res, attempt, NULL, "unit savepoint", &elsewhere, err);
    if (st != BEAM_OK || elsewhere) return st;
  }
  beam_sink_pg_replay_savepoint(&p->replay);
  return BEAM_OK;
}

static beam_status pg_unit_rollback(beam_sink *s, beam_error *err) {
  pg_sink *p = (pg_sink *)s;
  /* The log drops the unit first: should the connection be lost now, the server has rolled
   * back everything anyway, and replaying the log rebuilds the bundle as it stands after
   * the rollback (the savepoint included), so the statement need not run again. */
  beam_sink_pg_replay_rollback(&p->replay);
  PGresult *res = NULL;
  p->units = p->units_at_mark;
  p->units_taken = p->taken_at_mark;
  p->xids.len = p->xids.at_mark;
  p->ranges = p->ranges_at_mark;
  if (beam_sink_pg_exec(p->conn, "ROLLBACK TO SAVEPOINT " UNIT_SAVEPOINT, PGRES_COMMAND_OK, &res)) {
    p->savepoint = SP_NONE; /* beam_write nests inside beam_unit: gone with the rollback */
    return BEAM_OK;
  }
  bool elsewhere = false;
  return after_failure(p, res, 0, NULL, "rollback to unit savepoint", &elsewhere, err);
}

static beam_status pg_ledger_record(beam_sink *s, const char *key, const char *file, bool replace, beam_error *err) {
  pg_sink *p = (pg_sink *)s;
  for (int attempt = 0;; attempt++) {
    PGresult *res = ledger_insert(p, key, file, replace);
    if (!res && PQstatus(p->conn) == CONNECTION_OK) return nomem(err);
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
      if (!replace) note_unit(p, key, strcmp(PQcmdTuples(res), "1") != 0);
      PQclear(res);
      break;
    }
    bool elsewhere = false;
    beam_status st = after_failure(p, res, attempt, LEDGER_TABLE, "record", &elsewhere, err);
    if (st != BEAM_OK || elsewhere) return st;
  }
  beam_sink_pg_replay_ledger(&p->replay, key, file, replace);
  return BEAM_OK;
}

/* Runs a ledger query (key: its one parameter, or NULL) on the sink's connection: in the
 * bundle's transaction when one is open, so the bundle's own entries count. *out: the rows
 * (caller clears). */
static beam_status ledger_query(pg_sink *p, const char *sql, const char *key, const char *what, PGresult **out,
                                beam_error *err) {
  *out = NULL;
  beam_status st = p->in_txn ? BEAM_OK : ensure_connected(p, err);
  for (int attempt = 0; st == BEAM_OK; attempt++) {
    PGresult *res = PQexecParams(p->conn, sql, key ? 1 : 0, NULL, key ? &key : NULL, NULL, NULL, 0);
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK) {
      *out = res;
      return BEAM_OK;
    }
    bool elsewhere = false; /* then the query runs again outside the (committed) bundle */
    st = after_failure(p, res, attempt, LEDGER_TABLE, what, &elsewhere, err);
  }
  /* A failed statement aborted the bundle's transaction: every later statement of it
   * would fail too, so the bundle is failed now, as a failed write would leave it. */
  if (p->in_txn && PQtransactionStatus(p->conn) == PQTRANS_INERROR) p->base.state = BEAM_SINK_FAILED;
  return st;
}

/* Copies src into dst[cap], cut at a UTF-8 character boundary when it does not fit. */
static void copy_cut(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap) {
    n = cap - 1;
    while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) n--; /* src[n] starts the cut character */
  }
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static beam_status pg_ledger_find(beam_sink *s, const char *key, beam_sink_ledger_hit *hit, beam_error *err) {
  pg_sink *p = (pg_sink *)s;
  PGresult *res = NULL;
  beam_status st = ledger_query(p,
                                "SELECT file, to_char(committed_at AT TIME ZONE 'UTC', "
                                "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM \"" LEDGER_TABLE "\" WHERE unit = $1",
                                key, "find", &res, err);
  if (st != BEAM_OK) return st;
  if (PQntuples(res) > 0) {
    hit->found = true;
    copy_cut(hit->file, sizeof hit->file, PQgetvalue(res, 0, 0)); /* "" for NULL */
    copy_cut(hit->committed_at, sizeof hit->committed_at, PQgetvalue(res, 0, 1));
  }
  PQclear(res);
  return BEAM_OK;
}

/* keys as a text[] literal: {"k1","k2"}, each quoted, backslash and double quote escaped. */
static char *text_array_literal(const char *const *keys, size_t n) {
  beam_buf b = BEAM_BUF_INIT;
  beam_status st = beam_buf_append_byte(&b, '{');
  for (size_t i = 0; st == BEAM_OK && i < n; i++) {
    if (i) st = beam_buf_append_byte(&b, ',');
    if (st == BEAM_OK) st = beam_buf_append_byte(&b, '"');
    for (const char *c = keys[i]; st == BEAM_OK && *c; c++) {
      if (*c == '"' || *c == '\\') st = beam_buf_append_byte(&b, '\\');
      if (st == BEAM_OK) st = beam_buf_append_byte(&b, (uint8_t)*c);
    }
    if (st == BEAM_OK) st = beam_buf_append_byte(&b, '"');
  }
  if (st == BEAM_OK) st = beam_buf_append_byte(&b, '}');
  if (st == BEAM_OK) st = beam_buf_terminate(&b);
  if (st != BEAM_OK) {
    beam_buf_free(&b);
    return NULL;
  }
  return (char *)b.data;
}

static int compare_key_index(const void *a, const void *b, void *keys) {
  const char *const *k = keys;
  return strcmp(k[*(const size_t *)a], k[*(const size_t *)b]);
}

/* One query for the batch (unit = ANY($1)); the units found are matched back to their keys
 * by a binary search over the keys sorted (by index). */
static beam_status pg_ledger_find_many(beam_sink *s, const char *const *keys, size_t n, bool *found,
                                       beam_error *err) {
  pg_sink *p = (pg_sink *)s;
  char *array = text_array_literal(keys, n);
  size_t *order = malloc(n * sizeof *order);
  if (!array || !order) {
    free(array), free(order);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) order[i] = i;
  qsort_r(order, n, sizeof *order, compare_key_index, (void *)keys);
  PGresult *res = NULL;
  beam_status st = ledger_query(p, "SELECT unit FROM \"" LEDGER_TABLE "\" WHERE unit = ANY($1::text[])", array,
                                "find", &res, err);
  for (int r = 0; st == BEAM_OK && r < PQntuples(res); r++) {
    const char *unit = PQgetvalue(res, r, 0);
    size_t lo = 0, hi = n;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      int c = strcmp(keys[order[mid]], unit);
      if (c == 0) {
        for (size_t m = mid; m < n && strcmp(keys[order[m]], unit) == 0; m++) found[order[m]] = true;
        for (size_t m = mid; m-- > 0 && strcmp(keys[order[m]], unit) == 0;) found[order[m]] = true;
        break;
      }
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
  }
  PQclear(res);
  free(array);
  free(order);
  return st;
}

static beam_status pg_ledger_any(beam_sink *s, bool *any, beam_error *err) {
  pg_sink *p = (pg_sink *)s;
  PGresult *res = NULL;
  beam_status st = ledger_query(p, "SELECT EXISTS (SELECT 1 FROM \"" LEDGER_TABLE "\")", NULL, "any", &res, err);
  if (st != BEAM_OK) return st;
  *any = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
  PQclear(res);
  return BEAM_OK;
}

/* A file's units: "<id>" itself and every "<id>@...". Compared as a prefix, not with < and >:
 * text order follows the database's collation, which need not be byte order. In the bundle's
 * transaction when one is open (its own entries count). */
static beam_status pg_ledger_ranges(beam_sink *s, const char *file_id, beam_sink_ranges *out, beam_error *err) {
  pg_sink *p = (pg_sink *)s;
  PGresult *res = NULL;
  beam_status st = ledger_query(p,
                                "SELECT unit FROM \"" LEDGER_TABLE "\" WHERE unit = $1::text "
                                "OR left(unit, length($1::text) + 1) = $1::text || '@'",
                                file_id, "ranges", &res, err);
  if (st != BEAM_OK) return st;
  for (int i = 0; st == BEAM_OK && i < PQntuples(res); i++)
    st = beam_sink_ranges_add_unit(out, file_id, PQgetvalue(res, i, 0));
  PQclear(res);
  return st == BEAM_OK ? BEAM_OK : beam_error_set(err, st, "out of memory");
}

/* The units that look like a byte range and whose file has no whole-file unit, with their
 * input names: one scan of the ledger, each file looked up by the primary key. */
static beam_status pg_ledger_range_units(beam_sink *s, beam_sink_unit_fn each, void *ctx, beam_error *err) {
  pg_sink *p = (pg_sink *)s;
  PGresult *res = NULL;
  beam_status st = ledger_query(p,
                                "SELECT r.unit, coalesce(r.file, '') FROM \"" LEDGER_TABLE "\" r WHERE r.unit ~ '@[0-9]+-[0-9]+$' "
                                "AND NOT EXISTS (SELECT 1 FROM \"" LEDGER_TABLE "\" w WHERE w.unit = "
                                "regexp_replace(r.unit, '@[0-9]+-[0-9]+$', ''))",
                                NULL, "ranges", &res, err);
  for (int i = 0; st == BEAM_OK && i < PQntuples(res); i++) st = each(ctx, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), err);
  PQclear(res);
  return st;
}

static beam_status pg_close(beam_sink *s, beam_error *err) {
  (void)err;
  pg_sink *p = (pg_sink *)s;
  if (p->conn) PQfinish(p->conn); /* an open transaction ends with the session: rolled back */
  p->conn = NULL;
  return BEAM_OK;
}

static void pg_free(beam_sink *s) {
  pg_sink *p = (pg_sink *)s;
  if (p->conn) PQfinish(p->conn);
  for (size_t i = 0; i < p->n_tables; i++) free(p->tables[i].name), free(p->tables[i].copy_sql);
  free(p->tables);
  free(p->conninfo);
  free(p->bundle_id);
  free(p->refused);
  for (size_t i = 0; i < p->n_retract; i++) free(p->retract[i]);
  free(p->retract);
  beam_sink_pg_xids_free(&p->xids);
  beam_sink_pg_replay_free(&p->replay);
  beam_sink_pg_copy_free(&p->copy);
  beam_buf_free(&p->sql);
  free(p);
}

static const beam_sink_vtable pg_vtable = {
    .scheme = "postgres",
    .ensure_table = pg_ensure_table,
    .begin = pg_begin,
    .write_rows = pg_write_rows,
    .commit = pg_commit,
    .abort = pg_abort,
    .close = pg_close,
    .free = pg_free,
    .savepoint = pg_unit_savepoint,
    .rollback_to_savepoint = pg_unit_rollback,
    .ledger_record = pg_ledger_record,
    .ledger_find = pg_ledger_find,
    .ledger_find_many = pg_ledger_find_many,
    .ledger_any = pg_ledger_any,
    .ledger_ranges = pg_ledger_ranges,
    .ledger_range_units = pg_ledger_range_units,
    .retract_units = pg_retract_units,
};

/* Each COPY records its transaction id through a temporary table (sink_pg_retract.h), so the
 * role must be allowed to make one: PUBLIC is by default, a locked-down role may not be. */
static beam_status check_temp_privilege(pg_sink *p, beam_error *err) {
  PGresult *res = PQexec(p->conn, "SELECT pg_catalog.has_database_privilege(pg_catalog.current_database(), 'TEMPORARY')");
  if (PQresultStatus(res) != PGRES_TUPLES_OK) return pg_fail(p, res, NULL, "check the TEMPORARY privilege", err);
  bool allowed = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
  PQclear(res);
  if (allowed) return BEAM_OK;
  return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                        "%s: role %s may not create temporary tables in database %s (GRANT TEMPORARY ON DATABASE %s TO "
                        "%s): each COPY records the rows it wrote through one",
                        p->who, PQuser(p->conn), PQdb(p->conn), PQdb(p->conn), PQuser(p->conn));
}

static beam_status pg_setup(pg_sink *p, beam_error *err) {
  /* no_sync: commits do not wait for the WAL flush (a server crash may lose the last
   * bundles, never corrupt): the analogue of SQLite's synchronous=OFF. */
  beam_status st = beam_sink_pg_connect(p->conninfo, p->base.opts.no_sync, &p->conn, err);
  if (st != BEAM_OK) return st;
  describe(p);
  /* IF NOT EXISTS each: a database the previous release wrote has _beam_bundles and gains
   * _beam_ledger here. Under the tables' advisory locks: concurrent openers of a new
   * database would otherwise race on the catalog and one fail with a unique violation. */
  PGresult *res = NULL;
  if (!beam_sink_pg_exec(p->conn,
                         "BEGIN; SELECT pg_catalog.pg_advisory_xact_lock(" LOCK_CLASS ", pg_catalog.hashtext('" BUNDLES_TABLE
                         "')); CREATE TABLE IF NOT EXISTS \"" BUNDLES_TABLE "\" (bundle_id text PRIMARY KEY, "
                         "committed_at timestamp with time zone NOT NULL DEFAULT now()); "
                         "SELECT pg_catalog.pg_advisory_xact_lock(" LOCK_CLASS ", pg_catalog.hashtext('" LEDGER_TABLE
                         "')); CREATE TABLE IF NOT EXISTS \"" LEDGER_TABLE "\" (unit text PRIMARY KEY, file text, "
                         "committed_at timestamp with time zone NOT NULL DEFAULT now()); " BEAM_SINK_PG_RETRACT_SETUP "; COMMIT",
                         PGRES_COMMAND_OK, &res)) {
    st = pg_fail(p, res, NULL, "create " BUNDLES_TABLE " and " LEDGER_TABLE, err);
    end_txn(p);
    return st;
  }
  return check_temp_privilege(p, err);
}

beam_status beam_sink_postgres_open(const char *conninfo, const beam_sink_options *opts, beam_sink **out,
                                    beam_error *err) {
  if (!out) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "postgres open: NULL out");
  *out = NULL;
  if (!conninfo) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "postgres open: NULL connection string");
  pg_sink *p = calloc(1, sizeof *p);
  if (!p) return nomem(err);
  beam_sink_init(&p->base, &pg_vtable, opts);
  p->base.keys_content = true; /* _beam_bundles records content keys too */
  snprintf(p->who, sizeof p->who, "postgres");
  p->replay.max_bytes = REPLAY_MAX_BYTES;
  p->conninfo = strdup(conninfo);
  beam_status st = p->conninfo ? pg_setup(p, err) : nomem(err);
  if (st != BEAM_OK) {
    p->base.state = BEAM_SINK_CLOSED;
    pg_free(&p->base);
    return st;
  }
  *out = &p->base;
  return BEAM_OK;
}

beam_status beam_sink_postgres_check(const char *conninfo, beam_error *err) {
  char *why = NULL;
  PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
  if (opts) {
    PQconninfoFree(opts);
    return BEAM_OK;
  }
  /* libpq's messages end in a newline; NULL why means it ran out of memory. */
  size_t n = why ? strcspn(why, "\n") : 0;
  beam_status st = beam_error_set(err, why ? BEAM_ERR_INVALID_ARG : BEAM_ERR_NOMEM, "%.*s",
                                  (int)n, why ? why : "out of memory");
  PQfreemem(why);
  return st;
}
