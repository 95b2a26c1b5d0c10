/* Helpers shared by the sink tests: a scratch directory and the all-types test schema. */
#ifndef BEAM_TEST_SINK_TEST_UTIL_H
#define BEAM_TEST_SINK_TEST_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beam/transforms/etl_types.h"
#include "beam/transforms/sink.h"

static inline char *sink_test_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char tmpl[512];
  snprintf(tmpl, sizeof tmpl, "%s/beam-sink-test-XXXXXX", base && base[0] ? base : "/tmp");
  char *d = mkdtemp(tmpl);
  return d ? strdup(d) : NULL;
}

static inline int sink_test_rm_entry(const char *path, const struct stat *sb, int flag,
                                     struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

static inline void sink_test_rmdir(char *dir) {
  if (!dir) return;
  nftw(dir, sink_test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(dir);
}

/* s STRING REQUIRED, i INT64, f FLOAT64, n NUMERIC, b BOOL, ts TIMESTAMP, d DATE, by BYTES */
static beam_etl_field sink_test_fields[] = {
    {"s", BEAM_ETL_STRING, BEAM_ETL_REQUIRED}, {"i", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"f", BEAM_ETL_FLOAT64, BEAM_ETL_NULLABLE}, {"n", BEAM_ETL_NUMERIC, BEAM_ETL_NULLABLE},
    {"b", BEAM_ETL_BOOL, BEAM_ETL_NULLABLE},    {"ts", BEAM_ETL_TIMESTAMP, BEAM_ETL_NULLABLE},
    {"d", BEAM_ETL_DATE, BEAM_ETL_NULLABLE},    {"by", BEAM_ETL_BYTES, BEAM_ETL_NULLABLE},
};
static const beam_etl_schema sink_test_schema = {sink_test_fields, 8};

/* A row of the test schema; values must hold 8 entries. */
static inline beam_etl_row sink_test_row(beam_value *values) {
  beam_etl_row r;
  memset(&r, 0, sizeof r);
  r.schema = &sink_test_schema;
  r.values = values;
  return r;
}

/* 2024-01-02T03:04:05.123456Z and 2024-01-02. */
#define SINK_TEST_TS 1704164645123456LL
#define SINK_TEST_DAYS 19724

static inline void sink_test_full_values(beam_value *v, const char *s, int64_t i) {
  v[0] = beam_value_string(s, strlen(s));
  v[1] = beam_value_int64(i);
  v[2] = beam_value_double(12.5);
  v[3] = beam_value_string("12345678901234567890.123", 24);
  v[4] = beam_value_bool(true);
  v[5] = beam_value_int64(SINK_TEST_TS);
  v[6] = beam_value_int64(SINK_TEST_DAYS);
  v[7] = beam_value_bytes("\x00\xff\x10", 3);
}

static inline void sink_test_null_values(beam_value *v, const char *s) {
  v[0] = beam_value_string(s, strlen(s));
  for (int k = 1; k < 8; k++) v[k] = beam_value_null();
}

#endif
