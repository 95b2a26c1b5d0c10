/* The BigQuery sink's contract against the discovery-checking fake (run under
 * with_fake_bigquery.sh: BIGQUERY_TEST_ENDPOINT is the fake, BIGQUERY_TEST_ROWS its stored
 * rows file; rows with event_id "bad" are refused by the fake's rule): late rejections name
 * the right row, a retried bundle writes nothing twice (same sink: recognized; a new sink:
 * insertIds deduplicated; load path: the existing job found), a row too large is refused at
 * once, a refusal at commit fails the commit, an existing table gains missing NULLABLE fields,
 * bad URIs are named, and a stream's table without a partition field is partitioned by
 * ingestion day with each row sent to its event day's partition (decorator "t$YYYYMMDD"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beam/transforms/sink.h"

static beam_etl_field fields[] = {
    {"event_id", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},
    {"n", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"ts", BEAM_ETL_TIMESTAMP, BEAM_ETL_NULLABLE},
};
static const beam_etl_schema schema = {fields, 3};

static char uri_buf[512];

static const char *uri(const char *dataset, const char *extra) {
  snprintf(uri_buf, sizeof uri_buf, "bigquery:test-proj.%s?endpoint=%s%s", dataset, getenv("BIGQUERY_TEST_ENDPOINT"),
           extra ? extra : "");
  return uri_buf;
}

/* n rows named <prefix>-<i>, with "bad" at position bad_at (or none: -1). */
typedef struct rows {
  beam_etl_row rows[64];
  beam_value values[64][3];
  char ids[64][32];
} rows;

static void make_rows(rows *r, size_t n, const char *prefix, int bad_at) {
  for (size_t i = 0; i < n; i++) {
    if ((int)i == bad_at) snprintf(r->ids[i], sizeof r->ids[i], "bad");
    else snprintf(r->ids[i], sizeof r->ids[i], "%s-%zu", prefix, i);
    r->values[i][0] = beam_value_string(r->ids[i], strlen(r->ids[i]));
    r->values[i][1] = beam_value_int64((int64_t)i);
    r->values[i][2] = beam_value_int64(1795000000000000LL + (int64_t)i);
    r->rows[i] = (beam_etl_row){&schema, r->values[i], {.source = "test", .line = (int64_t)i + 1}};
  }
}

/* Rows the fake stored for dataset.table. */
static int stored(const char *dataset, const char *table) {
  FILE *f = fopen(getenv("BIGQUERY_TEST_ROWS"), "r");
  assert_non_null(f);
  char line[4096], want[256];
  snprintf(want, sizeof want, "{\"dataset\": \"%s\", \"table\": \"%s\",", dataset, table);
  int n = 0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, want, strlen(want)) == 0) n++;
  fclose(f);
  return n;
}

static beam_sink *open_sink(const char *dataset, const char *extra) {
  beam_sink *s = NULL;
  beam_error err = {0};
  beam_status st = beam_sink_open(uri(dataset, extra), NULL, &s, &err);
  if (st != BEAM_OK) fail_msg("open: %s", err.message);
  st = beam_sink_ensure_table(s, "t", &schema, &err);
  if (st != BEAM_OK) fail_msg("ensure_table: %s", err.message);
  return s;
}

/* One bundle: write, send (late rejections into rej), commit. */
static beam_status bundle(beam_sink *s, const char *id, rows *r, size_t n, beam_sink_row_errors *rej, beam_error *err) {
  beam_status st = beam_sink_begin(s, id, err);
  if (st == BEAM_OK) st = beam_sink_write_rows(s, "t", r->rows, n, rej, err);
  if (st == BEAM_OK) st = beam_sink_send(s, "t", rej, err);
  if (st == BEAM_OK) return beam_sink_commit(s, err);
  beam_sink_abort(s);
  return st;
}

static void test_late_rejection_names_the_row(void **state) {
  (void)state;
  beam_sink *s = open_sink("late", NULL);
  assert_true(beam_sink_rejects_late(s));
  rows r;
  make_rows(&r, 5, "late", 3);
  beam_error err = {0};
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  assert_int_equal(beam_sink_begin(s, "late-1", &err), BEAM_OK);
  /* Two write calls: the refused row's index counts across them. */
  assert_int_equal(beam_sink_write_rows(s, "t", r.rows, 2, &rej, &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "t", r.rows + 2, 3, &rej, &err), BEAM_OK);
  assert_int_equal(rej.len, 0);
  assert_int_equal(stored("late", "t"), 0); /* nothing is sent before the bundle ends */
  assert_int_equal(beam_sink_send(s, "t", &rej, &err), BEAM_OK);
  assert_int_equal(rej.len, 1);
  assert_int_equal(rej.items[0].index, 3);
  assert_non_null(strstr(rej.items[0].reason, "invalid"));
  assert_non_null(strstr(rej.items[0].reason, "event_id=bad"));
  assert_non_null(strstr(rej.items[0].row, "\"event_id\":\"bad\""));
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_int_equal(stored("late", "t"), 4);
  beam_sink_stats stats;
  beam_sink_get_stats(s, &stats);
  assert_int_equal(stats.rows_written, 4);
  assert_int_equal(stats.rows_rejected, 1);
  beam_sink_row_errors_free(&rej);
  beam_sink_free(s);
}

/* Past bundle_bytes a table's rows go out while the bundle is written (bounded memory); a
 * row refused then is still handed over by beam_sink_send, with its bundle position. */
static void test_big_bundle_is_sent_in_parts(void **state) {
  (void)state;
  beam_sink *s = open_sink("parts", "&bundle_bytes=1024");
  rows r;
  make_rows(&r, 60, "parts", 7);
  beam_error err = {0};
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  assert_int_equal(beam_sink_begin(s, "parts-1", &err), BEAM_OK);
  for (size_t i = 0; i < 60; i += 20) assert_int_equal(beam_sink_write_rows(s, "t", r.rows + i, 20, &rej, &err), BEAM_OK);
  assert_true(stored("parts", "t") >= 40); /* sent before the bundle ends */
  assert_int_equal(beam_sink_send(s, "t", &rej, &err), BEAM_OK);
  assert_int_equal(rej.len, 1);
  assert_int_equal(rej.items[0].index, 7);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_int_equal(stored("parts", "t"), 59);
  /* Not asked for (no beam_sink_send): the early refusal fails the commit. */
  make_rows(&r, 60, "parts2", 3);
  assert_int_equal(beam_sink_begin(s, "parts-2", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "t", r.rows, 60, &rej, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "at commit: table t refused a row"));
  beam_sink_row_errors_free(&rej);
  beam_sink_free(s);
}

static void test_retried_bundle_writes_once(void **state) {
  (void)state;
  rows r;
  make_rows(&r, 20, "retry", -1);
  beam_error err = {0};
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  beam_sink *s = open_sink("retry", NULL);
  assert_int_equal(bundle(s, "retry-1", &r, 20, &rej, &err), BEAM_OK);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  /* The same sink sees the id again: recognized, nothing sent. */
  assert_int_equal(bundle(s, "retry-1", &r, 20, &rej, &err), BEAM_OK);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  beam_sink_free(s);
  /* Another worker retries it: the same insertIds, deduplicated by the service. */
  s = open_sink("retry", NULL);
  assert_int_equal(bundle(s, "retry-1", &r, 20, &rej, &err), BEAM_OK);
  beam_sink_free(s);
  assert_int_equal(stored("retry", "t"), 20);
  /* A different bundle with equal rows is new data. */
  s = open_sink("retry", NULL);
  assert_int_equal(bundle(s, "retry-2", &r, 20, &rej, &err), BEAM_OK);
  beam_sink_free(s);
  assert_int_equal(stored("retry", "t"), 40);
  beam_sink_row_errors_free(&rej);
}

/* Rows read from a file carry insertIds of their own (table, file identity, byte offset): a
 * runner's retry under a NEW bundle id sends the same ones and nothing doubles, and so does a
 * relaunch of the same command; another file's rows are new data. */
static void test_retry_under_a_new_bundle_id_writes_once(void **state) {
  (void)state;
  rows r;
  make_rows(&r, 20, "rerun", -1);
  beam_error err = {0};
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  const char *files[] = {"100-xxh3-01", "100-xxh3-01", "100-xxh3-02"};
  const char *bundles[] = {"worker-a/instruction-7", "worker-b/instruction-3", "worker-a/instruction-1"};
  int want[] = {20, 20, 40};
  for (int k = 0; k < 3; k++) {
    for (size_t i = 0; i < 20; i++) r.rows[i].origin.file_id = files[k], r.rows[i].origin.offset = 10 * (int64_t)i;
    beam_sink *s = NULL;
    assert_int_equal(beam_sink_open(uri("rerun", NULL), NULL, &s, &err), BEAM_OK);
    assert_int_equal(beam_sink_ensure_table(s, "t", &schema, &err), BEAM_OK);
    assert_int_equal(bundle(s, bundles[k], &r, 20, &rej, &err), BEAM_OK);
    beam_sink_free(s);
    assert_int_equal(stored("rerun", "t"), want[k]);
  }
  beam_sink_row_errors_free(&rej);
}

static void test_load_job_retry_finds_the_job(void **state) {
  (void)state;
  rows r;
  make_rows(&r, 30, "load", -1);
  beam_error err = {0};
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  for (int attempt = 0; attempt < 2; attempt++) {
    beam_sink *s = open_sink("load", "&load_threshold=10");
    beam_status st = bundle(s, "load-1", &r, 30, &rej, &err);
    if (st != BEAM_OK) fail_msg("load bundle: %s", err.message);
    beam_sink_free(s);
    assert_int_equal(stored("load", "t"), 30);
  }
  /* A load job refused on one row loads nothing, and streaming then names the row. */
  make_rows(&r, 30, "load2", 17);
  beam_sink *s = open_sink("load", "&load_threshold=10");
  assert_int_equal(bundle(s, "load-2", &r, 30, &rej, &err), BEAM_OK);
  assert_int_equal(rej.len, 1);
  assert_int_equal(rej.items[0].index, 17);
  beam_sink_free(s);
  assert_int_equal(stored("load", "t"), 59);
  beam_sink_row_errors_free(&rej);
}

static void test_row_too_large_is_refused_at_once(void **state) {
  (void)state;
  beam_sink *s = open_sink("large", NULL);
  size_t big = (size_t)10 << 20;
  char *text = malloc(big);
  assert_non_null(text);
  memset(text, 'x', big);
  rows r;
  make_rows(&r, 2, "large", -1);
  r.values[1][0] = beam_value_string(text, big);
  beam_error err = {0};
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  assert_int_equal(beam_sink_begin(s, "large-1", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "t", r.rows, 2, &rej, &err), BEAM_OK);
  assert_int_equal(rej.len, 1);
  assert_int_equal(rej.items[0].index, 1);
  assert_non_null(strstr(rej.items[0].reason, "can never be written"));
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_int_equal(stored("large", "t"), 1);
  free(text);
  beam_sink_row_errors_free(&rej);
  beam_sink_free(s);
}

static void test_refusal_at_commit_fails_the_commit(void **state) {
  (void)state;
  beam_sink *s = open_sink("commit", NULL);
  rows r;
  make_rows(&r, 4, "commit", 2);
  beam_error err = {0};
  assert_int_equal(beam_sink_begin(s, "commit-1", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "t", r.rows, 4, NULL, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_ERR_IO);
  if (!strstr(err.message, "at commit: bigquery: table t refused a row") || !strstr(err.message, "event_id=bad"))
    fail_msg("unexpected message: %s", err.message);
  assert_int_equal(stored("commit", "t"), 0); /* skipInvalidRows=false: the others were stopped */
  beam_sink_free(s);
}

/* Stored rows of dataset.table whose line holds text. */
static int stored_with(const char *dataset, const char *table, const char *text) {
  FILE *f = fopen(getenv("BIGQUERY_TEST_ROWS"), "r");
  assert_non_null(f);
  char line[4096], want[256];
  snprintf(want, sizeof want, "{\"dataset\": \"%s\", \"table\": \"%s\",", dataset, table);
  int n = 0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, want, strlen(want)) == 0 && strstr(line, text)) n++;
  fclose(f);
  return n;
}

/* A table an earlier release created with fewer fields gains the spec's NULLABLE ones
 * (tables.patch): the old rows stay, new rows carry the new field. Another type or a new
 * REQUIRED field is an error naming the field. */
static void test_existing_table_gains_nullable_fields(void **state) {
  (void)state;
  static beam_etl_field old_fields[] = {{"event_id", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},
                                        {"n", BEAM_ETL_INT64, BEAM_ETL_NULLABLE}};
  static const beam_etl_schema old_schema = {old_fields, 2};
  beam_sink *s = NULL;
  beam_error err = {0};
  assert_int_equal(beam_sink_open(uri("migrate", NULL), NULL, &s, &err), BEAM_OK);
  if (beam_sink_ensure_table(s, "t", &old_schema, &err) != BEAM_OK) fail_msg("ensure old: %s", err.message);
  beam_value v[2][2] = {{beam_value_string("old-0", 5), beam_value_int64(0)},
                        {beam_value_string("old-1", 5), beam_value_int64(1)}};
  beam_etl_row old_rows[2] = {{&old_schema, v[0], {0}}, {&old_schema, v[1], {0}}};
  assert_int_equal(beam_sink_begin(s, "migrate-old", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "t", old_rows, 2, NULL, &err), BEAM_OK);
  if (beam_sink_commit(s, &err) != BEAM_OK) fail_msg("commit old: %s", err.message);
  beam_sink_free(s);

  s = open_sink("migrate", NULL); /* the spec's schema: ts added */
  rows r;
  make_rows(&r, 3, "new", -1);
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  if (bundle(s, "migrate-new", &r, 3, &rej, &err) != BEAM_OK) fail_msg("bundle: %s", err.message);
  assert_int_equal(rej.len, 0);
  beam_sink_free(s);
  assert_int_equal(stored("migrate", "t"), 5);
  assert_int_equal(stored_with("migrate", "t", "\"ts\": \""), 3);
  assert_int_equal(stored_with("migrate", "t", "\"event_id\": \"old-"), 2);
  /* A sink opened now finds every field: nothing to add. */
  s = open_sink("migrate", NULL);
  beam_sink_free(s);

  static beam_etl_field typed[] = {{"event_id", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},
                                   {"n", BEAM_ETL_STRING, BEAM_ETL_NULLABLE}};
  static const beam_etl_schema typed_schema = {typed, 2};
  static beam_etl_field required[] = {{"event_id", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},
                                      {"n", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
                                      {"ts", BEAM_ETL_TIMESTAMP, BEAM_ETL_NULLABLE},
                                      {"must", BEAM_ETL_STRING, BEAM_ETL_REQUIRED}};
  static const beam_etl_schema required_schema = {required, 4};
  assert_int_equal(beam_sink_open(uri("migrate", NULL), NULL, &s, &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(s, "t", &typed_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "column n is INTEGER, the schema wants STRING"));
  assert_int_equal(beam_sink_ensure_table(s, "t", &required_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "missing REQUIRED column must STRING"));
  beam_sink_row_errors_free(&rej);
  beam_sink_free(s);
}

/* Stored rows of dataset.table in partition part ("20261107"). */
static int stored_in_partition(const char *dataset, const char *table, const char *part) {
  FILE *f = fopen(getenv("BIGQUERY_TEST_ROWS"), "r");
  assert_non_null(f);
  char line[4096], want[256], want_part[64];
  snprintf(want, sizeof want, "{\"dataset\": \"%s\", \"table\": \"%s\",", dataset, table);
  snprintf(want_part, sizeof want_part, "\"partition\": \"%s\"", part);
  int n = 0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, want, strlen(want)) == 0 && strstr(line, want_part)) n++;
  fclose(f);
  return n;
}

static void test_stream_rows_go_to_their_event_day(void **state) {
  (void)state;
  beam_sink_options o = {.stream_ledger = true};
  beam_sink *s = NULL;
  beam_error err = {0};
  static beam_etl_field plain_fields[] = {{"event_id", BEAM_ETL_STRING, BEAM_ETL_REQUIRED}};
  static const beam_etl_schema plain = {plain_fields, 1};
  if (beam_sink_open(uri("days", NULL), &o, &s, &err) != BEAM_OK) fail_msg("open: %s", err.message);
  if (beam_sink_ensure_table(s, "t", &plain, &err) != BEAM_OK) fail_msg("ensure_table: %s", err.message);
  /* Published yesterday 23:59:59 and today 00:00:01 (twice), a row without an event time, and
   * one 40 days back (no decorator reaches it: refused). */
  int64_t today = (int64_t)time(NULL) / 86400 * 86400;
  const int64_t times[] = {(today - 1) * 1000000, (today + 1) * 1000000, (today + 1) * 1000000, 0,
                           (today - 40 * 86400) * 1000000};
  char days[2][16];
  for (int k = 0; k < 2; k++) {
    time_t t = (time_t)(today - 1 + 2 * k);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(days[k], sizeof days[k], "%Y%m%d", &tm);
  }
  beam_value v[5];
  beam_etl_row r[5];
  char ids[5][16];
  for (int i = 0; i < 5; i++) {
    snprintf(ids[i], sizeof ids[i], "day-%d", i);
    v[i] = beam_value_string(ids[i], strlen(ids[i]));
    r[i] = (beam_etl_row){&plain, &v[i], {.source = "sub", .event_time_us = times[i]}};
  }
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  assert_int_equal(beam_sink_begin(s, "days-1", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "t", r, 5, &rej, &err), BEAM_OK);
  assert_int_equal(rej.len, 1);
  assert_int_equal(rej.items[0].index, 4);
  assert_non_null(strstr(rej.items[0].reason, "31 days back"));
  assert_int_equal(beam_sink_send(s, "t", &rej, &err), BEAM_OK);
  assert_int_equal(rej.len, 0); /* BigQuery refused none of the others */
  if (beam_sink_commit(s, &err) != BEAM_OK) fail_msg("commit: %s", err.message);
  assert_int_equal(stored("days", "t"), 4);
  assert_int_equal(stored_in_partition("days", "t", days[0]), 1);
  assert_int_equal(stored_in_partition("days", "t", days[1]), 2);
  beam_sink_row_errors_free(&rej);
  beam_sink_free(s);
}

static void test_bad_uris_are_named(void **state) {
  (void)state;
  beam_sink *s = NULL;
  beam_error err = {0};
  assert_int_equal(beam_sink_open("bigquery:nodataset", NULL, &s, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "PROJECT.DATASET"));
  assert_int_equal(beam_sink_open("bigquery:p.d-x?endpoint=http://127.0.0.1:1", NULL, &s, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "dataset \"d-x\""));
  assert_int_equal(beam_sink_open("bigquery:p.d?endpoint=http://127.0.0.1:1&bogus=1", NULL, &s, &err),
                   BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "unknown option \"bogus\""));
  assert_int_equal(beam_sink_open("bigquery:p.d?endpoint=http://127.0.0.1:1&rows_per_request=60000", NULL, &s, &err),
                   BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "rows_per_request=60000"));
  assert_null(s);
}

int main(void) {
  if (!getenv("BIGQUERY_TEST_ENDPOINT") || !getenv("BIGQUERY_TEST_ROWS")) {
    fprintf(stderr, "run under tests/peers/google_api/with_fake_bigquery.sh\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_late_rejection_names_the_row),
      cmocka_unit_test(test_big_bundle_is_sent_in_parts),
      cmocka_unit_test(test_retried_bundle_writes_once),
      cmocka_unit_test(test_retry_under_a_new_bundle_id_writes_once),
      cmocka_unit_test(test_load_job_retry_finds_the_job),
      cmocka_unit_test(test_row_too_large_is_refused_at_once),
      cmocka_unit_test(test_refusal_at_commit_fails_the_commit),
      cmocka_unit_test(test_existing_table_gains_nullable_fields),
      cmocka_unit_test(test_stream_rows_go_to_their_event_day),
      cmocka_unit_test(test_bad_uris_are_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
