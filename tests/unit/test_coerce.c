/* Coercion of text cells into typed values, and TIMESTAMP/DATE/NUMERIC text forms. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/etl_coerce.h"
#include "beam/transforms/etl_numeric.h"
#include "beam/transforms/etl_time.h"
#include "etl_test_util.h"

static beam_arena arena = BEAM_ARENA_INIT;

static beam_status coerce(beam_etl_type t, beam_etl_cell c, beam_value *v, beam_error *err) {
  beam_etl_field f = {"f", t, BEAM_ETL_NULLABLE};
  return beam_etl_coerce_cell(&f, &c, &arena, v, err);
}

static void expect_error(beam_etl_type t, beam_etl_cell c, const char *message) {
  beam_value v;
  beam_error err = {0};
  assert_int_equal(coerce(t, c, &v, &err), BEAM_ERR_MALFORMED);
  assert_string_equal(err.message, message);
}

static int64_t ts(const char *s) {
  beam_value v;
  beam_error err = {0};
  if (coerce(BEAM_ETL_TIMESTAMP, etl_text(s), &v, &err) != BEAM_OK) fail_msg("%s: %s", s, err.message);
  return v.u.i64;
}

static void int64_cells(void **state) {
  (void)state;
  beam_value v;
  beam_error err;
  assert_int_equal(coerce(BEAM_ETL_INT64, etl_lit("42"), &v, &err), BEAM_OK);
  assert_int_equal(v.kind, BEAM_VALUE_INT64);
  assert_int_equal(v.u.i64, 42);
  assert_int_equal(coerce(BEAM_ETL_INT64, etl_text("-17"), &v, &err), BEAM_OK);
  assert_int_equal(v.u.i64, -17);
  assert_int_equal(coerce(BEAM_ETL_INT64, etl_text("+007"), &v, &err), BEAM_OK);
  assert_int_equal(v.u.i64, 7);
  assert_int_equal(coerce(BEAM_ETL_INT64, etl_text("9223372036854775807"), &v, &err), BEAM_OK);
  assert_true(v.u.i64 == INT64_MAX);
  assert_int_equal(coerce(BEAM_ETL_INT64, etl_text("-9223372036854775808"), &v, &err), BEAM_OK);
  assert_true(v.u.i64 == INT64_MIN);
  expect_error(BEAM_ETL_INT64, etl_text("9223372036854775808"),
               "field \"f\": \"9223372036854775808\" is out of range for INT64");
  expect_error(BEAM_ETL_INT64, etl_text("-9223372036854775809"),
               "field \"f\": \"-9223372036854775809\" is out of range for INT64");
  expect_error(BEAM_ETL_INT64, etl_text("99999999999999999999999"),
               "field \"f\": \"99999999999999999999999\" is out of range for INT64");
  expect_error(BEAM_ETL_INT64, etl_lit("4.2"), "field \"f\": \"4.2\" is not an INT64");
  expect_error(BEAM_ETL_INT64, etl_lit("1e3"), "field \"f\": \"1e3\" is not an INT64");
  expect_error(BEAM_ETL_INT64, etl_text("12abc"), "field \"f\": \"12abc\" is not an INT64");
  expect_error(BEAM_ETL_INT64, etl_text("99999999999999999999x"), "field \"f\": \"99999999999999999999x\" is not an INT64");
  expect_error(BEAM_ETL_INT64, etl_text("-"), "field \"f\": \"-\" is not an INT64");
  expect_error(BEAM_ETL_INT64, etl_text(" 7"), "field \"f\": \" 7\" is not an INT64");
  expect_error(BEAM_ETL_INT64, etl_lit("true"), "field \"f\": \"true\" is not an INT64");
  expect_error(BEAM_ETL_INT64, etl_nested("[1]"), "field \"f\": \"[1]\" is not an INT64");
}

static void float_cells(void **state) {
  (void)state;
  beam_value v;
  beam_error err;
  assert_int_equal(coerce(BEAM_ETL_FLOAT64, etl_lit("12.5"), &v, &err), BEAM_OK);
  assert_int_equal(v.kind, BEAM_VALUE_DOUBLE);
  assert_true(v.u.f64 == 12.5);
  assert_int_equal(coerce(BEAM_ETL_FLOAT64, etl_text("-1.5e3"), &v, &err), BEAM_OK);
  assert_true(v.u.f64 == -1500.0);
  assert_int_equal(coerce(BEAM_ETL_FLOAT64, etl_text(".5"), &v, &err), BEAM_OK);
  assert_true(v.u.f64 == 0.5);
  assert_int_equal(coerce(BEAM_ETL_FLOAT64, etl_text("7"), &v, &err), BEAM_OK);
  assert_true(v.u.f64 == 7.0);
  assert_int_equal(coerce(BEAM_ETL_FLOAT64, etl_text("1e-400"), &v, &err), BEAM_OK);
  assert_true(v.u.f64 == 0.0);
  assert_int_equal(coerce(BEAM_ETL_FLOAT64, etl_text("NaN"), &v, &err), BEAM_OK);
  assert_true(isnan(v.u.f64));
  assert_int_equal(coerce(BEAM_ETL_FLOAT64, etl_text("-Infinity"), &v, &err), BEAM_OK);
  assert_true(isinf(v.u.f64) && v.u.f64 < 0);
  assert_int_equal(coerce(BEAM_ETL_FLOAT64, etl_text("inf"), &v, &err), BEAM_OK);
  assert_true(isinf(v.u.f64) && v.u.f64 > 0);
  /* A long but valid number goes through the arena copy. */
  char longnum[200];
  memset(longnum, '1', 150);
  longnum[150] = '\0';
  assert_int_equal(coerce(BEAM_ETL_FLOAT64, etl_text(longnum), &v, &err), BEAM_OK);
  assert_true(v.u.f64 > 1e149);
  expect_error(BEAM_ETL_FLOAT64, etl_text("abc"), "field \"f\": \"abc\" is not a FLOAT64");
  expect_error(BEAM_ETL_FLOAT64, etl_text("1.5x"), "field \"f\": \"1.5x\" is not a FLOAT64");
  expect_error(BEAM_ETL_FLOAT64, etl_text("0x1p3"), "field \"f\": \"0x1p3\" is not a FLOAT64");
  expect_error(BEAM_ETL_FLOAT64, etl_text("1e"), "field \"f\": \"1e\" is not a FLOAT64");
  expect_error(BEAM_ETL_FLOAT64, etl_text("."), "field \"f\": \".\" is not a FLOAT64");
  expect_error(BEAM_ETL_FLOAT64, etl_text("1e999"), "field \"f\": \"1e999\" is out of range for FLOAT64");
  expect_error(BEAM_ETL_FLOAT64, etl_lit("NaN"), "field \"f\": \"NaN\" is not a FLOAT64");
}

/* Short decimals take an exact fast path: every result must be strtod's, bit for bit, across
 * digit counts and point positions up to the 15 digits it takes (and past it, to strtod). */
static void float_fast_path_equals_strtod(void **state) {
  (void)state;
  uint64_t x = 88172645463325252ULL; /* xorshift: the same cases every run */
  char text[40];
  beam_value v;
  beam_error err = {0};
  for (int i = 0; i < 200000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    int digits = 1 + (int)(x % 17), point = (int)((x >> 8) % (unsigned)(digits + 1));
    size_t n = 0;
    if ((x >> 20) & 1) text[n++] = '-';
    uint64_t d = x >> 24;
    for (int k = 0; k < digits; k++, d /= 10) {
      if (k == point && k > 0) text[n++] = '.';
      text[n++] = (char)('0' + d % 10);
    }
    text[n] = '\0';
    assert_int_equal(coerce(BEAM_ETL_FLOAT64, etl_text(text), &v, &err), BEAM_OK);
    double want = strtod(text, NULL);
    if (memcmp(&v.u.f64, &want, sizeof want) != 0) fail_msg("%s: %.17g, strtod %.17g", text, v.u.f64, want);
  }
  assert_int_equal(coerce(BEAM_ETL_FLOAT64, etl_text("-0"), &v, &err), BEAM_OK);
  assert_true(v.u.f64 == 0 && signbit(v.u.f64));
  assert_int_equal(coerce(BEAM_ETL_FLOAT64, etl_text("5."), &v, &err), BEAM_OK);
  assert_true(v.u.f64 == 5.0);
  assert_int_equal(coerce(BEAM_ETL_FLOAT64, etl_text("0.1"), &v, &err), BEAM_OK);
  assert_true(v.u.f64 == 0.1);
}

static void numeric_cells(void **state) {
  (void)state;
  struct {
    const char *in, *out;
  } ok[] = {{"+007.5000", "7.5"}, {"1.5e3", "1500"}, {"-0.000", "0"},      {"0.05", "0.05"},
            {"-12", "-12"},       {"1E-9", "0.000000001"}, {".25", "0.25"}, {"100", "100"},
            {"99999999999999999999999999999.999999999", "99999999999999999999999999999.999999999"},
            {"1.2300000000000", "1.23"}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    beam_value v;
    beam_error err;
    assert_int_equal(coerce(BEAM_ETL_NUMERIC, etl_text(ok[i].in), &v, &err), BEAM_OK);
    assert_int_equal(v.kind, BEAM_VALUE_STRING);
    assert_int_equal(v.u.bytes.len, strlen(ok[i].out));
    assert_memory_equal(v.u.bytes.data, ok[i].out, v.u.bytes.len);
  }
  expect_error(BEAM_ETL_NUMERIC, etl_text("1.0000000001"),
               "field \"f\": \"1.0000000001\" is out of range for NUMERIC (at most 29 integer and 9 fractional digits)");
  expect_error(BEAM_ETL_NUMERIC, etl_text("100000000000000000000000000000"),
               "field \"f\": \"100000000000000000000000000000\" is out of range for NUMERIC (at most 29 integer and 9 "
               "fractional digits)");
  expect_error(BEAM_ETL_NUMERIC, etl_text("1.2.3"), "field \"f\": \"1.2.3\" is not a NUMERIC");
  expect_error(BEAM_ETL_NUMERIC, etl_text("NaN"), "field \"f\": \"NaN\" is not a NUMERIC");
  assert_true(beam_etl_numeric_compare("-2", 2, "-10", 3) > 0);
  assert_true(beam_etl_numeric_compare("10", 2, "9.99", 4) > 0);
  assert_true(beam_etl_numeric_compare("0.05", 4, "0.5", 3) < 0);
  assert_true(beam_etl_numeric_compare("1", 1, "1.5", 3) < 0);
  assert_int_equal(beam_etl_numeric_compare("3.14", 4, "3.14", 4), 0);
}

static void bool_cells(void **state) {
  (void)state;
  const char *yes[] = {"true", "TRUE", "True", "1", "yes", "YES"};
  const char *no[] = {"false", "FALSE", "0", "no", "No"};
  beam_value v;
  beam_error err;
  for (size_t i = 0; i < 6; i++) {
    assert_int_equal(coerce(BEAM_ETL_BOOL, etl_text(yes[i]), &v, &err), BEAM_OK);
    assert_int_equal(v.kind, BEAM_VALUE_BOOL);
    assert_true(v.u.b);
  }
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(coerce(BEAM_ETL_BOOL, etl_text(no[i]), &v, &err), BEAM_OK);
    assert_false(v.u.b);
  }
  assert_int_equal(coerce(BEAM_ETL_BOOL, etl_lit("true"), &v, &err), BEAM_OK);
  assert_true(v.u.b);
  expect_error(BEAM_ETL_BOOL, etl_text("maybe"), "field \"f\": \"maybe\" is not a BOOL");
  expect_error(BEAM_ETL_BOOL, etl_lit("2"), "field \"f\": \"2\" is not a BOOL");
}

static void string_and_bytes_cells(void **state) {
  (void)state;
  beam_value v;
  beam_error err;
  assert_int_equal(coerce(BEAM_ETL_STRING, etl_text("h\xc3\xa9llo"), &v, &err), BEAM_OK);
  assert_int_equal(v.kind, BEAM_VALUE_STRING);
  assert_int_equal(v.u.bytes.len, 6);
  assert_int_equal(coerce(BEAM_ETL_STRING, etl_lit("42"), &v, &err), BEAM_OK);
  assert_memory_equal(v.u.bytes.data, "42", 2);
  assert_int_equal(coerce(BEAM_ETL_STRING, etl_nested("{\"a\": [1, 2]}"), &v, &err), BEAM_OK);
  assert_int_equal(v.u.bytes.len, 13);
  expect_error(BEAM_ETL_STRING, etl_text("ab\xff"), "field \"f\": value is not valid UTF-8 (byte 2)");
  expect_error(BEAM_ETL_STRING, etl_text("\xed\xa0\x80"), "field \"f\": value is not valid UTF-8 (byte 0)");
  expect_error(BEAM_ETL_STRING, etl_text("\xc0\xaf"), "field \"f\": value is not valid UTF-8 (byte 0)");
  /* Every length around the ASCII check's eight-byte steps: a bad byte or a two-byte
   * character at each place. */
  char text[24];
  for (size_t n = 0; n <= sizeof text; n++) {
    memset(text, 'a', n);
    size_t bad = 99;
    assert_true(beam_etl_utf8_valid(text, n, &bad));
    for (size_t k = 0; k < n; k++) {
      text[k] = (char)0xFF;
      assert_false(beam_etl_utf8_valid(text, n, &bad));
      assert_int_equal(bad, k);
      text[k] = (char)0xC3; /* a lead byte needs its continuation byte */
      assert_false(beam_etl_utf8_valid(text, n, &bad));
      assert_int_equal(bad, k);
      if (k + 1 < n) {
        text[k + 1] = (char)0xA9;
        assert_true(beam_etl_utf8_valid(text, n, &bad));
        text[k + 1] = 'a';
      }
      text[k] = 'a';
    }
  }

  assert_int_equal(coerce(BEAM_ETL_BYTES, etl_text("aGVsbG8="), &v, &err), BEAM_OK);
  assert_int_equal(v.kind, BEAM_VALUE_BYTES);
  assert_int_equal(v.u.bytes.len, 5);
  assert_memory_equal(v.u.bytes.data, "hello", 5);
  assert_int_equal(coerce(BEAM_ETL_BYTES, etl_text("aGVsbG8"), &v, &err), BEAM_OK);
  assert_int_equal(v.u.bytes.len, 5);
  assert_int_equal(coerce(BEAM_ETL_BYTES, etl_text("_-8"), &v, &err), BEAM_OK);
  assert_int_equal(v.u.bytes.len, 2);
  assert_int_equal(v.u.bytes.data[0], 0xff);
  expect_error(BEAM_ETL_BYTES, etl_text("a$=="), "field \"f\": \"a$==\" is not BYTES (base64)");
  expect_error(BEAM_ETL_BYTES, etl_text("aGVsbG8=x"), "field \"f\": \"aGVsbG8=x\" is not BYTES (base64)");
  expect_error(BEAM_ETL_BYTES, etl_text("a"), "field \"f\": \"a\" is not BYTES (base64)");
}

static void nulls_and_required(void **state) {
  (void)state;
  beam_value v;
  beam_error err;
  assert_int_equal(coerce(BEAM_ETL_INT64, etl_null(), &v, &err), BEAM_OK);
  assert_int_equal(v.kind, BEAM_VALUE_NULL);
  assert_int_equal(coerce(BEAM_ETL_TIMESTAMP, etl_absent(), &v, &err), BEAM_OK);
  assert_int_equal(v.kind, BEAM_VALUE_NULL);
  beam_etl_field req = {"ts", BEAM_ETL_TIMESTAMP, BEAM_ETL_REQUIRED};
  beam_etl_cell c = etl_absent();
  assert_int_equal(beam_etl_coerce_cell(&req, &c, &arena, &v, &err), BEAM_ERR_MALFORMED);
  assert_string_equal(err.message, "field \"ts\": required but missing");
  c = etl_null();
  assert_int_equal(beam_etl_coerce_cell(&req, &c, &arena, &v, &err), BEAM_ERR_MALFORMED);
  assert_string_equal(err.message, "field \"ts\": required but null");
  /* Long values are cut in messages, and quotes escaped. */
  char big[300];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  big[0] = '"';
  assert_int_equal(coerce(BEAM_ETL_DATE, etl_text(big), &v, &err), BEAM_ERR_MALFORMED);
  assert_non_null(strstr(err.message, "\"\\\"xxx"));
  assert_non_null(strstr(err.message, "...\" is not a DATE"));
}

static void record_coercion(void **state) {
  (void)state;
  beam_etl_field fields[] = {{"id", BEAM_ETL_INT64, BEAM_ETL_REQUIRED}, {"amount", BEAM_ETL_FLOAT64, BEAM_ETL_NULLABLE}};
  beam_etl_schema schema = {fields, 2};
  beam_etl_cell cells[] = {etl_lit("7"), etl_text("abc")};
  beam_etl_record rec = {&schema, cells, {.source = "f.jsonl", .line = 3}};
  beam_etl_row row;
  beam_error err;
  assert_int_equal(beam_etl_coerce_record(&rec, &arena, &row, &err), BEAM_ERR_MALFORMED);
  assert_string_equal(err.message, "field \"amount\": \"abc\" is not a FLOAT64");
  cells[1] = etl_text("2.5");
  assert_int_equal(beam_etl_coerce_record(&rec, &arena, &row, &err), BEAM_OK);
  assert_int_equal(row.values[0].u.i64, 7);
  assert_true(row.values[1].u.f64 == 2.5);
  assert_string_equal(row.origin.source, "f.jsonl");
  assert_int_equal(row.origin.line, 3);
}

static void timestamps(void **state) {
  (void)state;
  assert_int_equal(ts("1970-01-01T00:00:00Z"), 0);
  assert_int_equal(ts("1970-01-01"), 0);
  assert_int_equal(ts("2024-01-02T03:04:05Z"), 1704164645000000LL);
  assert_int_equal(ts("2024-01-02 03:04:05"), 1704164645000000LL);
  assert_int_equal(ts("2024-01-02t03:04:05z"), 1704164645000000LL);
  assert_int_equal(ts("2024-01-02T03:04:05 UTC"), 1704164645000000LL);
  assert_int_equal(ts("2024-01-02T03:04"), 1704164640000000LL);
  assert_int_equal(ts("2024-01-02T03:04:05.123456Z"), 1704164645123456LL);
  assert_int_equal(ts("2024-01-02T03:04:05.1Z"), 1704164645100000LL);
  /* Offsets: +01:00 is one hour ahead of UTC, so the instant is an hour earlier. */
  assert_int_equal(ts("2024-01-02T04:04:05+01:00"), 1704164645000000LL);
  assert_int_equal(ts("2024-01-01T22:34:05-04:30"), 1704164645000000LL);
  assert_int_equal(ts("2024-01-02T08:34:05+0530"), 1704164645000000LL);
  assert_int_equal(ts("2024-01-02T05:04:05+02"), 1704164645000000LL);
  /* Pre-epoch, the calendar's edges and leap days. */
  assert_int_equal(ts("1969-12-31T23:59:59.999999Z"), -1);
  assert_int_equal(ts("1969-12-31T23:59:59Z"), -1000000);
  assert_int_equal(ts("0001-01-01T00:00:00Z"), BEAM_ETL_TIMESTAMP_MIN_US);
  assert_int_equal(ts("9999-12-31T23:59:59.999999Z"), BEAM_ETL_TIMESTAMP_MAX_US);
  assert_int_equal(ts("2000-02-29T00:00:00Z"), 951782400000000LL);
  assert_int_equal(ts("2024-02-29"), 1709164800000000LL);
  assert_int_equal(ts("1900-03-01"), -2203891200000000LL);
  /* Offset that moves the instant across midnight and the year. */
  assert_int_equal(ts("2000-01-01T00:30:00+01:00"), 946683000000000LL);
  expect_error(BEAM_ETL_TIMESTAMP, etl_text("1900-02-29"), "field \"f\": \"1900-02-29\" is not a TIMESTAMP");
  expect_error(BEAM_ETL_TIMESTAMP, etl_text("2023-02-29T00:00:00Z"), "field \"f\": \"2023-02-29T00:00:00Z\" is not a TIMESTAMP");
  expect_error(BEAM_ETL_TIMESTAMP, etl_text("2024-01-02T24:00:00Z"), "field \"f\": \"2024-01-02T24:00:00Z\" is not a TIMESTAMP");
  expect_error(BEAM_ETL_TIMESTAMP, etl_text("2016-12-31T23:59:60Z"), "field \"f\": \"2016-12-31T23:59:60Z\" is not a TIMESTAMP");
  expect_error(BEAM_ETL_TIMESTAMP, etl_text("2024-01-02T03:04:05.1234567Z"),
               "field \"f\": \"2024-01-02T03:04:05.1234567Z\" is not a TIMESTAMP");
  expect_error(BEAM_ETL_TIMESTAMP, etl_text("2024-01-02T03:04:05+25:00"),
               "field \"f\": \"2024-01-02T03:04:05+25:00\" is not a TIMESTAMP");
  expect_error(BEAM_ETL_TIMESTAMP, etl_text("2024-1-2"), "field \"f\": \"2024-1-2\" is not a TIMESTAMP");
  expect_error(BEAM_ETL_TIMESTAMP, etl_text("2024-01-02T03:04:05Zjunk"), "field \"f\": \"2024-01-02T03:04:05Zjunk\" is not a TIMESTAMP");
  expect_error(BEAM_ETL_TIMESTAMP, etl_text("0000-12-31"), "field \"f\": \"0000-12-31\" is not a TIMESTAMP");
  expect_error(BEAM_ETL_TIMESTAMP, etl_text("9999-12-31T23:00:00-01:00"),
               "field \"f\": \"9999-12-31T23:00:00-01:00\" is out of range for TIMESTAMP");
  expect_error(BEAM_ETL_TIMESTAMP, etl_text("0001-01-01T00:30:00+01:00"),
               "field \"f\": \"0001-01-01T00:30:00+01:00\" is out of range for TIMESTAMP");
  /* JSON numbers are epoch seconds. */
  beam_value v;
  beam_error err;
  assert_int_equal(coerce(BEAM_ETL_TIMESTAMP, etl_lit("1704164645"), &v, &err), BEAM_OK);
  assert_int_equal(v.u.i64, 1704164645000000LL);
  assert_int_equal(coerce(BEAM_ETL_TIMESTAMP, etl_lit("1704164645.5"), &v, &err), BEAM_OK);
  assert_int_equal(v.u.i64, 1704164645500000LL);
  assert_int_equal(coerce(BEAM_ETL_TIMESTAMP, etl_lit("-1.25"), &v, &err), BEAM_OK);
  assert_int_equal(v.u.i64, -1250000);
  expect_error(BEAM_ETL_TIMESTAMP, etl_lit("1e9"), "field \"f\": \"1e9\" is not a TIMESTAMP");
  expect_error(BEAM_ETL_TIMESTAMP, etl_lit("99999999999999"), "field \"f\": \"99999999999999\" is out of range for TIMESTAMP");
  expect_error(BEAM_ETL_TIMESTAMP, etl_text("1704164645"), "field \"f\": \"1704164645\" is not a TIMESTAMP");
}

static void dates(void **state) {
  (void)state;
  beam_value v;
  beam_error err;
  assert_int_equal(coerce(BEAM_ETL_DATE, etl_text("1970-01-01"), &v, &err), BEAM_OK);
  assert_int_equal(v.u.i64, 0);
  assert_int_equal(coerce(BEAM_ETL_DATE, etl_text("1969-12-31"), &v, &err), BEAM_OK);
  assert_int_equal(v.u.i64, -1);
  assert_int_equal(coerce(BEAM_ETL_DATE, etl_text("2024-03-01"), &v, &err), BEAM_OK);
  assert_int_equal(v.u.i64, 19783);
  assert_int_equal(coerce(BEAM_ETL_DATE, etl_text("0001-01-01"), &v, &err), BEAM_OK);
  assert_int_equal(v.u.i64, BEAM_ETL_DATE_MIN_DAYS);
  assert_int_equal(coerce(BEAM_ETL_DATE, etl_text("9999-12-31"), &v, &err), BEAM_OK);
  assert_int_equal(v.u.i64, BEAM_ETL_DATE_MAX_DAYS);
  expect_error(BEAM_ETL_DATE, etl_text("2024-01-02T00:00:00Z"), "field \"f\": \"2024-01-02T00:00:00Z\" is not a DATE");
  expect_error(BEAM_ETL_DATE, etl_text("2024-04-31"), "field \"f\": \"2024-04-31\" is not a DATE");
  expect_error(BEAM_ETL_DATE, etl_lit("20240101"), "field \"f\": \"20240101\" is not a DATE");
}

static void formatting(void **state) {
  (void)state;
  char buf[32];
  assert_int_equal(beam_etl_format_timestamp(0, buf), 20);
  assert_string_equal(buf, "1970-01-01T00:00:00Z");
  beam_etl_format_timestamp(1704164645123456LL, buf);
  assert_string_equal(buf, "2024-01-02T03:04:05.123456Z");
  beam_etl_format_timestamp(1704164645100000LL, buf);
  assert_string_equal(buf, "2024-01-02T03:04:05.100000Z");
  beam_etl_format_timestamp(-1, buf);
  assert_string_equal(buf, "1969-12-31T23:59:59.999999Z");
  beam_etl_format_timestamp(BEAM_ETL_TIMESTAMP_MIN_US, buf);
  assert_string_equal(buf, "0001-01-01T00:00:00Z");
  beam_etl_format_timestamp(BEAM_ETL_TIMESTAMP_MAX_US, buf);
  assert_string_equal(buf, "9999-12-31T23:59:59.999999Z");
  beam_etl_format_timestamp(951782400000000LL, buf);
  assert_string_equal(buf, "2000-02-29T00:00:00Z");
  /* Anything an int64 holds formats without overrunning the buffer. */
  assert_true(beam_etl_format_timestamp(INT64_MIN, buf) < 32);
  assert_true(beam_etl_format_timestamp(INT64_MAX, buf) < 32);
  char d[24];
  assert_int_equal(beam_etl_format_date(0, d), 10);
  assert_string_equal(d, "1970-01-01");
  beam_etl_format_date(-1, d);
  assert_string_equal(d, "1969-12-31");
  beam_etl_format_date(BEAM_ETL_DATE_MAX_DAYS, d);
  assert_string_equal(d, "9999-12-31");
  /* Round trip across many days, both directions of the epoch. */
  for (int64_t day = -800000; day <= 3000000; day += 997) {
    int64_t y;
    int m, dd;
    beam_etl_civil_from_days(day, &y, &m, &dd);
    assert_int_equal(beam_etl_days_from_civil(y, m, dd), day);
    if (day >= BEAM_ETL_DATE_MIN_DAYS && day <= BEAM_ETL_DATE_MAX_DAYS) {
      int64_t back;
      size_t n = beam_etl_format_date(day, d);
      assert_int_equal(beam_etl_parse_date(d, n, &back), BEAM_OK);
      assert_int_equal(back, day);
      int64_t us = day * 86400000000LL + 12345678;
      n = beam_etl_format_timestamp(us, buf);
      assert_int_equal(beam_etl_parse_timestamp(buf, n, &back), BEAM_OK);
      assert_int_equal(back, us);
    }
  }
}

static int teardown(void **state) {
  (void)state;
  beam_arena_free(&arena);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(int64_cells),   cmocka_unit_test(float_cells), cmocka_unit_test(float_fast_path_equals_strtod),      cmocka_unit_test(numeric_cells),
      cmocka_unit_test(bool_cells),    cmocka_unit_test(string_and_bytes_cells), cmocka_unit_test(nulls_and_required),
      cmocka_unit_test(record_coercion), cmocka_unit_test(timestamps),     cmocka_unit_test(dates),
      cmocka_unit_test(formatting),
  };
  return cmocka_run_group_tests(tests, NULL, teardown);
}
