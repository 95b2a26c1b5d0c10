/* The ledger's ranges of a file (beam_sink_ledger_ranges), the same scenario for every sink
 * with a ledger. Include after <cmocka.h> and sink_test_util.h. */
#ifndef BEAM_TESTS_SINK_TEST_RANGES_H
#define BEAM_TESTS_SINK_TEST_RANGES_H

#include <stdint.h>
#include <stdio.h>

#include "beam/transforms/sink.h"

/* Looks file_id up on s and checks the answer against want ("[0,200)[300,400)" or ""). */
static inline void sink_test_expect_ranges(beam_sink *s, const char *file_id, const char *want) {
  beam_sink_ranges r = {0};
  beam_error err = {0};
  if (beam_sink_ledger_ranges(s, file_id, &r, &err) != BEAM_OK) fail_msg("ledger_ranges %s: %s", file_id, err.message);
  char got[512] = "";
  size_t n = 0;
  for (size_t i = 0; i < r.len && n < sizeof got; i++)
    n += (size_t)snprintf(got + n, sizeof got - n, r.items[i].end == INT64_MAX ? "[%lld,max)" : "[%lld,%lld)",
                          (long long)r.items[i].start, (long long)r.items[i].end);
  beam_sink_ranges_free(&r);
  if (strcmp(got, want) != 0) fail_msg("ledger_ranges %s: got \"%s\", want \"%s\"", file_id, got, want);
}

static inline void sink_test_record_unit(beam_sink *s, const char *key) {
  beam_error err = {0};
  if (beam_sink_ledger_record(s, key, "in.csv", false, &err) != BEAM_OK) fail_msg("ledger_record %s: %s", key, err.message);
}

/* beam_sink_ledger_find_many: keys (prefix + "#1".."#3", one twice, one with a quote and a
 * backslash) found when committed by other, or recorded in s's open bundle; not once that
 * bundle aborted. Both sinks idle at the start. */
static inline void sink_test_ledger_find_many(beam_sink *s, beam_sink *other, const char *prefix) {
  char k[5][128];
  snprintf(k[0], sizeof k[0], "%s#1", prefix);
  snprintf(k[1], sizeof k[1], "%s#2", prefix);
  snprintf(k[2], sizeof k[2], "%s#3", prefix);
  snprintf(k[3], sizeof k[3], "%s#1", prefix);
  snprintf(k[4], sizeof k[4], "%s#\"q\\", prefix);
  const char *keys[5] = {k[0], k[1], k[2], k[3], k[4]};
  bool found[5] = {true, true, true, true, true};
  beam_error err = {0};
  if (beam_sink_ledger_find_many(s, keys, 5, found, &err) != BEAM_OK) fail_msg("find_many: %s", err.message);
  for (int i = 0; i < 5; i++) assert_false(found[i]);
  assert_int_equal(beam_sink_begin(other, "find-many-other", &err), BEAM_OK);
  sink_test_record_unit(other, k[0]);
  sink_test_record_unit(other, k[4]);
  assert_int_equal(beam_sink_commit(other, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(s, "find-many-mine", &err), BEAM_OK);
  sink_test_record_unit(s, k[2]);
  if (beam_sink_ledger_find_many(s, keys, 5, found, &err) != BEAM_OK) fail_msg("find_many: %s", err.message);
  assert_true(found[0]);
  assert_false(found[1]);
  assert_true(found[2]);
  assert_true(found[3]);
  assert_true(found[4]);
  beam_sink_abort(s);
  if (beam_sink_ledger_find_many(s, keys, 5, found, &err) != BEAM_OK) fail_msg("find_many: %s", err.message);
  assert_false(found[2]);
  assert_true(found[0]);
}

/* Units of file id (a name unique to the calling test) committed by s are found by other (a
 * second instance on the same destination) once committed, merged and sorted; the bundle's
 * own entries count inside it; an aborted bundle's do not; other files' units, ones whose tail
 * is not a range, and ids that only look alike (LIKE wildcards) are not taken; the whole
 * file's unit covers everything. Both sinks idle at the start; table "t" ensured on s. */
static inline void sink_test_ledger_ranges(beam_sink *s, beam_sink *other, const char *id) {
  char key[256], like[256];
  beam_error err = {0};
  /* A look-alike id: id and LIKE's wildcards (an unescaped LIKE 'id%_@%' would take id's units). */
  snprintf(like, sizeof like, "%s%%_", id);
  sink_test_expect_ranges(s, id, "");
  sink_test_expect_ranges(s, like, "");

  assert_int_equal(beam_sink_begin(s, "ranges-1", &err), BEAM_OK);
  const char *units[] = {"@300-400", "@0-100", "@100-200", "@250-260", "@7-7", "@9-3", "@1-2-3", "@x-9", "@-1-5",
                         "@5", "@ 5-6", "X@0-1000", "!member@0-1000"};
  for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
    snprintf(key, sizeof key, "%s%s", id, units[i]);
    sink_test_record_unit(s, key);
  }
  snprintf(key, sizeof key, "%s%%_@500-600", id); /* the look-alike's range */
  sink_test_record_unit(s, key);
  sink_test_expect_ranges(s, id, "[0,200)[250,260)[300,400)"); /* the bundle's own entries */
  sink_test_expect_ranges(other, id, "");                     /* not committed yet */
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  sink_test_expect_ranges(other, id, "[0,200)[250,260)[300,400)");
  sink_test_expect_ranges(other, like, "[500,600)");

  /* An aborted bundle's units are not there; a range beside a committed one joins it. */
  assert_int_equal(beam_sink_begin(other, "ranges-2", &err), BEAM_OK);
  snprintf(key, sizeof key, "%s@200-250", id);
  sink_test_record_unit(other, key);
  sink_test_expect_ranges(other, id, "[0,260)[300,400)");
  beam_sink_abort(other);
  sink_test_expect_ranges(other, id, "[0,200)[250,260)[300,400)");

  /* The whole file's unit: everything. */
  assert_int_equal(beam_sink_begin(other, "ranges-3", &err), BEAM_OK);
  sink_test_record_unit(other, id);
  assert_int_equal(beam_sink_commit(other, &err), BEAM_OK);
  sink_test_expect_ranges(s, id, "[0,max)");
}

/* beam_sink_ranges_contain and beam_sink_ranges_cover on a merged list. */
static inline void sink_test_ranges_queries(void) {
  beam_sink_byte_range items[] = {{0, 200}, {250, 260}, {300, 400}};
  beam_sink_ranges r = {items, 3, 3};
  assert_true(beam_sink_ranges_contain(&r, 0));
  assert_true(beam_sink_ranges_contain(&r, 199));
  assert_false(beam_sink_ranges_contain(&r, 200));
  assert_false(beam_sink_ranges_contain(&r, 249));
  assert_true(beam_sink_ranges_contain(&r, 250));
  assert_false(beam_sink_ranges_contain(&r, 400));
  assert_false(beam_sink_ranges_contain(&r, -1));
  assert_true(beam_sink_ranges_cover(&r, 0, 200));
  assert_true(beam_sink_ranges_cover(&r, 10, 20));
  assert_false(beam_sink_ranges_cover(&r, 0, 201));
  assert_false(beam_sink_ranges_cover(&r, 150, 300));
  assert_true(beam_sink_ranges_cover(&r, 300, 400));
  assert_true(beam_sink_ranges_cover(&r, 500, 500)); /* empty */
  assert_false(beam_sink_ranges_cover(&r, 400, 401));
  beam_sink_ranges none = {0};
  assert_false(beam_sink_ranges_contain(&none, 0));
  assert_false(beam_sink_ranges_cover(&none, 0, 1));
}

#endif
