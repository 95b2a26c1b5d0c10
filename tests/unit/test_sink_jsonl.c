/* JSONL directory sink: typed JSON text, escaping, atomic and idempotent bundles, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "beam/transforms/json_row_writer.h"
#include "sink_test_util.h"
#include "sink_test_ranges.h"

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

/* Writes (or, with append, appends) text to dir/name. */
static void put_file(const char *dir, const char *name, const char *text, bool append) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *fp = fopen(path, append ? "a" : "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static bool file_exists(const char *dir, const char *name) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return access(path, F_OK) == 0;
}

/* Hidden *.tmp files in dir: write-aside files left behind. */
static size_t count_temp_files(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t len = strlen(de->d_name);
    if (de->d_name[0] == '.' && len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) n++;
  }
  closedir(d);
  return n;
}

/* Occurrences of needle in text. */
static size_t count_of(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
  return n;
}

/* Writes n rows with s = tag to table in the open bundle. */
static void write_tagged(beam_sink *s, const char *table, const char *tag, size_t n) {
  beam_error err = {0};
  beam_value v[8];
  sink_test_full_values(v, tag, 7);
  beam_etl_row row = sink_test_row(v);
  for (size_t i = 0; i < n; i++)
    if (beam_sink_write_rows(s, table, &row, 1, NULL, &err) != BEAM_OK) fail_msg("write: %s", err.message);
}

/* The JSON line write_tagged writes for tag. */
static char *tagged_line(const char *tag) {
  beam_value v[8];
  sink_test_full_values(v, tag, 7);
  beam_json_row_writer w;
  assert_int_equal(beam_json_row_writer_init(&w, &sink_test_schema), BEAM_OK);
  beam_buf b = BEAM_BUF_INIT;
  assert_int_equal(beam_json_row_writer_append(&w, &b, v), BEAM_OK);
  beam_buf_append_byte(&b, '\n');
  beam_buf_terminate(&b);
  beam_json_row_writer_free(&w);
  return (char *)b.data;
}

static beam_sink_ledger_hit find(beam_sink *s, const char *key) {
  beam_sink_ledger_hit hit;
  beam_error err = {0};
  if (beam_sink_ledger_find(s, key, &hit, &err) != BEAM_OK) fail_msg("ledger_find: %s", err.message);
  return hit;
}

static bool any_entry(beam_sink *s) {
  bool any = true;
  beam_error err = {0};
  if (beam_sink_ledger_any(s, &any, &err) != BEAM_OK) fail_msg("ledger_any: %s", err.message);
  return any;
}

static void record(beam_sink *s, const char *key, const char *file, bool replace) {
  beam_error err = {0};
  if (beam_sink_ledger_record(s, key, file, replace, &err) != BEAM_OK) fail_msg("ledger_record: %s", err.message);
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

/* A write that fails (here EFBIG: a file size limit, standing in for a full disk) fails the
 * commit with BEAM_ERR_IO naming the table and the error, and leaves nothing of the bundle: no
 * rows in any of its tables, no ledger entry, no temp file. */
static void write_failure_is_an_error(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "good", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "before", 1);
  char *before = slurp(dir, "t.jsonl");
  struct rlimit old;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  struct rlimit small = old;
  small.rlim_cur = 16384;
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN); /* EFBIG instead of the signal */
  assert_int_equal(beam_sink_begin(s, "b", &err), BEAM_OK);
  record(s, "unit", "in.csv", false);
  write_tagged(s, "good", "x", 1);
  write_tagged(s, "t", "x", 500); /* about 60 KB: past the limit */
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
  beam_status st = beam_sink_commit(s, &err);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, old_handler);
  assert_int_equal(st, BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "t.jsonl"));
  assert_non_null(strstr(err.message, strerror(EFBIG)));
  beam_sink_stats stats;
  beam_sink_get_stats(s, &stats);
  assert_int_equal(stats.bundles_committed, 1);
  assert_int_equal(stats.bundles_aborted, 1);
  assert_false(find(s, "unit").found);
  char *text = slurp(dir, "good.jsonl");
  assert_string_equal(text, "");
  free(text);
  text = slurp(dir, "t.jsonl");
  assert_string_equal(text, before);
  free(text);
  assert_int_equal(count_temp_files(dir), 0);
  text = slurp(dir, ".bundles.jsonl");
  assert_null(strstr(text, "\"b\""));
  free(text);
  /* The retry, with room, commits. */
  commit_rows(s, "t", "b", 2);
  text = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(text), 3);
  free(text);
  free(before);
  beam_sink_free(s);
}

/* Commits replace a table file by rename: a symlink (or device) there is refused, not
 * silently replaced. */
static void symlinked_table_file_is_refused(void **state) {
  const char *dir = *state;
  char path[700];
  snprintf(path, sizeof path, "%s/t.jsonl", dir);
  assert_int_equal(symlink("/dev/null", path), 0);
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "t.jsonl is not a regular file"));
  beam_sink_free(s);
}

/* After every commit a table file holds exactly the committed rows, in commit order, keeps its
 * mode, and no temp file remains. */
static void each_commit_leaves_exactly_the_committed_rows(void **state) {
  const char *dir = *state;
  beam_sink_options opts = {0};
  opts.spill_bytes = 700;
  beam_sink *s = open_sink(dir, &opts);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "a", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(s, "b", &sink_test_schema, &err), BEAM_OK);
  beam_buf want_a = BEAM_BUF_INIT, want_b = BEAM_BUF_INIT;
  for (int k = 0; k < 6; k++) {
    char bundle[16], tag[16];
    snprintf(bundle, sizeof bundle, "bundle-%d", k);
    snprintf(tag, sizeof tag, "row-%d", k);
    char *line = tagged_line(tag);
    assert_int_equal(beam_sink_begin(s, bundle, &err), BEAM_OK);
    write_tagged(s, "a", tag, (size_t)k * 3 + 1); /* spills from the third bundle on */
    for (int i = 0; i < k * 3 + 1; i++) beam_buf_append_str(&want_a, line);
    if (k % 2) {
      write_tagged(s, "b", tag, 1);
      beam_buf_append_str(&want_b, line);
    }
    free(line);
    if (k == 3) { /* a mode set by the user survives the replacement */
      char path[700];
      snprintf(path, sizeof path, "%s/a.jsonl", dir);
      assert_int_equal(chmod(path, 0640), 0);
    }
    assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
    beam_buf_terminate(&want_a);
    beam_buf_terminate(&want_b);
    char *text = slurp(dir, "a.jsonl");
    assert_string_equal(text, (const char *)want_a.data);
    free(text);
    text = slurp(dir, "b.jsonl");
    assert_string_equal(text, want_b.data ? (const char *)want_b.data : "");
    free(text);
    assert_int_equal(count_temp_files(dir), 0);
  }
  struct stat sb;
  char path[700];
  snprintf(path, sizeof path, "%s/a.jsonl", dir);
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0640);
  beam_buf_free(&want_a);
  beam_buf_free(&want_b);
  beam_sink_free(s);
}

/* A unit rollback drops the rows written since unit_begin, in memory and past a spill alike,
 * and keeps the bundle's earlier rows; a table first written after the mark is emptied. */
static void unit_rollback_keeps_earlier_rows(void **state) {
  const char *dir = *state;
  beam_sink_options opts = {0};
  opts.spill_bytes = 512;
  beam_sink *s = open_sink(dir, &opts);
  beam_error err = {0};
  assert_true(beam_sink_has_savepoints(s));
  assert_int_equal(beam_sink_ensure_table(s, "a", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(s, "b", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "units", &err), BEAM_OK);
  /* Unit 1 fits in memory; unit 2 spills and is rolled back to a mark inside memory. */
  assert_int_equal(beam_sink_unit_begin(s, &err), BEAM_OK);
  write_tagged(s, "a", "keep1", 2);
  assert_int_equal(beam_sink_unit_begin(s, &err), BEAM_OK);
  write_tagged(s, "a", "drop2", 40);
  write_tagged(s, "b", "drop2", 3);
  assert_int_equal(beam_sink_unit_rollback(s, &err), BEAM_OK);
  /* Unit 3 spills; unit 4 starts past the spill, spills again, and is rolled back into the
   * spill file's middle. */
  assert_int_equal(beam_sink_unit_begin(s, &err), BEAM_OK);
  write_tagged(s, "a", "keep3", 30);
  assert_int_equal(beam_sink_unit_begin(s, &err), BEAM_OK);
  write_tagged(s, "a", "drop4", 1);
  write_tagged(s, "a", "drop4", 40);
  assert_int_equal(beam_sink_unit_rollback(s, &err), BEAM_OK);
  assert_int_equal(beam_sink_unit_rollback(s, &err), BEAM_OK); /* twice: still the same mark */
  write_tagged(s, "a", "keep5", 1);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  beam_sink_stats stats;
  beam_sink_get_stats(s, &stats);
  assert_int_equal(stats.rows_written, 33);
  beam_sink_free(s);

  char *text = slurp(dir, "a.jsonl");
  beam_buf want = BEAM_BUF_INIT;
  const struct { const char *tag; int n; } runs[] = {{"keep1", 2}, {"keep3", 30}, {"keep5", 1}};
  for (size_t r = 0; r < 3; r++) {
    char *line = tagged_line(runs[r].tag);
    for (int i = 0; i < runs[r].n; i++) beam_buf_append_str(&want, line);
    free(line);
  }
  beam_buf_terminate(&want);
  assert_string_equal(text, (const char *)want.data);
  beam_buf_free(&want);
  free(text);
  text = slurp(dir, "b.jsonl");
  assert_string_equal(text, "");
  free(text);
}

static void assert_iso_millis(const char *at) {
  /* 2026-12-07T01:40:00.123Z */
  assert_int_equal(strlen(at), 24);
  assert_true(at[4] == '-' && at[7] == '-' && at[10] == 'T' && at[13] == ':' && at[16] == ':' &&
              at[19] == '.' && at[23] == 'Z');
}

/* Entries recorded in a bundle are found inside it at once, by other sinks only once it
 * commits, and never when it aborts or its unit is rolled back. */
static void ledger_record_find_any(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL);
  beam_sink *other = open_sink(dir, NULL); /* another worker on the same directory */
  beam_error err = {0};
  assert_true(beam_sink_keeps_ledger(s));
  assert_false(any_entry(s));
  assert_false(find(s, "k1").found);
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);

  assert_int_equal(beam_sink_begin(s, "aborted", &err), BEAM_OK);
  record(s, "k0", "zero.csv", false);
  assert_true(find(s, "k0").found);
  assert_true(any_entry(s));
  beam_sink_abort(s);
  assert_false(find(s, "k0").found);
  assert_false(any_entry(s));

  assert_int_equal(beam_sink_begin(s, "b1", &err), BEAM_OK);
  write_tagged(s, "t", "x", 2);
  record(s, "k1", "/landing/one.csv", false);
  assert_int_equal(beam_sink_unit_begin(s, &err), BEAM_OK);
  record(s, "k2", "two.csv", false);
  write_tagged(s, "t", "y", 1);
  assert_true(find(s, "k2").found);
  assert_int_equal(beam_sink_unit_rollback(s, &err), BEAM_OK); /* k2's unit failed */
  assert_false(find(s, "k2").found);
  beam_sink_ledger_hit hit = find(s, "k1");
  assert_true(hit.found);
  assert_string_equal(hit.file, "/landing/one.csv");
  assert_false(find(other, "k1").found); /* not committed yet */
  assert_false(any_entry(other));
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);

  hit = find(other, "k1"); /* learned from the log */
  assert_true(hit.found);
  assert_string_equal(hit.file, "/landing/one.csv");
  assert_iso_millis(hit.committed_at);
  assert_true(any_entry(other));
  assert_false(find(other, "k2").found);
  assert_false(find(other, "k0").found);
  char *text = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(text), 2);
  free(text);
  text = slurp(dir, ".bundles.jsonl");
  assert_non_null(strstr(text, "\"key\":\"k1\""));
  assert_null(strstr(text, "\"k2\""));
  assert_null(strstr(text, "\"k0\""));
  free(text);
  /* A bundle with entries but no rows commits its entries too. */
  assert_int_equal(beam_sink_begin(other, "no rows", &err), BEAM_OK);
  record(other, "k3", "three.csv", false);
  assert_int_equal(beam_sink_commit(other, &err), BEAM_OK);
  assert_true(find(s, "k3").found);
  beam_sink_free(other);
  beam_sink_free(s);
}

/* Many keys at once (sink_test_ranges.h). */
static void ledger_find_many_keys(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL), *other = open_sink(dir, NULL);
  sink_test_ledger_find_many(s, other, "pubsub:jl");
  beam_sink_free(other);
  beam_sink_free(s);
}

/* replace false keeps a committed entry (and an entry pending in the bundle); replace true
 * overwrites it when the bundle commits. */
static void ledger_replace_semantics(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_begin(s, "b1", &err), BEAM_OK);
  record(s, "k", "first.csv", false);
  record(s, "k", "second.csv", false); /* kept: first.csv */
  assert_string_equal(find(s, "k").file, "first.csv");
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  beam_sink_ledger_hit first = find(s, "k");
  assert_string_equal(first.file, "first.csv");

  assert_int_equal(beam_sink_begin(s, "b2", &err), BEAM_OK);
  record(s, "k", "again.csv", false);
  assert_string_equal(find(s, "k").file, "first.csv"); /* the committed entry stands */
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  beam_sink_ledger_hit hit = find(s, "k");
  assert_string_equal(hit.file, "first.csv");
  assert_string_equal(hit.committed_at, first.committed_at);

  struct timespec pause = {0, 3 * 1000 * 1000};
  nanosleep(&pause, NULL); /* a later millisecond */
  assert_int_equal(beam_sink_begin(s, "b3", &err), BEAM_OK);
  record(s, "k", "reload.csv", true);
  assert_string_equal(find(s, "k").file, "reload.csv"); /* the bundle's own view */
  assert_int_equal(beam_sink_unit_begin(s, &err), BEAM_OK);
  record(s, "k", "reload-again.csv", true);
  assert_string_equal(find(s, "k").file, "reload-again.csv");
  assert_int_equal(beam_sink_unit_rollback(s, &err), BEAM_OK); /* back to reload.csv */
  assert_string_equal(find(s, "k").file, "reload.csv");
  beam_sink *other = open_sink(dir, NULL);
  assert_string_equal(find(other, "k").file, "first.csv");
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  hit = find(other, "k");
  assert_string_equal(hit.file, "reload.csv");
  assert_true(strcmp(hit.committed_at, first.committed_at) > 0);
  beam_sink_free(other);
  beam_sink_free(s);
}

static void ledger_survives_reopen(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "b", &err), BEAM_OK);
  write_tagged(s, "t", "x", 1);
  record(s, "key \"quoted\" ünï", "dir/file name.csv", false);
  record(s, "k2", "bad\xff.csv", false); /* not UTF-8: kept with '?' */
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  beam_sink_ledger_hit before = find(s, "key \"quoted\" ünï");
  beam_sink_free(s);
  s = open_sink(dir, NULL);
  assert_true(any_entry(s));
  beam_sink_ledger_hit hit = find(s, "key \"quoted\" ünï");
  assert_true(hit.found);
  assert_string_equal(hit.file, "dir/file name.csv");
  assert_string_equal(hit.committed_at, before.committed_at);
  assert_string_equal(find(s, "k2").file, "bad?.csv");
  assert_false(find(s, "k3").found);
  /* A key that is not UTF-8 cannot be logged: refused, and the bundle must be aborted. */
  assert_int_equal(beam_sink_begin(s, "b2", &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_record(s, "bad\xff", "f", false, &err), BEAM_ERR_INVALID_ARG);
  beam_sink_abort(s);
  beam_sink_free(s);
}

/* A writer killed after its commit point (the "committing" record is durable) but before its
 * renames: opening the directory completes the commit. Temp files no committing record names
 * (a writer killed before its commit point) are deleted and never become visible. */
static void killed_commit_is_rolled_forward(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "ok", 1);
  beam_sink_free(s);
  char *before = slurp(dir, "t.jsonl");
  char *line = tagged_line("rolled forward");
  beam_buf next = BEAM_BUF_INIT;
  beam_buf_append_str(&next, before);
  beam_buf_append_str(&next, line);
  beam_buf_terminate(&next);
  put_file(dir, ".t.jsonl.00000000000000aa.tmp", (const char *)next.data, false);
  put_file(dir, ".bundles.jsonl",
           "{\"bundle\":\"crashed\",\"ledger\":[{\"committed_at\":\"2026-12-07T01:40:00.123Z\",\"file\":\"in.csv\","
           "\"key\":\"kc\"}],\"renames\":{\"t\":\".t.jsonl.00000000000000aa.tmp\"},\"state\":\"committing\"}\n",
           true);
  /* Garbage of writers that died before their commit point, and files that are not ours. */
  put_file(dir, ".t.jsonl.00000000000000bb.tmp", "{\"s\":\"never\"}\n", false);
  put_file(dir, ".u.jsonl.00000000000000cc.tmp", "{\"s\":\"never\"}\n", false);
  put_file(dir, ".t.jsonl.not-ours.tmp", "user file", false);
  put_file(dir, "notes.tmp", "user file", false);
  char *text = slurp(dir, "t.jsonl");
  assert_string_equal(text, before); /* the dead writer's rows are not visible yet */
  free(text);

  s = open_sink(dir, NULL);
  text = slurp(dir, "t.jsonl");
  assert_string_equal(text, (const char *)next.data);
  free(text);
  assert_false(file_exists(dir, ".t.jsonl.00000000000000aa.tmp"));
  assert_false(file_exists(dir, ".t.jsonl.00000000000000bb.tmp"));
  assert_false(file_exists(dir, ".u.jsonl.00000000000000cc.tmp"));
  assert_false(file_exists(dir, "u.jsonl"));
  assert_true(file_exists(dir, ".t.jsonl.not-ours.tmp"));
  assert_true(file_exists(dir, "notes.tmp"));
  text = slurp(dir, ".bundles.jsonl");
  assert_non_null(strstr(text, "{\"bundle\":\"crashed\",\"state\":\"committed\"}"));
  free(text);
  beam_sink_ledger_hit hit = find(s, "kc");
  assert_true(hit.found);
  assert_string_equal(hit.committed_at, "2026-12-07T01:40:00.123Z");
  assert_string_equal(hit.file, "in.csv");
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "crashed", 1); /* its retry */
  assert_true(beam_sink_last_bundle_was_duplicate(s));

  /* A writer killed after some renames: the moved ones are not renamed again. And a running
   * sink that meets the open commit counts it as committed, then completes it first. */
  put_file(dir, ".bundles.jsonl",
           "{\"bundle\":\"crashed2\",\"renames\":{\"t\":\".t.jsonl.00000000000000dd.tmp\"},"
           "\"state\":\"committing\",\"ledger\":[{\"key\":\"kd\",\"file\":\"d.csv\",\"committed_at\":\"x\"}]}\n",
           true);
  assert_true(find(s, "kd").found);
  commit_rows(s, "t", "crashed2", 1);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  commit_rows(s, "t", "after", 1);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  text = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(text), 3);
  assert_memory_equal(text, next.data, next.len);
  free(text);
  text = slurp(dir, ".bundles.jsonl");
  assert_non_null(strstr(text, "{\"bundle\":\"crashed2\",\"state\":\"committed\"}"));
  free(text);
  assert_true(find(s, "kd").found);
  beam_sink_free(s);
  beam_buf_free(&next);
  free(line);
  free(before);
}

/* This release's commit record names each table's side file and the offset it goes to. A
 * writer killed mid-append left a torn tail: opening the directory writes the side file at
 * its offset again, cuts what lies past it and deletes the side file. One killed after its
 * append and the side file's deletion but before "committed" changes nothing when completed.
 * Bytes past a table's committed length (no record made them) are cut at the next commit.
 * Commits append in place: the table file stays the same file. */
static void killed_append_is_completed(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "ok", 1);
  beam_sink_free(s);
  char path[700];
  snprintf(path, sizeof path, "%s/t.jsonl", dir);
  struct stat first;
  assert_int_equal(stat(path, &first), 0);
  char *before = slurp(dir, "t.jsonl");
  char *line = tagged_line("appended"), *line2 = tagged_line("appended again");
  put_file(dir, ".t.jsonl.00000000000000aa.tmp", line, false);
  put_file(dir, "t.jsonl", "{\"torn\": \"a longer tail than the bundle's rows, of no bundle at all ...........\"}",
           true);
  char rec[1024];
  snprintf(rec, sizeof rec,
           "{\"appends\":{\"t\":{\"at\":%zu,\"from\":\".t.jsonl.00000000000000aa.tmp\",\"len\":%zu}},"
           "\"bundle\":\"crashed\",\"ledger\":[{\"committed_at\":\"2026-12-07T01:40:00.123Z\",\"file\":\"in.csv\","
           "\"key\":\"kc\"}],\"state\":\"committing\"}\n",
           strlen(before), strlen(line));
  put_file(dir, ".bundles.jsonl", rec, true);

  s = open_sink(dir, NULL);
  char *text = slurp(dir, "t.jsonl");
  assert_int_equal(strlen(text), strlen(before) + strlen(line));
  assert_memory_equal(text, before, strlen(before));
  assert_string_equal(text + strlen(before), line);
  free(text);
  assert_false(file_exists(dir, ".t.jsonl.00000000000000aa.tmp"));
  text = slurp(dir, ".bundles.jsonl");
  assert_non_null(strstr(text, "{\"bundle\":\"crashed\",\"state\":\"committed\"}"));
  free(text);
  beam_sink_ledger_hit hit = find(s, "kc");
  assert_true(hit.found);
  assert_string_equal(hit.committed_at, "2026-12-07T01:40:00.123Z");
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "crashed", 1); /* its retry */
  assert_true(beam_sink_last_bundle_was_duplicate(s));

  /* Appended and its side file deleted, "committed" lost: a running sink completes it at its
   * next commit, finding nothing to do. */
  size_t at = strlen(before) + strlen(line);
  put_file(dir, "t.jsonl", line2, true);
  snprintf(rec, sizeof rec,
           "{\"appends\":{\"t\":{\"at\":%zu,\"from\":\".t.jsonl.00000000000000bb.tmp\",\"len\":%zu}},"
           "\"bundle\":\"crashed2\",\"state\":\"committing\"}\n",
           at, strlen(line2));
  put_file(dir, ".bundles.jsonl", rec, true);
  commit_rows(s, "t", "after", 1);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  text = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(text), 4);
  assert_memory_equal(text + at, line2, strlen(line2));
  free(text);

  /* A foreign tail (no record made it) is cut before the next commit appends. */
  put_file(dir, "t.jsonl", "{\"foreign\": 1", true);
  commit_rows(s, "t", "after2", 1);
  text = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(text), 5);
  assert_null(strstr(text, "foreign"));
  free(text);
  struct stat last;
  assert_int_equal(stat(path, &last), 0);
  assert_true(last.st_ino == first.st_ino);
  beam_sink_free(s);

  /* The committed lengths are read back from the log: a new sink cuts a foreign tail too. */
  put_file(dir, "t.jsonl", "{\"foreign\": 2", true);
  s = open_sink(dir, NULL);
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "after3", 1);
  beam_sink_free(s);
  text = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(text), 6);
  assert_null(strstr(text, "foreign"));
  free(text);
  assert_int_equal(count_temp_files(dir), 0);
  free(line);
  free(line2);
  free(before);
}

/* A side file a live writer holds (flocked, its commit in the making before it takes the
 * log's lock) survives another writer's sweep; once released, it is swept as garbage. */
static void sweep_spares_a_live_writers_side_file(void **state) {
  const char *dir = *state;
  put_file(dir, ".t.jsonl.00000000000000ee.tmp", "{\"s\":\"in the making\"}\n", false);
  char path[700];
  snprintf(path, sizeof path, "%s/.t.jsonl.00000000000000ee.tmp", dir);
  int fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(flock(fd, LOCK_EX), 0);
  beam_sink *s = open_sink(dir, NULL);
  beam_sink_free(s);
  assert_true(file_exists(dir, ".t.jsonl.00000000000000ee.tmp"));
  close(fd);
  s = open_sink(dir, NULL);
  beam_sink_free(s);
  assert_false(file_exists(dir, ".t.jsonl.00000000000000ee.tmp"));
}

/* A directory the previous release wrote (in-place appends logged as pending/committed) opens,
 * knows its bundles, and takes new ones. (crashed_commit_is_rolled_back covers its crash.) */
static void previous_release_directory_still_works(void **state) {
  const char *dir = *state;
  char *line = tagged_line("old");
  beam_buf old = BEAM_BUF_INIT;
  beam_buf_append_str(&old, line);
  beam_buf_append_str(&old, line);
  beam_buf_terminate(&old);
  put_file(dir, "t.jsonl", (const char *)old.data, false);
  char log[512];
  snprintf(log, sizeof log,
           "{\"bundle\":\"old1\",\"files\":{\"t\":0},\"state\":\"pending\"}\n"
           "{\"bundle\":\"old1\",\"state\":\"committed\"}\n"
           "{\"bundle\":\"old2\",\"files\":{\"t\":%zu},\"state\":\"pending\"}\n"
           "{\"bundle\":\"old2\",\"state\":\"committed\"}\n",
           strlen(line));
  put_file(dir, ".bundles.jsonl", log, false);
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_false(any_entry(s));
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "old2", 1);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  commit_rows(s, "t", "new", 1);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  beam_sink_free(s);
  char *text = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(text), 3);
  assert_memory_equal(text, old.data, old.len);
  free(text);
  text = slurp(dir, ".bundles.jsonl");
  assert_int_equal(strncmp(text, log, strlen(log)), 0); /* the old lines stay as they were */
  assert_null(strstr(text, "rolled_back"));
  free(text);
  beam_buf_free(&old);
  free(line);
}

/* A reader never sees rows of a bundle that does not commit, even while a writer is killed
 * (SIGKILL) at an arbitrary point of its commits: what it reads is always a prefix of the
 * table after recovery (rows name their bundle, so a bundle's rows that later vanished or
 * changed would show). It may see the tail of a committed bundle mid-append. */
enum { KILL_BUNDLE_ROWS = 25 };

static void kill_writer_child(const char *dir) {
  beam_sink_options opts = {0};
  opts.spill_bytes = 1024;
  opts.no_sync = true; /* faster commits: more of them to interrupt */
  beam_sink *s = NULL;
  beam_error err = {0};
  if (beam_sink_jsonl_open(dir, &opts, &s, &err) != BEAM_OK) _exit(2);
  if (beam_sink_ensure_table(s, "t", &sink_test_schema, &err) != BEAM_OK) _exit(2);
  beam_value v[8];
  for (unsigned k = 0;; k++) {
    char id[32], text[96];
    snprintf(id, sizeof id, "b%u", k);
    snprintf(text, sizeof text, "bundle %u: a row long enough to make the table grow quickly ......", k);
    sink_test_full_values(v, text, 1);
    beam_etl_row row = sink_test_row(v);
    if (beam_sink_begin(s, id, &err) != BEAM_OK) _exit(3);
    for (int i = 0; i < KILL_BUNDLE_ROWS; i++)
      if (beam_sink_write_rows(s, "t", &row, 1, NULL, &err) != BEAM_OK) _exit(3);
    if (beam_sink_commit(s, &err) != BEAM_OK) _exit(4);
  }
}

/* True when text is whole bundles: complete lines, a multiple of the bundle's rows. */
static bool whole_bundles(const char *text) {
  size_t len = strlen(text);
  return (len == 0 || text[len - 1] == '\n') && count_lines(text) % KILL_BUNDLE_ROWS == 0;
}

static void readers_never_see_part_of_a_bundle(void **state) {
  const char *dir = *state;
  put_file(dir, "t.jsonl", "", false);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) kill_writer_child(dir);
  /* Read for 0.3 s (by time: the table grows fast, and slower builds read it slower), and
   * until a commit is visible (at most 20 s). */
  struct timespec pause = {0, 1000 * 1000}, start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  char *seen_before = strdup("");
  for (bool seen = false;;) {
    char *text = slurp(dir, "t.jsonl");
    if (strncmp(text, seen_before, strlen(seen_before)) != 0) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      fail_msg("a reader saw rows that later changed: %zu lines, then %zu", count_lines(seen_before),
               count_lines(text));
    }
    seen = seen || text[0];
    free(seen_before);
    seen_before = text;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double elapsed = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
    if ((seen && elapsed > 0.3) || elapsed > 20) break;
    nanosleep(&pause, NULL);
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  assert_true(WIFSIGNALED(status)); /* the writer was still committing, not failed */
  char *text = slurp(dir, "t.jsonl");
  assert_int_equal(strncmp(text, seen_before, strlen(seen_before)), 0);
  free(seen_before);
  seen_before = text;
  size_t lines_at_kill = count_lines(text) / KILL_BUNDLE_ROWS * KILL_BUNDLE_ROWS; /* a torn tail aside */
  assert_true(lines_at_kill > 0);
  /* Reopening completes a commit past its commit point; every committed bundle is there once. */
  beam_sink *s = open_sink(dir, NULL);
  assert_int_equal(count_temp_files(dir), 0);
  beam_sink_free(s);
  text = slurp(dir, "t.jsonl");
  char *log = slurp(dir, ".bundles.jsonl");
  assert_true(whole_bundles(text));
  assert_int_equal(count_lines(text), count_of(log, "\"state\":\"committed\"") * KILL_BUNDLE_ROWS);
  assert_true(count_lines(text) >= lines_at_kill);
  /* Recovery completed the tail it saw: nothing read before the kill changed. */
  assert_int_equal(strncmp(text, seen_before, strlen(seen_before)), 0);
  free(seen_before);
  free(log);
  free(text);
}

/* A writer killed at any instant while its commits compact the log (past 4 KiB, so every few
 * commits): the next open finds a whole log, old or new, and every committed bundle once. */
static void killed_compaction_leaves_every_commit_once(void **state) {
  const char *dir = *state;
  setenv("BEAM_JSONL_LOG_COMPACT_BYTES", "4096", 1);
  for (int round = 0; round < 3; round++) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) kill_writer_child(dir);
    struct timespec pause = {0, (100 + 70 * round) * 1000 * 1000};
    nanosleep(&pause, NULL);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    beam_sink *s = open_sink(dir, NULL);
    assert_false(file_exists(dir, ".bundles.jsonl.compacting"));
    char *text = slurp(dir, "t.jsonl");
    assert_true(whole_bundles(text));
    size_t bundles = count_lines(text) / KILL_BUNDLE_ROWS;
    free(text);
    assert_true(bundles > 0);
    beam_error err = {0};
    assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
    /* The log knows exactly the bundles whose rows are there (each child starts at b0 again). */
    char id[32];
    snprintf(id, sizeof id, "b%zu", bundles - 1);
    commit_rows(s, "t", id, 1);
    assert_true(beam_sink_last_bundle_was_duplicate(s));
    snprintf(id, sizeof id, "b%zu", bundles);
    commit_rows(s, "t", id, KILL_BUNDLE_ROWS);
    assert_false(beam_sink_last_bundle_was_duplicate(s));
    beam_sink_free(s);
  }
  unsetenv("BEAM_JSONL_LOG_COMPACT_BYTES");
  char *log = slurp(dir, ".bundles.jsonl");
  assert_non_null(strstr(log, "\"state\":\"snapshot\""));
  free(log);
}

/* A file's committed byte ranges, whatever the boundaries (sink_test_ranges.h): the log's
 * entries, another instance's once committed. */
static void ledger_ranges_of_a_file(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL), *other = open_sink(dir, NULL);
  sink_test_ledger_ranges(s, other, "sha256:ab_c");
  beam_sink_free(other);
  beam_sink_free(s);
  /* A fresh instance reads them from the log. */
  s = open_sink(dir, NULL);
  sink_test_expect_ranges(s, "sha256:ab_c", "[0,max)");
  sink_test_expect_ranges(s, "sha256:ab_cX", "[0,1000)");
  beam_sink_free(s);
}

/* One bundle of units: unit i records keys[i] after rows tags[i] x n[i] in table t (and one
 * in u when in_u[i]). */
static void commit_units(beam_sink *s, const char *bundle, const char *const *keys, const char *const *tags,
                         const size_t *n, const bool *in_u, size_t units) {
  beam_error err = {0};
  assert_int_equal(beam_sink_begin(s, bundle, &err), BEAM_OK);
  for (size_t i = 0; i < units; i++) {
    assert_int_equal(beam_sink_unit_begin(s, &err), BEAM_OK);
    write_tagged(s, "t", tags[i], n[i]);
    if (in_u[i]) write_tagged(s, "u", tags[i], 1);
    record(s, keys[i], "in.csv", false);
  }
  if (beam_sink_commit(s, &err) != BEAM_OK) fail_msg("commit: %s", err.message);
}

static void retract_file(beam_sink *s, const char *bundle, const char *file_id) {
  beam_error err = {0};
  assert_int_equal(beam_sink_begin(s, bundle, &err), BEAM_OK);
  assert_int_equal(beam_sink_retract_units(s, file_id, &err), BEAM_OK);
  if (beam_sink_commit(s, &err) != BEAM_OK) fail_msg("retracting commit: %s", err.message);
}

static int64_t retracted_from(beam_sink *s, const char *table) {
  const beam_sink_table_rows *rows = NULL;
  size_t n = beam_sink_retracted_rows(s, &rows);
  for (size_t i = 0; i < n; i++)
    if (strcmp(rows[i].table, table) == 0) return rows[i].rows;
  return 0;
}

/* t.jsonl holds exactly the lines of tags[i] x n[i], in that order. */
static void assert_table(const char *dir, const char *const *tags, const size_t *n, size_t k) {
  beam_buf want = BEAM_BUF_INIT;
  for (size_t i = 0; i < k; i++)
    for (size_t r = 0; r < n[i]; r++) {
      char *line = tagged_line(tags[i]);
      beam_buf_append_str(&want, line);
      free(line);
    }
  beam_buf_terminate(&want);
  char *text = slurp(dir, "t.jsonl");
  assert_string_equal(text, want.data ? (const char *)want.data : "");
  free(text);
  beam_buf_free(&want);
}

/* A failed split file's committed ranges leave the table files themselves (jsonl_retract.h):
 * the retracting commit writes each table again without their spans, renames it into place,
 * and drops their entries; the other units' spans move down, also as a reopened sink replays
 * the log, so a second retraction cuts exactly its rows. A retraction whose writer died
 * after its commit point is completed by the next open. */
static void retract_a_files_ranges(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_true(beam_sink_can_retract(s));
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(s, "u", &sink_test_schema, &err), BEAM_OK);
  const char *k1[] = {"F@0-10", "G@0-10"}, *t1[] = {"f1", "g1"};
  size_t n1[] = {3, 2};
  bool u1[] = {true, false};
  commit_units(s, "b1", k1, t1, n1, u1, 2);
  const char *k2[] = {"G@10-20", "F@10-20", "H"}, *t2[] = {"g2", "f2", "h"};
  size_t n2[] = {4, 2, 1};
  bool u2[] = {false, false, false};
  commit_units(s, "b2", k2, t2, n2, u2, 3);
  retract_file(s, "rF", "F");
  assert_int_equal(retracted_from(s, "t"), 5);
  assert_int_equal(retracted_from(s, "u"), 1);
  const char *left[] = {"g1", "g2", "h"};
  size_t left_n[] = {2, 4, 1};
  assert_table(dir, left, left_n, 3);
  char *text = slurp(dir, "u.jsonl");
  assert_string_equal(text, "");
  free(text);
  assert_false(find(s, "F@0-10").found);
  assert_false(find(s, "F@10-20").found);
  assert_true(find(s, "G@10-20").found);
  assert_true(find(s, "H").found);
  assert_int_equal(count_temp_files(dir), 0);
  retract_file(s, "rF2", "F"); /* nothing left of it: nothing happens */
  assert_int_equal(retracted_from(s, "t"), 0);
  beam_sink_free(s);

  s = open_sink(dir, NULL); /* the log replayed: G's spans moved down with F's cuts */
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  retract_file(s, "rG", "G");
  assert_int_equal(retracted_from(s, "t"), 6);
  assert_table(dir, left + 2, left_n + 2, 1);
  const char *k3[] = {"J@0-5"}, *t3[] = {"j"};
  size_t n3[] = {2};
  bool u3[] = {false};
  commit_units(s, "b3", k3, t3, n3, u3, 1); /* after the cuts: at the new length */
  beam_sink_free(s);

  /* A retraction of J whose writer died after its commit point: the next open renames its
   * next version into place and drops J's entry. */
  char *line = tagged_line("h");
  put_file(dir, ".t.jsonl.00000000000000ee.tmp", line, false);
  char rec[600];
  text = slurp(dir, "t.jsonl");
  snprintf(rec, sizeof rec,
           "{\"bundle\":\"rJ\",\"state\":\"committing\",\"retracts\":[\"J@0-5\"],\"rewrites\":{\"t\":{\"from\":"
           "\".t.jsonl.00000000000000ee.tmp\",\"len\":%zu,\"cuts\":[[%zu,%zu]]}}}\n",
           strlen(line), strlen(line), strlen(text));
  free(text);
  put_file(dir, ".bundles.jsonl", rec, true);
  s = open_sink(dir, NULL);
  assert_table(dir, left + 2, left_n + 2, 1);
  assert_false(find(s, "J@0-5").found);
  assert_false(file_exists(dir, ".t.jsonl.00000000000000ee.tmp"));
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "after", 1); /* appends at the rewritten table's length */
  text = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(text), 2);
  free(text);
  free(line);
  beam_sink_free(s);
}

/* A stream's sink (stream_ledger) leaves out of its ledger the message units committed more
 * than message_ledger_days ago (the log keeps them); a file's units and newer messages stay. */
static void old_message_units_expire(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "b1", &err), BEAM_OK);
  write_tagged(s, "t", "x", 1);
  record(s, "pubsub:s@1#old", "sub", false);
  record(s, "file-old", "in.csv", false);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  beam_sink_free(s);
  /* Those two were committed in 1926. */
  char *log = slurp(dir, ".bundles.jsonl");
  for (char *at = log; (at = strstr(at, "\"committed_at\":\"20")) != NULL; at += 16) at[16] = '1', at[17] = '9';
  put_file(dir, ".bundles.jsonl", log, false);
  free(log);
  s = open_sink(dir, NULL);
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "b2", &err), BEAM_OK);
  write_tagged(s, "t", "y", 1);
  record(s, "pubsub:s@2#new", "sub", false);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_true(find(s, "pubsub:s@1#old").found); /* not a stream's sink: kept */
  beam_sink_free(s);
  beam_sink_options o = {.stream_ledger = true, .message_ledger_days = 7};
  s = open_sink(dir, &o);
  assert_false(find(s, "pubsub:s@1#old").found);
  assert_true(find(s, "file-old").found);
  assert_true(find(s, "pubsub:s@2#new").found);
  beam_sink_free(s);
}

/* A stream's compaction leaves out of the new log the message units and the stream bundles
 * committed more than message_ledger_days ago, and keeps everything else: a file's units and
 * bundles, newer messages, the tables' committed lengths. */
static void compaction_forgets_old_message_units(void **state) {
  const char *dir = *state;
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "file-bundle", &err), BEAM_OK);
  write_tagged(s, "t", "x", 1);
  record(s, "file-old", "in.csv", false);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "stream-bundle-old", &err), BEAM_OK);
  write_tagged(s, "t", "y", 2);
  record(s, "pubsub:s@1#old", "sub", false);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  beam_sink_free(s);
  char *log = slurp(dir, ".bundles.jsonl"); /* committed in 1926 */
  for (char *at = log; (at = strstr(at, "\"committed_at\":\"20")) != NULL; at += 16) at[16] = '1', at[17] = '9';
  put_file(dir, ".bundles.jsonl", log, false);
  free(log);
  setenv("BEAM_JSONL_LOG_COMPACT_BYTES", "1", 1);
  beam_sink_options o = {.stream_ledger = true, .message_ledger_days = 7};
  s = open_sink(dir, &o);
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "stream-bundle-new", &err), BEAM_OK);
  write_tagged(s, "t", "z", 1);
  record(s, "pubsub:s@2#new", "sub", false);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  unsetenv("BEAM_JSONL_LOG_COMPACT_BYTES");
  assert_false(find(s, "pubsub:s@1#old").found);
  assert_true(find(s, "pubsub:s@2#new").found);
  assert_true(find(s, "file-old").found);
  beam_sink_free(s);
  log = slurp(dir, ".bundles.jsonl");
  const char *snapshot_head = "{\"bundle\":\"\",\"lengths\":{\"t\":"; /* the lengths first */
  assert_int_equal(strncmp(log, snapshot_head, strlen(snapshot_head)), 0);
  assert_null(strstr(log, "s@1#old"));
  assert_null(strstr(log, "stream-bundle-old"));
  assert_non_null(strstr(log, "s@2#new"));
  assert_non_null(strstr(log, "\"file-bundle\""));
  assert_non_null(strstr(log, "\"stream-bundle-new\""));
  free(log);
  assert_false(file_exists(dir, ".bundles.jsonl.compacting"));
  /* A plain writer of the compacted log: the kept bundles are known, the rows stay. */
  s = open_sink(dir, NULL);
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "file-bundle", 1);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  commit_rows(s, "t", "stream-bundle-new", 1);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  commit_rows(s, "t", "after", 1);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  beam_sink_free(s);
  char *text = slurp(dir, "t.jsonl");
  assert_int_equal(count_lines(text), 5); /* x, y y, z, and the row of "after" */
  free(text);
}

/* A bundle log that is a symlink (to keep it elsewhere) is followed, as open follows it, and
 * never compacted: a rename would replace the link, not the file it names. */
static void symlinked_log_is_followed(void **state) {
  const char *dir = *state;
  char target[700], link_path[700];
  snprintf(target, sizeof target, "%s/real-log", dir);
  snprintf(link_path, sizeof link_path, "%s/.bundles.jsonl", dir);
  FILE *fp = fopen(target, "w");
  assert_non_null(fp);
  fclose(fp);
  assert_int_equal(symlink("real-log", link_path), 0);
  setenv("BEAM_JSONL_LOG_COMPACT_BYTES", "1", 1);
  beam_sink *s = open_sink(dir, NULL);
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "t", &sink_test_schema, &err), BEAM_OK);
  commit_rows(s, "t", "b1", 1);
  commit_rows(s, "t", "b2", 1);
  unsetenv("BEAM_JSONL_LOG_COMPACT_BYTES");
  beam_sink_free(s);
  struct stat sb;
  assert_int_equal(lstat(link_path, &sb), 0);
  assert_true(S_ISLNK(sb.st_mode));
  s = open_sink(dir, NULL);
  commit_rows(s, "t", "b1", 1);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  beam_sink_free(s);
  char *text = slurp(dir, "real-log");
  assert_non_null(strstr(text, "\"bundle\":\"b2\""));
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(typed_json_per_row, setup, teardown),
      cmocka_unit_test(doubles_are_shortest_round_trip),
      cmocka_unit_test_setup_teardown(abort_leaves_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(ledger_find_many_keys, setup, teardown),
      cmocka_unit_test_setup_teardown(old_message_units_expire, setup, teardown),
      cmocka_unit_test_setup_teardown(compaction_forgets_old_message_units, setup, teardown),
      cmocka_unit_test_setup_teardown(symlinked_log_is_followed, setup, teardown),
      cmocka_unit_test_setup_teardown(same_bundle_twice_writes_once, setup, teardown),
      cmocka_unit_test_setup_teardown(crashed_commit_is_rolled_back, setup, teardown),
      cmocka_unit_test_setup_teardown(many_rows_spill_and_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(rejected_rows_and_names, setup, teardown),
      cmocka_unit_test_setup_teardown(new_fields_append_to_an_existing_file, setup, teardown),
      cmocka_unit_test_setup_teardown(unwritable_directory_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_parents_are_created, setup, teardown),
      cmocka_unit_test_setup_teardown(write_failure_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(symlinked_table_file_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(each_commit_leaves_exactly_the_committed_rows, setup, teardown),
      cmocka_unit_test_setup_teardown(unit_rollback_keeps_earlier_rows, setup, teardown),
      cmocka_unit_test_setup_teardown(ledger_record_find_any, setup, teardown),
      cmocka_unit_test_setup_teardown(ledger_replace_semantics, setup, teardown),
      cmocka_unit_test_setup_teardown(ledger_survives_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(killed_commit_is_rolled_forward, setup, teardown),
      cmocka_unit_test_setup_teardown(previous_release_directory_still_works, setup, teardown),
      cmocka_unit_test_setup_teardown(killed_append_is_completed, setup, teardown),
      cmocka_unit_test_setup_teardown(sweep_spares_a_live_writers_side_file, setup, teardown),
      cmocka_unit_test_setup_teardown(readers_never_see_part_of_a_bundle, setup, teardown),
      cmocka_unit_test_setup_teardown(killed_compaction_leaves_every_commit_once, setup, teardown),
      cmocka_unit_test_setup_teardown(ledger_ranges_of_a_file, setup, teardown),
      cmocka_unit_test_setup_teardown(retract_a_files_ranges, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
