/* Helpers shared by the ETL input tests (test_csv, test_jsonl, test_zip, test_gzip,
 * test_input): schemas, temp files, and draining a reader into a simple list. */
#ifndef BEAM_TESTS_ETL_INPUT_TEST_UTIL_H
#define BEAM_TESTS_ETL_INPUT_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beam/transforms/input.h"

/* A schema of STRING fields named by a NULL-terminated list (static storage, tests only). */
typedef struct test_schema {
  beam_etl_field fields[16];
  beam_etl_schema schema;
} test_schema;

static inline const beam_etl_schema *test_schema_make(test_schema *ts, const char *const *names) {
  size_t n = 0;
  for (; names[n]; n++) {
    ts->fields[n].name = (char *)names[n];
    ts->fields[n].type = BEAM_ETL_STRING;
    ts->fields[n].mode = BEAM_ETL_NULLABLE;
  }
  ts->schema.fields = ts->fields;
  ts->schema.n_fields = n;
  return &ts->schema;
}

/* A fresh temp directory under $TMPDIR (removed by test_tmpdir_remove). */
static inline void test_tmpdir(char *out, size_t cap) {
  const char *base = getenv("TMPDIR");
  snprintf(out, cap, "%s/beam-h3-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(out)) abort();
}

static inline void test_tmpdir_remove(const char *dir) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) { /* best effort */
  }
}

static inline void test_write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (len && fwrite(data, 1, len, f) != len) abort();
  fclose(f);
}

static inline size_t test_read_file(const char *path, void *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (!f) abort();
  size_t n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

/* Runs python3 with a script; returns its exit status (0 = ok). */
static inline int test_python(const char *script) {
  char path[] = "/tmp/beam-h3-py-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) abort();
  size_t len = strlen(script);
  if (write(fd, script, len) != (ssize_t)len) abort();
  close(fd);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "python3 '%s'", path);
  int rc = system(cmd);
  unlink(path);
  return rc;
}

#endif
