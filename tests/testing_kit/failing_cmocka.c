/* A cmocka program with one passing and one deliberately failing kit test, run with cmocka's
 * JUnit XML output (check_junit.sh): the XML must name the failing test and carry the kit's
 * report (missing and unexpected elements) as its failure message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "beam/testing_cmocka.h"

static void right_expectation(void **state) {
  (void)state;
  beam_test *t = beam_test_new("right");
  const int64_t v[] = {1, 2, 3};
  beam_assert_equal_int64s(t, beam_test_create_int64s(t, "Numbers", v, 3), "NumbersAre", v, 3);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

static void wrong_expectation(void **state) {
  (void)state;
  beam_test *t = beam_test_new("wrong");
  const int64_t v[] = {1, 2, 3}, want[] = {1, 2, 4};
  beam_assert_equal_int64s(t, beam_test_create_int64s(t, "Numbers", v, 3), "NumbersAre", want, 3);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

int main(int argc, char **argv) {
  int rc;
  if (beam_test_worker(argc, argv, &rc)) return rc;
  const struct CMUnitTest tests[] = {cmocka_unit_test(right_expectation), cmocka_unit_test(wrong_expectation)};
  return cmocka_run_group_tests_name("testing_kit_junit", tests, NULL, NULL);
}
