/* SQLite sink: typed columns, atomic and idempotent bundles, rejections, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>

#include "sink_test_util.h"
#include "sink_test_ranges.h"

typedef struct fixture {
  char *dir;
  char path[600];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = sink_test_tmpdir();
  if (!f->dir) return -1;
  snprintf(f->path, sizeof f->path, "%s/out.db", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  sink_test_rmdir(f->dir);
  free(f);
  return 0;
}

static beam_sink *open_sink(const fixture *f, const beam_sink_options *opts) {
  beam_sink *s = NULL;
  beam_error err = {0};
  beam_status st = beam_sink_sqlite_open(f->path, opts, &s, &err);
  if (st != BEAM_OK) fail_msg("open: %s", err.message);
  return s;
}

static int64_t query_int(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  int64_t v = -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static void write_bundle_from(beam_sink *s, const char *table, const char *bundle, size_t n, const char *source,
                              int64_t first_line);

static void write_bundle(beam_sink *s, const char *table, const char *bundle, size_t n) {
  write_bundle_from(s, table, bundle, n, NULL, 0);
}

/* n rows; with a source, row i is record first_line + i of it (rows without one have no
 * origin): the source names the file's identity too, and the record's offset follows its line. */
static void write_bundle_from(beam_sink *s, const char *table, const char *bundle, size_t n, const char *source,
                              int64_t first_line) {
  beam_error err = {0};
  assert_int_equal(beam_sink_begin(s, bundle, &err), BEAM_OK);
  beam_value *vals = calloc(n * 8, sizeof *vals);
  beam_etl_row *rows = calloc(n, sizeof *rows);
  char (*names)[32] = calloc(n, sizeof *names);
  for (size_t i = 0; i < n; i++) {
    snprintf(names[i], sizeof names[i], "row-%zu", i);
    sink_test_full_values(vals + i * 8, names[i], (int64_t)i);
    rows[i] = sink_test_row(vals + i * 8);
    if (source)
      rows[i].origin = (beam_etl_origin){.source = source, .line = first_line + (int64_t)i,
                                         .offset = 100 * (first_line + (int64_t)i), .file_id = source};
  }
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  beam_status st = beam_sink_write_rows(s, table, rows, n, &rej, &err);
  if (st != BEAM_OK) fail_msg("write: %s", err.message);
  assert_int_equal(rej.len, 0);
  st = beam_sink_commit(s, &err);
  if (st != BEAM_OK) fail_msg("commit: %s", err.message);
  beam_sink_row_errors_free(&rej);
  free(names);
  free(rows);
  free(vals);
}

static void all_types_round_trip(void **state) {
  fixture *f = *state;
  beam_sink *s = open_sink(f, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "events", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "bundle-1", &err), BEAM_OK);
  const char *uni = "it's \"quoted\" \\ ünïcödé € 😀\n";
  beam_value v[3][8];
  sink_test_full_values(v[0], uni, INT64_MIN);
  sink_test_null_values(v[1], "");
  sink_test_full_values(v[2], "neg", 42);
  v[2][2] = beam_value_double(-0.25);
  v[2][4] = beam_value_bool(false);
  v[2][5] = beam_value_int64(-1); /* one microsecond before the epoch */
  v[2][6] = beam_value_int64(0);
  v[2][7] = beam_value_bytes(NULL, 0); /* empty, not null */
  beam_etl_row rows[3] = {sink_test_row(v[0]), sink_test_row(v[1]), sink_test_row(v[2])};
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  assert_int_equal(beam_sink_write_rows(s, "events", rows, 3, &rej, &err), BEAM_OK);
  assert_int_equal(rej.len, 0);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  beam_sink_stats stats;
  beam_sink_get_stats(s, &stats);
  assert_int_equal(stats.rows_written, 3);
  assert_int_equal(stats.bundles_committed, 1);
  assert_int_equal(beam_sink_close(s, &err), BEAM_OK);
  beam_sink_free(s);
  beam_sink_row_errors_free(&rej);

  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *q = NULL;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT s, i, f, n, b, ts, d, by, typeof(n), typeof(by), "
                                      "typeof(i) FROM events ORDER BY rowid",
                                      -1, &q, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), uni);
  assert_true(sqlite3_column_int64(q, 1) == INT64_MIN);
  assert_true(sqlite3_column_double(q, 2) == 12.5);
  assert_string_equal((const char *)sqlite3_column_text(q, 3), "12345678901234567890.123");
  assert_int_equal(sqlite3_column_int(q, 4), 1);
  assert_string_equal((const char *)sqlite3_column_text(q, 5), "2024-01-02T03:04:05.123456Z");
  assert_string_equal((const char *)sqlite3_column_text(q, 6), "2024-01-02");
  assert_int_equal(sqlite3_column_bytes(q, 7), 3);
  assert_memory_equal(sqlite3_column_blob(q, 7), "\x00\xff\x10", 3);
  assert_string_equal((const char *)sqlite3_column_text(q, 8), "text");
  assert_string_equal((const char *)sqlite3_column_text(q, 9), "blob");
  assert_string_equal((const char *)sqlite3_column_text(q, 10), "integer");

  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), "");
  assert_int_equal(sqlite3_column_type(q, 0), SQLITE_TEXT); /* empty string is not NULL */
  for (int c = 1; c < 8; c++) assert_int_equal(sqlite3_column_type(q, c), SQLITE_NULL);

  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_true(sqlite3_column_double(q, 2) == -0.25);
  assert_int_equal(sqlite3_column_int(q, 4), 0);
  assert_string_equal((const char *)sqlite3_column_text(q, 5), "1969-12-31T23:59:59.999999Z");
  assert_string_equal((const char *)sqlite3_column_text(q, 6), "1970-01-01");
  assert_int_equal(sqlite3_column_type(q, 7), SQLITE_BLOB);
  assert_int_equal(sqlite3_column_bytes(q, 7), 0);
  assert_int_equal(sqlite3_step(q), SQLITE_DONE);
  sqlite3_finalize(q);

  /* Declared types follow the schema; REQUIRED is NOT NULL. */
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT name, type, \"notnull\" FROM pragma_table_info('events')",
                                      -1, &q, NULL),
                   SQLITE_OK);
  const char *want[8][2] = {{"s", "TEXT"},    {"i", "INTEGER"}, {"f", "REAL"},
                            {"n", "TEXT"},    {"b", "INTEGER"}, {"ts", "TEXT"},
                            {"d", "TEXT"},    {"by", "BLOB"}};
  for (int c = 0; c < 8; c++) {
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), want[c][0]);
    assert_string_equal((const char *)sqlite3_column_text(q, 1), want[c][1]);
    assert_int_equal(sqlite3_column_int(q, 2), c == 0 ? 1 : 0);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
}

static void abort_leaves_nothing(void **state) {
  fixture *f = *state;
  beam_sink *s = open_sink(f, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "kept", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "b1", &err), BEAM_OK);
  /* A table created inside the bundle disappears with it. */
  assert_int_equal(beam_sink_ensure_table(s, "created_in_bundle", &sink_test_schema, &err), BEAM_OK);
  beam_value v[8];
  sink_test_full_values(v, "x", 1);
  beam_etl_row row = sink_test_row(v);
  assert_int_equal(beam_sink_write_rows(s, "kept", &row, 1, NULL, &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "created_in_bundle", &row, 1, NULL, &err), BEAM_OK);
  beam_sink_abort(s);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM kept"), 0);
  assert_int_equal(
      query_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name = 'created_in_bundle'"), 0);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM _bundles"), 0);
  /* The sink forgot the rolled-back table and ensures it again at the next write (a writer
   * ensures a table once per run): the table is made again, in the new bundle. */
  assert_int_equal(beam_sink_begin(s, "b2", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "created_in_bundle", &row, 1, NULL, &err), BEAM_OK);
  beam_sink_abort(s);
  assert_int_equal(
      query_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name = 'created_in_bundle'"), 0);
  assert_int_equal(beam_sink_ensure_table(s, "created_in_bundle", &sink_test_schema, &err), BEAM_OK);
  write_bundle(s, "created_in_bundle", "b3", 2);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM created_in_bundle"), 2);
  beam_sink_stats stats;
  beam_sink_get_stats(s, &stats);
  assert_int_equal(stats.bundles_aborted, 2);
  assert_int_equal(stats.rows_written, 2);
  beam_sink_free(s);
}

/* Two writers whose bundles both find the table missing: each stages its rows without the
 * write lock (the table is created at commit, in the committing bundle's transaction), so
 * the second one stages and commits while the first one's bundle is still open - with a
 * busy timeout too short to wait for it - and the first one then finds the table made. */
static void new_table_is_created_at_commit(void **state) {
  fixture *f = *state;
  beam_sink_options opts = {.busy_timeout_ms = 50};
  beam_sink *a = open_sink(f, &opts), *b = open_sink(f, &opts);
  beam_error err = {0};
  beam_value v[8];
  sink_test_full_values(v, "from-a", 1);
  beam_etl_row row = sink_test_row(v);
  assert_int_equal(beam_sink_begin(a, "a1", &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(a, "fresh", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(a, "fresh", &row, 1, NULL, &err), BEAM_OK);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name = 'fresh'"), 0);
  assert_int_equal(beam_sink_ensure_table(b, "fresh", &sink_test_schema, &err), BEAM_OK); /* outside a bundle */
  write_bundle(b, "fresh", "b1", 2);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM fresh"), 2);
  if (beam_sink_commit(a, &err) != BEAM_OK) fail_msg("commit: %s", err.message);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM fresh"), 3);
  /* The same in two open bundles: the one committing second finds the table and fits it. */
  assert_int_equal(beam_sink_begin(a, "a2", &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(b, "b2", &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(a, "fresh2", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(b, "fresh2", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(a, "fresh2", &row, 1, NULL, &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(b, "fresh2", &row, 1, NULL, &err), BEAM_OK);
  if (beam_sink_commit(b, &err) != BEAM_OK) fail_msg("commit b: %s", err.message);
  if (beam_sink_commit(a, &err) != BEAM_OK) fail_msg("commit a: %s", err.message);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM fresh2"), 2);
  beam_sink_free(a);
  beam_sink_free(b);
}

static void same_bundle_twice_writes_once(void **state) {
  fixture *f = *state;
  beam_sink *s = open_sink(f, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  write_bundle(s, "t", "bundle-A", 10);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  write_bundle(s, "t", "bundle-A", 10);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  write_bundle(s, "t", "bundle-B", 5);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t"), 15);
  beam_sink_free(s);
  /* A new connection (a retried worker) also sees the bundle as committed. */
  s = open_sink(f, NULL);
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  write_bundle(s, "t", "bundle-A", 10);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  beam_sink_stats stats;
  beam_sink_get_stats(s, &stats);
  assert_int_equal(stats.bundles_duplicate, 1);
  assert_int_equal(stats.rows_written, 0);
  beam_sink_free(s);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t"), 15);
  assert_int_equal(query_int(f->path, "SELECT rows FROM _bundles WHERE bundle_id = 'bundle-A'"), 10);
}

/* A runner retries a bundle under a new instruction id, or the same command runs again: the
 * same records make the same content key, so the retry is recognized; other records (another
 * part of the file, another file) are new data. */
static void retry_under_a_new_bundle_id_writes_once(void **state) {
  fixture *f = *state;
  beam_sink_options o = {0};
  beam_sink *s = open_sink(f, &o);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  write_bundle_from(s, "t", "worker-a/instruction-4", 10, "in/a.csv", 1);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  beam_sink_free(s);
  s = open_sink(f, &o); /* another worker */
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  write_bundle_from(s, "t", "worker-b/instruction-17", 10, "in/a.csv", 1);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  write_bundle_from(s, "t", "worker-b/instruction-18", 5, "in/a.csv", 11);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  beam_sink_free(s);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t"), 15);
  s = open_sink(f, &o); /* a relaunch: its bundle ids are new, its records are not */
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  write_bundle_from(s, "t", "relaunch/worker-a/instruction-4", 10, "in/a.csv", 1);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  write_bundle_from(s, "t", "relaunch/worker-a/instruction-5", 10, "in/b.csv", 1);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  beam_sink_free(s);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t"), 25);
}

/* Two ranges of a file of fixed-width lines: the same number of rows at offsets 256 bytes
 * apart. Their content keys differ, so the second range is written, not taken for a retry of
 * the first (a sum of unmixed FNV hashes made them equal). */
static void ranges_at_shifted_offsets_are_not_retries(void **state) {
  fixture *f = *state;
  beam_sink *s = open_sink(f, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  const int64_t shifts[] = {0, 256, 512, 65536, 1 << 20};
  for (size_t k = 0; k < sizeof shifts / sizeof shifts[0]; k++) {
    char bundle[32];
    snprintf(bundle, sizeof bundle, "range-%zu", k);
    assert_int_equal(beam_sink_begin(s, bundle, &err), BEAM_OK);
    beam_value vals[2][8];
    beam_etl_row rows[2];
    for (int i = 0; i < 2; i++) {
      sink_test_full_values(vals[i], "row", i);
      rows[i] = sink_test_row(vals[i]);
      rows[i].origin = (beam_etl_origin){.source = "fixed.jsonl", .offset = shifts[k] + 128 * (i + 1) - (i == 0),
                                         .file_id = "4096-xxh3-fixed"};
    }
    beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
    assert_int_equal(beam_sink_write_rows(s, "t", rows, 2, &rej, &err), BEAM_OK);
    if (beam_sink_commit(s, &err) != BEAM_OK) fail_msg("commit %s: %s", bundle, err.message);
    assert_false(beam_sink_last_bundle_was_duplicate(s));
    beam_sink_row_errors_free(&rej);
  }
  beam_sink_free(s);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t"), 10);
}

static void invalid_table_names_rejected(void **state) {
  fixture *f = *state;
  beam_sink *s = open_sink(f, NULL);
  beam_error err = {0};
  const char *bad[] = {"", "1abc", "a-b", "a b", "t\"; DROP TABLE x; --", "a.b", "ünï"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(beam_sink_ensure_table(s, bad[i], &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "invalid table name"));
  }
  assert_int_equal(beam_sink_ensure_table(s, NULL, &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(beam_sink_ensure_table(s, "_bundles", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "reserved"));
  assert_int_equal(beam_sink_ensure_table(s, "_ok_Name9", &sink_test_schema, &err), BEAM_OK);
  assert_true(beam_sink_table_name_valid("A"));
  assert_false(beam_sink_table_name_valid("9"));
  beam_sink_free(s);
}

static void existing_table_with_other_columns_is_an_error(void **state) {
  fixture *f = *state;
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "CREATE TABLE events (s TEXT, i TEXT, other REAL)", NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  beam_sink *s = open_sink(f, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "events", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "table events exists with different columns"));
  assert_non_null(strstr(err.message, "other REAL"));
  /* Same table name, another schema, on one sink: refused too. */
  beam_etl_field fields[] = {{"s", BEAM_ETL_STRING, BEAM_ETL_NULLABLE}};
  beam_etl_schema small = {fields, 1};
  assert_int_equal(beam_sink_ensure_table(s, "t2", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(s, "t2", &small, &err), BEAM_ERR_INVALID_ARG);
  beam_sink_free(s);
  /* Reopen: the existing t2 with the same schema is accepted, with another refused. */
  s = open_sink(f, NULL);
  assert_int_equal(beam_sink_ensure_table(s, "t2", &small, &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(beam_sink_ensure_table(s, "t2", &sink_test_schema, &err), BEAM_OK);
  beam_sink_free(s);
}

static void exec_on(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  sqlite3_close(db);
}

/* A table the previous release wrote (fewer columns, all the new ones NULLABLE, in another
 * order) gains the missing columns: old rows read NULL there, new rows carry values. */
static void existing_table_gains_nullable_columns(void **state) {
  fixture *f = *state;
  exec_on(f->path, "CREATE TABLE events (i INTEGER, s TEXT NOT NULL); "
                   "INSERT INTO events (i, s) VALUES (1, 'old-1'), (2, 'old-2')");
  beam_sink *s = open_sink(f, NULL);
  beam_error err = {0};
  /* Inside a bundle the change belongs to the bundle: an abort takes the columns back. */
  assert_int_equal(beam_sink_begin(s, "migrate-aborted", &err), BEAM_OK);
  if (beam_sink_ensure_table(s, "events", &sink_test_schema, &err) != BEAM_OK) fail_msg("ensure: %s", err.message);
  beam_sink_abort(s);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM pragma_table_info('events')"), 2);
  /* Outside a bundle it commits at once. */
  if (beam_sink_ensure_table(s, "events", &sink_test_schema, &err) != BEAM_OK) fail_msg("ensure: %s", err.message);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM pragma_table_info('events')"), 8);
  write_bundle(s, "events", "after-migration", 3);
  beam_sink_free(s);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM events"), 5);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM events WHERE s LIKE 'old-%' AND f IS NULL AND n IS NULL "
                                      "AND b IS NULL AND ts IS NULL AND d IS NULL AND by IS NULL"),
                   2);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM events WHERE s LIKE 'row-%' AND f = 12.5 AND b = 1 "
                                      "AND ts = '2024-01-02T03:04:05.123456Z' AND length(by) = 3"),
                   3);
  assert_int_equal(query_int(f->path, "SELECT sum(i) FROM events WHERE s LIKE 'row-%'"), 0 + 1 + 2);
  /* A second sink finds the table as it wants it: nothing to add. */
  s = open_sink(f, NULL);
  assert_int_equal(beam_sink_ensure_table(s, "events", &sink_test_schema, &err), BEAM_OK);
  beam_sink_free(s);
}

/* Only missing NULLABLE columns are added: another type or a missing REQUIRED column is an
 * error naming the column, and the table stays as it was. */
static void existing_table_other_type_or_required_is_an_error(void **state) {
  fixture *f = *state;
  exec_on(f->path, "CREATE TABLE typed (s TEXT NOT NULL, i TEXT); CREATE TABLE no_s (i INTEGER)");
  beam_sink *s = open_sink(f, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "typed", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "table typed exists with different columns"));
  assert_non_null(strstr(err.message, "column i is TEXT, the schema wants INTEGER"));
  assert_int_equal(beam_sink_ensure_table(s, "no_s", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "missing REQUIRED column s TEXT"));
  beam_sink_free(s);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM pragma_table_info('typed')"), 2);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM pragma_table_info('no_s')"), 1);
}

static void rows_are_rejected_not_dropped(void **state) {
  fixture *f = *state;
  beam_sink_options opts = {0};
  opts.batch_rows = 16;
  beam_sink *s = open_sink(f, &opts);
  beam_error err = {0};
  /* A pre-existing table with a UNIQUE constraint the schema does not know about. */
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
                                "CREATE TABLE u (s TEXT NOT NULL UNIQUE, i INTEGER, f REAL, n TEXT, "
                                "b INTEGER, ts TEXT, d TEXT, by BLOB)",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(beam_sink_ensure_table(s, "u", &sink_test_schema, &err), BEAM_OK);
  enum { N = 50 };
  beam_value v[N][8];
  beam_etl_row rows[N];
  char names[N][16];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "k%d", i);
    sink_test_full_values(v[i], names[i], i);
    rows[i] = sink_test_row(v[i]);
  }
  v[3][0] = beam_value_null();             /* NULL in a REQUIRED field */
  v[7][1] = beam_value_string("7", 1);     /* wrong kind for INT64 */
  v[20][0] = beam_value_string("k5", 2);   /* UNIQUE violation inside a full batch */
  v[49][0] = beam_value_string("k6", 2);   /* UNIQUE violation in the tail */
  assert_int_equal(beam_sink_begin(s, "b", &err), BEAM_OK);
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  assert_int_equal(beam_sink_write_rows(s, "u", rows, N, &rej, &err), BEAM_OK);
  assert_int_equal(rej.len, 4);
  assert_int_equal(rej.items[0].index, 3);
  assert_non_null(strstr(rej.items[0].reason, "REQUIRED"));
  assert_int_equal(rej.items[1].index, 7);
  assert_non_null(strstr(rej.items[1].reason, "field i"));
  assert_int_equal(rej.items[2].index, 20);
  assert_non_null(strstr(rej.items[2].reason, "UNIQUE"));
  assert_int_equal(rej.items[3].index, 49);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM u"), N - 4);
  beam_sink_stats stats;
  beam_sink_get_stats(s, &stats);
  assert_int_equal(stats.rows_written, N - 4);
  assert_int_equal(stats.rows_rejected, 4);
  /* Without a rejected list a refusal fails the call and poisons the bundle. */
  assert_int_equal(beam_sink_begin(s, "b2", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "u", &rows[3], 1, NULL, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "rejected"));
  assert_int_equal(beam_sink_commit(s, &err), BEAM_ERR_INVALID_ARG);
  beam_sink_abort(s);
  beam_sink_row_errors_free(&rej);
  beam_sink_free(s);
}

static void many_rows_in_batches(void **state) {
  fixture *f = *state;
  beam_sink_options opts = {0};
  opts.batch_rows = 100000; /* clamped to SQLite's parameter limit */
  beam_sink *s = open_sink(f, &opts);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "big", &sink_test_schema, &err), BEAM_OK);
  write_bundle(s, "big", "one", 10007);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM big"), 10007);
  assert_int_equal(query_int(f->path, "SELECT sum(i) FROM big"), 10006LL * 10007 / 2);
  beam_sink_free(s);
}

static void state_machine_is_enforced(void **state) {
  fixture *f = *state;
  beam_sink *s = open_sink(f, NULL);
  beam_error err = {0};
  beam_value v[8];
  sink_test_full_values(v, "x", 1);
  beam_etl_row row = sink_test_row(v);
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "t", &row, 1, NULL, &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(beam_sink_begin(s, "", &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(beam_sink_begin(s, "b", &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "c", &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(beam_sink_write_rows(s, "nope", &row, 1, NULL, &err), BEAM_ERR_NOT_FOUND);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_ERR_INVALID_ARG); /* poisoned */
  beam_sink_abort(s);
  beam_sink_abort(s); /* harmless outside a bundle */
  assert_int_equal(beam_sink_close(s, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "d", &err), BEAM_ERR_INVALID_ARG);
  beam_sink_free(s);
}

static void unwritable_path_is_an_error(void **state) {
  fixture *f = *state;
  beam_sink *s = NULL;
  beam_error err = {0};
  char path[700];
  snprintf(path, sizeof path, "%s/no/such/dir/out.db", f->dir);
  assert_int_equal(beam_sink_sqlite_open(path, NULL, &s, &err), BEAM_ERR_IO);
  assert_null(s);
  assert_non_null(strstr(err.message, path));
  /* A path below a regular file (root ignores permission bits, not this). */
  snprintf(path, sizeof path, "%s/plain", f->dir);
  FILE *fp = fopen(path, "w");
  fclose(fp);
  strcat(path, "/out.db");
  assert_int_equal(beam_sink_sqlite_open(path, NULL, &s, &err), BEAM_ERR_IO);
  assert_null(s);
}

static void full_database_is_an_io_error(void **state) {
  fixture *f = *state;
  beam_sink_options opts = {0};
  opts.sqlite_max_pages = 16; /* a 64 KiB quota: SQLITE_FULL like a full disk */
  beam_sink *s = open_sink(f, &opts);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "events", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "big", &err), BEAM_OK);
  enum { N = 5000 };
  beam_value *v = calloc(N * 8, sizeof *v);
  beam_etl_row *rows = calloc(N, sizeof *rows);
  for (int i = 0; i < N; i++) {
    sink_test_full_values(v + i * 8, "some text to fill pages quickly", i);
    rows[i] = sink_test_row(v + i * 8);
  }
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  beam_status st = beam_sink_write_rows(s, "events", rows, N, &rej, &err);
  if (st == BEAM_OK) st = beam_sink_commit(s, &err);
  assert_int_equal(st, BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "full"));
  assert_non_null(strstr(err.message, "events"));
  beam_sink_abort(s);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM events"), 0);
  /* The sink still works for bundles that fit. */
  write_bundle(s, "events", "small", 3);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM events"), 3);
  beam_sink_row_errors_free(&rej);
  free(rows);
  free(v);
  beam_sink_free(s);
}

typedef struct worker_arg {
  const fixture *f;
  int id;
  int failures;
} worker_arg;

static void *worker(void *p) {
  worker_arg *a = p;
  beam_sink *s = NULL;
  beam_error err = {0};
  if (beam_sink_sqlite_open(a->f->path, NULL, &s, &err) != BEAM_OK) {
    a->failures++;
    return NULL;
  }
  if (beam_sink_ensure_table(s, "shared", &sink_test_schema, &err) != BEAM_OK) a->failures++;
  beam_value v[8];
  sink_test_full_values(v, "w", a->id);
  beam_etl_row rows[50];
  for (int i = 0; i < 50; i++) rows[i] = sink_test_row(v);
  for (int b = 0; b < 20 && !a->failures; b++) {
    char id[64];
    /* Bundles 0..9 of both workers share ids: each such bundle must land once. */
    snprintf(id, sizeof id, b < 10 ? "common-%d" : "w%d-%d", b < 10 ? b : a->id, b);
    if (beam_sink_begin(s, id, &err) != BEAM_OK ||
        beam_sink_write_rows(s, "shared", rows, 50, NULL, &err) != BEAM_OK ||
        beam_sink_commit(s, &err) != BEAM_OK) {
      a->failures++;
      beam_sink_abort(s);
    }
  }
  beam_sink_free(s);
  return NULL;
}

static void concurrent_writers_one_instance_each(void **state) {
  fixture *f = *state;
  pthread_t th[3];
  worker_arg args[3];
  for (int i = 0; i < 3; i++) {
    args[i] = (worker_arg){f, i, 0};
    pthread_create(&th[i], NULL, worker, &args[i]);
  }
  for (int i = 0; i < 3; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(args[i].failures, 0);
  }
  /* 10 common bundles once + 3 workers x 10 own bundles, 50 rows each. */
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM shared"), (10 + 30) * 50);
}

/* A file's committed byte ranges, whatever the boundaries (sink_test_ranges.h). */
static void ledger_ranges_of_a_file(void **state) {
  fixture *f = *state;
  beam_sink *s = open_sink(f, NULL), *other = open_sink(f, NULL);
  sink_test_ledger_ranges(s, other, "sha256:ab_c");
  sink_test_ranges_queries();
  beam_sink_free(other);
  beam_sink_free(s);
}

/* Many keys at once (sink_test_ranges.h). */
static void ledger_find_many_keys(void **state) {
  fixture *f = *state;
  beam_sink *s = open_sink(f, NULL), *other = open_sink(f, NULL);
  sink_test_ledger_find_many(s, other, "pubsub:sq");
  beam_sink_free(other);
  beam_sink_free(s);
}

/* Commits n rows to each of tables[] as unit `unit` (NULL: no ledger entry) in bundle `bundle`;
 * row names start with prefix. */
static void commit_unit(beam_sink *s, const char *const *tables, const char *bundle, const char *unit, size_t n,
                        const char *prefix) {
  beam_error err = {0};
  assert_int_equal(beam_sink_begin(s, bundle, &err), BEAM_OK);
  beam_value vals[8];
  char name[64];
  for (const char *const *t = tables; *t; t++)
    for (size_t i = 0; i < n; i++) {
      snprintf(name, sizeof name, "%s-%zu", prefix, i);
      sink_test_full_values(vals, name, (int64_t)i);
      beam_etl_row row = sink_test_row(vals);
      if (beam_sink_write_rows(s, *t, &row, 1, NULL, &err) != BEAM_OK) fail_msg("write: %s", err.message);
    }
  if (unit && beam_sink_ledger_record(s, unit, "in.zip", false, &err) != BEAM_OK) fail_msg("ledger: %s", err.message);
  if (beam_sink_commit(s, &err) != BEAM_OK) fail_msg("commit %s: %s", bundle, err.message);
}

/* A failed split file's committed ranges go with the bundle that retracts them: their rows in
 * every table, their ledger entries and bundle ids (the same bundle commits again later);
 * other files', and rows written before and after, stay. An aborted retraction removes
 * nothing; a file with nothing committed is a no-op; a table that picks its own rowids cannot
 * be retracted from and fails the commit. */
static void retract_a_files_ranges(void **state) {
  fixture *f = *state;
  beam_sink *s = open_sink(f, NULL), *other = open_sink(f, NULL);
  beam_error err = {0};
  const char *both[] = {"t", "d", NULL}, *t_only[] = {"t", NULL};
  for (int i = 0; i < 2; i++) {
    beam_sink *x = i ? other : s;
    assert_int_equal(beam_sink_ensure_table(x, "t", &sink_test_schema, &err), BEAM_OK);
    assert_int_equal(beam_sink_ensure_table(x, "d", &sink_test_schema, &err), BEAM_OK);
  }
  assert_true(beam_sink_can_retract(s));
  commit_unit(s, t_only, "before", NULL, 3, "before");
  commit_unit(s, both, "F-0", "F@0-100", 3, "f0");
  commit_unit(other, t_only, "G-0", "G@0-50", 5, "g0");
  commit_unit(s, t_only, "F-1", "F@100-200", 4, "f1");
  commit_unit(other, both, "H", "H", 2, "h");
  commit_unit(s, t_only, "F-2", "F@200-300", 0, "f2"); /* a range of filtered rows only */
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t"), 3 + 3 + 5 + 4 + 2);

  /* Aborted: nothing happens. */
  assert_int_equal(beam_sink_begin(other, "files-aborted", &err), BEAM_OK);
  assert_int_equal(beam_sink_retract_units(other, "F", &err), BEAM_OK);
  beam_sink_abort(other);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t WHERE s LIKE 'f%'"), 7);

  assert_int_equal(beam_sink_begin(other, "files", &err), BEAM_OK);
  assert_int_equal(beam_sink_retract_units(other, "F", &err), BEAM_OK);
  assert_int_equal(beam_sink_retract_units(other, "nothing-committed", &err), BEAM_OK);
  if (beam_sink_commit(other, &err) != BEAM_OK) fail_msg("commit: %s", err.message);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t WHERE s LIKE 'f%'"), 0);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM d WHERE s LIKE 'f%'"), 0);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t"), 3 + 5 + 2);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM d"), 2);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM _beam_ledger WHERE unit LIKE 'F%'"), 0);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM _beam_ledger"), 2);
  sink_test_expect_ranges(s, "F", "");
  sink_test_expect_ranges(s, "G", "[0,50)");
  /* Loading the same content again writes it again: its bundle is not taken for a repeat. */
  commit_unit(s, both, "F-0", "F@0-100", 3, "f0");
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t WHERE s LIKE 'f0-%'"), 3);
  commit_unit(s, t_only, "after", NULL, 1, "after");

  /* A table made elsewhere that picks its rowids: no guess, the commit fails. */
  exec_on(f->path, "CREATE TABLE k (s TEXT NOT NULL PRIMARY KEY, i INTEGER, f REAL, n TEXT, b INTEGER, ts TEXT, "
                   "d TEXT, by BLOB)");
  const char *k_only[] = {"k", NULL};
  assert_int_equal(beam_sink_ensure_table(s, "k", &sink_test_schema, &err), BEAM_OK);
  commit_unit(s, k_only, "K-0", "K@0-10", 2, "k");
  assert_int_equal(beam_sink_begin(s, "files-k", &err), BEAM_OK);
  assert_int_equal(beam_sink_retract_units(s, "K", &err), BEAM_OK);
  assert_int_not_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_non_null(strstr(err.message, "cannot retract"));
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM k"), 2);
  /* A WITHOUT ROWID table: its rows load as always; only their retraction is refused. */
  exec_on(f->path, "CREATE TABLE w (s TEXT NOT NULL PRIMARY KEY, i INTEGER, f REAL, n TEXT, b INTEGER, ts TEXT, "
                   "d TEXT, by BLOB) WITHOUT ROWID");
  const char *w_only[] = {"w", NULL};
  assert_int_equal(beam_sink_ensure_table(other, "w", &sink_test_schema, &err), BEAM_OK);
  commit_unit(other, w_only, "W-0", "W@0-10", 2, "w");
  commit_unit(other, w_only, "W-whole", NULL, 1, "w-whole");
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM w"), 3);
  assert_int_equal(beam_sink_begin(other, "files-w", &err), BEAM_OK);
  assert_int_equal(beam_sink_retract_units(other, "W", &err), BEAM_OK);
  assert_int_not_equal(beam_sink_commit(other, &err), BEAM_OK);
  assert_non_null(strstr(err.message, "cannot retract"));
  beam_sink_free(other);
  beam_sink_free(s);
}

/* A stream's sink (stream_ledger) deletes message units committed more than
 * message_ledger_days ago in its first commit (not at open: the write lock may be another's);
 * a file's units, newer messages and a sink opened for files keep theirs. */
static void old_message_units_expire(void **state) {
  fixture *f = *state;
  beam_sink *s = open_sink(f, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  const char *const tables[] = {"t", NULL};
  commit_unit(s, tables, "b1", "pubsub:s@1#old", 1, "a");
  commit_unit(s, tables, "b2", "file-old", 1, "b");
  commit_unit(s, tables, "b3", "pubsub:s@2#new", 1, "c");
  beam_sink_free(s);
  exec_on(f->path, "UPDATE _beam_ledger SET committed_at = '2020-01-01T00:00:00.000Z' WHERE unit IN "
                   "('pubsub:s@1#old', 'file-old')");
  s = open_sink(f, NULL); /* not a stream's: nothing forgotten */
  beam_sink_free(s);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM _beam_ledger"), 3);
  beam_sink_options o = {.stream_ledger = true, .message_ledger_days = 7};
  s = open_sink(f, &o);
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM _beam_ledger"), 3);
  commit_unit(s, tables, "b4", "pubsub:s@3#newer", 1, "d");
  const char *keys[] = {"pubsub:s@1#old", "file-old", "pubsub:s@2#new"};
  bool found[3];
  assert_int_equal(beam_sink_ledger_find_many(s, keys, 3, found, &err), BEAM_OK);
  assert_false(found[0]);
  assert_true(found[1]);
  assert_true(found[2]);
  beam_sink_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(all_types_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(abort_leaves_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(new_table_is_created_at_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(same_bundle_twice_writes_once, setup, teardown),
      cmocka_unit_test_setup_teardown(ranges_at_shifted_offsets_are_not_retries, setup, teardown),
    cmocka_unit_test_setup_teardown(retry_under_a_new_bundle_id_writes_once, setup, teardown),
      cmocka_unit_test_setup_teardown(invalid_table_names_rejected, setup, teardown),
      cmocka_unit_test_setup_teardown(existing_table_with_other_columns_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(existing_table_gains_nullable_columns, setup, teardown),
      cmocka_unit_test_setup_teardown(existing_table_other_type_or_required_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(rows_are_rejected_not_dropped, setup, teardown),
      cmocka_unit_test_setup_teardown(many_rows_in_batches, setup, teardown),
      cmocka_unit_test_setup_teardown(state_machine_is_enforced, setup, teardown),
      cmocka_unit_test_setup_teardown(unwritable_path_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(full_database_is_an_io_error, setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_writers_one_instance_each, setup, teardown),
      cmocka_unit_test_setup_teardown(ledger_ranges_of_a_file, setup, teardown),
      cmocka_unit_test_setup_teardown(ledger_find_many_keys, setup, teardown),
      cmocka_unit_test_setup_teardown(retract_a_files_ranges, setup, teardown),
      cmocka_unit_test_setup_teardown(old_message_units_expire, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
