/* Route-to-table: templates, defaults, invalid and reserved names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/etl_coerce.h"
#include "beam/transforms/etl_route.h"
#include "etl_test_util.h"

static beam_etl_field fields[] = {{"event_type", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
                                  {"region", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
                                  {"flag", BEAM_ETL_BOOL, BEAM_ETL_NULLABLE},
                                  {"amount", BEAM_ETL_FLOAT64, BEAM_ETL_NULLABLE}};
static beam_etl_schema schema = {fields, 4};
static beam_arena arena = BEAM_ARENA_INIT;

static beam_etl_row row_of(const char *type, const char *region, const char *flag) {
  beam_etl_cell *cells = beam_arena_alloc(&arena, 4 * sizeof *cells);
  cells[0] = type ? etl_text(type) : etl_null();
  cells[1] = region ? etl_text(region) : etl_null();
  cells[2] = flag ? etl_text(flag) : etl_null();
  cells[3] = etl_null();
  beam_etl_record rec = {&schema, cells, {.source = "f", .line = 1}};
  beam_etl_row row;
  beam_error err;
  if (beam_etl_coerce_record(&rec, &arena, &row, &err) != BEAM_OK) fail_msg("%s", err.message);
  return row;
}

static beam_etl_route route_of(const char *tmpl, const char *def) {
  beam_etl_route r;
  beam_error err = {0};
  if (beam_etl_route_parse(tmpl, def, &schema, &arena, &r, &err) != BEAM_OK) fail_msg("%s", err.message);
  return r;
}

static void expect_table(const beam_etl_route *r, const beam_etl_row *row, const char *want) {
  const char *table = NULL;
  beam_error err = {0};
  if (beam_etl_route_table(r, row, &arena, &table, &err) != BEAM_OK) fail_msg("%s", err.message);
  assert_string_equal(table, want);
}

static void expect_reason(const beam_etl_route *r, const beam_etl_row *row, const char *want) {
  const char *table = NULL;
  beam_error err = {0};
  assert_int_equal(beam_etl_route_table(r, row, &arena, &table, &err), BEAM_ERR_USER);
  assert_string_equal(err.message, want);
}

static void renders_templates(void **state) {
  (void)state;
  beam_etl_route r = route_of("events_{event_type}", "events_other");
  beam_etl_row order = row_of("order", "3", "true");
  expect_table(&r, &order, "events_order");
  beam_etl_row none = row_of(NULL, "3", "true");
  expect_table(&r, &none, "events_other");
  beam_etl_route multi = route_of("{event_type}_r{region}_{flag}", NULL);
  expect_table(&multi, &order, "order_r3_true");
  beam_etl_route fixed = route_of("all_events", NULL);
  assert_int_equal(fixed.n_placeholders, 0);
  expect_table(&fixed, &none, "all_events");
}

static void invalid_values_are_dead_letter_reasons(void **state) {
  (void)state;
  beam_etl_route r = route_of("events_{event_type}", "events_other");
  beam_etl_row bad = row_of("ord er", "1", NULL);
  expect_reason(&r, &bad, "route: value \"ord er\" of field \"event_type\" makes invalid table name \"events_ord er\"");
  beam_etl_row dash = row_of("a-b", "1", NULL);
  expect_reason(&r, &dash, "route: value \"a-b\" of field \"event_type\" makes invalid table name \"events_a-b\"");
  beam_etl_row utf8 = row_of("caf\xc3\xa9", "1", NULL);
  expect_reason(&r, &utf8,
                "route: value \"caf\xc3\xa9\" of field \"event_type\" makes invalid table name \"events_caf\xc3\xa9\"");
  beam_etl_route lead = route_of("{event_type}", NULL);
  beam_etl_row underscore = row_of("_files", "1", NULL);
  expect_reason(&lead, &underscore,
                "route: value \"_files\" of field \"event_type\" makes reserved table name \"_files\" (names starting "
                "with \"_\" are reserved)");
  beam_etl_row digit = row_of("9lives", "1", NULL);
  expect_reason(&lead, &digit, "route: value \"9lives\" of field \"event_type\" makes invalid table name \"9lives\"");
  beam_etl_row nul = row_of(NULL, "1", NULL);
  expect_reason(&lead, &nul, "route: field \"event_type\" is null and route.default is not set");
  beam_etl_route two = route_of("t_{region}_{event_type}", NULL);
  beam_etl_row neg = row_of("ok", "-5", NULL);
  expect_reason(&two, &neg, "route: value \"-5\" of field \"region\" makes invalid table name \"t_-5_ok\"");
  beam_etl_row second = row_of("x y", "5", NULL);
  expect_reason(&two, &second, "route: value \"x y\" of field \"event_type\" makes invalid table name \"t_5_x y\"");
  beam_etl_route lead_int = route_of("{region}", NULL);
  beam_etl_row seven = row_of("a", "7", NULL);
  expect_reason(&lead_int, &seven, "route: value \"7\" of field \"region\" makes invalid table name \"7\"");
  /* Length cap. */
  char big[130];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  beam_etl_row longv = row_of(big, "1", NULL);
  const char *table;
  beam_error err = {0};
  assert_int_equal(beam_etl_route_table(&r, &longv, &arena, &table, &err), BEAM_ERR_USER);
  assert_non_null(strstr(err.message, "makes a table name longer than 128 bytes"));
  assert_true(beam_etl_table_name_valid("events_order", 12));
  assert_false(beam_etl_table_name_valid("", 0));
  assert_false(beam_etl_table_name_valid("a.b", 3));
}

/* Names of the databases' catalogs are per-record problems: the row is dead-lettered, the
 * run goes on (issue 14, item 6). */
static void catalog_names_are_dead_letter_reasons(void **state) {
  (void)state;
  beam_etl_route lead = route_of("{event_type}", "events_other");
  beam_etl_row master = row_of("sqlite_master", "1", NULL);
  expect_reason(&lead, &master,
                "route: value \"sqlite_master\" of field \"event_type\" makes reserved table name \"sqlite_master\" "
                "(names starting with \"sqlite_\" are reserved)");
  beam_etl_row upper = row_of("SQLite_Schema", "1", NULL);
  expect_reason(&lead, &upper,
                "route: value \"SQLite_Schema\" of field \"event_type\" makes reserved table name \"SQLite_Schema\" "
                "(names starting with \"sqlite_\" are reserved)");
  beam_etl_row pg = row_of("PG_class", "1", NULL);
  expect_reason(&lead, &pg,
                "route: value \"PG_class\" of field \"event_type\" makes reserved table name \"PG_class\" "
                "(names starting with \"pg_\" are reserved)");
  /* The prefix may come from a literal and a value together. */
  beam_etl_route split = route_of("sql{event_type}", NULL);
  beam_etl_row rest = row_of("ite_sequence", "1", NULL);
  expect_reason(&split, &rest,
                "route: value \"ite_sequence\" of field \"event_type\" makes reserved table name \"sqlite_sequence\" "
                "(names starting with \"sqlite_\" are reserved)");
  /* Only a prefix is reserved: the same words elsewhere, or without the underscore, are not. */
  beam_etl_row inner = row_of("my_sqlite_master", "1", NULL);
  expect_table(&lead, &inner, "my_sqlite_master");
  beam_etl_row sqlite = row_of("sqlite", "1", NULL);
  expect_table(&lead, &sqlite, "sqlite");
  beam_etl_row pgx = row_of("pgx", "1", NULL);
  expect_table(&lead, &pgx, "pgx");
  assert_string_equal(beam_etl_table_name_reserved("Sqlite_x", 8), "sqlite_");
  assert_string_equal(beam_etl_table_name_reserved("_files", 6), "_");
  assert_null(beam_etl_table_name_reserved("pg", 2));
  assert_null(beam_etl_table_name_reserved("pg_x", 2)); /* only len bytes count */
}

static void template_errors(void **state) {
  (void)state;
  const char *cases[][3] = {
      {"events_{nope}", NULL, "route.table: no field \"nope\" in schema"},
      {"events_{amount}", NULL, "route.table: field \"amount\" is FLOAT64: only STRING, INT64 and BOOL fields can name tables"},
      {"events_{event_type", NULL, "route.table: \"events_{event_type\": unclosed \"{\" at offset 7"},
      {"events_{}", NULL, "route.table: \"events_{}\": empty or overlong placeholder at offset 7"},
      {"ev ents", NULL, "route.table: \"ev ents\": character ' ' at offset 2 is not allowed in table names (letters, digits, _)"},
      {"events}", NULL, "route.table: \"events}\": character '}' at offset 6 is not allowed in table names (letters, digits, _)"},
      {"_x_{event_type}", NULL, "route.table: \"_x_{event_type}\": table names starting with \"_\" are reserved"},
      {"1_{event_type}", NULL, "route.table: \"1_{event_type}\": table names must not start with a digit"},
      {"", NULL, "route.table: must not be empty"},
      {"e_{event_type}", "bad-name", "route.default: \"bad-name\" is not a valid table name"},
      {"e_{event_type}", "_files", "route.default: \"_files\": table names starting with \"_\" are reserved"},
      {"sqlite_master", NULL, "route.table: \"sqlite_master\": table names starting with \"sqlite_\" are reserved"},
      {"SQLITE_{event_type}", NULL, "route.table: \"SQLITE_{event_type}\": table names starting with \"sqlite_\" are reserved"},
      {"Pg_{event_type}", NULL, "route.table: \"Pg_{event_type}\": table names starting with \"pg_\" are reserved"},
      {"e_{event_type}", "pg_class", "route.default: \"pg_class\": table names starting with \"pg_\" are reserved"},
      {"e_{event_type}", "Sqlite_Sequence", "route.default: \"Sqlite_Sequence\": table names starting with \"sqlite_\" are reserved"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    beam_etl_route r;
    beam_error err = {0};
    if (beam_etl_route_parse(cases[i][0], cases[i][1], &schema, &arena, &r, &err) == BEAM_OK)
      fail_msg("[%s] parsed", cases[i][0]);
    if (strcmp(err.message, cases[i][2]) != 0) fail_msg("[%s]: got [%s] want [%s]", cases[i][0], err.message, cases[i][2]);
  }
}

static int teardown(void **state) {
  (void)state;
  beam_arena_free(&arena);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(renders_templates),
      cmocka_unit_test(invalid_values_are_dead_letter_reasons),
      cmocka_unit_test(catalog_names_are_dead_letter_reasons),
      cmocka_unit_test(template_errors),
  };
  return cmocka_run_group_tests(tests, NULL, teardown);
}
