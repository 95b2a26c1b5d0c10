/* JSONL directory sink: typed JSON text, escaping, atomic and idempotent bundles, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <sys/stat.h>

#include "beam/transforms/json_row_writer.h"
#include "sink_test_util.h"

static int setup(void **state) {
  char *dir = sink_test_tmpdir();
  if (!dir) return -1;
  *state = dir;
  return 0;
}

static int teardown(void **state) {
  sink_test_rmdir(*state);
  return 0;
}

static beam_sink *open_sink(const char *dir, const beam_sink_options *opts) {
  beam_sink *s = NULL;
  beam_error err = {0};
  if (beam_sink_jsonl_open(dir, opts, &s, &err) != BEAM_OK) fail_msg("open: %s", err.message);
  return s;
}

/* Whole file as a NUL-terminated string (empty if missing). */
static char *slurp(const char *dir, const char *name) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *fp = fopen(path, "rb");
  if (!fp) return strdup("");
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  size_t got = fread(buf, 1, (size_t)n, fp);
  buf[got] = '\0';
  fclose(fp);
  return buf;
}

static size_t count_lines(const char *text) {
  size_t n = 0;
  for (; *text; text++) n += *text == '\n';
  return n;
}

static void commit_rows(beam_sink *s, const char *table, const char *bundle, size_t n) {
  beam_error err = {0};
  assert_int_equal(beam_sink_begin(s, bundle, &err), BEAM_OK);
  beam_value v[8];
  sink_test_full_values(v, "r", 7);
  beam_etl_row row = sink_test_row(v);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(beam_sink_write_rows(s, table, &row, 1, NULL, &err), BEAM_OK);
  if (beam_sink_commit(s, &err) != BEAM_OK) fail_msg("commit: %s", err.message);
}

static void typed_json_per_row(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "events", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "b1", &err), BEAM_OK);
  beam_value v[3][8];
  sink_test_full_values(v[0], "he said \"hi\" \\ \n\t\x01\x1f\x7f ünï €😀", INT64_MIN);
  sink_test_null_values(v[1], "");
  sink_test_full_values(v[2], "bad\xff utf8 \xc3\x28 \xed\xa0\x80 \xe2\x82", 0);
  v[2][2] = beam_value_double(0.1 + 0.2);
  v[2][4] = beam_value_bool(false);
  v[2][5] = beam_value_int64(1704164645000000LL); /* whole second: no fraction */
  v[2][6] = beam_value_int64(-719162);            /* 0001-01-01 */
  v[2][7] = beam_value_bytes("ab", 2);
  beam_etl_row rows[3] = {sink_test_row(v[0]), sink_test_row(v[1]), sink_test_row(v[2])};
  assert_int_equal(beam_sink_write_rows(s, "events", rows, 3, NULL, &err), BEAM_OK);
  /* Nothing is visible before commit. */
  char *text = slurp(dir, "events.jsonl");
  assert_string_equal(text, "");
  free(text);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_int_equal(beam_sink_close(s, &err), BEAM_OK);
  beam_sink_free(s);

  text = slurp(dir, "events.jsonl");
  const char *want =
      "{\"s\":\"he said \\\"hi\\\" \\\\ \\n\\t\\u0001\\u001f\x7f ünï €😀\",\"i\":-9223372036854775808,"
      "\"f\":12.5,\"n\":\"12345678901234567890.123\",\"b\":true,"
      "\"ts\":\"2024-01-02T03:04:05.123456Z\",\"d\":\"2024-01-02\",\"by\":\"AP8Q\"}\n"
      "{\"s\":\"\",\"i\":null,\"f\":null,\"n\":null,\"b\":null,\"ts\":null,\"d\":null,\"by\":null}\n"
      "{\"s\":\"bad\xef\xbf\xbd utf8 \xef\xbf\xbd( \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
      "\xef\xbf\xbd\xef\xbf\xbd\",\"i\":0,\"f\":0.30000000000000004,"
      "\"n\":\"12345678901234567890.123\",\"b\":false,\"ts\":\"2024-01-02T03:04:05Z\","
      "\"d\":\"0001-01-01\",\"by\":\"YWI=\"}\n";
  assert_string_equal(text, want);
  /* Every line is valid JSON to an independent parser, values as written. */
  char *line = text;
  for (int i = 0; i < 3; i++) {
    char *nl = strchr(line, '\n');
    json_error_t jerr;
    json_t *obj = json_loadb(line, (size_t)(nl - line), 0, &jerr);
    if (!obj) fail_msg("line %d: %s", i, jerr.text);
    if (i == 0) {
      assert_string_equal(json_string_value(json_object_get(obj, "s")),
                          "he said \"hi\" \\ \n\t\x01\x1f\x7f ünï €😀");
      assert_true(json_integer_value(json_object_get(obj, "i")) == INT64_MIN);
    }
    if (i == 2) assert_true(json_real_value(json_object_get(obj, "f")) == 0.1 + 0.2);
    json_decref(obj);
    line = nl + 1;
  }
  free(text);
  /* The bundle log records the commit. */
  text = slurp(dir, ".bundles.jsonl");
  assert_non_null(strstr(text, "\"bundle\":\"b1\",\"state\":\"committed\""));
  free(text);
}

static void doubles_are_shortest_round_trip(void **state) {
  (void)state;
  const double xs[] = {0.0, -0.0, 1.0, -2.5, 0.1, 1e300, 5e-324, 123456.789, 1e21, 9007199254740993.0,
                       -1234567.000001, 3.141592653589793};
  const char *want[] = {"0", "-0", "1", "-2.5", "0.1", "1e+300", "4.94065645841247e-324",
                        "123456.789", "1e+21", "9007199254740992", "-1234567.000001",
                        "3.141592653589793"};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    beam_buf b = BEAM_BUF_INIT;
    assert_int_equal(beam_json_write_double(&b, xs[i]), BEAM_OK);
    beam_buf_terminate(&b);
    assert_string_equal((const char *)b.data, want[i]);
    assert_true(strtod((const char *)b.data, NULL) == xs[i]);
    beam_buf_free(&b);
  }
  beam_buf b = BEAM_BUF_INIT;
  beam_json_write_double(&b, NAN);
  beam_json_write_double(&b, -INFINITY);
  beam_buf_terminate(&b);
  assert_string_equal((const char *)b.data, "\"NaN\"\"-Infinity\"");
  beam_buf_free(&b);
}

static void abort_leaves_nothing(void **state) {
  const char *dir = *state;
  beam_sink_options opts = {0};
  opts.spill_bytes = 512; /* make the aborted bundle spill to a temp file too */
  beam_sink *s = open_sink(dir, &opts);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "first", 2);
  assert_int_equal(beam_sink_begin(s, "second", &err), BEAM_OK);
  beam_value v[8];
  sink_test_full_values(v, "aborted", 1);
  beam_etl_row row = sink_test_row(v);
  for (int i = 0; i < 50; i++)
    assert_int_equal(beam_sink_write_rows(s, "t", &row, 1, NULL, &err), BEAM_OK);
  beam_sink_abort(s);
  char *text = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(text), 2);
  assert_null(strstr(text, "aborted"));
  free(text);
  /* A later bundle after a spilled+aborted one carries only its own rows. */
  commit_rows(s, "t", "third", 100);
  text = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(text), 102);
  assert_null(strstr(text, "aborted"));
  free(text);
  beam_sink_free(s);
}

static void same_bundle_twice_writes_once(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "A", 3);
  commit_rows(s, "t", "A", 3);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  beam_sink *other = open_sink(dir, NULL); /* another worker, same directory */
  assert_int_equal(beam_sink_ensure_table(other, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(other, "t", "A", 3);
  assert_true(beam_sink_last_bundle_was_duplicate(other));
  commit_rows(other, "t", "B", 4);
  assert_false(beam_sink_last_bundle_was_duplicate(other));
  commit_rows(s, "t", "B", 4); /* learned from the log at begin */
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  beam_sink_free(other);
  beam_sink_stats stats;
  beam_sink_get_stats(s, &stats);
  assert_int_equal(stats.bundles_committed, 1);
  assert_int_equal(stats.bundles_duplicate, 2);
  assert_int_equal(stats.rows_written, 3);
  beam_sink_free(s);
  char *text = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(text), 7);
  free(text);
}

static void crashed_commit_is_rolled_back(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "ok", 1);
  beam_sink_free(s);
  char *before = slurp(dir, "t.jsonl");
  /* Simulate a writer killed mid-commit: pending record, half the data, no outcome. */
  char path[700];
  snprintf(path, sizeof path, "%s/.bundles.jsonl", dir);
  FILE *fp = fopen(path, "a");
  fprintf(fp, "{\"bundle\":\"dead\",\"files\":{\"t\":%zu},\"state\":\"pending\"}\n", strlen(before));
  fprintf(fp, "{\"bundle\":\"torn"); /* and a torn last line */
  fclose(fp);
  snprintf(path, sizeof path, "%s/t.jsonl", dir);
  fp = fopen(path, "a");
  fputs("{\"s\":\"half a bun", fp);
  fclose(fp);
  s = open_sink(dir, NULL);
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "dead", 1); /* the retry of the dead bundle */
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  beam_sink_free(s);
  char *after = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(after), 2);
  assert_null(strstr(after, "half"));
  assert_memory_equal(after, before, strlen(before));
  char *log = slurp(dir, ".bundles.jsonl");
  assert_non_null(strstr(log, "\"bundle\":\"dead\",\"state\":\"rolled_back\""));
  assert_null(strstr(log, "torn"));
  free(log);
  free(after);
  free(before);
}

static void many_rows_spill_and_commit(void **state) {
  const char *dir = *state;
  beam_sink_options opts = {0};
  opts.spill_bytes = 4096;
  beam_sink *s = open_sink(dir, &opts);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "a", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(s, "b", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "big", &err), BEAM_OK);
  enum { N = 1000 };
  beam_value *v = calloc(N * 8, sizeof *v);
  beam_etl_row *rows = calloc(N, sizeof *rows);
  for (int i = 0; i < N; i++) {
    sink_test_full_values(v + i * 8, "row", i);
    rows[i] = sink_test_row(v + i * 8);
  }
  for (int k = 0; k < 10; k++) {
    assert_int_equal(beam_sink_write_rows(s, "a", rows, N, NULL, &err), BEAM_OK);
    assert_int_equal(beam_sink_write_rows(s, "b", rows, 10, NULL, &err), BEAM_OK);
  }
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  char *text = slurp(dir, "a.jsonl");
  assert_int_equal(count_lines(text), 10 * N);
  /* Order within the bundle survives the spill: the 1000th line is row i=999. */
  char *line = text;
  for (int i = 0; i < N - 1; i++) line = strchr(line, '\n') + 1;
  assert_memory_equal(line, "{\"s\":\"row\",\"i\":999,", 19);
  free(text);
  text = slurp(dir, "b.jsonl");
  assert_int_equal(count_lines(text), 100);
  free(text);
  free(rows);
  free(v);
  beam_sink_free(s);
}

static void rejected_rows_and_names(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "bad-name", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(beam_sink_ensure_table(s, "../escape", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(beam_sink_ensure_table(s, ".bundles", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  beam_value v[2][8];
  sink_test_full_values(v[0], "ok", 1);
  sink_test_full_values(v[1], "bad", 1);
  v[1][5] = beam_value_double(1.0); /* TIMESTAMP holding a double */
  beam_etl_row rows[2] = {sink_test_row(v[0]), sink_test_row(v[1])};
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  assert_int_equal(beam_sink_begin(s, "b", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "t", rows, 2, &rej, &err), BEAM_OK);
  assert_int_equal(rej.len, 1);
  assert_int_equal(rej.items[0].index, 1);
  assert_non_null(strstr(rej.items[0].reason, "field ts"));
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  char *text = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(text), 1);
  free(text);
  beam_sink_row_errors_free(&rej);
  beam_sink_free(s);
}

/* A JSON-lines table has no stored schema: a later release whose schema adds NULLABLE fields
 * appends its rows to the same file, the earlier lines stay as they were (a reader sees the
 * new fields absent, i.e. NULL, in them). */
static void new_fields_append_to_an_existing_file(void **state) {
  const char *dir = *state;
  static beam_etl_field old_fields[] = {{"s", BEAM_ETL_STRING, BEAM_ETL_REQUIRED}};
  static const beam_etl_schema old_schema = {old_fields, 1};
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "events", &old_schema, &err), BEAM_OK);
  beam_value v = beam_value_string("old", 3);
  beam_etl_row row = {&old_schema, &v, {0}};
  assert_int_equal(beam_sink_begin(s, "old-1", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "events", &row, 1, NULL, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  beam_sink_free(s);
  s = open_sink(dir, NULL);
  assert_int_equal(beam_sink_ensure_table(s, "events", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "events", "new-1", 1);
  beam_sink_free(s);
  char *text = slurp(dir, "events.jsonl");
  assert_int_equal(count_lines(text), 2);
  assert_true(strncmp(text, "{\"s\":\"old\"}\n{\"s\":\"r\",\"i\":7,", 26) == 0);
  free(text);
}

static void unwritable_directory_is_an_error(void **state) {
  const char *dir = *state;
  char path[700];
  snprintf(path, sizeof path, "%s/plain", dir);
  FILE *fp = fopen(path, "w");
  fclose(fp);
  strcat(path, "/out");
  beam_sink *s = NULL;
  beam_error err = {0};
  assert_int_equal(beam_sink_jsonl_open(path, NULL, &s, &err), BEAM_ERR_IO);
  assert_null(s);
  assert_non_null(strstr(err.message, path));
}

/* Missing parents are created, as the file: sink does. */
static void missing_parents_are_created(void **state) {
  const char *dir = *state;
  char path[700];
  snprintf(path, sizeof path, "%s/missing/parent/", dir);
  beam_sink *s = open_sink(path, NULL);
  beam_sink_free(s);
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_true(S_ISDIR(sb.st_mode));
}

static void full_disk_is_an_error(void **state) {
  const char *dir = *state;
  /* The table file is /dev/full: every write fails with ENOSPC. */
  char path[700];
  snprintf(path, sizeof path, "%s/t.jsonl", dir);
  if (symlink("/dev/full", path) != 0 || access("/dev/full", W_OK) != 0) skip();
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(s, "good", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "b", &err), BEAM_OK);
  beam_value v[8];
  sink_test_full_values(v, "x", 1);
  beam_etl_row row = sink_test_row(v);
  assert_int_equal(beam_sink_write_rows(s, "good", &row, 1, NULL, &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "t", &row, 1, NULL, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "t.jsonl"));
  assert_non_null(strstr(err.message, strerror(ENOSPC)));
  beam_sink_stats stats;
  beam_sink_get_stats(s, &stats);
  assert_int_equal(stats.bundles_committed, 0);
  assert_int_equal(stats.bundles_aborted, 1);
  beam_sink_free(s);
  /* The other table of the failed bundle was cut back: the bundle is all or nothing. */
  char *text = slurp(dir, "good.jsonl");
  assert_string_equal(text, "");
  free(text);
  text = slurp(dir, ".bundles.jsonl");
  assert_non_null(strstr(text, "rolled_back"));
  assert_null(strstr(text, "committed"));
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(typed_json_per_row, setup, teardown),
      cmocka_unit_test(doubles_are_shortest_round_trip),
      cmocka_unit_test_setup_teardown(abort_leaves_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(same_bundle_twice_writes_once, setup, teardown),
      cmocka_unit_test_setup_teardown(crashed_commit_is_rolled_back, setup, teardown),
      cmocka_unit_test_setup_teardown(many_rows_spill_and_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(rejected_rows_and_names, setup, teardown),
      cmocka_unit_test_setup_teardown(new_fields_append_to_an_existing_file, setup, teardown),
      cmocka_unit_test_setup_teardown(unwritable_directory_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_parents_are_created, setup, teardown),
      cmocka_unit_test_setup_teardown(full_disk_is_an_error, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
