/* JSON-lines sink, many writers of one directory: threads of one process (one sink instance
 * each, so each holds its own open file description of the bundle log and flock serialises
 * their commits) commit units exactly once; a unit another writer committed meanwhile makes
 * the bundle a duplicate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>

#include "sink_test_util.h"

typedef struct fixture {
  char *dir;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = sink_test_tmpdir();
  if (!f->dir) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  sink_test_rmdir(f->dir);
  free(f);
  return 0;
}

static beam_sink *open_sink(const char *dir) {
  beam_sink *s = NULL;
  beam_error err = {0};
  beam_sink_options o = {.no_sync = true};
  if (beam_sink_jsonl_open(dir, &o, &s, &err) != BEAM_OK) return NULL;
  if (beam_sink_ensure_table(s, "t", &sink_test_schema, &err) != BEAM_OK) {
    beam_sink_free(s);
    return NULL;
  }
  return s;
}

static beam_status write_rows(beam_sink *s, const char *name, size_t n, beam_error *err) {
  beam_value *v = calloc(n * 8, sizeof *v);
  beam_etl_row *rows = calloc(n, sizeof *rows);
  for (size_t i = 0; i < n; i++) {
    sink_test_full_values(v + i * 8, name, (int64_t)i);
    rows[i] = sink_test_row(v + i * 8);
  }
  beam_status st = beam_sink_write_rows(s, "t", rows, n, NULL, err);
  free(rows);
  free(v);
  return st;
}

/* Rows of t.jsonl whose s is name (all rows when name is NULL), -1 when a line is not JSON. */
static long count_rows(const fixture *f, const char *name) {
  char path[700];
  snprintf(path, sizeof path, "%s/t.jsonl", f->dir);
  FILE *fp = fopen(path, "r");
  if (!fp) return 0;
  char *line = NULL;
  size_t cap = 0;
  long n = 0;
  while (getline(&line, &cap, fp) > 0) {
    json_t *row = json_loads(line, 0, NULL);
    if (!row) {
      n = -1;
      break;
    }
    const char *s = json_string_value(json_object_get(row, "s"));
    if (!name || (s && strcmp(s, name) == 0)) n++;
    json_decref(row);
  }
  free(line);
  fclose(fp);
  return n;
}

static void unit_committed_meanwhile_is_a_duplicate(void **state) {
  fixture *f = *state;
  beam_sink *a = open_sink(f->dir), *b = open_sink(f->dir);
  assert_non_null(a);
  assert_non_null(b);
  beam_error err = {0};
  beam_sink_ledger_hit hit;
  assert_int_equal(beam_sink_begin(a, "a/unit-1", &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(b, "b/unit-1", &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_find(b, "unit-1", &hit, &err), BEAM_OK);
  assert_false(hit.found);
  assert_int_equal(beam_sink_unit_begin(a, &err), BEAM_OK);
  assert_int_equal(beam_sink_unit_begin(b, &err), BEAM_OK);
  assert_int_equal(write_rows(a, "a", 50, &err), BEAM_OK);
  assert_int_equal(write_rows(b, "b", 50, &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_record(a, "unit-1", "x.csv", false, &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_record(b, "unit-1", "copy-of-x.csv", false, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(a, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(b, &err), BEAM_OK);
  assert_true(beam_sink_last_bundle_was_duplicate(b));
  assert_int_equal(count_rows(f, NULL), 50);
  assert_int_equal(count_rows(f, "b"), 0);
  /* Two units, one committed meanwhile: the commit fails and writes nothing. */
  assert_int_equal(beam_sink_begin(b, "b/units-1-2", &err), BEAM_OK);
  assert_int_equal(write_rows(b, "b2", 10, &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_record(b, "unit-1", "x.csv", false, &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_record(b, "unit-2", "y.csv", false, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(b, &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "committed by another writer"));
  assert_int_equal(count_rows(f, "b2"), 0);
  beam_sink_free(a);
  beam_sink_free(b);
}

enum { THREADS = 4, COMMON_UNITS = 15, OWN_UNITS = 15, ROWS_PER_UNIT = 40 };

typedef struct worker_arg {
  const fixture *f;
  int id;
  int failures;
  char error[1200];
} worker_arg;

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
  if (st == BEAM_OK) st = beam_sink_unit_begin(s, err);
  if (st == BEAM_OK) st = write_rows(s, unit, ROWS_PER_UNIT, err);
  if (st == BEAM_OK) st = beam_sink_ledger_record(s, unit, bundle, false, err);
  if (st == BEAM_OK) st = beam_sink_commit(s, err);
  if (st != BEAM_OK) {
    if (!a->failures++) snprintf(a->error, sizeof a->error, "%s: %s", bundle, err->message);
    beam_sink_abort(s);
  }
}

static void *worker(void *p) {
  worker_arg *a = p;
  beam_error err = {0};
  beam_sink *s = open_sink(a->f->dir);
  if (!s) {
    a->failures++;
    snprintf(a->error, sizeof a->error, "open failed");
    return NULL;
  }
  for (int k = 0; k < COMMON_UNITS + OWN_UNITS; k++) {
    char unit[64];
    if (k % 2 == 0) snprintf(unit, sizeof unit, "common-%d", k / 2);
    else snprintf(unit, sizeof unit, "own-%d-%d", a->id, k / 2);
    load_unit(s, a, unit, &err);
  }
  if (beam_sink_close(s, &err) != BEAM_OK) a->failures++;
  beam_sink_free(s);
  return NULL;
}

/* THREADS writers load common and own units at once; every unit's rows land once. */
static void run_threads_and_check(fixture *f) {
  beam_sink *first = open_sink(f->dir);
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
  long units = COMMON_UNITS + THREADS * OWN_UNITS;
  assert_int_equal(count_rows(f, NULL), units * ROWS_PER_UNIT);
  for (int k = 0; k < COMMON_UNITS; k++) {
    char unit[64];
    snprintf(unit, sizeof unit, "common-%d", k);
    assert_int_equal(count_rows(f, unit), ROWS_PER_UNIT);
  }
  /* A new instance reads the same ledger from the log: every unit once. */
  beam_sink *s = open_sink(f->dir);
  beam_error err = {0};
  beam_sink_ledger_hit hit;
  for (int k = 0; k < COMMON_UNITS + OWN_UNITS; k++) {
    char unit[64];
    if (k < COMMON_UNITS) snprintf(unit, sizeof unit, "common-%d", k);
    else snprintf(unit, sizeof unit, "own-%d-%d", k % THREADS, k - COMMON_UNITS);
    assert_int_equal(beam_sink_ledger_find(s, unit, &hit, &err), BEAM_OK);
    if (!hit.found) fail_msg("unit %s is not in the ledger", unit);
  }
  beam_sink_free(s);
}

static void threads_commit_units_exactly_once(void **state) { run_threads_and_check(*state); }

/* The same while commits compact the log again and again (every writer past 2 KiB): a writer
 * waiting on the replaced log follows it to the new one and misses no unit committed there. */
static void threads_commit_exactly_once_while_the_log_is_compacted(void **state) {
  fixture *f = *state;
  setenv("BEAM_JSONL_LOG_COMPACT_BYTES", "2048", 1);
  run_threads_and_check(f);
  unsetenv("BEAM_JSONL_LOG_COMPACT_BYTES");
  char path[700];
  snprintf(path, sizeof path, "%s/.bundles.jsonl", f->dir);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char head[256] = "";
  assert_non_null(fgets(head, sizeof head, fp)); /* compacted: it starts with a snapshot */
  fclose(fp);
  assert_non_null(strstr(head, "\"state\":\"snapshot\""));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(unit_committed_meanwhile_is_a_duplicate, setup, teardown),
      cmocka_unit_test_setup_teardown(threads_commit_units_exactly_once, setup, teardown),
      cmocka_unit_test_setup_teardown(threads_commit_exactly_once_while_the_log_is_compacted, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
