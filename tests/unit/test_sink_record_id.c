/* beam_sink_record_id: a record's identity (table, file identity, byte offset), what
 * at-least-once sinks key their writes on, so a runner's retry under a new bundle id and a
 * relaunch of the same command repeat the same ids, and a renamed copy of a file too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/sink.h"

static const beam_etl_field fields[] = {{"event_id", BEAM_ETL_STRING, BEAM_ETL_REQUIRED}};
static const beam_etl_schema schema = {(beam_etl_field *)fields, 1};

static beam_etl_row row_from(const char *source, const char *file_id, int64_t offset) {
  return (beam_etl_row){&schema, NULL, {.source = source, .line = 1, .offset = offset, .file_id = file_id}};
}

static void same_record_same_id(void **state) {
  (void)state;
  char a[BEAM_SINK_RECORD_ID_LEN + 1], b[BEAM_SINK_RECORD_ID_LEN + 1];
  beam_etl_row r = row_from("gs://b/events.jsonl", "100-xxh3-00ff", 42);
  assert_true(beam_sink_record_id("events", &r, a));
  assert_true(beam_sink_record_id("events", &r, b));
  assert_string_equal(a, b);
  assert_int_equal(strlen(a), BEAM_SINK_RECORD_ID_LEN);
  assert_int_equal(strspn(a, "0123456789abcdef"), BEAM_SINK_RECORD_ID_LEN);
}

static void the_name_is_not_part_of_it(void **state) {
  (void)state;
  char a[BEAM_SINK_RECORD_ID_LEN + 1], b[BEAM_SINK_RECORD_ID_LEN + 1];
  beam_etl_row r = row_from("landing/a.csv", "9-xxh3-ab", 7), renamed = row_from("raw/2026/a-copy.csv", "9-xxh3-ab", 7);
  renamed.origin.line = 3; /* the line number is not part of it either: the offset is */
  assert_true(beam_sink_record_id("t", &r, a));
  assert_true(beam_sink_record_id("t", &renamed, b));
  assert_string_equal(a, b);
}

static void any_part_changes_the_id(void **state) {
  (void)state;
  char base[BEAM_SINK_RECORD_ID_LEN + 1], id[BEAM_SINK_RECORD_ID_LEN + 1];
  beam_etl_row r = row_from("a.csv", "9-xxh3-ab", 0), next = row_from("a.csv", "9-xxh3-ab", 10),
               other_file = row_from("a.csv", "9-xxh3-ac", 0);
  assert_true(beam_sink_record_id("t", &r, base));
  assert_true(beam_sink_record_id("u", &r, id));
  assert_string_not_equal(base, id);
  assert_true(beam_sink_record_id("t", &next, id));
  assert_string_not_equal(base, id);
  assert_true(beam_sink_record_id("t", &other_file, id));
  assert_string_not_equal(base, id);
  /* The separator keeps ("ab", "c") apart from ("a", "bc"). */
  beam_etl_row c = row_from("x", "c", 1), bc = row_from("x", "bc", 1);
  char x[BEAM_SINK_RECORD_ID_LEN + 1], y[BEAM_SINK_RECORD_ID_LEN + 1];
  assert_true(beam_sink_record_id("ab", &c, x));
  assert_true(beam_sink_record_id("a", &bc, y));
  assert_string_not_equal(x, y);
}

static void no_file_no_id(void **state) {
  (void)state;
  char id[BEAM_SINK_RECORD_ID_LEN + 1] = "untouched";
  beam_etl_row files_row = row_from("a.csv", NULL, 0);
  assert_false(beam_sink_record_id("_files", &files_row, id));
  assert_string_equal(id, "untouched");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(same_record_same_id),
      cmocka_unit_test(the_name_is_not_part_of_it),
      cmocka_unit_test(any_part_changes_the_id),
      cmocka_unit_test(no_file_no_id),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
