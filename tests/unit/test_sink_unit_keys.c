/* Unit keys of byte ranges: "<file id>@<start>-<end>", strictly, so that a ZIP member whose
 * name holds an '@' is never taken for a range of another member (retraction, ledger ranges). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sink_int.h"

static void ranges_are_strict(void **state) {
  (void)state;
  assert_true(beam_sink_unit_is_range_of("F@0-100", "F"));
  assert_true(beam_sink_unit_is_range_of("Z!a@b.csv@0-10", "Z!a@b.csv"));
  assert_false(beam_sink_unit_is_range_of("Z!a@b.csv", "Z!a"));
  assert_false(beam_sink_unit_is_range_of("F", "F"));
  assert_false(beam_sink_unit_is_range_of("F@10-5", "F"));
  assert_false(beam_sink_unit_is_range_of("F@1-2x", "F"));
  assert_false(beam_sink_unit_is_range_of("FG@0-1", "F"));
  assert_true(beam_sink_unit_is_range("Z!a@b.csv@0-10"));
  assert_false(beam_sink_unit_is_range("Z!a@b.csv"));
  assert_false(beam_sink_unit_is_range(NULL));
  beam_sink_ranges r = {0};
  assert_int_equal(beam_sink_ranges_add_unit(&r, "Z!a", "Z!a@b.csv"), BEAM_OK);
  assert_int_equal(r.len, 0);
  assert_int_equal(beam_sink_ranges_add_unit(&r, "Z!a", "Z!a@5-9"), BEAM_OK);
  assert_int_equal(r.len, 1);
  assert_int_equal(r.items[0].start, 5);
  beam_sink_ranges_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(ranges_are_strict)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
