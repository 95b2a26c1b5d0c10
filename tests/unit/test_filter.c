/* Filter expressions: parsing, type checking, precedence and SQL three-valued logic. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/etl_coerce.h"
#include "beam/transforms/etl_filter.h"
#include "etl_test_util.h"

static beam_etl_field fields[] = {
    {"amount", BEAM_ETL_FLOAT64, BEAM_ETL_NULLABLE}, {"n", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
    {"kind", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},    {"ts", BEAM_ETL_TIMESTAMP, BEAM_ETL_NULLABLE},
    {"day", BEAM_ETL_DATE, BEAM_ETL_NULLABLE},       {"ok", BEAM_ETL_BOOL, BEAM_ETL_NULLABLE},
    {"price", BEAM_ETL_NUMERIC, BEAM_ETL_NULLABLE},
};
static beam_etl_schema schema = {fields, 7};
static beam_arena arena = BEAM_ARENA_INIT;

/* Row from text cells; NULL = null. */
static beam_etl_row row_of(const char *amount, const char *n, const char *kind, const char *ts, const char *day,
                           const char *ok, const char *price) {
  const char *t[7] = {amount, n, kind, ts, day, ok, price};
  beam_etl_cell *cells = beam_arena_alloc(&arena, 7 * sizeof *cells);
  for (int i = 0; i < 7; i++) cells[i] = t[i] ? etl_text(t[i]) : etl_null();
  beam_etl_record rec = {&schema, cells, {.source = "f", .line = 1}};
  beam_etl_row row;
  beam_error err;
  if (beam_etl_coerce_record(&rec, &arena, &row, &err) != BEAM_OK) fail_msg("%s", err.message);
  return row;
}

static beam_etl_truth eval(const char *expr, const beam_etl_row *row) {
  beam_etl_filter *f = NULL;
  beam_error err = {0};
  if (beam_etl_filter_parse(expr, &schema, &arena, &f, &err) != BEAM_OK) fail_msg("%s: %s", expr, err.message);
  return beam_etl_filter_eval(f, row);
}

static void comparisons(void **state) {
  (void)state;
  beam_etl_row r = row_of("12.5", "7", "order", "2024-01-02T03:04:05Z", "2024-01-02", "true", "10.50");
  assert_int_equal(eval("amount >= 0", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("amount > 12.5", &r), BEAM_ETL_FALSE);
  assert_int_equal(eval("amount == 12.5", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("amount = 12.5", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("amount != 12.5", &r), BEAM_ETL_FALSE);
  assert_int_equal(eval("amount <> 1", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("amount < 1e2", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("amount > -5", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("n <= 7", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("n < 7", &r), BEAM_ETL_FALSE);
  assert_int_equal(eval("kind == 'order'", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("kind == \"order\"", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("kind < 'p'", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("kind == 'it\\'s'", &r), BEAM_ETL_FALSE);
  assert_int_equal(eval("ts >= '2024-01-02'", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("ts < '2024-01-02T04:04:05+01:00'", &r), BEAM_ETL_FALSE);
  assert_int_equal(eval("ts == '2024-01-02 04:04:05+01:00'", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("day > '2023-12-31'", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("ok", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("ok == false", &r), BEAM_ETL_FALSE);
  assert_int_equal(eval("price == 10.5", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("price > 10.49999", &r), BEAM_ETL_TRUE);
  /* Literal on the left flips the operator. */
  assert_int_equal(eval("0 < amount", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("13 <= amount", &r), BEAM_ETL_FALSE);
  assert_int_equal(eval("true", &r), BEAM_ETL_TRUE);
}

static void logic_and_precedence(void **state) {
  (void)state;
  beam_etl_row r = row_of("5", "1", "a", NULL, NULL, "false", NULL);
  assert_int_equal(eval("amount > 1 && n == 1", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("amount > 10 || n == 1", &r), BEAM_ETL_TRUE);
  /* && binds tighter than ||. */
  assert_int_equal(eval("n == 1 || n == 2 && n == 3", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("(n == 1 || n == 2) && n == 3", &r), BEAM_ETL_FALSE);
  assert_int_equal(eval("!amount > 10", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("!(amount > 1) || !ok", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("NOT amount > 1 OR ok", &r), BEAM_ETL_FALSE);
  assert_int_equal(eval("amount > 1 and kind == 'a'", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("!!ok", &r), BEAM_ETL_FALSE);
}

static void null_semantics(void **state) {
  (void)state;
  beam_etl_row r = row_of(NULL, "1", NULL, NULL, NULL, NULL, NULL);
  assert_int_equal(eval("amount >= 0", &r), BEAM_ETL_UNKNOWN);
  assert_int_equal(eval("amount < 0", &r), BEAM_ETL_UNKNOWN);
  assert_int_equal(eval("!(amount >= 0)", &r), BEAM_ETL_UNKNOWN);
  assert_int_equal(eval("amount != 0", &r), BEAM_ETL_UNKNOWN);
  assert_int_equal(eval("amount is null", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("amount IS NOT NULL", &r), BEAM_ETL_FALSE);
  assert_int_equal(eval("n is not null", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("ok", &r), BEAM_ETL_UNKNOWN);
  /* Unknown AND false is false; unknown OR true is true; otherwise unknown. */
  assert_int_equal(eval("amount > 0 && n == 2", &r), BEAM_ETL_FALSE);
  assert_int_equal(eval("amount > 0 && n == 1", &r), BEAM_ETL_UNKNOWN);
  assert_int_equal(eval("amount > 0 || n == 1", &r), BEAM_ETL_TRUE);
  assert_int_equal(eval("amount > 0 || n == 2", &r), BEAM_ETL_UNKNOWN);
  assert_int_equal(eval("amount > 0 || amount is null", &r), BEAM_ETL_TRUE);
  /* keep() is TRUE only. */
  beam_etl_filter *f = NULL;
  beam_error err;
  assert_int_equal(beam_etl_filter_parse("amount >= 0", &schema, &arena, &f, &err), BEAM_OK);
  assert_false(beam_etl_filter_keep(f, &r));
  assert_true(beam_etl_filter_keep(NULL, &r));
  /* NaN: ordered comparisons false, != true. */
  beam_etl_row nan = row_of("NaN", NULL, NULL, NULL, NULL, NULL, NULL);
  assert_int_equal(eval("amount >= 0", &nan), BEAM_ETL_FALSE);
  assert_int_equal(eval("amount == 0", &nan), BEAM_ETL_FALSE);
  assert_int_equal(eval("amount != 0", &nan), BEAM_ETL_TRUE);
}

static void parse_errors_have_columns(void **state) {
  (void)state;
  const char *cases[][2] = {
      {"amount >)", "unexpected token ')' at column 9"},
      {"amount >= 0)", "unexpected token ')' at column 12"},
      {"(amount >= 0", "unexpected end of expression at column 13"},
      {"amount >=", "unexpected end of expression at column 10"},
      {"", "empty expression"},
      {"ok & 1", "unexpected token '&' at column 4"},
      {"kind == 'abc", "unterminated string at column 9"},
      {"amount >= 0 amount", "unexpected token 'amount' at column 13"},
      {"amount == 'x'", "column 11: field \"amount\" is FLOAT64 and cannot be compared with a string"},
      {"n == '5'", "column 6: field \"n\" is INT64 and cannot be compared with a string"},
      {"n == 1.5", "column 6: field \"n\": \"1.5\" is not an INT64"},
      {"n == 99999999999999999999", "column 6: field \"n\": \"99999999999999999999\" is out of range for INT64"},
      {"kind == 5", "column 9: field \"kind\" is STRING and cannot be compared with a number"},
      {"ok == 1", "column 7: field \"ok\" is BOOL and cannot be compared with a number"},
      {"ts > '2024-13-01'", "column 6: field \"ts\": \"2024-13-01\" is not a TIMESTAMP"},
      {"day > 5", "column 7: field \"day\" is DATE and cannot be compared with a number"},
      {"kind == null", "column 9: comparing with null is never true: write \"kind is null\" or \"kind is not null\""},
      {"amout > 1", "column 1: no field \"amout\" in schema"},
      {"amount > n", "column 10: comparisons are between a field and a literal, not two fields"},
      {"1 > 2", "column 1: comparisons are between a field and a literal, not two literals"},
      {"kind", "column 1: field \"kind\" is STRING, not BOOL: compare it with a value"},
      {"amount is 5", "unexpected token '5' at column 11"},
      {"amount is not", "unexpected end of expression at column 14"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    beam_etl_filter *f = NULL;
    beam_error err = {0};
    if (beam_etl_filter_parse(cases[i][0], &schema, &arena, &f, &err) == BEAM_OK) fail_msg("[%s] parsed", cases[i][0]);
    if (strcmp(err.message, cases[i][1]) != 0) fail_msg("[%s]: got [%s] want [%s]", cases[i][0], err.message, cases[i][1]);
  }
  /* Deep nesting is refused, not a stack overflow. */
  char deep[2100];
  size_t o = 0;
  for (int i = 0; i < 1000; i++) deep[o++] = '(';
  memcpy(deep + o, "ok", 3);
  beam_etl_filter *f = NULL;
  beam_error err = {0};
  assert_int_equal(beam_etl_filter_parse(deep, &schema, &arena, &f, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "nested too deeply"));
}

static int teardown(void **state) {
  (void)state;
  beam_arena_free(&arena);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(comparisons),
      cmocka_unit_test(logic_and_precedence),
      cmocka_unit_test(null_semantics),
      cmocka_unit_test(parse_errors_have_columns),
  };
  return cmocka_run_group_tests(tests, NULL, teardown);
}
