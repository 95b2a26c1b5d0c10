/* Clean: trim, null tokens and ASCII case folding on text cells, without malloc per row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/etl_clean.h"
#include "etl_test_util.h"

static beam_etl_field fields[] = {{"a", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
                                  {"b", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
                                  {"c", BEAM_ETL_STRING, BEAM_ETL_NULLABLE}};
static beam_etl_schema schema = {fields, 3};

static void assert_cell(const beam_etl_cell *c, beam_etl_cell_state st, const char *text) {
  assert_int_equal(c->state, st);
  assert_int_equal(c->len, strlen(text));
  assert_memory_equal(c->data, text, c->len);
  assert_int_equal(c->data[c->len], '\0'); /* cells stay NUL-terminated */
}

static void trims_and_nulls_with_defaults(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_clean clean = {true, NULL, 0, beam_etl_default_null_tokens, beam_etl_default_null_tokens_len};
  beam_etl_cell cells[3] = {etl_text("  hello \t\r\n"), etl_text("  NULL "), etl_text("")};
  beam_etl_record rec = {&schema, cells, {.source = "f", .line = 1}};
  assert_int_equal(beam_etl_clean_record(&clean, &rec, &arena), BEAM_OK);
  assert_cell(&cells[0], BEAM_ETL_CELL_TEXT, "hello");
  assert_cell(&cells[1], BEAM_ETL_CELL_NULL, "");
  assert_cell(&cells[2], BEAM_ETL_CELL_NULL, "");
  /* Tokens are case-sensitive and must match the whole cell. */
  cells[0] = etl_text("Null");
  cells[1] = etl_text("N/A ");
  cells[2] = etl_text("n/a");
  assert_int_equal(beam_etl_clean_record(&clean, &rec, &arena), BEAM_OK);
  assert_cell(&cells[0], BEAM_ETL_CELL_TEXT, "Null");
  assert_cell(&cells[1], BEAM_ETL_CELL_NULL, "");
  assert_cell(&cells[2], BEAM_ETL_CELL_TEXT, "n/a");
  beam_arena_free(&arena);
}

/* Custom tokens of any length, a long one too (cells are first sorted out by length). */
static void custom_and_long_null_tokens(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  char long_token[71], longer[72], shorter[64];
  memset(long_token, 'x', 70), long_token[70] = '\0';
  memset(longer, 'x', 71), longer[71] = '\0';
  memset(shorter, 'x', 63), shorter[63] = '\0';
  beam_etl_null_token tokens[] = {{"-", 1}, {long_token, 70}};
  beam_etl_clean clean = {true, NULL, 0, tokens, 2};
  beam_etl_cell cells[3] = {etl_text(" - "), etl_text(long_token), etl_text("")};
  beam_etl_record rec = {&schema, cells, {.source = "f", .line = 1}};
  assert_int_equal(beam_etl_clean_record(&clean, &rec, &arena), BEAM_OK);
  assert_cell(&cells[0], BEAM_ETL_CELL_NULL, "");
  assert_cell(&cells[1], BEAM_ETL_CELL_NULL, "");
  assert_cell(&cells[2], BEAM_ETL_CELL_TEXT, ""); /* "" is not among these tokens */
  cells[0] = etl_text(longer);
  cells[1] = etl_text(shorter);
  cells[2] = etl_text("--");
  assert_int_equal(beam_etl_clean_record(&clean, &rec, &arena), BEAM_OK);
  assert_cell(&cells[0], BEAM_ETL_CELL_TEXT, longer);
  assert_cell(&cells[1], BEAM_ETL_CELL_TEXT, shorter);
  assert_cell(&cells[2], BEAM_ETL_CELL_TEXT, "--");
  beam_arena_free(&arena);
}

static void leading_trim_aliases_input(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_clean clean = {true, NULL, 0, NULL, 0};
  const char *input = "   abc";
  beam_etl_cell cells[3] = {etl_text(input), etl_text("x"), etl_text("y")};
  beam_etl_record rec = {&schema, cells, {.source = "f", .line = 1}};
  assert_int_equal(beam_etl_clean_record(&clean, &rec, &arena), BEAM_OK);
  assert_ptr_equal(cells[0].data, input + 3);
  assert_null(arena.head); /* nothing needed copying */
  beam_arena_free(&arena);
}

static void no_trim_keeps_whitespace(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_clean clean = {false, NULL, 0, beam_etl_default_null_tokens, beam_etl_default_null_tokens_len};
  beam_etl_cell cells[3] = {etl_text(" a "), etl_text(" "), etl_text("NULL")};
  beam_etl_record rec = {&schema, cells, {.source = "f", .line = 1}};
  assert_int_equal(beam_etl_clean_record(&clean, &rec, &arena), BEAM_OK);
  assert_cell(&cells[0], BEAM_ETL_CELL_TEXT, " a ");
  assert_cell(&cells[1], BEAM_ETL_CELL_TEXT, " ");
  assert_cell(&cells[2], BEAM_ETL_CELL_NULL, "");
  beam_arena_free(&arena);
}

static void case_folding_is_ascii_only(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  uint8_t fold[3] = {BEAM_ETL_CASE_LOWER, BEAM_ETL_CASE_UPPER, BEAM_ETL_CASE_KEEP};
  beam_etl_null_token none[1] = {{"-", 1}};
  beam_etl_clean clean = {true, fold, 3, none, 1};
  /* "ÉVÉNEMENT Order" in UTF-8: the É bytes are left untouched. */
  beam_etl_cell cells[3] = {etl_text(" \xc3\x89V\xc3\x89NEMENT Order "), etl_text("abc-\xc3\xa9"),
                            etl_text("MiXeD")};
  beam_etl_record rec = {&schema, cells, {.source = "f", .line = 1}};
  assert_int_equal(beam_etl_clean_record(&clean, &rec, &arena), BEAM_OK);
  assert_cell(&cells[0], BEAM_ETL_CELL_TEXT, "\xc3\x89v\xc3\x89nement order");
  assert_cell(&cells[1], BEAM_ETL_CELL_TEXT, "ABC-\xc3\xa9");
  assert_cell(&cells[2], BEAM_ETL_CELL_TEXT, "MiXeD");
  /* Null tokens are checked before folding: "-" became null even in a folded field. */
  cells[0] = etl_text("-");
  assert_int_equal(beam_etl_clean_record(&clean, &rec, &arena), BEAM_OK);
  assert_cell(&cells[0], BEAM_ETL_CELL_NULL, "");
  beam_arena_free(&arena);
}

static void non_text_cells_untouched(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  uint8_t fold[3] = {BEAM_ETL_CASE_LOWER, BEAM_ETL_CASE_LOWER, BEAM_ETL_CASE_LOWER};
  beam_etl_null_token toks[1] = {{"TRUE", 4}};
  beam_etl_clean clean = {true, fold, 3, toks, 1};
  beam_etl_cell cells[3] = {etl_lit("TRUE"), etl_nested(" {\"A\": 1} "), etl_absent()};
  beam_etl_record rec = {&schema, cells, {.source = "f", .line = 1}};
  assert_int_equal(beam_etl_clean_record(&clean, &rec, &arena), BEAM_OK);
  assert_cell(&cells[0], BEAM_ETL_CELL_LITERAL, "TRUE");
  assert_cell(&cells[1], BEAM_ETL_CELL_NESTED, " {\"A\": 1} ");
  assert_int_equal(cells[2].state, BEAM_ETL_CELL_ABSENT);
  beam_arena_free(&arena);
}

static void steady_state_does_not_grow(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  uint8_t fold[3] = {BEAM_ETL_CASE_LOWER, 0, 0};
  beam_etl_clean clean = {true, fold, 3, beam_etl_default_null_tokens, beam_etl_default_null_tokens_len};
  size_t after_first = 0;
  for (int i = 0; i < 20000; i++) {
    beam_etl_cell cells[3] = {etl_text(" ORDER "), etl_text("x  "), etl_text("N/A")};
    beam_etl_record rec = {&schema, cells, {.source = "f", .line = i + 1}};
    assert_int_equal(beam_etl_clean_record(&clean, &rec, &arena), BEAM_OK);
    assert_cell(&cells[0], BEAM_ETL_CELL_TEXT, "order");
    beam_arena_reset(&arena);
    if (i == 0) after_first = arena.bytes_allocated;
  }
  assert_int_equal(arena.bytes_allocated, after_first);
  beam_arena_free(&arena);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(trims_and_nulls_with_defaults), cmocka_unit_test(custom_and_long_null_tokens), cmocka_unit_test(leading_trim_aliases_input),
      cmocka_unit_test(no_trim_keeps_whitespace),      cmocka_unit_test(case_folding_is_ascii_only),
      cmocka_unit_test(non_text_cells_untouched),      cmocka_unit_test(steady_state_does_not_grow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
