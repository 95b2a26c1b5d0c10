/* The pipeline testing kit (beam/testing.h): Create, every assertion kind, and failure reports
 * naming the missing and unexpected elements. Runs on the local runner by default and on a
 * Beam runner with BEAM_TEST_RUNNER=portable BEAM_TEST_JOB_ENDPOINT=host:port (ctest -L prism). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "beam/testing.h"
#include "beam/testing_cmocka.h"

/* --- DoFns under test ------------------------------------------------------------------- */

static beam_status upper_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  const beam_bytes *in = &elem->value->u.bytes;
  char *out = beam_arena_alloc(beam_dofn_scratch(ctx), in->len + 1);
  if (!out) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < in->len; i++) out[i] = (char)(in->data[i] >= 'a' && in->data[i] <= 'z' ? in->data[i] - 32 : in->data[i]);
  beam_value v = beam_value_string(out, in->len);
  return beam_dofn_emit(ctx, 0, &v, err);
}

/* Keeps the even numbers only. */
static beam_status evens_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  return elem->value->u.i64 % 2 ? BEAM_OK : beam_dofn_emit(ctx, 0, elem->value, err);
}

static const beam_dofn_def upper = {.name = "kit_upper", .process = upper_process};
static const beam_dofn_def evens = {.name = "kit_evens", .process = evens_process};
BEAM_REGISTER_DOFN(upper)
BEAM_REGISTER_DOFN(evens)

static bool positive(const beam_value *v, char *why, size_t cap) {
  if (v->kind == BEAM_VALUE_INT64 && v->u.i64 > 0) return true;
  snprintf(why, cap, "not positive");
  return false;
}
BEAM_TEST_PREDICATE("positive", positive)

static const char *const words[] = {"apple", "banana", "cherry"};

/* --- passing assertions ------------------------------------------------------------------ */

static void equal_strings_after_a_dofn(void **state) {
  (void)state;
  beam_test *t = beam_test_new("equal strings");
  beam_pipeline *p = beam_test_pipeline(t);
  beam_pcollection *in = beam_test_create_strings(t, "Words", words, 3);
  beam_pcollection *out = beam_pardo1(p, "Upper", in, "kit_upper", NULL, beam_coder_spec_string(p));
  const char *const want[] = {"CHERRY", "APPLE", "BANANA"}; /* any order */
  beam_assert_equal_strings(t, out, "UpperWords", want, 3);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

static void duplicates_count_and_empty(void **state) {
  (void)state;
  beam_test *t = beam_test_new("duplicates, count, empty");
  beam_pipeline *p = beam_test_pipeline(t);
  const int64_t nums[] = {2, 2, 3, 4, 5};
  beam_pcollection *in = beam_test_create_int64s(t, "Numbers", nums, 5);
  beam_pcollection *even = beam_pardo1(p, "Evens", in, "kit_evens", NULL, beam_coder_spec_varint(p));
  const int64_t want[] = {4, 2, 2};
  beam_assert_equal_int64s(t, even, "EvensAre", want, 3);
  beam_assert_count(t, in, "FiveNumbers", 5);
  beam_assert_all(t, in, "AllPositive", "positive");
  const int64_t odd[] = {1, 3};
  beam_pcollection *odds = beam_pardo1(p, "EvensOfOdds", beam_test_create_int64s(t, "Odds", odd, 2), "kit_evens", NULL,
                                       beam_coder_spec_varint(p));
  beam_assert_empty(t, odds, "NoEvenOdds");
  beam_value some[] = {beam_value_int64(3), beam_value_int64(5)};
  beam_assert_contains(t, in, "HasThreeAndFive", some, 2);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

static void per_key_after_combine(void **state) {
  (void)state;
  beam_test *t = beam_test_new("per key");
  beam_pipeline *p = beam_test_pipeline(t);
  const char *const keys[] = {"a", "b", "a", "a"};
  const int64_t values[] = {1, 10, 2, 3};
  beam_pcollection *kvs = beam_test_create_kvs(t, "Pairs", keys, values, 4);
  beam_pcollection *sums = beam_combine_per_key(p, "Sum", kvs, "sum_int64", NULL, beam_coder_spec_varint(p),
                                                beam_coder_spec_varint(p));
  beam_value a = beam_value_string("a", 1), b = beam_value_string("b", 1);
  beam_value six = beam_value_int64(6), ten = beam_value_int64(10);
  beam_assert_per_key(t, sums, "SumOfA", &a, &six, 1);
  beam_assert_per_key(t, sums, "SumOfB", &b, &ten, 1);
  beam_value one = beam_value_int64(1), two = beam_value_int64(2), three = beam_value_int64(3);
  beam_value group_a[] = {three, one, two};
  beam_assert_per_key(t, kvs, "ValuesOfA", &a, group_a, 3);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

static void per_window_contents(void **state) {
  (void)state;
  beam_test *t = beam_test_new("per window");
  beam_pipeline *p = beam_test_pipeline(t);
  beam_value v[] = {beam_value_int64(1), beam_value_int64(2), beam_value_int64(3)};
  const int64_t ts[] = {1000, 9999, 15000};
  beam_pcollection *in = beam_test_create_timestamped(t, "Events", beam_coder_spec_varint(p), v, ts, 3);
  beam_pcollection *windowed = beam_window_into_fixed(p, "TenSeconds", in, 10000, 0);
  beam_value first[] = {v[1], v[0]};
  beam_assert_in_window(t, windowed, "FirstWindow", 0, 10000, first, 2);
  beam_assert_in_window(t, windowed, "SecondWindow", 10000, 20000, &v[2], 1);
  beam_assert_in_window(t, windowed, "ThirdWindowEmpty", 20000, 30000, NULL, 0);
  beam_assert_equal(t, windowed, "AllWindows", v, 3);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

static void rows_and_lines_from_a_file(void **state) {
  (void)state;
  beam_test *t = beam_test_new("rows and lines");
  beam_pipeline *p = beam_test_pipeline(t);
  beam_value r1[] = {beam_value_string("ada", 3), beam_value_int64(36)};
  beam_value r2[] = {beam_value_string("alan", 4), beam_value_null()};
  beam_value rows[] = {{.kind = BEAM_VALUE_ROW, .u.list = {r1, 2}}, {.kind = BEAM_VALUE_ROW, .u.list = {r2, 2}}};
  beam_pcollection *people = beam_test_create(t, "People", beam_coder_spec_value(p), rows, 2);
  beam_assert_equal(t, people, "PeopleAre", rows, 2);
  const char *path = beam_test_write_file(t, "lines.txt", "first line\r\nsecond line\n\nlast");
  beam_pcollection *lines = beam_test_create_lines(t, "Lines", path);
  const char *const want[] = {"first line", "second line", "", "last"};
  beam_assert_equal_strings(t, lines, "LinesAre", want, 4);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

/* --- failures and their reports ---------------------------------------------------------- */

/* Runs t expecting failure; returns the report (owned by t). */
static const char *failure_of(beam_test *t) {
  beam_error err = {0};
  assert_int_not_equal(beam_test_run(t, &err), BEAM_OK);
  assert_string_equal(err.message, beam_test_failure(t));
  print_message("report: %s\n", beam_test_failure(t));
  return beam_test_failure(t);
}

static void wrong_expectation_lists_missing_and_unexpected(void **state) {
  (void)state;
  beam_test *t = beam_test_new("wrong expectation");
  beam_pipeline *p = beam_test_pipeline(t);
  beam_pcollection *out = beam_pardo1(p, "Upper", beam_test_create_strings(t, "Words", words, 3), "kit_upper", NULL,
                                      beam_coder_spec_string(p));
  const char *const want[] = {"APPLE", "BANANA", "DATE", "DATE"};
  beam_assert_equal_strings(t, out, "UpperWords", want, 4);
  const char *report = failure_of(t);
  assert_non_null(strstr(report, "assert \"UpperWords\" on Upper.main (equal) failed: 2 missing, 1 unexpected (expected 4, got 3); "
                                 "missing: \"DATE\" (x2); unexpected: \"CHERRY\""));
  beam_test_free(t);
}

static void long_lists_show_the_first_few(void **state) {
  (void)state;
  beam_test *t = beam_test_new("long lists");
  const int64_t got[] = {1, 2, 3, 4, 5, 6, 7, 8};
  const int64_t want[] = {11, 12, 13, 14, 15};
  beam_assert_equal_int64s(t, beam_test_create_int64s(t, "Numbers", got, 8), "NumbersAre", want, 5);
  const char *report = failure_of(t);
  assert_non_null(strstr(report, "5 missing, 8 unexpected (expected 5, got 8); missing: 11, 12, 13 and 2 more; "
                                 "unexpected: 1, 2, 3 and 5 more"));
  beam_test_free(t);
}

static void other_kinds_report_what_failed(void **state) {
  (void)state;
  const int64_t nums[] = {-1, 2, 3};
  struct {
    const char *kind, *want;
  } cases[] = {
      {"count", "assert \"Check\" on Numbers.main (count) failed: expected 2 elements, got 3: 2, 3, -1"},
      {"empty", "assert \"Check\" on Numbers.main (empty) failed: expected no elements, got 3: 2, 3, -1"},
      {"all", "assert \"Check\" on Numbers.main (all \"positive\") failed: 1 of 3 elements do not satisfy it: -1 (not positive)"},
      {"contains", "assert \"Check\" on Numbers.main (contains) failed: 1 of 2 missing (got 3 elements); missing: 4"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    beam_test *t = beam_test_new(cases[i].kind);
    beam_pcollection *in = beam_test_create_int64s(t, "Numbers", nums, 3);
    beam_value some[] = {beam_value_int64(2), beam_value_int64(4)};
    if (!strcmp(cases[i].kind, "count")) beam_assert_count(t, in, "Check", 2);
    if (!strcmp(cases[i].kind, "empty")) beam_assert_empty(t, in, "Check");
    if (!strcmp(cases[i].kind, "all")) beam_assert_all(t, in, "Check", "positive");
    if (!strcmp(cases[i].kind, "contains")) beam_assert_contains(t, in, "Check", some, 2);
    const char *report = failure_of(t);
    if (!strstr(report, cases[i].want)) fail_msg("%s: got %s", cases[i].kind, report);
    beam_test_free(t);
  }
}

static void per_key_and_window_failures_name_them(void **state) {
  (void)state;
  beam_test *t = beam_test_new("per key failure");
  const char *const keys[] = {"a", "b"};
  const int64_t values[] = {1, 2};
  beam_value a = beam_value_string("a", 1), seven = beam_value_int64(7);
  beam_assert_per_key(t, beam_test_create_kvs(t, "Pairs", keys, values, 2), "ValuesOfA", &a, &seven, 1);
  assert_non_null(strstr(failure_of(t), "assert \"ValuesOfA\" on Pairs.main (per key \"a\") failed: 1 missing, 1 unexpected "
                                        "(expected 1, got 1); missing: 7; unexpected: 1"));
  beam_test_free(t);

  t = beam_test_new("window failure");
  beam_pipeline *p = beam_test_pipeline(t);
  beam_value v = beam_value_int64(5);
  const int64_t ts = 12000;
  beam_pcollection *w = beam_window_into_fixed(p, "Fixed", beam_test_create_timestamped(t, "E", beam_coder_spec_varint(p), &v, &ts, 1), 10000, 0);
  beam_assert_in_window(t, w, "First", 0, 10000, &v, 1);
  assert_non_null(strstr(failure_of(t), "assert \"First\" on Fixed.out (window [0, 10000)) failed: 1 missing, 0 unexpected"));
  beam_test_free(t);
}

static void construction_errors_fail_the_run(void **state) {
  (void)state;
  beam_test *t = beam_test_new("construction error");
  beam_value k = beam_value_string("a", 1);
  beam_assert_per_key(t, beam_test_create_int64s(t, "Numbers", (const int64_t[]){1}, 1), "NotKV", &k, NULL, 0);
  assert_non_null(strstr(failure_of(t), "assert \"NotKV\": per-key contents need a KV PCollection"));
  beam_test_free(t);
  t = beam_test_new("unknown predicate");
  beam_assert_all(t, beam_test_create_int64s(t, "Numbers", (const int64_t[]){1}, 1), "Odd", "no_such_predicate");
  assert_non_null(strstr(failure_of(t), "no predicate registered as \"no_such_predicate\""));
  beam_test_free(t);
  t = beam_test_new("missing file");
  beam_test_create_lines(t, "Lines", "/nonexistent/input.txt");
  assert_non_null(strstr(failure_of(t), "Create \"Lines\": cannot read /nonexistent/input.txt"));
  beam_test_free(t);
}

/* A worker whose main() forgot beam_test_worker would run the tests again and submit jobs of
 * its own: the kit refuses instead. */
static void a_test_inside_a_worker_is_refused(void **state) {
  (void)state;
  beam_test *t = beam_test_new("inside a worker");
  beam_assert_empty(t, beam_test_create_int64s(t, "Numbers", NULL, 0), "Empty");
  setenv("BEAM_C_WORKER", "1", 1);
  const char *report = failure_of(t);
  unsetenv("BEAM_C_WORKER");
  assert_non_null(strstr(report, "started as a Beam worker"));
  beam_test_free(t);
}

static void values_render_readably(void **state) {
  (void)state;
  char buf[64];
  beam_value k = beam_value_string("k\"1\n", 4), x = beam_value_double(1.5), b = beam_value_bytes("\x01\xff", 2);
  beam_value items[] = {x, b, beam_value_null(), beam_value_bool(true)};
  beam_value list = {.kind = BEAM_VALUE_LIST, .u.list = {items, 4}};
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&k, &list}};
  assert_string_equal(beam_test_format_value(&kv, buf, sizeof buf), "(\"k\\\"1\\n\", [1.5, 0x01ff, null, true])");
  assert_string_equal(beam_test_format_value(&kv, buf, 12), "(\"k\\\"1\\n...");
}

int main(int argc, char **argv) {
  int rc;
  if (beam_test_worker(argc, argv, &rc)) return rc;
  beam_error err = {0};
  if (beam_test_configure(argc, argv, &err) != BEAM_OK) return fprintf(stderr, "%s\n", err.message), 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(equal_strings_after_a_dofn),
      cmocka_unit_test(duplicates_count_and_empty),
      cmocka_unit_test(per_key_after_combine),
      cmocka_unit_test(per_window_contents),
      cmocka_unit_test(rows_and_lines_from_a_file),
      cmocka_unit_test(wrong_expectation_lists_missing_and_unexpected),
      cmocka_unit_test(long_lists_show_the_first_few),
      cmocka_unit_test(other_kinds_report_what_failed),
      cmocka_unit_test(per_key_and_window_failures_name_them),
      cmocka_unit_test(construction_errors_fail_the_run),
      cmocka_unit_test(a_test_inside_a_worker_is_refused),
      cmocka_unit_test(values_render_readably),
  };
  return cmocka_run_group_tests_name("testing_kit", tests, NULL, NULL);
}
