/* The testing kit inside cmocka tests: one macro that runs the test's pipeline and fails the
 * cmocka test with the kit's report (which cmocka's JUnit XML output carries as the failure
 * message: CMOCKA_MESSAGE_OUTPUT=xml CMOCKA_XML_FILE=results-%g.xml).
 *
 *   static void lengths(void **state) {
 *     beam_test *t = beam_test_new("lengths");
 *     ...build, assert...
 *     assert_beam_test_passes(t);  // on failure: frees t, then fails with the report
 *     beam_test_free(t);
 *   }
 *
 * main() starts with the worker check (see testing.h) and may pass argv to
 * beam_test_configure so --runner=portable --job_endpoint=... work as flags. */
#ifndef BEAM_TESTING_CMOCKA_H
#define BEAM_TESTING_CMOCKA_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "beam/testing.h"

/* The report is copied before t is freed: a failing cmocka assertion leaves the test function
 * by longjmp, so the caller's own beam_test_free would never run. It goes through
 * _assert_true (what assert_true expands to) rather than fail_msg because cmocka keeps only
 * assertion messages for its XML output; fail_msg's text goes to stderr alone. */
#define assert_beam_test_passes(t)                                                             \
  do {                                                                                         \
    beam_test *beam_test_t_ = (t);                                                             \
    if (beam_test_run(beam_test_t_, NULL) != BEAM_OK) {                                        \
      char beam_test_report_[1024];                                                            \
      snprintf(beam_test_report_, sizeof beam_test_report_, "%s (%s runner): %s",              \
               beam_test_name(beam_test_t_), beam_test_runner(beam_test_t_),                   \
               beam_test_failure(beam_test_t_));                                               \
      beam_test_free(beam_test_t_);                                                            \
      _assert_true(0, beam_test_report_, __FILE__, __LINE__);                                  \
    }                                                                                          \
  } while (0)

#endif
