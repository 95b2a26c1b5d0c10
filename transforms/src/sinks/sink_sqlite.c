/* SQLite sink: the embedded default destination.
 *
 * One transaction per bundle (BEGIN IMMEDIATE: the write lock is taken up front, so a
 * bundle never fails half way on a lock upgrade), a `_bundles` table written in the same
 * transaction makes commits idempotent, multi-row INSERT statements prepared once per
 * table and reused for every batch, WAL + synchronous=NORMAL for speed, a busy timeout so
 * several writers (one connection each) can share the file. A table that exists gains the
 * schema's missing NULLABLE columns (ALTER TABLE ADD COLUMN, under the write lock); any other
 * difference is an error naming it. Inserts name their columns, so column order is free.
 * The ledger (`_beam_ledger`: unit, file, committed_at) is written in the bundle's
 * transaction; there are no savepoints (see "The ledger" below), so a writer commits each
 * unit as a transaction of its own. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "beam/buf.h"
#include "local_dir.h"
#include "sink_int.h"
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
} sq_table;
BEAM_SINK_TABLE_NAME_FIRST(sq_table);

typedef struct sqlite_sink {
  beam_sink base;
  sqlite3 *db;
  char *path;
  sq_table *tables;
  size_t n_tables;
  size_t cap_tables;
  size_t last_table; /* write_rows usually repeats the previous table */
  sqlite3_stmt *bundle_lookup;
  sqlite3_stmt *bundle_record;
  sqlite3_stmt *ledger_lookup;
  sqlite3_stmt *ledger_insert;  /* keeps an existing entry */
  sqlite3_stmt *ledger_replace; /* replaces it (a reload) */
  char *bundle_id;
  bool in_txn;
} sqlite_sink;

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
  int rc = own ? exec_sql(q, "BEGIN IMMEDIATE") : SQLITE_OK;
  if (rc != SQLITE_OK) return sq_fail(q, rc, table, "lock for a table change", err);
  beam_status st;
  memset(add, 0, schema->n_fields * sizeof *add);
  int found = check_columns(q, table, schema, add, &st, err);
  if (found == 0) st = create_table(q, table, schema, err);
  else if (found == 1) st = add_columns(q, table, schema, add, err);
  if (own && st == BEAM_OK && (rc = exec_sql(q, "COMMIT")) != SQLITE_OK) st = sq_fail(q, rc, table, "commit", err);
  if (own && st != BEAM_OK && !sqlite3_get_autocommit(q->db)) exec_sql(q, "ROLLBACK");
  return st;
}

/* Makes the live table fit the schema: checks it, and creates it or adds missing NULLABLE
 * columns when needed. *changed: it was changed inside the open bundle. */
static beam_status fit_table(sqlite_sink *q, const char *table, const beam_etl_schema *schema, bool *changed,
                             beam_error *err) {
  *changed = false;
  bool *add = calloc(schema->n_fields ? schema->n_fields : 1, sizeof *add);
  if (!add) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status st;
  int found = check_columns(q, table, schema, add, &st, err);
  if (found == 0 || (found == 1 && beam_sink_columns_any_added(add, schema->n_fields))) {
    st = change_locked(q, table, schema, add, err);
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

static beam_status table_prepare(sqlite_sink *q, sq_table *t, beam_error *err) {
  size_t ncols = t->schema->n_fields;
  /* Rows per statement: as asked, within SQLite's host-parameter limit. */
  int max_vars = sqlite3_limit(q->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
  size_t batch = q->base.opts.batch_rows;
  if (max_vars > 0 && batch * ncols > (size_t)max_vars) batch = (size_t)max_vars / ncols;
  if (batch < 1) batch = 1;
  t->batch_rows = batch;
  t->batch_index = calloc(batch, sizeof *t->batch_index);
  t->text = malloc(batch * ncols * BEAM_SINK_TEXT_MAX);
  if (!t->batch_index || !t->text) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status st = prepare_insert(q, t->name, t->schema, 1, &t->insert_one, err);
  if (st == BEAM_OK && batch > 1)
    st = prepare_insert(q, t->name, t->schema, batch, &t->insert_batch, err);
  return st;
}

static beam_status sq_ensure_table(beam_sink *s, const char *table, const beam_etl_schema *schema,
                                   beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  sq_table *t = table_find(q, table);
  if (t) return beam_sink_table_reensure(t->schema, schema, true, "sqlite", q->path, table, err);
  if (sqlite3_stricmp(table, BUNDLES_TABLE) == 0 || sqlite3_stricmp(table, LEDGER_TABLE) == 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "sqlite %s: table name %s is reserved for bundle bookkeeping", q->path,
                          table);
  bool created = false;
  beam_status st = fit_table(q, table, schema, &created, err);
  if (st != BEAM_OK) return st;
  sq_table *tables = beam_sink_tables_reserve(q->tables, q->n_tables, &q->cap_tables, sizeof *tables);
  if (!tables) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  q->tables = tables;
  t = &q->tables[q->n_tables];
  memset(t, 0, sizeof *t);
  t->name = strdup(table);
  t->schema = schema;
  t->created_in_txn = created;
  st = t->name ? table_prepare(q, t, err) : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (st != BEAM_OK) {
    table_release(t);
    return st;
  }
  q->n_tables++;
  return BEAM_OK;
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
        case BEAM_ETL_TIMESTAMP: {
          char *slot = text + c * BEAM_SINK_TEXT_MAX;
          size_t n = beam_sink_text_timestamp(v->u.i64, slot);
          rc = sqlite3_bind_text(stmt, idx, slot, (int)n, SQLITE_STATIC);
          break;
        }
        case BEAM_ETL_DATE: {
          char *slot = text + c * BEAM_SINK_TEXT_MAX;
          size_t n = beam_sink_text_date(v->u.i64, slot);
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

static beam_status sq_write_rows(beam_sink *s, const char *table, const beam_etl_row *rows, size_t n,
                                 beam_sink_row_errors *rejected, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  sq_table *t = table_find(q, table);
  if (!t)
    return beam_error_set(err, BEAM_ERR_NOT_FOUND,
                          "sqlite %s: table %s was not ensured on this sink", q->path, table);
  size_t ncols = t->schema->n_fields;
  size_t pending = 0;
  char reason[256];
  for (size_t i = 0; i < n; i++) {
    if (!beam_sink_row_conforms(t->schema, &rows[i], reason, sizeof reason)) {
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

/* After a rollback, tables created (or altered) inside the bundle no longer exist as cached:
 * they are ensured again when next used. */
static void forget_txn_tables(sqlite_sink *q) {
  size_t w = 0;
  for (size_t i = 0; i < q->n_tables; i++) {
    if (q->tables[i].created_in_txn) {
      table_release(&q->tables[i]);
    } else {
      q->tables[w++] = q->tables[i];
    }
  }
  q->n_tables = w;
  q->last_table = 0;
}

static void end_txn(sqlite_sink *q, bool committed) {
  if (committed) {
    for (size_t i = 0; i < q->n_tables; i++) q->tables[i].created_in_txn = false;
  } else {
    if (!sqlite3_get_autocommit(q->db)) exec_sql(q, "ROLLBACK");
    forget_txn_tables(q);
  }
  q->in_txn = false;
  free(q->bundle_id);
  q->bundle_id = NULL;
}

static beam_status sq_begin(beam_sink *s, const char *bundle_id, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  q->bundle_id = strdup(bundle_id);
  if (!q->bundle_id) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  int rc = exec_sql(q, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK) {
    free(q->bundle_id);
    q->bundle_id = NULL;
    return sq_fail(q, rc, NULL, "begin bundle", err);
  }
  q->in_txn = true;
  sqlite3_stmt *look = q->bundle_lookup;
  sqlite3_bind_text(look, 1, bundle_id, -1, SQLITE_STATIC);
  rc = sqlite3_step(look);
  sqlite3_reset(look);
  sqlite3_clear_bindings(look);
  if (rc == SQLITE_ROW) {
    /* Already committed by an earlier attempt: release the lock now, write nothing. */
    s->duplicate = true;
    end_txn(q, false);
    return BEAM_OK;
  }
  if (rc != SQLITE_DONE) {
    beam_status st = sq_fail(q, rc, BUNDLES_TABLE, "bundle lookup", err);
    end_txn(q, false);
    return st;
  }
  return BEAM_OK;
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

static beam_status sq_commit(beam_sink *s, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  if (s->duplicate) return BEAM_OK;
  beam_status cs = claim_content(q, err);
  if (cs != BEAM_OK || s->duplicate) {
    end_txn(q, false);
    return cs;
  }
  sqlite3_stmt *rec = q->bundle_record;
  sqlite3_bind_text(rec, 1, q->bundle_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(rec, 2, (sqlite3_int64)s->bundle.rows);
  int rc = sqlite3_step(rec);
  sqlite3_reset(rec);
  sqlite3_clear_bindings(rec);
  if (rc != SQLITE_DONE) {
    beam_status st = sq_fail(q, rc, BUNDLES_TABLE, "record bundle", err);
    end_txn(q, false);
    return st;
  }
  rc = exec_sql(q, "COMMIT");
  if (rc != SQLITE_OK) {
    beam_status st = sq_fail(q, rc, NULL, "commit bundle", err);
    end_txn(q, false);
    return st;
  }
  end_txn(q, true);
  return BEAM_OK;
}

/* ---- The ledger, in the bundle's transaction ------------------------------------------
 * No savepoints: a SAVEPOINT makes SQLite copy every page a later write touches into a
 * statement journal (measured: a 1M-row load 1.8x slower), while a commit in WAL mode is an
 * append. So a writer commits each unit as a transaction of its own (beam_sink_has_savepoints
 * is false) and drops a failed unit by rolling its transaction back. */

static int step_once(sqlite3_stmt *stmt) {
  int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  return rc;
}

static beam_status sq_ledger_record(beam_sink *s, const char *key, const char *file, bool replace, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  sqlite3_stmt *stmt = replace ? q->ledger_replace : q->ledger_insert;
  sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 2, file, -1, SQLITE_STATIC);
  int rc = step_once(stmt);
  sqlite3_clear_bindings(stmt);
  return rc == SQLITE_DONE ? BEAM_OK : sq_fail(q, rc, LEDGER_TABLE, "record a unit", err);
}

static void copy_column(char *out, size_t cap, sqlite3_stmt *stmt, int col) {
  const unsigned char *text = sqlite3_column_text(stmt, col);
  snprintf(out, cap, "%s", text ? (const char *)text : "");
}

static beam_status sq_ledger_find(beam_sink *s, const char *key, beam_sink_ledger_hit *hit, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  sqlite3_stmt *look = q->ledger_lookup;
  sqlite3_bind_text(look, 1, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(look);
  if (rc == SQLITE_ROW) {
    hit->found = true;
    copy_column(hit->file, sizeof hit->file, look, 0);
    copy_column(hit->committed_at, sizeof hit->committed_at, look, 1);
  }
  sqlite3_reset(look);
  sqlite3_clear_bindings(look);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? BEAM_OK : sq_fail(q, rc, LEDGER_TABLE, "look a unit up", err);
}

static beam_status sq_ledger_any(beam_sink *s, bool *any, beam_error *err) {
  sqlite_sink *q = (sqlite_sink *)s;
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(q->db, "SELECT 1 FROM \"" LEDGER_TABLE "\" LIMIT 1", -1, &stmt, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  *any = rc == SQLITE_ROW;
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? BEAM_OK : sq_fail(q, rc, LEDGER_TABLE, "read", err);
}

static void sq_abort(beam_sink *s) {
  sqlite_sink *q = (sqlite_sink *)s;
  end_txn(q, false);
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
  q->bundle_lookup = q->bundle_record = q->ledger_lookup = q->ledger_insert = q->ledger_replace = NULL;
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
  return st;
}

static void sq_free(beam_sink *s) {
  sqlite_sink *q = (sqlite_sink *)s;
  if (q->db) sq_close(s, NULL);
  free(q->tables);
  free(q->bundle_id);
  free(q->path);
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
};

#define ISO_NOW "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

/* The ledger table (a database of the previous release gains it here) and its statements. */
static beam_status ledger_setup(sqlite_sink *q, beam_error *err) {
  int rc = exec_sql(q, "CREATE TABLE IF NOT EXISTS \"" LEDGER_TABLE "\" ("
                       "unit TEXT PRIMARY KEY NOT NULL, file TEXT, committed_at TEXT NOT NULL)");
  if (rc != SQLITE_OK) return sq_fail(q, rc, LEDGER_TABLE, "create", err);
  static const char *const sql[] = {
      "SELECT file, committed_at FROM \"" LEDGER_TABLE "\" WHERE unit = ?",
      "INSERT OR IGNORE INTO \"" LEDGER_TABLE "\" (unit, file, committed_at) VALUES (?, ?, " ISO_NOW ")",
      "INSERT OR REPLACE INTO \"" LEDGER_TABLE "\" (unit, file, committed_at) VALUES (?, ?, " ISO_NOW ")"};
  sqlite3_stmt **stmts[] = {&q->ledger_lookup, &q->ledger_insert, &q->ledger_replace};
  for (size_t i = 0; rc == SQLITE_OK && i < 3; i++)
    rc = sqlite3_prepare_v3(q->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, stmts[i], NULL);
  return rc == SQLITE_OK ? BEAM_OK : sq_fail(q, rc, LEDGER_TABLE, "prepare", err);
}

static beam_status sq_setup(sqlite_sink *q, beam_error *err) {
  int rc = sqlite3_open_v2(q->path, &q->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) return sq_fail(q, rc, NULL, "open", err);
  sqlite3_extended_result_codes(q->db, 1);
  sqlite3_busy_timeout(q->db, q->base.opts.busy_timeout_ms);
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

beam_status beam_sink_sqlite_open(const char *path, const beam_sink_options *opts, beam_sink **out,
                                  beam_error *err) {
  if (!out) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "sqlite open: NULL out");
  *out = NULL;
  if (!path || !path[0]) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "sqlite open: empty path");
  sqlite_sink *q = calloc(1, sizeof *q);
  if (!q) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_sink_init(&q->base, &sqlite_vtable, opts);
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
