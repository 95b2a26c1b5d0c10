/* JSON record parser and JSON Lines reader: mapping, escapes, literals, nesting, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/json_record.h"
#include "beam/transforms/jsonl_reader.h"
#include "etl_input_test_util.h"

static const char *const FIELDS[] = {"id", "name", "amount", "ok", "tags", "note", NULL};

typedef struct parsed {
  beam_status st;
  beam_etl_cell cells[8];
  beam_etl_parse_error perr;
  char buf[512];
} parsed;

static void parse(parsed *p, const char *json) {
  test_schema ts;
  const beam_etl_schema *s = test_schema_make(&ts, FIELDS);
  beam_json_record_parser *jp;
  beam_error err;
  assert_int_equal(beam_json_record_parser_create(s, &jp, &err), BEAM_OK);
  size_t len = strlen(json);
  memcpy(p->buf, json, len + 1);
  p->st = beam_json_record_parse(jp, p->buf, len, p->cells, &p->perr);
  beam_json_record_parser_free(jp);
}

static void cell_is(const beam_etl_cell *c, beam_etl_cell_state st, const char *text) {
  assert_int_equal(c->state, st);
  assert_int_equal(c->len, strlen(text));
  assert_memory_equal(c->data, text, c->len);
  assert_int_equal(c->data[c->len], '\0');
}

static void maps_fields_and_kinds(void **state) {
  (void)state;
  parsed p;
  parse(&p, " {\"name\":\"Ann\", \"id\" : -12.5e+3 ,\"unknown\":{\"x\":[1,{\"y\":null}]},"
            "\"ok\":true,\"tags\":[\"a\", \"b\"],\"note\":null} ");
  assert_int_equal(p.st, BEAM_OK);
  cell_is(&p.cells[0], BEAM_ETL_CELL_LITERAL, "-12.5e+3");
  cell_is(&p.cells[1], BEAM_ETL_CELL_TEXT, "Ann");
  cell_is(&p.cells[2], BEAM_ETL_CELL_ABSENT, "");
  cell_is(&p.cells[3], BEAM_ETL_CELL_LITERAL, "true");
  cell_is(&p.cells[4], BEAM_ETL_CELL_NESTED, "[\"a\", \"b\"]");
  cell_is(&p.cells[5], BEAM_ETL_CELL_NULL, "");
}

static void escapes_unescape_to_utf8(void **state) {
  (void)state;
  parsed p;
  parse(&p, "{\"name\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\u20AC \\ud83d\\ude00 \\u0041\","
            "\"note\":\"{\\\"nested\\\":1}\",\"tags\":{\"k\":\"\\u00e9\\n\"}}");
  assert_int_equal(p.st, BEAM_OK);
  cell_is(&p.cells[1], BEAM_ETL_CELL_TEXT,
          "q\" b\\ s/ \b\f\n\r\t \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 A");
  cell_is(&p.cells[5], BEAM_ETL_CELL_TEXT, "{\"nested\":1}");
  /* Nested raw text keeps its escapes. */
  cell_is(&p.cells[4], BEAM_ETL_CELL_NESTED, "{\"k\":\"\\u00e9\\n\"}");
}

static void duplicate_key_last_wins_and_empty(void **state) {
  (void)state;
  parsed p;
  parse(&p, "{\"id\":1,\"id\":2}");
  assert_int_equal(p.st, BEAM_OK);
  cell_is(&p.cells[0], BEAM_ETL_CELL_LITERAL, "2");
  parse(&p, "{}");
  assert_int_equal(p.st, BEAM_OK);
  cell_is(&p.cells[0], BEAM_ETL_CELL_ABSENT, "");
  parse(&p, "{\"id\":0,\"amount\":0.5,\"ok\":false}");
  assert_int_equal(p.st, BEAM_OK);
  cell_is(&p.cells[0], BEAM_ETL_CELL_LITERAL, "0");
  cell_is(&p.cells[2], BEAM_ETL_CELL_LITERAL, "0.5");
  cell_is(&p.cells[3], BEAM_ETL_CELL_LITERAL, "false");
}

static void expect_error(const char *json, const char *needle, const char *field) {
  parsed p;
  parse(&p, json);
  assert_int_equal(p.st, BEAM_ERR_MALFORMED);
  if (!strstr(p.perr.message, needle)) fail_msg("'%s': message '%s' lacks '%s'", json, p.perr.message, needle);
  if (field) assert_string_equal(p.perr.field, field);
}

static void malformed_json(void **state) {
  (void)state;
  expect_error("[1,2]", "expected a JSON object ('{')", NULL);
  expect_error("{\"id\":1", "expected ',' or '}'", "id");
  expect_error("{\"id\":1,}", "expected a quoted key", NULL);
  expect_error("{\"id\" 1}", "expected ':' after the key", "id");
  expect_error("{\"amount\":01}", "expected ',' or '}' after the value", "amount");
  expect_error("{\"amount\":1.}", "a digit after the decimal point", "amount");
  expect_error("{\"amount\":-}", "a digit in the number", "amount");
  expect_error("{\"amount\":1e}", "a digit in the exponent", "amount");
  expect_error("{\"ok\":tru}", "expected a JSON value", "ok");
  expect_error("{\"ok\":truex}", "expected ',' or '}'", "ok");
  expect_error("{\"name\":\"abc}", "unterminated string", "name");
  expect_error("{\"name\":\"a\tb\"}", "control", "name");
  expect_error("{\"name\":\"\\x\"}", "valid escape", "name");
  expect_error("{\"name\":\"\\u12\"}", "four hex digits", "name");
  expect_error("{\"name\":\"\\ud83d\"}", "low surrogate", "name");
  expect_error("{\"name\":\"\\ude00\"}", "high surrogate", "name");
  expect_error("{\"tags\":[1,2}", "',' or ']' in the array", "tags");
  expect_error("{\"tags\":{\"a\" 1}}", "':' after a key in the nested object", "tags");
  expect_error("{\"tags\":{1:2}}", "quoted key in the nested object", "tags");
  expect_error("{\"id\":1} x", "the end of the record after the closing '}'", NULL);
  expect_error("{\"id\":1}{}", "the end of the record", NULL);
  expect_error("{\"zzz\":nope}", "bad JSON in field 'zzz'", "zzz");
  /* Deep nesting is refused, not a stack overflow. */
  char deep[1024] = "{\"tags\":";
  size_t n = strlen(deep);
  for (int i = 0; i < 200; i++) deep[n++] = '[';
  deep[n] = '\0';
  expect_error(deep, "nesting no deeper than 128", "tags");
}

static void embedded_nul_is_an_error(void **state) {
  (void)state;
  test_schema ts;
  const beam_etl_schema *s = test_schema_make(&ts, FIELDS);
  beam_json_record_parser *jp;
  beam_error err;
  assert_int_equal(beam_json_record_parser_create(s, &jp, &err), BEAM_OK);
  char buf[] = "{\"id\":1}\0 ";
  beam_etl_cell cells[8];
  beam_etl_parse_error perr;
  assert_int_equal(beam_json_record_parse(jp, buf, sizeof buf - 1, cells, &perr), BEAM_ERR_MALFORMED);
  assert_non_null(strstr(perr.message, "NUL"));
  beam_json_record_parser_free(jp);
}

static void jsonl_reader_lines_and_blanks(void **state) {
  (void)state;
  const char *t = "\xEF\xBB\xBF{\"id\":1}\r\n\n   \r\n{\"id\":2,bad}\n{\"id\":\"x\\ny\",\"name\":\"n\"}";
  test_schema ts;
  const beam_etl_schema *s = test_schema_make(&ts, FIELDS);
  beam_byte_source *src;
  beam_error err;
  assert_int_equal(beam_memory_source_open("t.jsonl", t, strlen(t), &src, &err), BEAM_OK);
  beam_jsonl_reader *r;
  assert_int_equal(beam_jsonl_reader_open(src, s, 0, 0, &r, &err), BEAM_OK);
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_record rec[3];
  beam_read_result res;
  beam_etl_parse_error perr;
  assert_int_equal(beam_jsonl_reader_next(r, &arena, &rec[0], &res, &perr, &err), BEAM_OK);
  assert_int_equal(res, BEAM_READ_RECORD);
  assert_int_equal(rec[0].origin.line, 1);
  cell_is(&rec[0].cells[0], BEAM_ETL_CELL_LITERAL, "1");
  assert_int_equal(beam_jsonl_reader_next(r, &arena, &rec[1], &res, &perr, &err), BEAM_OK);
  assert_int_equal(res, BEAM_READ_BAD_RECORD);
  assert_int_equal(rec[1].origin.line, 2);
  assert_int_equal(rec[1].origin.raw.len, strlen("{\"id\":2,bad}"));
  assert_memory_equal(rec[1].origin.raw.data, "{\"id\":2,bad}", rec[1].origin.raw.len);
  assert_non_null(strstr(perr.message, "quoted key"));
  assert_int_equal(beam_jsonl_reader_next(r, &arena, &rec[2], &res, &perr, &err), BEAM_OK);
  assert_int_equal(res, BEAM_READ_RECORD);
  assert_int_equal(rec[2].origin.line, 3);
  cell_is(&rec[2].cells[0], BEAM_ETL_CELL_TEXT, "x\ny");
  /* Raw keeps the escape; earlier records survive later reads (arena-backed). */
  assert_memory_equal(rec[2].origin.raw.data, "{\"id\":\"x\\ny\"", 12);
  cell_is(&rec[0].cells[0], BEAM_ETL_CELL_LITERAL, "1");
  assert_int_equal(beam_jsonl_reader_next(r, &arena, &rec[2], &res, &perr, &err), BEAM_OK);
  assert_int_equal(res, BEAM_READ_EOF);
  beam_arena_free(&arena);
  beam_jsonl_reader_close(r);
  beam_byte_source_close(src);
}

static void jsonl_rejects_json_array_file(void **state) {
  (void)state;
  const char *t = "\n[{\"id\":1},\n{\"id\":2}]\n";
  beam_byte_source *src;
  beam_error err;
  assert_int_equal(beam_memory_source_open("t.json", t, strlen(t), &src, &err), BEAM_OK);
  beam_jsonl_reader *r;
  assert_int_equal(beam_jsonl_reader_open(src, NULL, 0, 0, &r, &err), BEAM_OK);
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_record rec;
  beam_read_result res;
  assert_int_equal(beam_jsonl_reader_next(r, &arena, &rec, &res, NULL, &err), BEAM_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "t.json: line 2: the input is a JSON array"));
  beam_arena_free(&arena);
  beam_jsonl_reader_close(r);
  beam_byte_source_close(src);
}

/* Every prefix of a valid record, in an exact-size heap buffer so ASan sees any over-read:
 * only the full text parses, nothing crashes. */
static void every_prefix_is_safe(void **state) {
  (void)state;
  const char *full = "{\"id\":-1.5e3,\"name\":\"a\\u00e9\\ud83d\\ude00\\n\",\"tags\":[{\"k\":[true,null]},\"x\"],"
                     "\"ok\":false,\"zz\":{}}";
  test_schema ts;
  const beam_etl_schema *s = test_schema_make(&ts, FIELDS);
  beam_json_record_parser *jp;
  beam_error err;
  assert_int_equal(beam_json_record_parser_create(s, &jp, &err), BEAM_OK);
  size_t n = strlen(full);
  for (size_t len = 0; len <= n; len++) {
    char *buf = malloc(len + 1);
    memcpy(buf, full, len);
    buf[len] = '\0';
    beam_etl_cell cells[8];
    beam_etl_parse_error perr;
    beam_status st = beam_json_record_parse(jp, buf, len, cells, &perr);
    assert_int_equal(st, len == n ? BEAM_OK : BEAM_ERR_MALFORMED);
    free(buf);
  }
  beam_json_record_parser_free(jp);
}

/* {"name":"<value>"} parsed from an exact-size heap buffer (ASan sees an over-read). */
static beam_status parse_name_exact(const char *value, size_t vlen, char *out, size_t *out_len) {
  test_schema ts;
  const beam_etl_schema *s = test_schema_make(&ts, FIELDS);
  beam_json_record_parser *jp;
  beam_error err;
  assert_int_equal(beam_json_record_parser_create(s, &jp, &err), BEAM_OK);
  size_t len = vlen + 11;
  char *buf = malloc(len + 1);
  memcpy(buf, "{\"name\":\"", 9);
  memcpy(buf + 9, value, vlen);
  memcpy(buf + 9 + vlen, "\"}", 2);
  buf[len] = '\0';
  beam_etl_cell cells[8];
  beam_etl_parse_error perr;
  beam_status st = beam_json_record_parse(jp, buf, len, cells, &perr);
  if (st == BEAM_OK) {
    *out_len = cells[1].len;
    memcpy(out, cells[1].data, cells[1].len);
  }
  free(buf);
  beam_json_record_parser_free(jp);
  return st;
}

/* Strings of every length up to 40, around the parser's 16-byte steps: plain, with an escape
 * at each place, with a raw control byte at each place (an error), with a two-byte UTF-8
 * character at each place. */
static void strings_of_every_length(void **state) {
  (void)state;
  char value[48] = {0}, got[48], want[48];
  size_t got_len;
  for (size_t n = 0; n <= 40; n++) {
    for (size_t i = 0; i < n; i++) value[i] = (char)('a' + i % 26);
    assert_int_equal(parse_name_exact(value, n, got, &got_len), BEAM_OK);
    assert_int_equal(got_len, n);
    assert_memory_equal(got, value, n);
    for (size_t k = 0; k + 1 < n; k++) {
      char v[48];
      memcpy(v, value, n);
      v[k] = '\\', v[k + 1] = 'n'; /* an escape: one byte shorter unescaped */
      memcpy(want, value, k);
      want[k] = '\n';
      memcpy(want + k + 1, value + k + 2, n - k - 2);
      assert_int_equal(parse_name_exact(v, n, got, &got_len), BEAM_OK);
      assert_int_equal(got_len, n - 1);
      assert_memory_equal(got, want, n - 1);
      v[k] = (char)0xC3, v[k + 1] = (char)0xA9; /* é passes through */
      assert_int_equal(parse_name_exact(v, n, got, &got_len), BEAM_OK);
      assert_int_equal(got_len, n);
      assert_memory_equal(got, v, n);
    }
    for (size_t k = 0; k < n; k++) {
      char v[48];
      memcpy(v, value, n);
      v[k] = 0x01;
      assert_int_equal(parse_name_exact(v, n, got, &got_len), BEAM_ERR_MALFORMED);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(maps_fields_and_kinds),
      cmocka_unit_test(escapes_unescape_to_utf8),
      cmocka_unit_test(duplicate_key_last_wins_and_empty),
      cmocka_unit_test(malformed_json),
      cmocka_unit_test(embedded_nul_is_an_error),
      cmocka_unit_test(jsonl_reader_lines_and_blanks),
      cmocka_unit_test(jsonl_rejects_json_array_file),
      cmocka_unit_test(every_prefix_is_safe),
      cmocka_unit_test(strings_of_every_length),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
