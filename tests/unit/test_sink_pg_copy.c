/* The PostgreSQL sink's binary COPY encoding, byte for byte (no server needed; the round
 * trip through a real server is tests/postgres/test_sink_postgres.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/value.h"
#include "sink_pg_copy.h"

/* Encodes text and compares with the expected int16 words (ndigits, weight, sign, dscale, digits...). */
static void expect_numeric(const char *text, const int16_t *words, size_t n_words) {
  unsigned char out[BEAM_SINK_PG_NUMERIC_MAX];
  size_t len = beam_sink_pg_numeric_encode(text, strlen(text), out);
  assert_int_equal(len, 2 * n_words);
  for (size_t i = 0; i < n_words; i++) {
    int16_t got = (int16_t)(uint16_t)((out[2 * i] << 8) | out[2 * i + 1]);
    if (got != words[i]) fail_msg("%s: word %zu is %d, want %d", text, i, got, words[i]);
  }
}

static void test_numeric_encoding(void **state) {
  (void)state;
  expect_numeric("12.5", (const int16_t[]){2, 0, 0, 1, 12, 5000}, 6);
  expect_numeric("-12.5", (const int16_t[]){2, 0, 0x4000, 1, 12, 5000}, 6);
  expect_numeric("0", (const int16_t[]){0, 0, 0, 0}, 4);
  expect_numeric("-0.00", (const int16_t[]){0, 0, 0, 2}, 4);
  expect_numeric("10000", (const int16_t[]){1, 1, 0, 0, 1}, 5);
  expect_numeric("0.0001", (const int16_t[]){1, -1, 0, 4, 1}, 5);
  expect_numeric(".5", (const int16_t[]){1, -1, 0, 1, 5000}, 5);
  expect_numeric("+007", (const int16_t[]){1, 0, 0, 0, 7}, 5);
  expect_numeric("123456789.000000001", (const int16_t[]){6, 2, 0, 9, 1, 2345, 6789, 0, 0, 1000}, 10);
  unsigned char out[BEAM_SINK_PG_NUMERIC_MAX];
  static const char *bad[] = {"", "-", ".", "1e5", "NaN", "1.2.3", "12a", " 1"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(beam_sink_pg_numeric_encode(bad[i], strlen(bad[i]), out), 0);
  char many[1100];
  memset(many, '9', sizeof many);
  assert_int_equal(beam_sink_pg_numeric_encode(many, sizeof many, out), 0);
  assert_int_not_equal(beam_sink_pg_numeric_encode(many, 1000, out), 0);
}

static void test_row_encoding(void **state) {
  (void)state;
  beam_etl_field fields[] = {{"s", BEAM_ETL_STRING, BEAM_ETL_REQUIRED}, {"i", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
                             {"ts", BEAM_ETL_TIMESTAMP, BEAM_ETL_NULLABLE}, {"d", BEAM_ETL_DATE, BEAM_ETL_NULLABLE},
                             {"b", BEAM_ETL_BOOL, BEAM_ETL_NULLABLE}};
  beam_etl_schema schema = {fields, 5};
  beam_value v[5] = {beam_value_string("ab", 2), beam_value_null(), beam_value_int64(946684800000001LL),
                     beam_value_int64(10958), beam_value_bool(true)};
  beam_sink_pg_copy c = BEAM_SINK_PG_COPY_INIT;
  char reason[128];
  bool nomem;
  assert_true(beam_sink_pg_copy_add(&c, &schema, v, 7, reason, sizeof reason, &nomem));
  static const unsigned char want[] = {
      0, 5,                                   /* fields */
      0, 0, 0, 2, 'a', 'b',                   /* text */
      0xff, 0xff, 0xff, 0xff,                 /* NULL */
      0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1,     /* 2000-01-01T00:00:00.000001Z: 1 us after the PG epoch */
      0, 0, 0, 4, 0, 0, 0, 1,                 /* 2000-01-02: day 1 */
      0, 0, 0, 1, 1};                         /* true */
  assert_int_equal(c.n, 1);
  assert_int_equal(c.index[0], 7);
  assert_int_equal(c.start[1] - c.start[0], sizeof want);
  assert_memory_equal(c.rows.data, want, sizeof want);
  /* A date PostgreSQL cannot hold is refused and leaves the encoder as it was. */
  v[3] = beam_value_int64(INT64_MAX);
  assert_false(beam_sink_pg_copy_add(&c, &schema, v, 8, reason, sizeof reason, &nomem));
  assert_false(nomem);
  assert_non_null(strstr(reason, "field d"));
  assert_int_equal(c.n, 1);
  assert_int_equal(c.rows.len, sizeof want);
  assert_memory_equal(beam_sink_pg_copy_header, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
  beam_sink_pg_copy_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_numeric_encoding),
      cmocka_unit_test(test_row_encoding),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
