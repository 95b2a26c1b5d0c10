/* The file ETL end to end on the local runner: every record ends in a table, the dead-letter
 * table, or a counted filter / dedupe; hard validation and fatal input errors commit nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "beam/runner.h"
#include "beam/transforms/etl_pipeline.h"
#include "etl_input_test_util.h"

#define SPEC_HEAD                                                                                     \
  "{\"format\": \"auto\", \"schema\": ["                                                              \
  "{\"name\": \"event_id\", \"type\": \"STRING\", \"mode\": \"REQUIRED\"},"                           \
  "{\"name\": \"event_type\", \"type\": \"STRING\"},"                                                 \
  "{\"name\": \"amount\", \"type\": \"FLOAT64\"},"                                                    \
  "{\"name\": \"ts\", \"type\": \"TIMESTAMP\", \"mode\": \"REQUIRED\"}],"                             \
  "\"route\": {\"table\": \"events_{event_type}\", \"default\": \"events_other\"}, \"filter\": \"amount >= 0\""

static const char *const SOFT_SPEC =
    SPEC_HEAD ", \"clean\": {\"trim\": true, \"lowercase\": [\"event_type\"], \"dedupe_on\": \"event_id\"},"
              "\"validate\": {\"mode\": \"soft\", \"rules\": [{\"field\": \"amount\", \"max\": 1000}]}}";
static const char *const HARD_SPEC =
    SPEC_HEAD ", \"validate\": {\"mode\": \"hard\", \"rules\": [{\"field\": \"amount\", \"max\": 1000}]}}";
static const char *const PLAIN_SPEC = SPEC_HEAD "}";

typedef struct fixture {
  char dir[512];
  char db[600];
  char sink[620];
  beam_error err;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  test_tmpdir(f->dir, sizeof f->dir);
  snprintf(f->db, sizeof f->db, "%s/out.db", f->dir);
  snprintf(f->sink, sizeof f->sink, "sqlite:%s", f->db);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  test_tmpdir_remove(f->dir);
  free(f);
  return 0;
}

static void put(fixture *f, const char *name, const char *text) {
  char path[700];
  snprintf(path, sizeof path, "%s/in/%s", f->dir, name);
  char mk[800];
  snprintf(mk, sizeof mk, "mkdir -p '%s/in'", f->dir);
  assert_int_equal(system(mk), 0);
  test_write_file(path, text, strlen(text));
}

/* Runs the ETL over inputs (NULL-terminated; names under dir/in, or absolute paths). */
static beam_status run_etl(fixture *f, const char *spec, const char *sink, const char *const *inputs) {
  const char *paths[8];
  char storage[8][700];
  size_t n = 0;
  for (; inputs[n]; n++) {
    if (inputs[n][0] == '/') snprintf(storage[n], sizeof storage[n], "%s", inputs[n]);
    else snprintf(storage[n], sizeof storage[n], "%s/in/%s", f->dir, inputs[n]);
    paths[n] = storage[n];
  }
  beam_etl_file_pipeline_config cfg = {paths, n, spec, "test-spec", sink ? sink : f->sink, "local", "off", true, false, 0, 1, NULL, 0, 7};
  beam_pipeline *p = beam_pipeline_new();
  memset(&f->err, 0, sizeof f->err);
  beam_status s = beam_etl_file_pipeline_build(p, &cfg, &f->err);
  beam_run_result r = {0};
  if (s == BEAM_OK) s = beam_pipeline_run_local(p, NULL, &r, &f->err);
  beam_run_result_free(&r);
  beam_pipeline_free(p);
  return s;
}

/* The first column of the first row of sql, as an integer (-1 when the query fails). */
static int64_t query_int(fixture *f, const char *sql) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  sqlite3_stmt *st;
  int64_t v = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return v;
}

static void query_text(fixture *f, const char *sql, char *out, size_t cap) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  sqlite3_stmt *st;
  out[0] = '\0';
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
      snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
}

/* Rows in every table except the bookkeeping ones. */
static int64_t routed_rows(fixture *f) {
  const char *tables[] = {"events_order", "events_inventory", "events_other", "events_user_activity"};
  int64_t total = 0;
  for (size_t i = 0; i < 4; i++) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tables[i]);
    int64_t n = query_int(f, sql);
    total += n > 0 ? n : 0;
  }
  return total;
}

/* _files says every record is accounted for, and the tables agree with it. */
static void assert_nothing_lost(fixture *f) {
  assert_int_equal(query_int(f, "SELECT count(*) FROM _files WHERE status = 'loaded' AND records != written + dead_lettered + filtered + deduplicated"), 0);
  assert_int_equal(query_int(f, "SELECT sum(written) FROM _files"), routed_rows(f));
  assert_int_equal(query_int(f, "SELECT sum(dead_lettered) FROM _files"), query_int(f, "SELECT count(*) FROM _dead_letter"));
}

static void samples_land_with_nothing_lost(void **state) {
  fixture *f = *state;
  char samples[700], spec_path[700];
  snprintf(samples, sizeof samples, "%s/pipelines/file_etl/samples/landing", getenv("BEAM_SOURCE_DIR"));
  snprintf(spec_path, sizeof spec_path, "%s/pipelines/file_etl/samples/spec.json", getenv("BEAM_SOURCE_DIR"));
  char spec[8192];
  size_t n = test_read_file(spec_path, spec, sizeof spec - 1);
  spec[n] = '\0';
  const char *inputs[] = {samples, NULL};
  assert_int_equal(run_etl(f, spec, NULL, inputs), BEAM_OK);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _files"), 3);
  assert_nothing_lost(f);
  assert_true(query_int(f, "SELECT count(*) FROM events_order") > 0);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _dead_letter WHERE stage = 'route' AND error LIKE '%invalid table name%'"), 1);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _dead_letter WHERE source LIKE '%events_archive.zip!%'"), 1);
  /* Running the pipeline again over the same files (the CLI would skip them first) writes
   * nothing twice: the rows' bundle is recognised by its content, each file by the ledger. */
  int64_t rows = routed_rows(f), dead = query_int(f, "SELECT count(*) FROM _dead_letter");
  assert_int_equal(run_etl(f, spec, NULL, inputs), BEAM_OK);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _files"), 3);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _beam_ledger"), 3);
  assert_int_equal(routed_rows(f), rows);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _dead_letter"), dead);
}

static void bad_rows_are_dead_lettered_naming_the_field(void **state) {
  fixture *f = *state;
  put(f, "a.jsonl",
      "{\"event_id\": \"1\", \"event_type\": \" Order \", \"amount\": 5, \"ts\": \"2026-01-01T00:00:00Z\"}\n"
      "{\"event_id\": \"2\", \"event_type\": \"order\", \"amount\": \"abc\", \"ts\": \"2026-01-01T00:00:00Z\"}\n"
      "{\"event_id\": \"3\", \"event_type\": \"order\", \"amount\": 1}\n"
      "{\"event_id\": \"4\", \"event_type\": \"order\", \"amount\": 1, \"ts\": \"2026-01-01T00:00:00Z\"\n"
      "{\"event_id\": \"5\", \"event_type\": \"or-der\", \"amount\": 1, \"ts\": \"2026-01-01T00:00:00Z\"}\n"
      "{\"event_id\": \"6\", \"event_type\": \"order\", \"amount\": 5000, \"ts\": \"2026-01-01T00:00:00Z\"}\n"
      "{\"event_id\": \"7\", \"event_type\": \"order\", \"amount\": -1, \"ts\": \"2026-01-01T00:00:00Z\"}\n"
      "{\"event_id\": \"1\", \"event_type\": \"order\", \"amount\": 9, \"ts\": \"2026-01-01T00:00:00Z\"}\n"
      "{\"event_id\": \"8\", \"amount\": 2, \"ts\": \"2026-01-01T00:00:00Z\"}\n");
  put(f, "b.csv", "event_id,event_type,amount,ts\n"
                  "c1,inventory,1.5,2026-01-01 00:00:00\n"
                  "c2,inventory,\"1.5,2026-01-01 00:00:00\n");
  put(f, "empty.jsonl", "");
  const char *inputs[] = {"a.jsonl", "b.csv", "empty.jsonl", NULL};
  assert_int_equal(run_etl(f, SOFT_SPEC, NULL, inputs), BEAM_OK);
  assert_nothing_lost(f);
  char text[512];
  query_text(f, "SELECT error FROM _dead_letter WHERE line = 2 AND source LIKE '%a.jsonl'", text, sizeof text);
  assert_non_null(strstr(text, "amount"));
  query_text(f, "SELECT error FROM _dead_letter WHERE line = 3 AND source LIKE '%a.jsonl'", text, sizeof text);
  assert_non_null(strstr(text, "\"ts\""));
  query_text(f, "SELECT stage FROM _dead_letter WHERE line = 5", text, sizeof text);
  assert_string_equal(text, "route");
  query_text(f, "SELECT stage FROM _dead_letter WHERE line = 6", text, sizeof text);
  assert_string_equal(text, "validate");
  query_text(f, "SELECT raw FROM _dead_letter WHERE line = 4", text, sizeof text);
  assert_non_null(strstr(text, "\"event_id\": \"4\""));
  query_text(f, "SELECT error FROM _dead_letter WHERE source LIKE '%b.csv'", text, sizeof text);
  assert_non_null(strstr(text, "quoting"));
  /* Dedupe keeps the first "1" (amount 5, trimmed and lowercased), counts the second. */
  assert_int_equal(query_int(f, "SELECT amount FROM events_order WHERE event_id = '1'"), 5);
  assert_int_equal(query_int(f, "SELECT deduplicated FROM _files WHERE name LIKE '%a.jsonl'"), 1);
  assert_int_equal(query_int(f, "SELECT filtered FROM _files WHERE name LIKE '%a.jsonl'"), 1);
  assert_int_equal(query_int(f, "SELECT count(*) FROM events_other WHERE event_id = '8'"), 1);
  assert_int_equal(query_int(f, "SELECT records FROM _files WHERE name LIKE '%empty.jsonl'"), 0);
}

static void hard_validation_commits_nothing(void **state) {
  fixture *f = *state;
  put(f, "a.jsonl",
      "{\"event_id\": \"1\", \"event_type\": \"order\", \"amount\": 5, \"ts\": \"2026-01-01T00:00:00Z\"}\n"
      "{\"event_id\": \"2\", \"event_type\": \"order\", \"amount\": 5000, \"ts\": \"2026-01-01T00:00:00Z\"}\n");
  const char *inputs[] = {"a.jsonl", NULL};
  /* The file fails, not the run: _files says why, and none of its rows is kept. */
  assert_int_equal(run_etl(f, HARD_SPEC, NULL, inputs), BEAM_OK);
  char error[512];
  query_text(f, "SELECT error FROM _files WHERE status = 'failed'", error, sizeof error);
  assert_non_null(strstr(error, "a.jsonl:2"));
  assert_non_null(strstr(error, "amount"));
  assert_true(query_int(f, "SELECT count(*) FROM events_order") <= 0);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _beam_ledger"), 0);
}

static void truncated_zip_fails_loudly_and_commits_nothing(void **state) {
  fixture *f = *state;
  char zip[700], cut[700];
  snprintf(zip, sizeof zip, "%s/pipelines/file_etl/samples/landing/events_archive.zip", getenv("BEAM_SOURCE_DIR"));
  static char bytes[1 << 16];
  size_t n = test_read_file(zip, bytes, sizeof bytes);
  snprintf(cut, sizeof cut, "%s/cut.zip", f->dir);
  test_write_file(cut, bytes, n / 2);
  const char *inputs[] = {cut, NULL};
  assert_int_equal(run_etl(f, PLAIN_SPEC, NULL, inputs), BEAM_OK);
  char error[512];
  query_text(f, "SELECT error FROM _files WHERE status = 'failed'", error, sizeof error);
  assert_non_null(strstr(error, "cut.zip"));
  assert_true(query_int(f, "SELECT count(*) FROM events_order") <= 0);
  assert_true(query_int(f, "SELECT count(*) FROM _dead_letter") <= 0);
}

static void missing_input_is_an_error_naming_it(void **state) {
  fixture *f = *state;
  const char *inputs[] = {"nope.jsonl", NULL};
  assert_int_equal(run_etl(f, PLAIN_SPEC, NULL, inputs), BEAM_ERR_IO);
  assert_non_null(strstr(f->err.message, "nope.jsonl"));
}

static void jsonl_sink_writes_one_file_per_table(void **state) {
  fixture *f = *state;
  put(f, "a.jsonl",
      "{\"event_id\": \"1\", \"event_type\": \"order\", \"amount\": 5, \"ts\": \"2026-01-01T00:00:00Z\"}\n"
      "{\"event_id\": \"2\", \"event_type\": \"inventory\", \"amount\": 5, \"ts\": \"2026-01-01T00:00:00Z\"}\n"
      "not json\n");
  char sink[700], cmd[900];
  snprintf(sink, sizeof sink, "jsonl:%s/out", f->dir);
  const char *inputs[] = {"a.jsonl", NULL};
  assert_int_equal(run_etl(f, PLAIN_SPEC, sink, inputs), BEAM_OK);
  snprintf(cmd, sizeof cmd,
           "cd '%s/out' && test $(cat events_order*.jsonl | wc -l) = 1 && test $(cat events_inventory*.jsonl | wc -l) = 1"
           " && test $(cat _dead_letter*.jsonl | wc -l) = 1 && test $(cat _files*.jsonl | wc -l) = 1",
           f->dir);
  assert_int_equal(system(cmd), 0);
}

/* A row the database refuses (here a CHECK constraint on a table created beforehand) becomes
 * a dead letter of stage "sink" with the row as JSON, and _files still adds up. */
static void sink_refusals_are_dead_lettered(void **state) {
  fixture *f = *state;
  sqlite3 *db;
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
                                "CREATE TABLE events_order (event_id TEXT NOT NULL, event_type TEXT, "
                                "amount REAL CHECK (amount < 100), ts TEXT NOT NULL)",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  put(f, "a.jsonl",
      "{\"event_id\": \"1\", \"event_type\": \"order\", \"amount\": 5, \"ts\": \"2026-01-01T00:00:00Z\"}\n"
      "{\"event_id\": \"2\", \"event_type\": \"order\", \"amount\": 500, \"ts\": \"2026-01-01T00:00:00Z\"}\n");
  const char *inputs[] = {"a.jsonl", NULL};
  assert_int_equal(run_etl(f, PLAIN_SPEC, NULL, inputs), BEAM_OK);
  assert_nothing_lost(f);
  assert_int_equal(query_int(f, "SELECT count(*) FROM events_order"), 1);
  char text[512];
  query_text(f, "SELECT stage FROM _dead_letter", text, sizeof text);
  assert_string_equal(text, "sink");
  query_text(f, "SELECT raw FROM _dead_letter", text, sizeof text);
  assert_non_null(strstr(text, "\"event_id\":\"2\""));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(samples_land_with_nothing_lost, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_rows_are_dead_lettered_naming_the_field, setup, teardown),
      cmocka_unit_test_setup_teardown(hard_validation_commits_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(truncated_zip_fails_loudly_and_commits_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_input_is_an_error_naming_it, setup, teardown),
      cmocka_unit_test_setup_teardown(jsonl_sink_writes_one_file_per_table, setup, teardown),
      cmocka_unit_test_setup_teardown(sink_refusals_are_dead_lettered, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
