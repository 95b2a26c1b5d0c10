/* SQLite sink: the embedded default destination.
 *
 * One transaction per bundle, taken at commit. A bundle's rows are checked (schema, size)
 * and staged as they are written (sqlite_stage.c: encoded in memory, spilling past
 * opts.spill_bytes to an unnamed file beside the database), without any lock; commit takes
 * the write lock (BEGIN IMMEDIATE, after the process's mutex for the file, sqlite_db_lock.c,
 * so threads of one process queue without polling), checks again that the bundle id, its
 * content key and its ledger units are not committed (another writer may have committed them
 * since the bundle began), inserts the staged rows with multi-row INSERT statements prepared
 * once per table, writes the ledger entries and the `_bundles` row, and commits. So many
 * writers (one connection each: threads of one process, or processes) parse and encode their
 * bundles at once and serialise only on the inserts. WAL + synchronous=NORMAL for speed, a
 * busy timeout for writers of other processes.
 *
 * A bundle goes "direct" (takes the write lock at once and inserts as it goes, as every
 * bundle did before staging) when it writes to a table with constraints this sink cannot
 * check before the insert (UNIQUE, CHECK, PRIMARY KEY, foreign keys, triggers, STRICT, NOT
 * NULL on a NULLABLE field: tables made by someone else), so that such rows are still
 * refused by write_rows one by one; and when ensure_table inside the bundle alters a table
 * (the change belongs to the bundle). A table missing when a bundle ensures it is created at
 * that bundle's commit, in its transaction (so a bundle that fails leaves no table behind),
 * and its rows are staged meanwhile: the first bundles of a run into a new database (one per
 * thread) stage and parse in parallel rather than queueing behind the one that creates. A table that exists gains the schema's missing
 * NULLABLE columns (ALTER TABLE ADD COLUMN, under the write lock); any other difference is
 * an error naming it. Inserts name their columns, so column order is free. The ledger
 * (`_beam_ledger`: unit, file, committed_at) is written in the bundle's transaction; there
 * are no savepoints (see "The ledger" below), so a writer commits each unit as a transaction
 * of its own. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "beam/buf.h"
#include "local_dir.h"
#include "sink_int.h"
#include "sqlite_db_lock.h"
#include "sqlite_retract.h"
#include "sqlite_stage.h"
#include "sink_sql.h"
#include "sink_tables.h"
#include "sink_text.h"

#define BUNDLES_TABLE "_bundles"
#define LEDGER_TABLE "_beam_ledger"

typedef struct sq_table {
  char *name;
  const beam_etl_schema *schema;
  sqlite3_stmt *insert_one;
  sqlite3_stmt *insert_batch; /* batch_rows rows per statement; NULL when batch_rows == 1 */
  size_t batch_rows;
  size_t *batch_index;        /* row indices bound into the pending batch, for fallback */
  char *text;                 /* TIMESTAMP/DATE text, one slot per bound parameter */
  bool created_in_txn;        /* created or given columns by the open bundle: forget it on rollback */
  bool constrained;           /* has constraints write_rows cannot check before inserting */
  bool has_time;              /* has TIMESTAMP or DATE fields: staged as their text */
  bool create_at_commit;      /* missing when the open bundle ensured it: no statements yet */
  beam_value *replay_rows;    /* at commit: the values bound into the pending batch */
  size_t replay_pending;      /* rows bound into insert_batch at commit, not yet stepped */
  int64_t rowid_before;       /* its largest rowid when the bundle took the write lock */
} sq_table;
BEAM_SINK_TABLE_NAME_FIRST(sq_table);

typedef struct sqlite_sink {
  beam_sink base;
  int64_t messages_expired_at; /* monotonic seconds of the last expire_messages, or 0 */
  sqlite3 *db;
  char *path;
  sq_table *tables;
  size_t n_tables;
  size_t cap_tables;
  size_t last_table; /* write_rows usually repeats the previous table */
  /* Tables a rollback forgot (forget_txn_tables) with the schema they were ensured with: the
   * writer ensured each once for the whole run, so write_rows ensures it again. */
  struct forgotten_table {
    char *name;
    const beam_etl_schema *schema;
  } *forgotten;
  size_t n_forgotten;
  sqlite3_stmt *bundle_lookup;
  sqlite3_stmt *bundle_record;
  sqlite3_stmt *ledger_lookup;
  sqlite3_stmt *ledger_insert;  /* keeps an existing entry */
  sqlite3_stmt *ledger_replace; /* replaces it (a reload) */
  sqlite3_stmt *ledger_units;   /* a file's whole unit and its range units */
  char *bundle_id;
  bool in_txn;        /* the write transaction is open (at commit, or a direct bundle) */
  char *dir;          /* the database's directory: the stage spills there */
  sq_stage stage;     /* the open bundle's rows, until commit */
  sq_ledger_list ledger; /* the open bundle's ledger entries, until commit */
  sq_ledger_list retract; /* files whose committed ranges the bundle retracts (keys only) */
  sq_db_lock *db_lock;   /* this process's mutex for the database file, or NULL */
  beam_value *replay_values; /* one row's values read back from the stage */
  beam_value *stage_values;  /* one row's values with its TIMESTAMP/DATE fields as text, */
  char *stage_text;          /* that text (BEAM_SINK_TEXT_MAX per field): see stage_rows */
  size_t replay_cap;         /* the widest table's column count: what the three above hold */
  int64_t max_length; /* SQLITE_LIMIT_LENGTH: a longer value or row is refused up front */
  int wal_frames;     /* frames in the WAL after this connection's last commit (the WAL hook) */
} sqlite_sink;

/* SQLite's own automatic checkpoint threshold (frames), which this sink applies itself. */
#define WAL_CHECKPOINT_FRAMES 1000

static beam_status status_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOMEM: return BEAM_ERR_NOMEM;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG: return BEAM_ERR_INVALID_ARG;
    default: return BEAM_ERR_IO; /* FULL, IOERR, BUSY, LOCKED, READONLY, CANTOPEN, CORRUPT... */
  }
}

/* "sqlite out.db: table events: insert: database or disk is full" */
static beam_status sq_fail(sqlite_sink *q, int rc, const char *table, const char *what,
                           beam_error *err) {
  const char *msg = q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc);
  if (table)
    return beam_error_set(err, status_for(rc), "sqlite %s: table %s: %s: %s (%s)", q->path, table,
                          what, msg, sqlite3_errstr(rc));
  return beam_error_set(err, status_for(rc), "sqlite %s: %s: %s (%s)", q->path, what, msg,
                        sqlite3_errstr(rc));
}

static int exec_sql(sqlite_sink *q, const char *sql) {
  return sqlite3_exec(q->db, sql, NULL, NULL, NULL);
}

/* Takes the write lock: this process's mutex for the file first (its other writers wait
 * there, not in SQLite's busy loop), then SQLite's (BEGIN IMMEDIATE, waiting up to the busy
 * timeout for writers of other processes). The mutex is held until write_unlock. */
static int write_lock(sqlite_sink *q) {
  if (!beam_sqlite_db_lock_enter(q->db_lock, q->base.opts.busy_timeout_ms)) return SQLITE_BUSY;
  int rc = exec_sql(q, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK) beam_sqlite_db_lock_leave(q->db_lock);
  return rc;
}

/* After COMMIT or ROLLBACK of a transaction write_lock began. Then, when the WAL has grown
 * past SQLite's usual threshold, a PASSIVE checkpoint copies it into the database: outside
 * this process's mutex, since a checkpoint does not need the write lock (SQLite's automatic
 * one, run inside COMMIT, would have kept the other writers waiting while it copied the
 * bundle's pages a second time). A checkpoint that cannot finish now (BUSY: another one is
 * running, or readers hold frames) or fails is left to the next one or to close, which
 * reports failures. */
static void write_unlock(sqlite_sink *q) {
  beam_sqlite_db_lock_leave(q->db_lock);
  if (q->wal_frames >= WAL_CHECKPOINT_FRAMES) {
    q->wal_frames = 0;
    sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  }
}

/* The WAL hook, called after each commit: replaces SQLite's automatic checkpoint (which is
 * a WAL hook too), see write_unlock. */
static int note_wal_frames(void *ctx, sqlite3 *db, const char *name, int frames) {
  sqlite_sink *q = ctx;
  if (strcmp(name, "main") == 0) q->wal_frames = frames;
  return SQLITE_OK;
}

static const char *sql_type(beam_etl_type t) {
  switch (t) {
    case BEAM_ETL_INT64:
    case BEAM_ETL_BOOL: return "INTEGER";
    case BEAM_ETL_FLOAT64: return "REAL";
    case BEAM_ETL_BYTES: return "BLOB";
    default: return "TEXT"; /* STRING, NUMERIC (exact text), TIMESTAMP, DATE (ISO text) */
  }
}

static void table_release(sq_table *t) {
  free(t->replay_rows);
  sqlite3_finalize(t->insert_one);
  sqlite3_finalize(t->insert_batch);
  free(t->batch_index);
  free(t->text);
  free(t->name);
  memset(t, 0, sizeof *t);
}

static sq_table *table_find(sqlite_sink *q, const char *name) {
  size_t i = beam_sink_table_index(q->tables, q->n_tables, sizeof *q->tables, &q->last_table, name);
  return i < q->n_tables ? &q->tables[i] : NULL;
}

/* Reads the live table's columns (PRAGMA table_info) into cols, names and types copied into
 * arena; *n_cols 0 when the table does not exist. */
static beam_status read_columns(sqlite_sink *q, const char *table, beam_arena *arena, beam_sink_column **cols,
                                size_t *n_cols, beam_error *err) {
  beam_buf sql = BEAM_BUF_INIT;
  beam_status st = beam_buf_append_str(&sql, "PRAGMA table_info(");
  if (st == BEAM_OK) st = beam_sink_sql_append_ident(&sql, table);
  if (st == BEAM_OK) st = beam_buf_append(&sql, ")", 2); /* with the NUL */
  sqlite3_stmt *stmt = NULL;
  int rc = st == BEAM_OK ? sqlite3_prepare_v2(q->db, (const char *)sql.data, -1, &stmt, NULL) : SQLITE_NOMEM;
  beam_buf_free(&sql);
  if (rc != SQLITE_OK) return sq_fail(q, rc, table, "reading columns", err);
  size_t cap = 0;
  *n_cols = 0;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (*n_cols == cap) {
      beam_sink_column *grown = realloc(*cols, (cap = cap ? cap * 2 : 16) * sizeof *grown);
      if (!grown) break;
      *cols = grown;
    }
    const char *name = (const char *)sqlite3_column_text(stmt, 1);
    const char *type = (const char *)sqlite3_column_text(stmt, 2);
    beam_sink_column *c = &(*cols)[(*n_cols)++];
    c->name = beam_arena_strdup(arena, name ? name : "");
    c->type = beam_arena_strdup(arena, type ? type : "");
    c->mode = NULL; /* NOT NULL may differ: a stricter one only rejects rows, which are reported */
    if (!c->name || !c->type) break;
  }
  sqlite3_finalize(stmt);
  if (rc == SQLITE_ROW) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return rc == SQLITE_DONE ? BEAM_OK : sq_fail(q, rc, table, "reading columns", err);
}

/* Compares the live table with the schema (sink_tables.h: beam_sink_columns_plan): add[i]
 * is set for each NULLABLE field to add. Returns 0 = table missing, 1 = fits (after the
 * additions in add), -1 = differs or failed (*st and err set). */
static int check_columns(sqlite_sink *q, const char *table, const beam_etl_schema *schema, bool *add,
                         beam_status *st, beam_error *err) {
  beam_arena arena = BEAM_ARENA_INIT;
  beam_sink_column *cols = NULL;
  size_t n_cols = 0;
  *st = read_columns(q, table, &arena, &cols, &n_cols, err);
  int found = n_cols > 0;
  char diff[600];
  if (*st != BEAM_OK) found = -1;
  else if (found && !beam_sink_columns_plan(cols, n_cols, schema, sql_type, true, add, diff, sizeof diff)) {
    *st = beam_error_set(err, BEAM_ERR_INVALID_ARG,
                         "sqlite %s: table %s exists with different columns: %s (existing tables only gain "
                         "missing NULLABLE columns)",
                         q->path, table, diff);
    found = -1;
  }
  free(cols);
  beam_arena_free(&arena);
  return found;
}

static beam_status create_table(sqlite_sink *q, const char *table, const beam_etl_schema *schema,
                                beam_error *err) {
  beam_buf sql = BEAM_BUF_INIT;
  beam_status st = beam_buf_append_str(&sql, "CREATE TABLE IF NOT EXISTS ");
  if (st == BEAM_OK) st = beam_sink_sql_append_ident(&sql, table);
  for (size_t i = 0; st == BEAM_OK && i < schema->n_fields; i++) {
    st = beam_buf_append_str(&sql, i ? ", " : " (");
    if (st == BEAM_OK) st = beam_sink_sql_append_column(&sql, &schema->fields[i], sql_type(schema->fields[i].type));
  }
  if (st == BEAM_OK) st = beam_buf_append(&sql, ")", 2);
  if (st != BEAM_OK) {
    beam_buf_free(&sql);
    return beam_error_set(err, st, "out of memory");
  }
  int rc = exec_sql(q, (const char *)sql.data);
  beam_buf_free(&sql);
  if (rc != SQLITE_OK) return sq_fail(q, rc, table, "create table", err);
  return BEAM_OK;
}

/* ALTER TABLE "t" ADD COLUMN "c" TYPE for each field marked in add: nullable, no default, so
 * the rows already there read NULL in it. SQLite adds one column per statement. */
static beam_status add_columns(sqlite_sink *q, const char *table, const beam_etl_schema *schema, const bool *add,
                               beam_error *err) {
  beam_buf sql = BEAM_BUF_INIT;
  beam_status st = BEAM_OK;
  for (size_t i = 0; st == BEAM_OK && i < schema->n_fields; i++) {
    if (!add[i]) continue;
    beam_buf_reset(&sql);
    st = beam_buf_append_str(&sql, "ALTER TABLE ");
    if (st == BEAM_OK) st = beam_sink_sql_append_ident(&sql, table);
    if (st == BEAM_OK) st = beam_buf_append_str(&sql, " ADD COLUMN ");
    if (st == BEAM_OK) st = beam_sink_sql_append_column(&sql, &schema->fields[i], sql_type(schema->fields[i].type));
    if (st == BEAM_OK) st = beam_buf_terminate(&sql);
    if (st != BEAM_OK) {
      st = beam_error_set(err, st, "out of memory");
      break;
    }
    int rc = exec_sql(q, (const char *)sql.data);
    if (rc != SQLITE_OK) st = sq_fail(q, rc, table, "add column", err);
  }
  beam_buf_free(&sql);
  return st;
}

/* Creates the table or adds its missing NULLABLE columns, under the write lock: inside a
 * bundle its transaction holds it (the change then belongs to the bundle), outside one a
 * transaction of its own takes it. The columns are read again under the lock, since another
 * writer may have made the same change first. */
static beam_status change_locked(sqlite_sink *q, const char *table, const beam_etl_schema *schema, bool *add,
                                 beam_error *err) {
  bool own = !q->in_txn;
  int rc = own ? write_lock(q) : SQLITE_OK;
  if (rc != SQLITE_OK) return sq_fail(q, rc, table, "lock for a table change", err);
  beam_status st;
  memset(add, 0, schema->n_fields * sizeof *add);
  int found = check_columns(q, table, schema, add, &st, err);
  if (found == 0) st = create_table(q, table, schema, err);
  else if (found == 1) st = add_columns(q, table, schema, add, err);
  if (own && st == BEAM_OK && (rc = exec_sql(q, "COMMIT")) != SQLITE_OK) st = sq_fail(q, rc, table, "commit", err);
  if (own && st != BEAM_OK && !sqlite3_get_autocommit(q->db)) exec_sql(q, "ROLLBACK");
  if (own) write_unlock(q);
  return st;
}

static beam_status go_direct(sqlite_sink *q, beam_error *err);

/* The table's largest rowid, when the bundle holds the write lock: its inserts take the
 * rowids above (sqlite_retract.h). */
/* A table without rowids (WITHOUT ROWID, made outside file_etl) gets -1: its rows cannot be
 * named for a retraction, which then fails rather than guess; its writes go on as before. */
static beam_status snapshot_rowids(sqlite_sink *q, sq_table *t, beam_error *err) {
  (void)err;
  if (beam_sqlite_max_rowid(q->db, t->name, &t->rowid_before) != SQLITE_OK) t->rowid_before = -1;
  return BEAM_OK;
}

/* Makes the live table fit the schema: checks it, and creates it or adds missing NULLABLE
 * columns when needed. *changed: it was changed inside the open bundle. *deferred: it is
 * missing and the open (staged) bundle creates it at commit (create_pending_tables). */
static beam_status fit_table(sqlite_sink *q, const char *table, const beam_etl_schema *schema, bool *changed,
                             bool *deferred, beam_error *err) {
  *changed = *deferred = false;
  bool *add = calloc(schema->n_fields ? schema->n_fields : 1, sizeof *add);
  if (!add) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status st;
  int found = check_columns(q, table, schema, add, &st, err);
  if (found == 0 && q->bundle_id && !q->in_txn && !q->base.duplicate) {
    *deferred = true;
  } else if (found == 0 || (found == 1 && beam_sink_columns_any_added(add, schema->n_fields))) {
    /* Inside a bundle the change belongs to it: the bundle takes the write lock now. */
    if (q->bundle_id && !q->in_txn && !q->base.duplicate) st = go_direct(q, err);
    if (st == BEAM_OK) st = change_locked(q, table, schema, add, err);
    *changed = st == BEAM_OK && q->in_txn;
  }
  free(add);
  return st;
}

/* INSERT INTO "t" ("a", "b") VALUES (?, ?), (?, ?) ... with rows tuples. */
static beam_status prepare_insert(sqlite_sink *q, const char *table, const beam_etl_schema *schema,
                                  size_t rows, sqlite3_stmt **out, beam_error *err) {
  beam_buf sql = BEAM_BUF_INIT;
  beam_status st = beam_buf_append_str(&sql, "INSERT INTO ");
  if (st == BEAM_OK) st = beam_sink_sql_append_ident(&sql, table);
  for (size_t i = 0; st == BEAM_OK && i < schema->n_fields; i++) {
    st = beam_buf_append_str(&sql, i ? "," : " (");
    if (st == BEAM_OK) st = beam_sink_sql_append_ident(&sql, schema->fields[i].name);
  }
  if (st == BEAM_OK) st = beam_buf_append_str(&sql, ") VALUES ");
  for (size_t r = 0; st == BEAM_OK && r < rows; r++) {
    st = beam_buf_append_str(&sql, r ? ",(" : "(");
    for (size_t i = 0; st == BEAM_OK && i < schema->n_fields; i++)
      st = beam_buf_append_str(&sql, i ? ",?" : "?");
    if (st == BEAM_OK) st = beam_buf_append_byte(&sql, ')');
  }
  if (st == BEAM_OK) st = beam_buf_terminate(&sql);
  if (st != BEAM_OK) {
    beam_buf_free(&sql);
    return beam_error_set(err, st, "out of memory");
  }
  int rc = sqlite3_prepare_v3(q->db, (const char *)sql.data, (int)sql.len, SQLITE_PREPARE_PERSISTENT,
                              out, NULL);
  beam_buf_free(&sql);
  if (rc != SQLITE_OK) return sq_fail(q, rc, table, "prepare insert", err);
  return BEAM_OK;
}

/* True when sql (a CREATE TABLE statement) holds, outside quotes, a word that makes the
 * table refuse rows the schema allows: UNIQUE, CHECK, PRIMARY (KEY), REFERENCES, STRICT,
 * WITHOUT (ROWID, which needs a primary key). Identifiers this sink writes are quoted, so a
 * column called "unique_id" is not taken for one; a bare word that only looks like one
 * makes the table constrained, which is slower, never wrong. */
static bool sql_has_constraint_word(const char *sql) {
  static const char *const words[] = {"UNIQUE", "CHECK", "PRIMARY", "REFERENCES", "STRICT", "WITHOUT"};
  for (const char *p = sql; *p;) {
    if (*p == '"' || *p == '\'' || *p == '`' || *p == '[') {
      char close = *p == '[' ? ']' : *p;
      for (p++; *p && *p != close; p++) {}
      if (*p) p++;
      continue;
    }
    bool word_char = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9');
    if (!word_char) {
      p++;
      continue;
    }
    const char *start = p;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9')) p++;
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
      if (strlen(words[w]) == (size_t)(p - start) && sqlite3_strnicmp(start, words[w], (int)(p - start)) == 0)
        return true;
  }
  return false;
}

/* Runs sql with table bound to ?1; true when a row comes back (or on any failure: then the
 * table is treated as constrained, the safe side). */
static bool query_any(sqlite_sink *q, const char *sql, const char *table) {
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(q->db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  return rc != SQLITE_DONE;
}

/* A table whose rows can be refused by the database for reasons beam_sink_row_conforms does
 * not see: its rows are inserted directly (see the comment at the top). A table this sink
 * created has NOT NULL on REQUIRED fields only, which the conformance check covers. */
static bool table_is_constrained(sqlite_sink *q, const sq_table *t) {
  sqlite3_stmt *stmt = NULL;
  bool constrained = true;
  if (sqlite3_prepare_v2(q->db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &stmt,
                         NULL) == SQLITE_OK &&
      sqlite3_bind_text(stmt, 1, t->name, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    const char *sql = (const char *)sqlite3_column_text(stmt, 0);
    constrained = !sql || sql_has_constraint_word(sql);
  }
  sqlite3_finalize(stmt);
  if (constrained) return true;
  if (query_any(q, "SELECT 1 FROM pragma_index_list(?1) WHERE \"unique\"", t->name) ||
      query_any(q, "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1", t->name) ||
      query_any(q, "SELECT 1 FROM pragma_foreign_key_list(?1)", t->name))
    return true;
  /* NOT NULL on a column whose field is NULLABLE: a null there would be refused. */
  if (sqlite3_prepare_v2(q->db, "SELECT name FROM pragma_table_info(?1) WHERE \"notnull\" OR pk", -1, &stmt, NULL) !=
          SQLITE_OK ||
      sqlite3_bind_text(stmt, 1, t->name, -1, SQLITE_STATIC) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return true;
  }
  int rc;
  while (!constrained && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const char *col = (const char *)sqlite3_column_text(stmt, 0);
    bool required = false;
    for (size_t i = 0; col && i < t->schema->n_fields; i++)
      if (sqlite3_stricmp(col, t->schema->fields[i].name) == 0) required = t->schema->fields[i].mode == BEAM_ETL_REQUIRED;
    constrained = !required;
  }
  if (!constrained && rc != SQLITE_DONE) constrained = true;
  sqlite3_finalize(stmt);
  return constrained;
}

/* The table's insert statements, once it exists. */
static beam_status table_statements(sqlite_sink *q, sq_table *t, beam_error *err) {
  t->constrained = table_is_constrained(q, t);
  beam_status st = prepare_insert(q, t->name, t->schema, 1, &t->insert_one, err);
  if (st == BEAM_OK && t->batch_rows > 1)
    st = prepare_insert(q, t->name, t->schema, t->batch_rows, &t->insert_batch, err);
  return st;
}

/* What writing the table's rows takes besides its statements: batch and text buffers, and
 * room in the sink's per-row scratch for its columns. */
static beam_status table_buffers(sqlite_sink *q, sq_table *t, beam_error *err) {
  size_t ncols = t->schema->n_fields;
  /* Rows per statement: as asked, within SQLite's host-parameter limit. */
  int max_vars = sqlite3_limit(q->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
  size_t batch = q->base.opts.batch_rows;
  if (max_vars > 0 && batch * ncols > (size_t)max_vars) batch = (size_t)max_vars / ncols;
  if (batch < 1) batch = 1;
  t->batch_rows = batch;
  t->batch_index = calloc(batch, sizeof *t->batch_index);
  t->text = malloc(batch * ncols * BEAM_SINK_TEXT_MAX);
  t->replay_rows = calloc(batch * ncols, sizeof *t->replay_rows);
  if (!t->batch_index || !t->text || !t->replay_rows) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (ncols > q->replay_cap) {
    beam_value *values = realloc(q->replay_values, ncols * sizeof *values);
    if (values) q->replay_values = values;
    beam_value *staged = values ? realloc(q->stage_values, ncols * sizeof *staged) : NULL;
    if (staged) q->stage_values = staged;
    char *text = staged ? realloc(q->stage_text, ncols * BEAM_SINK_TEXT_MAX) : NULL;
    if (!text) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    q->stage_text = text;
    q->replay_cap = ncols;
  }
  for (size_t c = 0; c < ncols; c++)
    if (t->schema->fields[c].type == BEAM_ETL_TIMESTAMP || t->schema->fields[c].type == BEAM_ETL_DATE) t->has_time = true;
  return BEAM_OK;
}

static const beam_etl_schema *take_forgotten(sqlite_sink *q, const char *table);
static void remember_forgotten(sqlite_sink *q, const sq_table *t);

static beam_status sq_ensure_table(beam_sink *s, const char *table, const beam_etl_schema *schema,
                                   const beam_sink_table_options *topts, beam_error *err) {
  (void)topts; /* no partitioning or clustering here */
  sqlite_sink *q = (sqlite_sink *)s;
  sq_table *t = table_find(q, table);
  if (t) return beam_sink_table_reensure(t->schema, schema, true, "sqlite", q->path, table, err);
  if (sqlite3_stricmp(table, BUNDLES_TABLE) == 0 || sqlite3_stricmp(table, LEDGER_TABLE) == 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "sqlite %s: table name %s is reserved for bundle bookkeeping", q->path,
                          table);
  take_forgotten(q, table); /* ensured again now */
  bool created = false, deferred = false;
  beam_status st = fit_table(q, table, schema, &created, &deferred, err);
  if (st != BEAM_OK) return st;
  sq_table *tables = beam_sink_tables_reserve(q->tables, q->n_tables, &q->cap_tables, sizeof *tables);
  if (!tables) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  q->tables = tables;
  t = &q->tables[q->n_tables];
  memset(t, 0, sizeof *t);
  t->name = strdup(table);
  t->schema = schema;
  t->created_in_txn = created;
  t->create_at_commit = deferred; /* this sink creates it: nothing it cannot check up front */
  st = t->name ? table_buffers(q, t, err) : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (st == BEAM_OK && !deferred) st = table_statements(q, t, err);
  if (st != BEAM_OK) {
    table_release(t);
    return st;
  }
  q->n_tables++;
  return q->in_txn ? snapshot_rowids(q, t, err) : BEAM_OK;
}

/* Binds row's values as parameters base+1 .. base+ncols. text is this row's slot area. */
static int bind_row(sqlite3_stmt *stmt, int base, const beam_etl_schema *schema,
                    const beam_value *values, char *text) {
  static const char empty[1] = "";
  for (size_t c = 0; c < schema->n_fields; c++) {
    int idx = base + (int)c + 1;
    const beam_value *v = &values[c];
    int rc;
    if (v->kind == BEAM_VALUE_NULL) {
      rc = sqlite3_bind_null(stmt, idx);
    } else {
      switch (schema->fields[c].type) {
        case BEAM_ETL_STRING:
        case BEAM_ETL_NUMERIC:
          /* A NULL data pointer would bind SQL NULL: an empty string is not null. */
          rc = sqlite3_bind_text64(stmt, idx, v->u.bytes.data ? (const char *)v->u.bytes.data : empty,
                                   v->u.bytes.len, SQLITE_STATIC, SQLITE_UTF8);
          break;
        case BEAM_ETL_BYTES:
          rc = sqlite3_bind_blob64(stmt, idx, v->u.bytes.data ? (const void *)v->u.bytes.data : empty,
                                   v->u.bytes.len, SQLITE_STATIC);
          break;
        case BEAM_ETL_INT64: rc = sqlite3_bind_int64(stmt, idx, v->u.i64); break;
        case BEAM_ETL_FLOAT64: rc = sqlite3_bind_double(stmt, idx, v->u.f64); break;
        case BEAM_ETL_BOOL: rc = sqlite3_bind_int(stmt, idx, v->u.b ? 1 : 0); break;
        case BEAM_ETL_TIMESTAMP:
        case BEAM_ETL_DATE: {
          if (v->kind == BEAM_VALUE_STRING) { /* a staged row's: formatted by stage_rows */
            rc = sqlite3_bind_text(stmt, idx, (const char *)v->u.bytes.data, (int)v->u.bytes.len, SQLITE_STATIC);
            break;
          }
          char *slot = text + c * BEAM_SINK_TEXT_MAX;
          size_t n = schema->fields[c].type == BEAM_ETL_TIMESTAMP ? beam_sink_text_timestamp(v->u.i64, slot)
                                                                  : beam_sink_text_date(v->u.i64, slot);
          rc = sqlite3_bind_text(stmt, idx, slot, (int)n, SQLITE_STATIC);
          break;
        }
        default: rc = SQLITE_MISMATCH;
      }
    }
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

static bool is_row_level(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_CONSTRAINT || primary == SQLITE_TOOBIG || primary == SQLITE_MISMATCH;
}

/* Inserts one row; a constraint violation rejects the row, anything else fails. */
static beam_status insert_one(sqlite_sink *q, sq_table *t, const beam_etl_row *rows, size_t i,
                              beam_sink_row_errors *rejected, beam_error *err) {
  sqlite3_stmt *stmt = t->insert_one;
  int rc = bind_row(stmt, 0, t->schema, rows[i].values, t->text);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc == SQLITE_DONE) return BEAM_OK;
  if (is_row_level(rc)) {
    if (beam_sink_row_errors_add(rejected, i, "sqlite: %s", sqlite3_errmsg(q->db)) != BEAM_OK)
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    return BEAM_OK;
  }
  return sq_fail(q, rc, t->name, "insert", err);
}

/* Steps the full batch; on a constraint violation the statement's effects are undone by
 * SQLite and the batch is replayed row by row to find and report the offending rows. */
static beam_status flush_batch(sqlite_sink *q, sq_table *t, const beam_etl_row *rows,
                               beam_sink_row_errors *rejected, beam_error *err) {
  int rc = sqlite3_step(t->insert_batch);
  sqlite3_reset(t->insert_batch);
  if (rc == SQLITE_DONE) return BEAM_OK;
  if (!is_row_level(rc)) return sq_fail(q, rc, t->name, "insert", err);
  for (size_t k = 0; k < t->batch_rows; k++) {
    beam_status st = insert_one(q, t, rows, t->batch_index[k], rejected, err);
    if (st != BEAM_OK) return st;
  }
  return BEAM_OK;
}

/* False, with the reason, when a FLOAT64 value of row is NaN: SQLite stores NaN as NULL, a
 * silent change of the value (and a refusal in a NOT NULL column), so the row is refused and
 * dead-lettered instead. */
static bool nan_free(const sq_table *t, const beam_etl_row *row, char *reason, size_t cap) {
  for (size_t c = 0; c < t->schema->n_fields; c++)
    if (row->values[c].kind == BEAM_VALUE_DOUBLE && isnan(row->values[c].u.f64)) {
      snprintf(reason, cap, "sqlite: field %s: NaN cannot be stored (SQLite would keep it as NULL)",
               t->schema->fields[c].name);
      return false;
    }
  return true;
}

/* Inserts rows directly into the open transaction (a direct bundle): each refused row is
 * reported in rejected, as write_rows promises. */
static beam_status insert_rows(sqlite_sink *q, sq_table *t, const beam_etl_row *rows, size_t n,
                               beam_sink_row_errors *rejected, beam_error *err) {
  size_t ncols = t->schema->n_fields;
  size_t pending = 0;
  char reason[256];
  for (size_t i = 0; i < n; i++) {
    if (!beam_sink_row_conforms(t->schema, &rows[i], reason, sizeof reason) ||
        !nan_free(t, &rows[i], reason, sizeof reason)) {
      if (beam_sink_row_errors_add(rejected, i, "%s", reason) != BEAM_OK)
        return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      continue;
    }
    if (!t->insert_batch) {
      beam_status st = insert_one(q, t, rows, i, rejected, err);
      if (st != BEAM_OK) return st;
      continue;
    }
    int rc = bind_row(t->insert_batch, (int)(pending * ncols), t->schema, rows[i].values,
                      t->text + pending * ncols * BEAM_SINK_TEXT_MAX);
    if (rc != SQLITE_OK) return sq_fail(q, rc, t->name, "bind", err);
    t->batch_index[pending++] = i;
    if (pending == t->batch_rows) {
      beam_status st = flush_batch(q, t, rows, rejected, err);
      if (st != BEAM_OK) return st;
      pending = 0;
    }
  }
  /* The tail, fewer rows than a batch, goes one row per statement. */
  for (size_t k = 0; k < pending; k++) {
    beam_status st = insert_one(q, t, rows, t->batch_index[k], rejected, err);
    if (st != BEAM_OK) return st;
  }
  /* Rejections were appended out of order when a batch was replayed: keep them sorted. */
  for (size_t a = 1; a < rejected->len; a++) {
    beam_sink_row_error e = rejected->items[a];
    size_t b = a;
    while (b > 0 && rejected->items[b - 1].index > e.index) {
      rejected->items[b] = rejected->items[b - 1];
      b--;
    }
    rejected->items[b] = e;
  }
  return BEAM_OK;
}

/* The reason a conforming row would still be refused by the insert for its size
 * (SQLITE_TOOBIG), checked before staging it; NULL when it fits. */
static const char *too_big(const sqlite_sink *q, const beam_etl_row *row, size_t n_fields) {
  int64_t total = 0;
  for (size_t c = 0; c < n_fields; c++) {
    const beam_value *v = &row->values[c];
    int64_t len = v->kind == BEAM_VALUE_STRING || v->kind == BEAM_VALUE_BYTES ? (int64_t)v->u.bytes.len : 9;
    if (len > q->max_length) return "string or blob too big";
    total += len + 9;
  }
  return total > q->max_length ? "row too big" : NULL;
}

/* The values to stage for a conforming row: its TIMESTAMP and DATE fields as the text the
 * insert binds, formatted here rather than at commit, where every instruction is spent
 * under the database's write lock that the other writers wait for. */
static const beam_value *staged_values(sqlite_sink *q, const sq_table *t, const beam_value *values) {
  if (!t->has_time) return values;
  for (size_t c = 0; c < t->schema->n_fields; c++) {
    beam_etl_type type = t->schema->fields[c].type;
    q->stage_values[c] = values[c];
    if (values[c].kind != BEAM_VALUE_INT64 || (type != BEAM_ETL_TIMESTAMP && type != BEAM_ETL_DATE)) continue;
    char *slot = q->stage_text + c * BEAM_SINK_TEXT_MAX;
    size_t n = type == BEAM_ETL_TIMESTAMP ? beam_sink_text_timestamp(values[c].u.i64, slot)
                                          : beam_sink_text_date(values[c].u.i64, slot);
    q->stage_values[c] = beam_value_string(slot, n);
  }
  return q->stage_values;
}

/* Stages rows for the commit: refused here are only rows that do not conform to the schema
 * or are too big, which is all a table this sink may stage for can refuse. */
static beam_status stage_rows(sqlite_sink *q, sq_table *t, const beam_etl_row *rows, size_t n,
                              beam_sink_row_errors *rejected, beam_error *err) {
  uint32_t index = (uint32_t)(t - q->tables);
  char reason[256];
  for (size_t i = 0; i < n; i++) {
    const char *big = NULL;
    if (!beam_sink_row_conforms(t->schema, &rows[i], reason, sizeof reason) ||
        !nan_free(t, &rows[i], reason, sizeof reason) ||
        (big = too_big(q, &rows[i], t->schema->n_fields)) != NULL) {
      if (beam_sink_row_errors_add(rejected, i, "%s%s", big ? "sqlite: " : "", big ? big : reason) != BEAM_OK)
        return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      continue;
    }
    int e = 0;
    beam_status st = beam_sqlite_stage_row(&q->stage, index, staged_values(q, t, rows[i].values), t->schema->n_fields, &e);
    if (st == BEAM_ERR_IO)
      return beam_error_set(err, st, "sqlite %s: table %s: staging the bundle in %s: %s", q->path, t->name, q->dir,
                            strerror(e));
    if (st != BEAM_OK) return beam_error_set(err, st, "sqlite %s: table %s: staging a row: out of memory", q->path, t->name);
  }
  return BEAM_OK;
}

static beam_status sq_write_rows(beam_sink *s, const char *table, const beam_etl_row *rows, size_t n,
                                 beam_sink_row_errors *rejected, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  sq_table *t = table_find(q, table);
  const beam_etl_schema *forgotten = t ? NULL : take_forgotten(q, table);
  if (forgotten) {
    beam_status st = sq_ensure_table(s, table, forgotten, NULL, err);
    if (st != BEAM_OK) {
      remember_forgotten(q, &(sq_table){.name = (char *)table, .schema = forgotten}); /* the next write tries again */
      return st;
    }
    t = table_find(q, table);
  }
  if (!t)
    return beam_error_set(err, BEAM_ERR_NOT_FOUND,
                          "sqlite %s: table %s was not ensured on this sink", q->path, table);
  if (!q->in_txn && t->constrained) {
    size_t at = (size_t)(t - q->tables);
    beam_status st = go_direct(q, err);
    if (st != BEAM_OK || s->duplicate) return st;
    t = &q->tables[at];
  }
  return q->in_txn ? insert_rows(q, t, rows, n, rejected, err) : stage_rows(q, t, rows, n, rejected, err);
}

/* Notes t as forgotten (a failed allocation only costs a later write its table). */
static void remember_forgotten(sqlite_sink *q, const sq_table *t) {
  for (size_t i = 0; i < q->n_forgotten; i++)
    if (strcmp(q->forgotten[i].name, t->name) == 0) return;
  struct forgotten_table *grown = realloc(q->forgotten, (q->n_forgotten + 1) * sizeof *grown);
  char *name = grown ? strdup(t->name) : NULL;
  if (grown) q->forgotten = grown;
  if (name) q->forgotten[q->n_forgotten++] = (struct forgotten_table){name, t->schema};
}

/* The schema a rollback forgot table with (taken off the list), or NULL. */
static const beam_etl_schema *take_forgotten(sqlite_sink *q, const char *table) {
  for (size_t i = 0; i < q->n_forgotten; i++) {
    if (strcmp(q->forgotten[i].name, table) != 0) continue;
    const beam_etl_schema *schema = q->forgotten[i].schema;
    free(q->forgotten[i].name);
    q->forgotten[i] = q->forgotten[--q->n_forgotten];
    return schema;
  }
  return NULL;
}

/* After a rollback, tables created (or altered) inside the bundle, or to be created at its
 * commit, no longer exist as cached: they are ensured again when next used (by write_rows
 * too, for a writer that ensured them once for the run). */
static void forget_txn_tables(sqlite_sink *q) {
  size_t w = 0;
  for (size_t i = 0; i < q->n_tables; i++) {
    if (q->tables[i].created_in_txn || q->tables[i].create_at_commit) {
      remember_forgotten(q, &q->tables[i]);
      table_release(&q->tables[i]);
    } else {
      q->tables[w++] = q->tables[i];
    }
  }
  q->n_tables = w;
  q->last_table = 0;
}

/* Ends the open bundle: commits' or rollback's bookkeeping, the transaction (rolled back
 * unless committed) and its lock, the staged rows and ledger entries. */
static void end_bundle(sqlite_sink *q, bool committed) {
  if (committed) {
    for (size_t i = 0; i < q->n_tables; i++) q->tables[i].created_in_txn = false;
  } else {
    if (!sqlite3_get_autocommit(q->db)) exec_sql(q, "ROLLBACK");
    forget_txn_tables(q);
  }
  if (q->in_txn) write_unlock(q);
  q->in_txn = false;
  beam_sqlite_stage_reset(&q->stage);
  beam_sqlite_ledger_list_clear(&q->ledger);
  beam_sqlite_ledger_list_clear(&q->retract);
  free(q->bundle_id);
  q->bundle_id = NULL;
}

/* Looks id up in the bundles table: 1 found, 0 not, -1 failed (err set). */
static int bundle_known(sqlite_sink *q, const char *id, beam_error *err) {
  sqlite3_stmt *look = q->bundle_lookup;
  sqlite3_bind_text(look, 1, id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(look);
  sqlite3_reset(look);
  sqlite3_clear_bindings(look);
  if (rc == SQLITE_ROW) return 1;
  if (rc == SQLITE_DONE) return 0;
  sq_fail(q, rc, BUNDLES_TABLE, "bundle lookup", err);
  return -1;
}

/* No lock: a read. A bundle committed already writes nothing (its rows are not even staged);
 * one committed by another writer after this lookup is caught again at commit. */
static beam_status sq_begin(beam_sink *s, const char *bundle_id, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  q->bundle_id = strdup(bundle_id);
  if (!q->bundle_id) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  int known = bundle_known(q, bundle_id, err);
  if (known < 0) {
    end_bundle(q, false);
    return BEAM_ERR_IO;
  }
  s->duplicate = known == 1;
  if (s->duplicate) end_bundle(q, false);
  return BEAM_OK;
}

/* ---- Inserting the staged rows, under the write lock -------------------------------- */

typedef struct replay_ctx {
  sqlite_sink *q;
  beam_error *err;
  beam_status st;
} replay_ctx;

/* A row the insert refuses at commit: the staged tables have no constraint that could, so
 * this is a table changed behind the sink's back; the commit fails. */
static int replay_fail(replay_ctx *c, sq_table *t, int rc) {
  c->st = sq_fail(c->q, rc, t->name, "insert at commit", c->err);
  return 1;
}

static int replay_insert_one(replay_ctx *c, sq_table *t, const beam_value *values) {
  int rc = bind_row(t->insert_one, 0, t->schema, values, t->text);
  if (rc == SQLITE_OK) rc = sqlite3_step(t->insert_one);
  sqlite3_reset(t->insert_one);
  return rc == SQLITE_DONE ? 0 : replay_fail(c, t, rc);
}

static int replay_row(void *ctx, uint32_t table, const beam_value *values, size_t n_values) {
  replay_ctx *c = ctx;
  sqlite_sink *q = c->q;
  if (table >= q->n_tables || n_values != q->tables[table].schema->n_fields) {
    c->st = beam_error_set(c->err, BEAM_ERR_INTERNAL, "sqlite %s: a staged row names no table of the sink", q->path);
    return 1;
  }
  sq_table *t = &q->tables[table];
  if (!t->insert_batch) return replay_insert_one(c, t, values);
  size_t ncols = t->schema->n_fields, k = t->replay_pending;
  int rc = bind_row(t->insert_batch, (int)(k * ncols), t->schema, values, t->text + k * ncols * BEAM_SINK_TEXT_MAX);
  if (rc != SQLITE_OK) return replay_fail(c, t, rc);
  memcpy(t->replay_rows + k * ncols, values, ncols * sizeof *values);
  if (++t->replay_pending < t->batch_rows) return 0;
  t->replay_pending = 0;
  rc = sqlite3_step(t->insert_batch);
  sqlite3_reset(t->insert_batch);
  return rc == SQLITE_DONE ? 0 : replay_fail(c, t, rc);
}

/* The chunk's memory is about to go: rows bound into unfinished batches go one by one. */
static int replay_end_chunk(void *ctx) {
  replay_ctx *c = ctx;
  for (size_t i = 0; i < c->q->n_tables; i++) {
    sq_table *t = &c->q->tables[i];
    size_t ncols = t->schema->n_fields;
    for (size_t k = 0; k < t->replay_pending; k++)
      if (replay_insert_one(c, t, t->replay_rows + k * ncols)) return 1;
    t->replay_pending = 0;
  }
  return 0;
}

static beam_status insert_staged(sqlite_sink *q, beam_error *err) {
  if (!q->stage.rows) return BEAM_OK;
  replay_ctx c = {q, err, BEAM_OK};
  sq_stage_visitor v = {replay_row, replay_end_chunk, &c};
  int rc = beam_sqlite_stage_replay(&q->stage, &v, q->replay_values, q->replay_cap);
  for (size_t i = 0; i < q->n_tables; i++) q->tables[i].replay_pending = 0;
  if (rc < 0)
    return beam_error_set(err, rc == -ENOMEM ? BEAM_ERR_NOMEM : BEAM_ERR_IO,
                          "sqlite %s: reading the staged bundle back: %s", q->path, strerror(-rc));
  beam_sqlite_stage_reset(&q->stage);
  return rc ? c.st : BEAM_OK;
}

/* Under the write lock, in the bundle's transaction: creates the tables the bundle found
 * missing (another writer may have created one since: then it is checked, and gains missing
 * NULLABLE columns, as at ensure time) and prepares their statements. */
static beam_status create_pending_tables(sqlite_sink *q, beam_error *err) {
  for (size_t i = 0; i < q->n_tables; i++) {
    sq_table *t = &q->tables[i];
    if (!t->create_at_commit) continue;
    bool *add = calloc(t->schema->n_fields ? t->schema->n_fields : 1, sizeof *add);
    if (!add) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    beam_status st = change_locked(q, t->name, t->schema, add, err);
    free(add);
    if (st == BEAM_OK) st = table_statements(q, t, err);
    if (st != BEAM_OK) return st;
    t->create_at_commit = false;
    t->created_in_txn = true;
  }
  return BEAM_OK;
}

/* Takes the write lock for the open bundle and inserts what it staged. The bundle id is
 * looked up again under the lock: committed meanwhile by another writer, the bundle is a
 * duplicate (and ended). On failure the bundle is ended. */
static beam_status go_direct(sqlite_sink *q, beam_error *err) {
  int rc = write_lock(q);
  if (rc != SQLITE_OK) {
    beam_status st = sq_fail(q, rc, NULL, "begin bundle", err);
    end_bundle(q, false);
    return st;
  }
  q->in_txn = true;
  int known = bundle_known(q, q->bundle_id, err);
  if (known != 0) {
    q->base.duplicate = known == 1;
    end_bundle(q, false);
    return known == 1 ? BEAM_OK : BEAM_ERR_IO;
  }
  beam_status st = create_pending_tables(q, err);
  for (size_t i = 0; st == BEAM_OK && i < q->n_tables; i++) st = snapshot_rowids(q, &q->tables[i], err);
  if (st == BEAM_OK) st = insert_staged(q, err);
  if (st != BEAM_OK) end_bundle(q, false);
  return st;
}

static beam_status record_bundle(sqlite_sink *q, const char *id, uint64_t rows, beam_error *err) {
  sqlite3_stmt *rec = q->bundle_record;
  sqlite3_bind_text(rec, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(rec, 2, (sqlite3_int64)rows);
  int rc = sqlite3_step(rec);
  sqlite3_reset(rec);
  sqlite3_clear_bindings(rec);
  return rc == SQLITE_DONE ? BEAM_OK : sq_fail(q, rc, BUNDLES_TABLE, "record bundle", err);
}

/* The bundle's content key, committed before under another bundle id (a runner's retry):
 * then this bundle is a duplicate and rolls back. Otherwise the key is recorded with it. */
static beam_status claim_content(sqlite_sink *q, beam_error *err) {
  beam_sink *s = &q->base;
  if (!s->content_key[0]) return BEAM_OK;
  char id[64];
  snprintf(id, sizeof id, "content:%s", s->content_key);
  int known = bundle_known(q, id, err);
  if (known < 0) return BEAM_ERR_IO;
  if (known) {
    s->duplicate = true;
    return BEAM_OK;
  }
  return record_bundle(q, id, s->bundle.rows, err);
}

static beam_status write_ledger(sqlite_sink *q, beam_error *err);

/* Retracts the listed files' committed ranges (sqlite_retract.h), under the write lock. */
static beam_status retract_files(sqlite_sink *q, beam_error *err) {
  beam_status st = BEAM_OK;
  for (size_t i = 0; st == BEAM_OK && i < q->retract.len; i++)
    st = beam_sqlite_retract_file(&q->base, q->db, q->path, q->retract.items[i].key, err);
  return st;
}

/* For a bundle that commits range units: on their ledger entries, the rowids each table took
 * and the ids the bundle is recognised by, so that its file's failure can retract it
 * (sqlite_retract.h). */
static beam_status record_unit_rows(sqlite_sink *q, beam_error *err) {
  bool ranges = false;
  for (size_t u = 0; u < q->ledger.len; u++) ranges |= beam_sqlite_is_range_unit(q->ledger.items[u].key);
  if (!ranges) return BEAM_OK;
  beam_buf spans = BEAM_BUF_INIT;
  int rc = SQLITE_OK;
  for (size_t i = 0; rc == SQLITE_OK && i < q->n_tables; i++) {
    sq_table *t = &q->tables[i];
    int64_t last = 0;
    bool named = t->rowid_before >= 0 && beam_sqlite_max_rowid(q->db, t->name, &last) == SQLITE_OK;
    if ((!named || last > t->rowid_before) &&
        beam_sqlite_spans_add(&spans, t->name, t->rowid_before + 1, last, named && !t->constrained) != BEAM_OK)
      rc = SQLITE_NOMEM;
  }
  char content[64];
  snprintf(content, sizeof content, "content:%s", q->base.content_key);
  if (rc == SQLITE_OK && beam_buf_append_byte(&spans, 0) != BEAM_OK) rc = SQLITE_NOMEM;
  for (size_t u = 0; rc == SQLITE_OK && u < q->ledger.len; u++)
    if (beam_sqlite_is_range_unit(q->ledger.items[u].key))
      rc = beam_sqlite_unit_rows_record(q->db, q->ledger.items[u].key, (const char *)spans.data, q->bundle_id,
                                        q->base.content_key[0] ? content : NULL);
  beam_buf_free(&spans);
  return rc == SQLITE_OK ? BEAM_OK : sq_fail(q, rc, LEDGER_TABLE, "record a unit's rows", err);
}

/* A stream's old message units go (sink.h: message_ledger_days), in a commit's transaction
 * (the first, then one an hour): at open the write lock may be another writer's for a long
 * time, and a stream must start (and wait at its commit) all the same. ISO times sort as text. */
static beam_status expire_messages(sqlite_sink *q, beam_error *err) {
  int64_t last = q->messages_expired_at;
  if (!beam_sink_message_expiry_due(&q->base, &last)) return BEAM_OK;
  char sql[320];
  snprintf(sql, sizeof sql,
           "DELETE FROM \"" LEDGER_TABLE "\" WHERE unit >= 'pubsub:' AND unit < 'pubsub;' AND committed_at < "
           "strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now', '-%d days')",
           q->base.opts.message_ledger_days);
  int rc = exec_sql(q, sql);
  if (rc != SQLITE_OK) return sq_fail(q, rc, LEDGER_TABLE, "forget old message units", err);
  q->messages_expired_at = last; /* should this commit roll back, the next hour's does it */
  return BEAM_OK;
}

static beam_status sq_commit(beam_sink *s, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  if (s->duplicate) {
    end_bundle(q, false);
    return BEAM_OK;
  }
  beam_status st = q->in_txn ? BEAM_OK : go_direct(q, err);
  if (st != BEAM_OK || s->duplicate) return st; /* go_direct ended the bundle */
  st = retract_files(q, err);
  if (st == BEAM_OK) st = claim_content(q, err);
  if (st == BEAM_OK && !s->duplicate) st = write_ledger(q, err);
  if (st == BEAM_OK && !s->duplicate) st = record_unit_rows(q, err);
  if (st == BEAM_OK && !s->duplicate) st = record_bundle(q, q->bundle_id, s->bundle.rows, err);
  if (st == BEAM_OK && !s->duplicate) st = expire_messages(q, err);
  if (st != BEAM_OK || s->duplicate) {
    end_bundle(q, false);
    return st;
  }
  int rc = exec_sql(q, "COMMIT");
  if (rc != SQLITE_OK) {
    st = sq_fail(q, rc, NULL, "commit bundle", err);
    end_bundle(q, false);
    return st;
  }
  end_bundle(q, true);
  return BEAM_OK;
}

/* ---- The ledger, in the bundle's transaction ------------------------------------------
 * No savepoints: a SAVEPOINT makes SQLite copy every page a later write touches into a
 * statement journal (measured: a 1M-row load 1.8x slower), while a commit in WAL mode is an
 * append. So a writer commits each unit as a transaction of its own (beam_sink_has_savepoints
 * is false) and drops a failed unit by rolling its transaction back.
 *
 * Entries are listed with the bundle and written at commit, under the write lock, where an
 * entry that does not replace is checked against the committed ledger once more: the writer
 * looked the unit up before the lock, and another writer (a thread loading a file of the same
 * content, another process) may have committed it since. Then the unit is loaded already:
 * a bundle whose every entry is such a unit is a duplicate (rolled back, nothing written,
 * beam_sink_last_bundle_was_duplicate true); a bundle with other entries too fails the commit
 * (a retry then finds the unit in the ledger and skips it). */

static int step_once(sqlite3_stmt *stmt) {
  int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  return rc;
}

/* Looks key up among the committed entries: 1 found (hit filled when not NULL), 0 not, -1
 * failed (err set). */
static int ledger_lookup(sqlite_sink *q, const char *key, beam_sink_ledger_hit *hit, beam_error *err);

static beam_status write_ledger(sqlite_sink *q, beam_error *err) {
  size_t loaded = 0;
  for (size_t i = 0; i < q->ledger.len; i++) {
    const sq_ledger_entry *e = &q->ledger.items[i];
    if (e->replace) continue;
    int known = ledger_lookup(q, e->key, NULL, err);
    if (known < 0) return BEAM_ERR_IO;
    loaded += (size_t)known;
  }
  if (loaded == q->ledger.len && loaded > 0) {
    q->base.duplicate = true;
    return BEAM_OK;
  }
  if (loaded > 0)
    return beam_error_set(err, BEAM_ERR_IO,
                          "sqlite %s: %zu of the bundle's %zu units were committed by another writer while it "
                          "ran; nothing of the bundle is written (a retry skips them)",
                          q->path, loaded, q->ledger.len);
  for (size_t i = 0; i < q->ledger.len; i++) {
    const sq_ledger_entry *e = &q->ledger.items[i];
    sqlite3_stmt *stmt = e->replace ? q->ledger_replace : q->ledger_insert;
    sqlite3_bind_text(stmt, 1, e->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, e->file, -1, SQLITE_STATIC);
    int rc = step_once(stmt);
    sqlite3_clear_bindings(stmt);
    if (rc != SQLITE_DONE) return sq_fail(q, rc, LEDGER_TABLE, "record a unit", err);
  }
  return BEAM_OK;
}

static beam_status sq_retract_units(beam_sink *s, const char *file_id, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  if (beam_sqlite_ledger_list_add(&q->retract, file_id, "", false) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return BEAM_OK;
}

static beam_status sq_ledger_record(beam_sink *s, const char *key, const char *file, bool replace, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  if (beam_sqlite_ledger_list_add(&q->ledger, key, file, replace) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return BEAM_OK;
}

static void copy_column(char *out, size_t cap, sqlite3_stmt *stmt, int col) {
  const unsigned char *text = sqlite3_column_text(stmt, col);
  snprintf(out, cap, "%s", text ? (const char *)text : "");
}

static int ledger_lookup(sqlite_sink *q, const char *key, beam_sink_ledger_hit *hit, beam_error *err) {
  sqlite3_stmt *look = q->ledger_lookup;
  sqlite3_bind_text(look, 1, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(look);
  if (rc == SQLITE_ROW && hit) {
    hit->found = true;
    copy_column(hit->file, sizeof hit->file, look, 0);
    copy_column(hit->committed_at, sizeof hit->committed_at, look, 1);
  }
  sqlite3_reset(look);
  sqlite3_clear_bindings(look);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) return rc == SQLITE_ROW;
  sq_fail(q, rc, LEDGER_TABLE, "look a unit up", err);
  return -1;
}

/* The bundle's own entry counts: one that replaces wins over the committed one, one that
 * does not shows only when nothing is committed for the key. */
static beam_status sq_ledger_find(beam_sink *s, const char *key, beam_sink_ledger_hit *hit, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  const sq_ledger_entry *own = beam_sqlite_ledger_list_find(&q->ledger, key);
  if (!own || !own->replace) {
    int known = ledger_lookup(q, key, hit, err);
    if (known < 0) return BEAM_ERR_IO;
    if (known) return BEAM_OK;
  }
  if (own) {
    hit->found = true;
    snprintf(hit->committed_at, sizeof hit->committed_at, "%s", own->recorded_at);
    snprintf(hit->file, sizeof hit->file, "%s", own->file);
  }
  return BEAM_OK;
}

static beam_status sq_ledger_any(beam_sink *s, bool *any, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  if (q->ledger.len > 0) return *any = true, BEAM_OK;
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(q->db, "SELECT 1 FROM \"" LEDGER_TABLE "\" LIMIT 1", -1, &stmt, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  *any = rc == SQLITE_ROW;
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? BEAM_OK : sq_fail(q, rc, LEDGER_TABLE, "read", err);
}

/* A file's units: "<id>" itself and every "<id>@..." - with the default BINARY collation
 * those sort in ["<id>@", "<id>A") ('A' follows '@'), a range the primary key's index serves.
 * The bundle's own entries count too. */
static beam_status sq_ledger_ranges(beam_sink *s, const char *file_id, beam_sink_ranges *out, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  sqlite3_stmt *stmt = q->ledger_units;
  sqlite3_bind_text(stmt, 1, file_id, -1, SQLITE_STATIC);
  int rc = SQLITE_DONE;
  beam_status st = BEAM_OK;
  while (st == BEAM_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const unsigned char *unit = sqlite3_column_text(stmt, 0);
    if (unit) st = beam_sink_ranges_add_unit(out, file_id, (const char *)unit);
  }
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  if (st != BEAM_OK) return beam_error_set(err, st, "out of memory");
  if (rc != SQLITE_DONE) return sq_fail(q, rc, LEDGER_TABLE, "look a file's units up", err);
  for (size_t i = 0; st == BEAM_OK && i < q->ledger.len; i++)
    st = beam_sink_ranges_add_unit(out, file_id, q->ledger.items[i].key);
  return st == BEAM_OK ? BEAM_OK : beam_error_set(err, st, "out of memory");
}

/* The units that look like a byte range and whose file has no whole-file unit, with their
 * input names: one scan of the ledger, each file looked up by the primary key (the identity is
 * the unit without its trailing "@START-END"). */
static beam_status sq_ledger_range_units(beam_sink *s, beam_sink_unit_fn each, void *ctx, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(q->db,
                              "SELECT r.unit, r.file FROM \"" LEDGER_TABLE "\" r WHERE r.unit GLOB '*@[0-9]*-[0-9]*' "
                              "AND NOT EXISTS (SELECT 1 FROM \"" LEDGER_TABLE "\" w WHERE w.unit = "
                              "substr(r.unit, 1, length(rtrim(r.unit, '0123456789-')) - 1))",
                              -1, &stmt, NULL);
  beam_status st = BEAM_OK;
  if (rc == SQLITE_OK)
    while (st == BEAM_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
      st = each(ctx, (const char *)sqlite3_column_text(stmt, 0), (const char *)sqlite3_column_text(stmt, 1), err);
  sqlite3_finalize(stmt);
  if (st != BEAM_OK) return st;
  return rc == SQLITE_DONE ? BEAM_OK : sq_fail(q, rc, LEDGER_TABLE, "look for ranges", err);
}

static void sq_abort(beam_sink *s) {
  sqlite_sink *q = (sqlite_sink *)s;
  end_bundle(q, false);
}

static beam_status sq_close(beam_sink *s, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  beam_status st = BEAM_OK;
  for (size_t i = 0; i < q->n_tables; i++) table_release(&q->tables[i]);
  q->n_tables = 0;
  sqlite3_finalize(q->bundle_lookup);
  sqlite3_finalize(q->bundle_record);
  sqlite3_finalize(q->ledger_lookup);
  sqlite3_finalize(q->ledger_insert);
  sqlite3_finalize(q->ledger_replace);
  sqlite3_finalize(q->ledger_units);
  q->bundle_lookup = q->bundle_record = q->ledger_lookup = q->ledger_insert = q->ledger_replace = NULL;
  q->ledger_units = NULL;
  if (q->db) {
    /* Move the WAL into the database now so a write failure (full disk) is reported;
     * BUSY only means another connection is reading, and it will checkpoint later. */
    int rc = sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
      st = sq_fail(q, rc, NULL, "checkpoint at close", err);
    rc = sqlite3_close(q->db);
    if (rc != SQLITE_OK && st == BEAM_OK)
      st = beam_error_set(err, BEAM_ERR_IO, "sqlite %s: close: %s", q->path, sqlite3_errstr(rc));
    q->db = NULL;
  }
  beam_sqlite_db_lock_put(q->db_lock);
  q->db_lock = NULL;
  beam_sqlite_stage_free(&q->stage);
  return st;
}

static void sq_free(beam_sink *s) {
  sqlite_sink *q = (sqlite_sink *)s;
  if (q->db) sq_close(s, NULL);
  free(q->tables);
  for (size_t i = 0; i < q->n_forgotten; i++) free(q->forgotten[i].name);
  free(q->forgotten);
  free(q->bundle_id);
  free(q->path);
  free(q->dir);
  free(q->replay_values);
  free(q->stage_values);
  free(q->stage_text);
  beam_sqlite_ledger_list_free(&q->ledger);
  beam_sqlite_ledger_list_free(&q->retract);
  beam_sqlite_stage_free(&q->stage);
  beam_sqlite_db_lock_put(q->db_lock);
  free(q);
}

static const beam_sink_vtable sqlite_vtable = {
    .scheme = "sqlite",
    .ensure_table = sq_ensure_table,
    .begin = sq_begin,
    .write_rows = sq_write_rows,
    .commit = sq_commit,
    .abort = sq_abort,
    .close = sq_close,
    .free = sq_free,
    .ledger_record = sq_ledger_record,
    .ledger_find = sq_ledger_find,
    .ledger_any = sq_ledger_any,
    .ledger_ranges = sq_ledger_ranges,
    .ledger_range_units = sq_ledger_range_units,
    .retract_units = sq_retract_units,
};

#define ISO_NOW "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

/* The ledger table (a database of the previous release gains it here) and its statements. */
static beam_status ledger_setup(sqlite_sink *q, beam_error *err) {
  int rc = exec_sql(q, "CREATE TABLE IF NOT EXISTS \"" LEDGER_TABLE "\" ("
                       "unit TEXT PRIMARY KEY NOT NULL, file TEXT, committed_at TEXT NOT NULL)");

  if (rc == SQLITE_OK) rc = beam_sqlite_retract_setup(q->db);
  if (rc != SQLITE_OK) return sq_fail(q, rc, LEDGER_TABLE, "create", err);
  static const char *const sql[] = {
      "SELECT file, committed_at FROM \"" LEDGER_TABLE "\" WHERE unit = ?",
      "INSERT OR IGNORE INTO \"" LEDGER_TABLE "\" (unit, file, committed_at) VALUES (?, ?, " ISO_NOW ")",
      "INSERT OR REPLACE INTO \"" LEDGER_TABLE "\" (unit, file, committed_at) VALUES (?, ?, " ISO_NOW ")",
      "SELECT unit FROM \"" LEDGER_TABLE "\" WHERE unit = ?1 OR (unit >= ?1 || '@' AND unit < ?1 || 'A')"};
  sqlite3_stmt **stmts[] = {&q->ledger_lookup, &q->ledger_insert, &q->ledger_replace, &q->ledger_units};
  for (size_t i = 0; rc == SQLITE_OK && i < 4; i++)
    rc = sqlite3_prepare_v3(q->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, stmts[i], NULL);
  return rc == SQLITE_OK ? BEAM_OK : sq_fail(q, rc, LEDGER_TABLE, "prepare", err);
}

/* Opens and configures the connection, creating the bookkeeping tables when missing. */
static beam_status sq_configure(sqlite_sink *q, beam_error *err) {
  int rc;
  /* WAL lets readers run beside the writer and makes commits a sequential append;
   * journal_mode answers with the mode it got (not WAL on some filesystems: fine). */
  rc = exec_sql(q, "PRAGMA journal_mode=WAL");
  if (rc != SQLITE_OK) return sq_fail(q, rc, NULL, "set journal mode", err);
  rc = exec_sql(q, q->base.opts.no_sync ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=NORMAL");
  /* 16 MiB of page cache: enough for the insert path (B-tree right edges), and it keeps the
   * whole ETL process under 64 MB; bigger caches bought no speed in tests/bench. */
  if (rc == SQLITE_OK) rc = exec_sql(q, "PRAGMA cache_size=-16384");
  if (rc == SQLITE_OK) rc = exec_sql(q, "PRAGMA temp_store=MEMORY");
  if (rc == SQLITE_OK && q->base.opts.sqlite_max_pages > 0) {
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", (long long)q->base.opts.sqlite_max_pages);
    rc = exec_sql(q, sql);
  }
  if (rc != SQLITE_OK) return sq_fail(q, rc, NULL, "configure", err);
  rc = exec_sql(q, "CREATE TABLE IF NOT EXISTS \"" BUNDLES_TABLE "\" ("
                   "bundle_id TEXT PRIMARY KEY NOT NULL, committed_at TEXT NOT NULL, "
                   "rows INTEGER NOT NULL)");
  if (rc != SQLITE_OK) return sq_fail(q, rc, BUNDLES_TABLE, "create", err);
  rc = sqlite3_prepare_v3(q->db, "SELECT 1 FROM \"" BUNDLES_TABLE "\" WHERE bundle_id = ?", -1,
                          SQLITE_PREPARE_PERSISTENT, &q->bundle_lookup, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v3(q->db,
                            "INSERT INTO \"" BUNDLES_TABLE "\" (bundle_id, committed_at, rows) "
                            "VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?)",
                            -1, SQLITE_PREPARE_PERSISTENT, &q->bundle_record, NULL);
  if (rc != SQLITE_OK) return sq_fail(q, rc, BUNDLES_TABLE, "prepare", err);
  return ledger_setup(q, err);
}

static beam_status sq_setup(sqlite_sink *q, beam_error *err) {
  int rc = sqlite3_open_v2(q->path, &q->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) return sq_fail(q, rc, NULL, "open", err);
  sqlite3_extended_result_codes(q->db, 1);
  sqlite3_busy_timeout(q->db, q->base.opts.busy_timeout_ms);
  sqlite3_wal_hook(q->db, note_wal_frames, q);
  q->max_length = sqlite3_limit(q->db, SQLITE_LIMIT_LENGTH, -1);
  /* The file exists once opened (SQLite creates it at open): its mutex can be found. The
   * journal-mode switch and the bookkeeping tables are writes: under the mutex too. */
  q->db_lock = beam_sqlite_db_lock_get(q->path);
  char dir[PATH_MAX];
  beam_local_dir_of(q->path, dir);
  q->dir = strdup(dir);
  if (!q->dir) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  q->stage.dir = q->dir;
  if (!beam_sqlite_db_lock_enter(q->db_lock, q->base.opts.busy_timeout_ms))
    return sq_fail(q, SQLITE_BUSY, NULL, "open: waiting for this process's other writers", err);
  beam_status st = sq_configure(q, err);
  beam_sqlite_db_lock_leave(q->db_lock);
  return st;
}

beam_status beam_sink_sqlite_open(const char *path, const beam_sink_options *opts, beam_sink **out,
                                  beam_error *err) {
  if (!out) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "sqlite open: NULL out");
  *out = NULL;
  if (!path || !path[0]) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "sqlite open: empty path");
  sqlite_sink *q = calloc(1, sizeof *q);
  if (!q) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_sink_init(&q->base, &sqlite_vtable, opts);
  beam_sqlite_stage_init(&q->stage, q->base.opts.spill_bytes, NULL); /* the directory comes at setup */
  q->base.keys_content = true; /* the bundles table records content keys too */
  q->path = strdup(path);
  if (!q->path) {
    free(q);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  beam_status st = sq_setup(q, err);
  if (st != BEAM_OK) {
    q->base.state = BEAM_SINK_CLOSED;
    sq_free(&q->base);
    return st;
  }
  *out = &q->base;
  return BEAM_OK;
}

/* ---- Checking a path ahead of a run ------------------------------------------------ */

/* An empty file is a database SQLite will initialize; anything else must start with the
 * header every SQLite database file has. */
static bool sqlite_header_ok(const char *path, off_t size) {
  static const char magic[16] = "SQLite format 3";
  if (size == 0) return true;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char head[16];
  bool ok = read(fd, head, sizeof head) == (ssize_t)sizeof head && memcmp(head, magic, sizeof magic) == 0;
  close(fd);
  return ok;
}

/* The directory the database (and its -wal and -shm files) live in must exist and take new
 * files: SQLite creates the file, not its directory. */
static beam_status check_db_dir(const char *path, beam_error *err) {
  char dir[PATH_MAX];
  beam_local_dir_of(path, dir);
  int e = beam_local_dir_writable(dir);
  if (e) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "directory %s: %s", dir, strerror(e));
  return BEAM_OK;
}

beam_status beam_sink_sqlite_check(const char *path, beam_error *err) {
  if (strcmp(path, ":memory:") == 0) return BEAM_OK;
  if (strlen(path) >= PATH_MAX)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%.200s...: %s", path, strerror(ENAMETOOLONG));
  struct stat sb;
  if (stat(path, &sb) != 0) {
    /* Missing is fine (the database is created): its directory decides, and names the
     * file in the way for ENOTDIR. */
    if (errno != ENOENT && errno != ENOTDIR)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: %s", path, strerror(errno));
  } else if (S_ISDIR(sb.st_mode)) {
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: %s", path, strerror(EISDIR));
  } else if (access(path, R_OK | W_OK) != 0) {
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: %s", path, strerror(errno));
  } else if (S_ISREG(sb.st_mode) && !sqlite_header_ok(path, sb.st_size)) {
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: not a SQLite database (no \"SQLite format 3\" header)",
                          path);
  }
  return check_db_dir(path, err);
}
