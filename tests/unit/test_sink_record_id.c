/* beam_sink_record_id: a record's identity within a run, what at-least-once sinks key their
 * writes on so a runner's retry under a new bundle id repeats the same ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/sink.h"

static const beam_etl_field fields[] = {{"event_id", BEAM_ETL_STRING, BEAM_ETL_REQUIRED}};
static const beam_etl_schema schema = {(beam_etl_field *)fields, 1};

static beam_etl_row row_from(const char *source, int64_t line) {
  return (beam_etl_row){&schema, NULL, {source, line, {NULL, 0}}};
}

static void same_record_same_id(void **state) {
  (void)state;
  beam_sink_options o = {.run_id = "run-1"};
  char a[BEAM_SINK_RECORD_ID_LEN + 1], b[BEAM_SINK_RECORD_ID_LEN + 1];
  beam_etl_row r = row_from("gs://b/events.jsonl", 42);
  assert_true(beam_sink_record_id(&o, "events", &r, a));
  assert_true(beam_sink_record_id(&o, "events", &r, b));
  assert_string_equal(a, b);
  assert_int_equal(strlen(a), BEAM_SINK_RECORD_ID_LEN);
  assert_int_equal(strspn(a, "0123456789abcdef"), BEAM_SINK_RECORD_ID_LEN);
}

static void any_part_changes_the_id(void **state) {
  (void)state;
  beam_sink_options o = {.run_id = "run-1"}, other_run = {.run_id = "run-2"};
  char base[BEAM_SINK_RECORD_ID_LEN + 1], id[BEAM_SINK_RECORD_ID_LEN + 1];
  beam_etl_row r = row_from("a.csv", 1), next_line = row_from("a.csv", 2), other_file = row_from("b.csv", 1);
  assert_true(beam_sink_record_id(&o, "t", &r, base));
  assert_true(beam_sink_record_id(&other_run, "t", &r, id));
  assert_string_not_equal(base, id);
  assert_true(beam_sink_record_id(&o, "u", &r, id));
  assert_string_not_equal(base, id);
  assert_true(beam_sink_record_id(&o, "t", &next_line, id));
  assert_string_not_equal(base, id);
  assert_true(beam_sink_record_id(&o, "t", &other_file, id));
  assert_string_not_equal(base, id);
  /* The separator keeps ("ab", "c") apart from ("a", "bc"). */
  beam_etl_row c = row_from("c", 1), bc = row_from("bc", 1);
  char x[BEAM_SINK_RECORD_ID_LEN + 1], y[BEAM_SINK_RECORD_ID_LEN + 1];
  assert_true(beam_sink_record_id(&o, "ab", &c, x));
  assert_true(beam_sink_record_id(&o, "a", &bc, y));
  assert_string_not_equal(x, y);
}

static void no_run_or_no_origin_no_id(void **state) {
  (void)state;
  beam_sink_options none = {0}, o = {.run_id = "run-1"};
  char id[BEAM_SINK_RECORD_ID_LEN + 1] = "untouched";
  beam_etl_row r = row_from("a.csv", 1), files_row = row_from(NULL, 0);
  assert_false(beam_sink_record_id(&none, "t", &r, id));
  assert_false(beam_sink_record_id(&o, "_files", &files_row, id));
  assert_string_equal(id, "untouched");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(same_record_same_id),
      cmocka_unit_test(any_part_changes_the_id),
      cmocka_unit_test(no_run_or_no_origin_no_id),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
