/* The per-record chain end to end, dead-letter rows, hard mode and dedupe keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/etl_dedupe.h"
#include "beam/transforms/etl_process.h"
#include "etl_test_util.h"

static beam_etl_spec *load(bool hard) {
  char text[8192];
  snprintf(text, sizeof text, "%s", ETL_EXAMPLE_SPEC);
  if (hard) {
    char *m = strstr(text, "\"soft\"");
    memcpy(m, "\"hard\"", 6);
  }
  beam_etl_spec *spec = NULL;
  beam_error err = {0};
  if (beam_etl_spec_parse(text, strlen(text), "spec.json", &spec, &err) != BEAM_OK) fail_msg("%s", err.message);
  return spec;
}

/* Cells in schema order: event_id, event_type, amount, ts, email, x. NULL = absent. */
static beam_etl_outcome run(const beam_etl_spec *spec, beam_arena *arena, int64_t line, const char *const v[6]) {
  beam_etl_cell *cells = beam_arena_alloc(arena, 6 * sizeof *cells);
  for (int i = 0; i < 6; i++) cells[i] = v[i] ? etl_text(v[i]) : etl_absent();
  beam_etl_record rec = {&spec->schema, cells, {.source = "in.jsonl", .line = line, .raw = {(const uint8_t *)"{raw}", 5}, .offset = line * 10}};
  beam_etl_outcome out;
  assert_int_equal(beam_etl_process_record(spec, &rec, arena, &out), BEAM_OK);
  return out;
}

static void expect_dead(const beam_etl_outcome *o, const char *stage, const char *error) {
  assert_int_equal(o->kind, BEAM_ETL_OUTCOME_DEAD_LETTER);
  assert_string_equal(o->stage, stage);
  assert_string_equal(o->error, error);
}

static void chain_outcomes(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_spec *spec = load(false);
  const char *good[6] = {"e-1", " ORDER ", "12.5", "2024-01-02T03:04:05Z", "a@b.c", "42"};
  beam_etl_outcome o = run(spec, &arena, 1, good);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_ROW);
  assert_string_equal(o.table, "events_order");
  assert_int_equal(o.row.values[1].u.bytes.len, 5);
  assert_memory_equal(o.row.values[1].u.bytes.data, "order", 5);
  assert_true(o.row.values[2].u.f64 == 12.5);
  assert_int_equal(o.row.values[3].u.i64, 1704164645000000LL);
  assert_int_equal(o.row.origin.line, 1);

  const char *bad_amount[6] = {"e-2", "order", "abc", "2024-01-02T03:04:05Z", "a@b.c", NULL};
  o = run(spec, &arena, 2, bad_amount);
  expect_dead(&o, BEAM_ETL_STAGE_PARSE, "field \"amount\": \"abc\" is not a FLOAT64");
  const char *no_ts[6] = {"e-3", "order", "1", NULL, "a@b.c", NULL};
  o = run(spec, &arena, 3, no_ts);
  expect_dead(&o, BEAM_ETL_STAGE_PARSE, "field \"ts\": required but missing");
  const char *null_ts[6] = {"e-3", "order", "1", "NULL", "a@b.c", NULL};
  o = run(spec, &arena, 3, null_ts);
  expect_dead(&o, BEAM_ETL_STAGE_PARSE, "field \"ts\": required but null");
  const char *negative[6] = {"e-4", "order", "-1", "2024-01-02", "a@b.c", NULL};
  o = run(spec, &arena, 4, negative);
  expect_dead(&o, BEAM_ETL_STAGE_VALIDATE, "field \"amount\": \"-1\" fails rule min 0 (validate.rules[0])");
  const char *bad_type[6] = {"e-4", "shipping", "1", "2024-01-02", "a@b.c", NULL};
  o = run(spec, &arena, 4, bad_type);
  expect_dead(&o, BEAM_ETL_STAGE_VALIDATE, "field \"event_type\": \"shipping\" fails rule enum (validate.rules[1])");
  const char *bad_id[6] = {"e 5", "order", "1", "2024-01-02", "a@b.c", NULL};
  o = run(spec, &arena, 5, bad_id);
  expect_dead(&o, BEAM_ETL_STAGE_VALIDATE,
              "field \"event_id\": \"e 5\" fails rule regex \"^[A-Za-z0-9-]+$\" (validate.rules[2])");
  const char *no_email[6] = {"e-6", "order", "1", "2024-01-02", "N/A", NULL};
  o = run(spec, &arena, 6, no_email);
  expect_dead(&o, BEAM_ETL_STAGE_VALIDATE, "field \"email\": null fails rule required (validate.rules[3])");
  const char *x_not_int[6] = {"e-7", "order", "1", "2024-01-02", "a@b.c", "4.2"};
  o = run(spec, &arena, 7, x_not_int);
  expect_dead(&o, BEAM_ETL_STAGE_VALIDATE, "field \"x\": \"4.2\" fails rule type INT64 (validate.rules[4])");
  const char *bad_route[6] = {"e-8", "Ord Er", "1", "2024-01-02", "a@b.c", NULL};
  o = run(spec, &arena, 8, bad_route);
  expect_dead(&o, BEAM_ETL_STAGE_ROUTE,
              "route: value \"ord er\" of field \"event_type\" makes invalid table name \"events_ord er\"");
  const char *misc[6] = {"e-9", "misc", "5", "2024-01-02", "a@b.c", NULL};
  o = run(spec, &arena, 9, misc);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_FILTERED);
  const char *small[6] = {"e-10", "order", "0.5", "2024-01-02", "a@b.c", NULL};
  o = run(spec, &arena, 10, small);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_FILTERED);
  const char *no_amount[6] = {"e-11", "inventory", "", "2024-01-02", "a@b.c", NULL};
  o = run(spec, &arena, 11, no_amount);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_ROW);
  assert_string_equal(o.table, "events_inventory");
  assert_int_equal(o.row.values[2].kind, BEAM_VALUE_NULL);

  char msg[256];
  o = run(spec, &arena, 2, bad_amount);
  assert_string_equal(beam_etl_outcome_message(&o, msg, sizeof msg),
                      "in.jsonl:2: parse: field \"amount\": \"abc\" is not a FLOAT64");
  beam_etl_spec_free(spec);
  beam_arena_free(&arena);
}

static void hard_mode_stops(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_spec *spec = load(true);
  assert_true(spec->validate.hard);
  const char *negative[6] = {"e-4", "order", "-1", "2024-01-02", "a@b.c", NULL};
  beam_etl_outcome o = run(spec, &arena, 4, negative);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_HARD_FAIL);
  assert_string_equal(o.stage, BEAM_ETL_STAGE_VALIDATE);
  char msg[256];
  assert_string_equal(beam_etl_outcome_message(&o, msg, sizeof msg),
                      "in.jsonl:4: validate: field \"amount\": \"-1\" fails rule min 0 (validate.rules[0])");
  const char *bad_amount[6] = {"e-2", "order", "abc", "2024-01-02", "a@b.c", NULL};
  o = run(spec, &arena, 2, bad_amount);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_HARD_FAIL);
  const char *misc[6] = {"e-9", "misc", "5", "2024-01-02", "a@b.c", NULL};
  o = run(spec, &arena, 9, misc);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_FILTERED); /* filtering is not a failure */
  beam_etl_spec_free(spec);
  beam_arena_free(&arena);
}

static void dead_letter_rows(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_origin origin = {.source = "gs://b/in.csv", .line = 12, .raw = {(const uint8_t *)"a,b,c", 5}};
  beam_etl_row row;
  assert_int_equal(beam_etl_dead_letter_row(&origin, "field \"a\": bad", BEAM_ETL_STAGE_PARSE, &arena, &row), BEAM_OK);
  assert_ptr_equal(row.schema, beam_etl_dead_letter_schema());
  assert_int_equal(row.values[0].kind, BEAM_VALUE_STRING);
  assert_memory_equal(row.values[0].u.bytes.data, "gs://b/in.csv", 13);
  assert_int_equal(row.values[1].u.i64, 12);
  assert_memory_equal(row.values[2].u.bytes.data, "a,b,c", 5);
  assert_memory_equal(row.values[3].u.bytes.data, "field \"a\": bad", 14);
  assert_memory_equal(row.values[4].u.bytes.data, "parse", 5);
  beam_etl_origin bare = {.source = "x"};
  assert_int_equal(beam_etl_dead_letter_row(&bare, "e", BEAM_ETL_STAGE_READ, &arena, &row), BEAM_OK);
  assert_int_equal(row.values[1].kind, BEAM_VALUE_NULL);
  assert_int_equal(row.values[2].kind, BEAM_VALUE_NULL);
  beam_arena_free(&arena);
}

static void dedupe_keys_and_order(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_spec *spec = load(false);
  const char *a[6] = {"e-1", "order", "1", "2024-01-02", "a@b.c", NULL};
  const char *b[6] = {"e-1", "inventory", "2", "2024-01-03", "x@y.z", NULL};
  const char *c[6] = {"e-2", "order", "1", "2024-01-02", "a@b.c", NULL};
  beam_etl_outcome oa = run(spec, &arena, 5, a), ob = run(spec, &arena, 3, b), oc = run(spec, &arena, 1, c);
  beam_buf ka = BEAM_BUF_INIT, kb = BEAM_BUF_INIT, kc = BEAM_BUF_INIT;
  assert_int_equal(beam_etl_dedupe_key(spec, &oa.row, &ka), BEAM_OK);
  assert_int_equal(beam_etl_dedupe_key(spec, &ob.row, &kb), BEAM_OK);
  assert_int_equal(beam_etl_dedupe_key(spec, &oc.row, &kc), BEAM_OK);
  assert_int_equal(ka.len, kb.len);
  assert_memory_equal(ka.data, kb.data, ka.len);
  assert_true(ka.len != kc.len || memcmp(ka.data, kc.data, ka.len) != 0);
  assert_int_equal(ka.data[0], 1);
  /* Within a group the earlier record (line 3) wins. */
  assert_true(beam_etl_row_order_compare(&ob.row, &oa.row) < 0);
  beam_etl_origin x = {.source = "a.csv", .offset = 90}, y = {.source = "b.csv", .offset = 1}, z = {.source = "b.csv", .file_index = 1};
  assert_true(beam_etl_origin_compare(&y, &z) < 0); /* input order first */
  assert_true(beam_etl_origin_compare(&x, &y) < 0);
  assert_int_equal(beam_etl_origin_compare(&x, &x), 0);

  /* Null keys never collide; numeric keys are fixed-width and canonical. */
  beam_etl_field f[] = {{"k", BEAM_ETL_FLOAT64, BEAM_ETL_NULLABLE}};
  beam_etl_spec fake = *spec;
  fake.schema.fields = f;
  fake.schema.n_fields = 1;
  fake.dedupe_field = 0;
  beam_value v[1] = {beam_value_null()};
  beam_etl_row r1 = {&fake.schema, v, {.source = "s", .offset = 10}}, r2 = {&fake.schema, v, {.source = "s", .offset = 20}};
  assert_int_equal(beam_etl_dedupe_key(&fake, &r1, &ka), BEAM_OK);
  assert_int_equal(beam_etl_dedupe_key(&fake, &r2, &kb), BEAM_OK);
  assert_int_equal(ka.data[0], 0);
  assert_true(memcmp(ka.data, kb.data, ka.len) != 0);
  v[0] = beam_value_double(-0.0);
  assert_int_equal(beam_etl_dedupe_key(&fake, &r1, &ka), BEAM_OK);
  v[0] = beam_value_double(0.0);
  assert_int_equal(beam_etl_dedupe_key(&fake, &r1, &kb), BEAM_OK);
  assert_int_equal(ka.len, 9);
  assert_memory_equal(ka.data, kb.data, 9);
  fake.dedupe_field = -1;
  assert_int_equal(beam_etl_dedupe_key(&fake, &r1, &ka), BEAM_ERR_INVALID_ARG);
  beam_buf_free(&ka);
  beam_buf_free(&kb);
  beam_buf_free(&kc);
  beam_etl_spec_free(spec);
  beam_arena_free(&arena);
}

static void steady_state_uses_only_the_arena(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_spec *spec = load(false);
  size_t first = 0;
  int rows = 0, dead = 0, filtered = 0;
  for (int i = 0; i < 20000; i++) {
    const char *types[4] = {" Order ", "inventory", "misc", "bogus"};
    char id[32], amount[32];
    snprintf(id, sizeof id, "e-%d", i);
    snprintf(amount, sizeof amount, "%d.25", i % 500);
    const char *v[6] = {id, types[i % 4], amount, "2024-01-02T03:04:05.5+02:00", "a@b.c", "7"};
    beam_etl_outcome o = run(spec, &arena, i + 1, v);
    rows += o.kind == BEAM_ETL_OUTCOME_ROW;
    dead += o.kind == BEAM_ETL_OUTCOME_DEAD_LETTER;
    filtered += o.kind == BEAM_ETL_OUTCOME_FILTERED;
    beam_arena_reset(&arena);
    if (i == 0) first = arena.bytes_allocated;
  }
  assert_int_equal(rows + dead + filtered, 20000);
  assert_int_equal(dead, 5000);
  assert_int_equal(arena.bytes_allocated, first);
  beam_etl_spec_free(spec);
  beam_arena_free(&arena);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(chain_outcomes),        cmocka_unit_test(hard_mode_stops),
      cmocka_unit_test(dead_letter_rows),      cmocka_unit_test(dedupe_keys_and_order),
      cmocka_unit_test(steady_state_uses_only_the_arena),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
