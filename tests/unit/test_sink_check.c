/* beam_sink_check_uri: bad destinations are refused before anything is created, with the
 * path and the system error; good ones pass without leaving anything behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "local_dir.h"
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

static void expect_ok(const char *uri) {
  beam_error err = {0};
  if (beam_sink_check_uri(uri, &err) != BEAM_OK) fail_msg("%s: %s", uri, err.message);
}

static void expect_refused(const char *uri, beam_status want, const char *text) {
  beam_error err = {0};
  assert_int_equal(beam_sink_check_uri(uri, &err), want);
  if (!strstr(err.message, text)) fail_msg("%s: got [%s], want [%s] in it", uri, err.message, text);
}

static bool exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static void local_paths(void **state) {
  const char *dir = *state;
  char uri[800], want[2400], path[700];
  /* Good: a new database in an existing directory, a new directory tree, an existing one. */
  snprintf(uri, sizeof uri, "sqlite:%s/new.db", dir);
  expect_ok(uri);
  snprintf(uri, sizeof uri, "jsonl:%s/a/b/c", dir);
  expect_ok(uri);
  snprintf(uri, sizeof uri, "file:%s", dir);
  expect_ok(uri);
  expect_ok("sqlite::memory:");
  snprintf(path, sizeof path, "%s/new.db", dir);
  assert_false(exists(path));
  snprintf(path, sizeof path, "%s/a", dir);
  assert_false(exists(path));
  /* A missing directory for sqlite (which does not create one). */
  snprintf(uri, sizeof uri, "sqlite:%s/no/x.db", dir);
  snprintf(want, sizeof want, "%s: directory %s/no: No such file or directory", uri, dir);
  expect_refused(uri, BEAM_ERR_INVALID_ARG, want);
  /* A file where a directory is needed, named as the culprit. */
  snprintf(path, sizeof path, "%s/plain", dir);
  write_file(path, "text");
  snprintf(uri, sizeof uri, "jsonl:%s/plain/sub/out", dir);
  snprintf(want, sizeof want, "cannot create directory %s/plain/sub/out: %s/plain: Not a directory", dir, dir);
  expect_refused(uri, BEAM_ERR_INVALID_ARG, want);
  snprintf(uri, sizeof uri, "file:%s/plain", dir);
  snprintf(want, sizeof want, "%s/plain: Not a directory", dir);
  expect_refused(uri, BEAM_ERR_INVALID_ARG, want);
  snprintf(uri, sizeof uri, "sqlite:%s/plain/x.db", dir);
  snprintf(want, sizeof want, "directory %s/plain: Not a directory", dir);
  expect_refused(uri, BEAM_ERR_INVALID_ARG, want);
  /* An existing file that is not a database, and a directory where the file should be. */
  snprintf(uri, sizeof uri, "sqlite:%s/plain", dir);
  expect_refused(uri, BEAM_ERR_INVALID_ARG, "not a SQLite database");
  snprintf(uri, sizeof uri, "sqlite:%s", dir);
  expect_refused(uri, BEAM_ERR_INVALID_ARG, "Is a directory");
  /* An empty file is a database SQLite initializes. */
  snprintf(path, sizeof path, "%s/empty.db", dir);
  write_file(path, "");
  snprintf(uri, sizeof uri, "sqlite:%s", path);
  expect_ok(uri);
}

static void schemes_and_syntax(void **state) {
  (void)state;
  expect_refused("mysql:x", BEAM_ERR_NOT_FOUND, "unknown sink scheme \"mysql\"");
  expect_refused("nocolon", BEAM_ERR_INVALID_ARG, "has no scheme");
  expect_refused("sqlite:", BEAM_ERR_INVALID_ARG, "names no location");
  /* Remote destinations: syntax only, nothing is contacted. */
  expect_ok("postgres:host=127.0.0.1 port=1 dbname=x");
  expect_ok("postgres:postgresql://u@127.0.0.1:1/d");
  expect_refused("postgres:host=x bad", BEAM_ERR_INVALID_ARG, "postgres:host=x bad: missing \"=\" after \"bad\"");
  expect_ok("bigquery:my-proj.my_dataset?load_threshold=10");
  expect_refused("bigquery:nodataset", BEAM_ERR_INVALID_ARG, "is not PROJECT.DATASET");
  expect_refused("bigquery:p.d?nope=1", BEAM_ERR_INVALID_ARG, "unknown option \"nope\"");
  expect_ok("gcs:gs://bucket/prefix");
  expect_refused("gcs:bucket/prefix", BEAM_ERR_INVALID_ARG, "not a gs://BUCKET[/OBJECT] URI");
  expect_ok("pubsub:projects/my-proj/topics/events");
  expect_refused("pubsub:topics/x", BEAM_ERR_INVALID_ARG, "expected pubsub:projects/PROJECT/topics/TOPIC");
}

static beam_status any_factory(const char *location, const beam_sink_options *opts, beam_sink **out,
                               beam_error *err) {
  (void)location, (void)opts, (void)out;
  return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "not opened in this test");
}

/* A scheme the caller registers (even over a built-in) gets only the generic checks. */
static void registered_schemes(void **state) {
  (void)state;
  beam_error err = {0};
  assert_int_equal(beam_sink_register_scheme("mine", any_factory, &err), BEAM_OK);
  expect_ok("mine:/no/such/place");
  expect_refused("mine:", BEAM_ERR_INVALID_ARG, "names no location");
}

static void mkdirs_and_probe(void **state) {
  const char *dir = *state;
  char path[700], bad[700];
  snprintf(path, sizeof path, "%s/x/y/z", dir);
  assert_int_equal(beam_local_dir_probe(path, bad, sizeof bad), 0);
  assert_int_equal(beam_local_make_dirs(path), 0);
  assert_true(exists(path));
  assert_int_equal(beam_local_make_dirs(path), 0); /* existing is fine */
  snprintf(path, sizeof path, "%s/x/y/z/f", dir);
  write_file(path, "");
  assert_int_equal(beam_local_make_dirs(path), ENOTDIR);
  snprintf(path, sizeof path, "%s/x/y/z/f/g/", dir);
  assert_int_equal(beam_local_dir_probe(path, bad, sizeof bad), ENOTDIR);
  snprintf(path, sizeof path, "%s/x/y/z/f", dir);
  assert_string_equal(bad, path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(local_paths, setup, teardown),
      cmocka_unit_test(schemes_and_syntax),
      cmocka_unit_test(registered_schemes),
      cmocka_unit_test_setup_teardown(mkdirs_and_probe, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
