/* SQLite sink, many writers of one database: bundles staged without the write lock, taken
 * only at commit; units and bundles exactly once when threads (one sink instance each) commit
 * at once; a unit another writer committed meanwhile makes the bundle a duplicate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>

#include "sink_test_util.h"

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
  if (beam_sink_sqlite_open(f->path, opts, &s, &err) != BEAM_OK) fail_msg("open: %s", err.message);
  if (beam_sink_ensure_table(s, "t", &sink_test_schema, &err) != BEAM_OK) fail_msg("ensure: %s", err.message);
  return s;
}

static int64_t query_int(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  int64_t v = -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

/* Writes n rows named name (i = first..first+n-1) into table; BEAM_OK or the failure. */
static beam_status write_rows(beam_sink *s, const char *table, const char *name, int64_t first, size_t n,
                              beam_error *err) {
  beam_value *v = calloc(n * 8, sizeof *v);
  beam_etl_row *rows = calloc(n, sizeof *rows);
  for (size_t i = 0; i < n; i++) {
    sink_test_full_values(v + i * 8, name, first + (int64_t)i);
    rows[i] = sink_test_row(v + i * 8);
  }
  beam_status st = beam_sink_write_rows(s, table, rows, n, NULL, err);
  free(rows);
  free(v);
  return st;
}

/* A bundle's rows wait outside the database until commit: another writer commits meanwhile
 * without waiting (a busy timeout of 100 ms would fail it otherwise), and sees none of them. */
static void staged_bundle_holds_no_lock(void **state) {
  fixture *f = *state;
  beam_sink *a = open_sink(f, NULL);
  beam_sink_options quick = {.busy_timeout_ms = 100};
  beam_sink *b = open_sink(f, &quick);
  beam_error err = {0};
  assert_int_equal(beam_sink_begin(a, "a-1", &err), BEAM_OK);
  assert_int_equal(write_rows(a, "t", "a", 0, 500, &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_record(a, "unit-a", "a.csv", false, &err), BEAM_OK);
  beam_sink_ledger_hit hit;
  assert_int_equal(beam_sink_ledger_find(a, "unit-a", &hit, &err), BEAM_OK);
  assert_true(hit.found); /* the bundle's own entry counts inside it */
  assert_int_equal(beam_sink_begin(b, "b-1", &err), BEAM_OK);
  assert_int_equal(write_rows(b, "t", "b", 0, 300, &err), BEAM_OK);
  if (beam_sink_commit(b, &err) != BEAM_OK) fail_msg("commit b: %s", err.message);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t"), 300);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM _beam_ledger"), 0);
  if (beam_sink_commit(a, &err) != BEAM_OK) fail_msg("commit a: %s", err.message);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t WHERE s = 'a'"), 500);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM _beam_ledger WHERE unit = 'unit-a'"), 1);
  beam_sink_free(a);
  beam_sink_free(b);
}

/* A bundle bigger than the stage's memory spills and still commits whole, in order, with its
 * tables interleaved; an aborted one leaves nothing. */
static void spilled_bundle_commits_whole(void **state) {
  fixture *f = *state;
  beam_sink_options o = {.spill_bytes = 4096, .batch_rows = 16};
  beam_sink *s = open_sink(f, &o);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "u", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "big", &err), BEAM_OK);
  for (int k = 0; k < 30; k++) {
    assert_int_equal(write_rows(s, "t", "big", k * 100, 100, &err), BEAM_OK);
    assert_int_equal(write_rows(s, "u", "other", k * 7, 7, &err), BEAM_OK);
  }
  if (beam_sink_commit(s, &err) != BEAM_OK) fail_msg("commit: %s", err.message);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t"), 3000);
  assert_int_equal(query_int(f->path, "SELECT sum(i) FROM t"), 2999LL * 3000 / 2);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM u"), 210);
  /* Inserted in the order written: rowid order is i order. */
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t a JOIN t b ON b.rowid = a.rowid + 1 WHERE b.i != a.i + 1"), 0);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t WHERE ts = '2024-01-02T03:04:05.123456Z' AND "
                                      "d = '2024-01-02' AND length(by) = 3 AND n = '12345678901234567890.123'"),
                   3000);
  assert_int_equal(beam_sink_begin(s, "aborted", &err), BEAM_OK);
  assert_int_equal(write_rows(s, "t", "gone", 0, 1000, &err), BEAM_OK);
  beam_sink_abort(s);
  assert_int_equal(beam_sink_begin(s, "small", &err), BEAM_OK);
  assert_int_equal(write_rows(s, "t", "small", 0, 3, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t"), 3003);
  beam_sink_free(s);
}

/* Two writers load the same unit (two files of the same content, two runs): both look it up
 * before either commits; the second to commit finds it committed and is a duplicate. A bundle
 * holding other units too fails instead, writing nothing: its retry skips the unit. */
static void unit_committed_meanwhile_is_a_duplicate(void **state) {
  fixture *f = *state;
  beam_sink *a = open_sink(f, NULL), *b = open_sink(f, NULL);
  beam_error err = {0};
  beam_sink_ledger_hit hit;
  assert_int_equal(beam_sink_begin(a, "a/unit-1", &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(b, "b/unit-1", &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_find(a, "unit-1", &hit, &err), BEAM_OK);
  assert_false(hit.found);
  assert_int_equal(beam_sink_ledger_find(b, "unit-1", &hit, &err), BEAM_OK);
  assert_false(hit.found);
  assert_int_equal(write_rows(a, "t", "a", 0, 50, &err), BEAM_OK);
  assert_int_equal(write_rows(b, "t", "b", 0, 50, &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_record(a, "unit-1", "x.csv", false, &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_record(b, "unit-1", "copy-of-x.csv", false, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(a, &err), BEAM_OK);
  assert_false(beam_sink_last_bundle_was_duplicate(a));
  assert_int_equal(beam_sink_commit(b, &err), BEAM_OK);
  assert_true(beam_sink_last_bundle_was_duplicate(b));
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t"), 50);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t WHERE s = 'b'"), 0);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM _beam_ledger"), 1);
  /* Two units, one of them committed meanwhile. */
  assert_int_equal(beam_sink_begin(b, "b/units-1-2", &err), BEAM_OK);
  assert_int_equal(write_rows(b, "t", "b2", 0, 10, &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_record(b, "unit-1", "x.csv", false, &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_record(b, "unit-2", "y.csv", false, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(b, &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "committed by another writer"));
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t WHERE s = 'b2'"), 0);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM _beam_ledger"), 1);
  /* A reload replaces the entry and writes its rows. */
  assert_int_equal(beam_sink_begin(b, "b/reload-1", &err), BEAM_OK);
  assert_int_equal(write_rows(b, "t", "b3", 0, 5, &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_record(b, "unit-1", "again.csv", true, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(b, &err), BEAM_OK);
  assert_false(beam_sink_last_bundle_was_duplicate(b));
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM _beam_ledger WHERE file = 'again.csv'"), 1);
  beam_sink_free(a);
  beam_sink_free(b);
}

enum { THREADS = 4, COMMON_UNITS = 20, OWN_UNITS = 20, ROWS_PER_UNIT = 100 };

typedef struct worker_arg {
  const fixture *f;
  int id;
  int failures;
  int duplicates;
  char error[1200];
} worker_arg;

/* One unit as the ETL writer commits it on a sink without savepoints: a bundle named by the
 * writer, skipped when the ledger holds the unit, else its rows and its ledger entry. */
static void load_unit(beam_sink *s, worker_arg *a, const char *unit, beam_error *err) {
  char bundle[96];
  snprintf(bundle, sizeof bundle, "w%d/%s", a->id, unit);
  beam_sink_ledger_hit hit;
  beam_status st = beam_sink_begin(s, bundle, err);
  if (st == BEAM_OK) st = beam_sink_ledger_find(s, unit, &hit, err);
  if (st == BEAM_OK && hit.found) {
    beam_sink_abort(s);
    return;
  }
  if (st == BEAM_OK) st = write_rows(s, "t", unit, 0, ROWS_PER_UNIT, err);
  if (st == BEAM_OK) st = beam_sink_ledger_record(s, unit, bundle, false, err);
  if (st == BEAM_OK) st = beam_sink_commit(s, err);
  if (st != BEAM_OK) {
    if (!a->failures++) snprintf(a->error, sizeof a->error, "%s: %s", bundle, err->message);
    beam_sink_abort(s);
  } else if (beam_sink_last_bundle_was_duplicate(s)) {
    a->duplicates++;
  }
}

static void *worker(void *p) {
  worker_arg *a = p;
  beam_sink *s = NULL;
  beam_error err = {0};
  if (beam_sink_sqlite_open(a->f->path, NULL, &s, &err) != BEAM_OK ||
      beam_sink_ensure_table(s, "t", &sink_test_schema, &err) != BEAM_OK) {
    a->failures++;
    snprintf(a->error, sizeof a->error, "open: %s", err.message);
    beam_sink_free(s);
    return NULL;
  }
  for (int k = 0; k < COMMON_UNITS + OWN_UNITS; k++) {
    char unit[64];
    /* Interleaved: every thread races the others for each common unit. */
    if (k % 2 == 0) snprintf(unit, sizeof unit, "common-%d", k / 2);
    else snprintf(unit, sizeof unit, "own-%d-%d", a->id, k / 2);
    load_unit(s, a, unit, &err);
  }
  beam_sink_free(s);
  return NULL;
}

/* THREADS writers, one sink each, all committing units into one database at once: each unit
 * once, its rows once, no writer failing (no SQLITE_BUSY). */
static void threads_commit_units_exactly_once(void **state) {
  fixture *f = *state;
  beam_sink *first = open_sink(f, NULL); /* creates the table before the race */
  beam_sink_free(first);
  pthread_t th[THREADS];
  worker_arg args[THREADS];
  for (int i = 0; i < THREADS; i++) {
    args[i] = (worker_arg){.f = f, .id = i};
    pthread_create(&th[i], NULL, worker, &args[i]);
  }
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < THREADS; i++)
    if (args[i].failures) fail_msg("worker %d: %d failures, first: %s", i, args[i].failures, args[i].error);
  int64_t units = COMMON_UNITS + THREADS * OWN_UNITS;
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM _beam_ledger"), units);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM t"), units * ROWS_PER_UNIT);
  assert_int_equal(query_int(f->path, "SELECT count(*) FROM (SELECT s FROM t GROUP BY s HAVING count(*) != 100)"), 0);
  assert_int_equal(query_int(f->path, "SELECT count(DISTINCT s) FROM t"), units);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(staged_bundle_holds_no_lock, setup, teardown),
      cmocka_unit_test_setup_teardown(spilled_bundle_commits_whole, setup, teardown),
      cmocka_unit_test_setup_teardown(unit_committed_meanwhile_is_a_duplicate, setup, teardown),
      cmocka_unit_test_setup_teardown(threads_commit_units_exactly_once, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
