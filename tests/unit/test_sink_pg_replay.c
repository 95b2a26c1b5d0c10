/* The PostgreSQL sink's replay log (no server needed; replays on a real server are in
 * tests/postgres/test_sink_postgres.c): rows, unit savepoints, ledger entries, and the
 * truncation a unit rollback makes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "beam/value.h"
#include "sink_pg_replay.h"

static beam_etl_field fields[] = {{"s", BEAM_ETL_STRING, BEAM_ETL_REQUIRED}};
static const beam_etl_schema schema = {fields, 1};

/* Encodes n rows "<prefix>k" into c (reset first). */
static void encode(beam_sink_pg_copy *c, const char *prefix, size_t n) {
  beam_sink_pg_copy_reset(c);
  char text[32], reason[128];
  for (size_t k = 0; k < n; k++) {
    snprintf(text, sizeof text, "%s%zu", prefix, k);
    beam_value v = beam_value_string(text, strlen(text));
    bool nomem = false;
    assert_true(beam_sink_pg_copy_add(c, &schema, &v, k, reason, sizeof reason, &nomem));
  }
}

static void test_rollback_truncates_to_the_savepoint(void **state) {
  (void)state;
  beam_sink_pg_replay r = {.max_bytes = 1 << 20};
  beam_sink_pg_copy c = BEAM_SINK_PG_COPY_INIT;
  encode(&c, "a", 3);
  size_t a_len = c.start[c.n];
  beam_sink_pg_replay_add(&r, 0, &c, NULL, 0);
  beam_sink_pg_replay_savepoint(&r);
  beam_sink_pg_replay_ledger(&r, "unit-1", "in/a.csv", false);
  size_t kept_steps = r.n_steps, kept_bytes = r.bytes.len;
  beam_sink_pg_replay_savepoint(&r); /* a second unit replaces the mark */
  encode(&c, "b", 2);
  size_t refused[] = {0};
  beam_sink_pg_replay_add(&r, 1, &c, refused, 1);
  beam_sink_pg_replay_ledger(&r, "unit-2", "in/b.csv", true);
  assert_int_equal(r.n_steps, kept_steps + 3);
  beam_sink_pg_replay_rollback(&r);
  /* Rows, unit savepoint, ledger entry, the second savepoint: the unit's steps are gone. */
  assert_int_equal(r.n_steps, kept_steps + 1);
  assert_int_equal(r.bytes.len, kept_bytes);
  assert_int_equal(r.steps[0].kind, BEAM_SINK_PG_REPLAY_ROWS);
  assert_int_equal(r.steps[0].table, 0);
  assert_int_equal(r.steps[0].len, a_len);
  assert_int_equal(r.steps[1].kind, BEAM_SINK_PG_REPLAY_SAVEPOINT);
  assert_int_equal(r.steps[2].kind, BEAM_SINK_PG_REPLAY_LEDGER);
  assert_int_equal(r.steps[3].kind, BEAM_SINK_PG_REPLAY_SAVEPOINT);
  const char *key, *file;
  beam_sink_pg_replay_ledger_args(&r, &r.steps[2], &key, &file);
  assert_string_equal(key, "unit-1");
  assert_string_equal(file, "in/a.csv");
  assert_false(r.steps[2].replace);
  /* A second rollback to the same mark changes nothing; the log grows again after it. */
  beam_sink_pg_replay_rollback(&r);
  assert_int_equal(r.n_steps, kept_steps + 1);
  beam_sink_pg_replay_add(&r, 1, &c, NULL, 0);
  assert_int_equal(r.n_steps, kept_steps + 2);
  assert_int_equal(r.steps[kept_steps + 1].table, 1);
  assert_int_equal(r.steps[kept_steps + 1].len, c.start[c.n]);
  /* A new bundle starts empty, without a mark. */
  beam_sink_pg_replay_reset(&r);
  assert_int_equal(r.n_steps, 0);
  assert_int_equal(r.mark_steps, 0);
  beam_sink_pg_copy_free(&c);
  beam_sink_pg_replay_free(&r);
}

/* An overflow inside a unit is undone by rolling the unit back; one before the mark is not. */
static void test_overflow_and_rollback(void **state) {
  (void)state;
  beam_sink_pg_copy c = BEAM_SINK_PG_COPY_INIT;
  encode(&c, "row", 10);
  beam_sink_pg_replay r = {.max_bytes = c.start[c.n] + c.start[c.n] / 2};
  beam_sink_pg_replay_add(&r, 0, &c, NULL, 0);
  beam_sink_pg_replay_savepoint(&r);
  beam_sink_pg_replay_add(&r, 0, &c, NULL, 0);
  assert_true(r.overflow);
  beam_sink_pg_replay_rollback(&r);
  assert_false(r.overflow);
  assert_int_equal(r.n_steps, 2);
  assert_int_equal(r.bytes.len, c.start[c.n]);
  /* The ledger entry counts against the bound too. */
  char big[4096];
  memset(big, 'f', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  beam_sink_pg_replay_ledger(&r, "unit", big, false);
  assert_true(r.overflow);
  beam_sink_pg_replay_savepoint(&r); /* overflowed before the mark: stays so */
  beam_sink_pg_replay_rollback(&r);
  assert_true(r.overflow);
  beam_sink_pg_replay_reset(&r);
  assert_false(r.overflow);
  assert_int_equal(r.n_steps, 0);
  beam_sink_pg_copy_free(&c);
  beam_sink_pg_replay_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rollback_truncates_to_the_savepoint),
      cmocka_unit_test(test_overflow_and_rollback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
