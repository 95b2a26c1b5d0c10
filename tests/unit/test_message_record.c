/* One record per message: JSON objects and headerless CSV lines parsed against the schema;
 * everything a message can get wrong is a bad record with the reason, never a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/message_record.h"

static beam_etl_field fields[] = {{"event_id", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
                                  {"amount", BEAM_ETL_FLOAT64, BEAM_ETL_NULLABLE},
                                  {"note", BEAM_ETL_STRING, BEAM_ETL_NULLABLE}};
static const beam_etl_schema schema = {fields, 3};

typedef struct parsed {
  beam_read_result res;
  beam_etl_record rec;
  beam_etl_parse_error perr;
} parsed;

static parsed parse(beam_message_format format, const char *data, beam_arena *a) {
  beam_message_parser *p = NULL;
  beam_error err = {0};
  beam_csv_options csv;
  beam_csv_options_init(&csv);
  csv.delimiter = ';';
  assert_int_equal(beam_message_parser_new(format, &csv, &schema, &p, &err), BEAM_OK);
  parsed out = {0};
  assert_int_equal(beam_message_parse(p, "projects/p/subscriptions/s", (const uint8_t *)data, strlen(data), a, &out.rec,
                                      &out.res, &out.perr, &err),
                   BEAM_OK);
  beam_message_parser_free(p);
  return out;
}

static void cell_is(const beam_etl_record *rec, size_t i, beam_etl_cell_state state, const char *text) {
  assert_int_equal(rec->cells[i].state, state);
  if (text) assert_string_equal(rec->cells[i].data, text);
}

static void json_objects(void **state) {
  (void)state;
  beam_arena a = BEAM_ARENA_INIT;
  parsed r = parse(BEAM_MESSAGE_AUTO, " {\"amount\": 12.5, \"event_id\": \"e1\", \"other\": [1]}\n", &a);
  assert_int_equal(r.res, BEAM_READ_RECORD);
  cell_is(&r.rec, 0, BEAM_ETL_CELL_TEXT, "e1");
  cell_is(&r.rec, 1, BEAM_ETL_CELL_LITERAL, "12.5");
  cell_is(&r.rec, 2, BEAM_ETL_CELL_ABSENT, NULL);
  assert_string_equal(r.rec.origin.source, "projects/p/subscriptions/s");
  assert_int_equal(r.rec.origin.line, 0);
  r = parse(BEAM_MESSAGE_JSON, "[1, 2]", &a);
  assert_int_equal(r.res, BEAM_READ_BAD_RECORD);
  assert_non_null(strstr(r.perr.message, "not a JSON object"));
  r = parse(BEAM_MESSAGE_JSON, "{\"event_id\": \"e1\"} trailing", &a);
  assert_int_equal(r.res, BEAM_READ_BAD_RECORD);
  r = parse(BEAM_MESSAGE_AUTO, " \n", &a);
  assert_int_equal(r.res, BEAM_READ_BAD_RECORD);
  assert_non_null(strstr(r.perr.message, "no data"));
  beam_arena_free(&a);
}

static void csv_lines(void **state) {
  (void)state;
  beam_arena a = BEAM_ARENA_INIT;
  parsed r = parse(BEAM_MESSAGE_AUTO, "e2;7;\"two\nlines; quoted\"\r\n", &a);
  assert_int_equal(r.res, BEAM_READ_RECORD);
  cell_is(&r.rec, 0, BEAM_ETL_CELL_TEXT, "e2");
  cell_is(&r.rec, 1, BEAM_ETL_CELL_TEXT, "7");
  cell_is(&r.rec, 2, BEAM_ETL_CELL_TEXT, "two\nlines; quoted");
  assert_int_equal(r.rec.origin.raw.len, strlen("e2;7;\"two\nlines; quoted\"\r\n"));
  r = parse(BEAM_MESSAGE_CSV, "e3;1", &a);
  assert_int_equal(r.res, BEAM_READ_BAD_RECORD);
  assert_non_null(strstr(r.perr.message, "expected 3 fields"));
  r = parse(BEAM_MESSAGE_CSV, "e4;1;a\ne5;2;b\n", &a);
  assert_int_equal(r.res, BEAM_READ_BAD_RECORD);
  assert_non_null(strstr(r.perr.message, "more than one CSV record"));
  r = parse(BEAM_MESSAGE_CSV, "e6;1;\"open", &a);
  assert_int_equal(r.res, BEAM_READ_BAD_RECORD);
  r = parse(BEAM_MESSAGE_CSV, "{\"event_id\": \"e7\"}", &a); /* CSV forced: the braces are text */
  assert_int_equal(r.res, BEAM_READ_BAD_RECORD);
  beam_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(json_objects),
      cmocka_unit_test(csv_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
