/* Destinations: URI options (percent-encoded, taken out before the sink), the tables a route
 * can produce, tables= / where= selection, the spec's "outputs". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/etl_coerce.h"
#include "beam/transforms/etl_destination.h"
#include "beam/transforms/etl_spec.h"
#include "etl_test_util.h"
#include "sink_uri_options.h"

static beam_etl_field fields[] = {{"event_type", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
                                  {"region", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
                                  {"flag", BEAM_ETL_BOOL, BEAM_ETL_NULLABLE},
                                  {"amount", BEAM_ETL_FLOAT64, BEAM_ETL_NULLABLE}};
static beam_etl_schema schema = {fields, 4};

/* ---- URI options ------------------------------------------------------------------------ */

static void test_options_start(void **state) {
  (void)state;
  assert_string_equal(beam_sink_uri_options_start("jsonl:out?tables=a"), "tables=a");
  assert_null(beam_sink_uri_options_start("sqlite:out.db"));
  /* A keyword conninfo may quote a '?'; the URL form may not. */
  assert_string_equal(beam_sink_uri_options_start("postgres:host=h password='a?b' dbname=d?tables=t"), "tables=t");
  assert_null(beam_sink_uri_options_start("postgres:host=h password='a?b\\'c?'"));
  assert_string_equal(beam_sink_uri_options_start("postgres:postgresql://u@h/d?sslmode=disable"), "sslmode=disable");
}

typedef struct seen {
  char text[512];
} seen;

static beam_status collect(void *ctx, const char *name, const char *value, beam_error *err) {
  (void)err;
  seen *s = ctx;
  size_t n = strlen(s->text);
  snprintf(s->text + n, sizeof s->text - n, "[%s|%s]", name, value);
  return BEAM_OK;
}

static void test_options_each_decodes(void **state) {
  (void)state;
  seen s = {""};
  beam_error err = {0};
  assert_int_equal(beam_sink_options_each("where=a%20%3D%3D%20'x'%20%26%26%20b%3E1&&k%3d=v+w&e=", "t", collect, &s, &err),
                   BEAM_OK);
  assert_string_equal(s.text, "[where|a == 'x' && b>1][k=|v+w][e|]");
  assert_int_equal(beam_sink_options_each(NULL, "t", collect, &s, &err), BEAM_OK);
}

static void expect_option_error(const char *options, const char *want) {
  seen s = {""};
  beam_error err = {0};
  assert_int_equal(beam_sink_options_each(options, "thing", collect, &s, &err), BEAM_ERR_INVALID_ARG);
  if (!strstr(err.message, want)) fail_msg("\"%s\": got \"%s\", want \"%s\"", options, err.message, want);
}

static void test_options_each_errors(void **state) {
  (void)state;
  expect_option_error("novalue", "thing: option \"novalue\": expected name=value");
  expect_option_error("=v", "option \"=v\": expected name=value");
  expect_option_error("a=%zz", "bad percent escape \"%zz\"");
  expect_option_error("a=x%2", "bad percent escape \"%2\"");
  expect_option_error("a=%00", "bad percent escape \"%00\"");
  expect_option_error("%4=v", "bad percent escape");
}

static void test_take_options(void **state) {
  (void)state;
  static const char *const take[] = {"tables", "where", NULL};
  char *values[2], *rest;
  beam_error err = {0};
  assert_int_equal(beam_sink_uri_take_options("bigquery:p.d?endpoint=http://h:1&tables=a,b&location=EU&where=x%20%3E%201",
                                               take, values, &rest, &err),
                   BEAM_OK);
  assert_string_equal(values[0], "a,b");
  assert_string_equal(values[1], "x > 1");
  assert_string_equal(rest, "bigquery:p.d?endpoint=http://h:1&location=EU"); /* kept as written */
  free(values[0]), free(values[1]), free(rest);
  assert_int_equal(beam_sink_uri_take_options("jsonl:out?tables=t", take, values, &rest, &err), BEAM_OK);
  assert_string_equal(rest, "jsonl:out");
  assert_null(values[1]);
  free(values[0]), free(rest);
  assert_int_equal(beam_sink_uri_take_options("sqlite:x.db", take, values, &rest, &err), BEAM_OK);
  assert_string_equal(rest, "sqlite:x.db");
  assert_null(values[0]);
  free(rest);
  assert_int_equal(beam_sink_uri_take_options("sqlite:x.db?where=a&where=b", take, values, &rest, &err),
                   BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "option \"where\" given twice"));
  assert_null(rest);
  assert_null(values[1]);
  assert_int_equal(beam_sink_uri_take_options("sqlite:x.db?where=%zz", take, values, &rest, &err), BEAM_ERR_INVALID_ARG);
  assert_null(rest);
}

/* ---- What a route can produce ----------------------------------------------------------- */

static beam_etl_route route_of(beam_arena *a, const char *tmpl, const char *def) {
  beam_etl_route r;
  beam_error err = {0};
  if (beam_etl_route_parse(tmpl, def, &schema, a, &r, &err) != BEAM_OK) fail_msg("%s", err.message);
  return r;
}

static void test_route_may_produce(void **state) {
  (void)state;
  beam_arena a = BEAM_ARENA_INIT;
  beam_etl_route r = route_of(&a, "events_{event_type}", "events_other");
  assert_true(beam_etl_route_may_produce(&r, &schema, "events_order"));
  assert_true(beam_etl_route_may_produce(&r, &schema, "events_"));      /* an empty value */
  assert_true(beam_etl_route_may_produce(&r, &schema, "events_other")); /* the default */
  assert_false(beam_etl_route_may_produce(&r, &schema, "event_order"));
  assert_false(beam_etl_route_may_produce(&r, &schema, "orders"));
  r = route_of(&a, "r{region}_{flag}_x", NULL);
  assert_true(beam_etl_route_may_produce(&r, &schema, "r12_true_x"));
  assert_true(beam_etl_route_may_produce(&r, &schema, "r0_false_x"));
  assert_false(beam_etl_route_may_produce(&r, &schema, "r_true_x"));  /* INT64 needs digits */
  assert_false(beam_etl_route_may_produce(&r, &schema, "rab_true_x"));
  assert_false(beam_etl_route_may_produce(&r, &schema, "r1_yes_x"));  /* BOOL: true or false */
  r = route_of(&a, "{event_type}_{event_type}", NULL);
  assert_true(beam_etl_route_may_produce(&r, &schema, "a_b_c")); /* backtracks over the runs */
  assert_false(beam_etl_route_may_produce(&r, &schema, "_files"));   /* reserved */
  assert_false(beam_etl_route_may_produce(&r, &schema, "sqlite_x"));
  assert_false(beam_etl_route_may_produce(&r, &schema, "a-b"));
  r = route_of(&a, "only", NULL);
  assert_true(beam_etl_route_may_produce(&r, &schema, "only"));
  assert_false(beam_etl_route_may_produce(&r, &schema, "only2"));
  beam_arena_free(&a);
}

/* ---- Destinations ----------------------------------------------------------------------- */

static beam_status make(beam_arena *a, const beam_etl_route *r, const char *uri, const char *const *tables, size_t n,
                        const char *where, beam_etl_destination *out, beam_error *err) {
  return beam_etl_destination_make(uri, tables, n, where, &schema, r, a, out, err);
}

static beam_etl_row row_of(beam_arena *a, const char *type, const char *amount) {
  beam_etl_cell *cells = beam_arena_alloc(a, 4 * sizeof *cells);
  cells[0] = etl_text(type);
  cells[1] = etl_null();
  cells[2] = etl_null();
  cells[3] = amount ? etl_text(amount) : etl_null();
  beam_etl_record rec = {&schema, cells, {.source = "f", .line = 1}};
  beam_etl_row row;
  beam_error err;
  if (beam_etl_coerce_record(&rec, a, &row, &err) != BEAM_OK) fail_msg("%s", err.message);
  return row;
}

static void test_destination_selection(void **state) {
  (void)state;
  beam_arena a = BEAM_ARENA_INIT;
  beam_etl_route r = route_of(&a, "events_{event_type}", "events_other");
  beam_etl_destination d;
  beam_error err = {0};
  assert_int_equal(make(&a, &r, "jsonl:out?tables=events_order,%20_files&where=amount%20%3E%2010", NULL, 0, NULL, &d, &err),
                   BEAM_OK);
  assert_string_equal(d.sink, "jsonl:out");
  assert_int_equal(d.n_tables, 2);
  assert_string_equal(d.tables[1], "_files");
  char text[256];
  assert_string_equal(beam_etl_destination_describe(&d, text, sizeof text), "tables events_order, _files; where amount > 10");
  beam_etl_row big = row_of(&a, "order", "11"), small = row_of(&a, "order", "3"), unknown = row_of(&a, "order", NULL);
  assert_true(beam_etl_destination_takes_row(&d, "events_order", &big));
  assert_false(beam_etl_destination_takes_row(&d, "events_order", &small));
  assert_false(beam_etl_destination_takes_row(&d, "events_order", &unknown)); /* UNKNOWN is not TRUE */
  assert_false(beam_etl_destination_takes_row(&d, "events_inventory", &big));
  assert_true(beam_etl_destination_takes_table(&d, "_files"));
  assert_false(beam_etl_destination_takes_table(&d, "_dead_letter"));
  /* Names separated by spaces only (each counted: the list never outgrows its array). */
  assert_int_equal(make(&a, &r, "jsonl:out?tables=events_order%20_files%20%20events_refund", NULL, 0, NULL, &d, &err),
                   BEAM_OK);
  assert_int_equal(d.n_tables, 3);
  assert_string_equal(d.tables[2], "events_refund");
  /* where never judges the pipeline's own rows: dead letters and _files go by tables only. */
  assert_int_equal(make(&a, &r, "sqlite:x.db?where=amount%20%3E%2010", NULL, 0, NULL, &d, &err), BEAM_OK);
  assert_true(beam_etl_destination_takes_row(&d, "_dead_letter", &small));
  assert_string_equal(beam_etl_destination_describe(&d, text, sizeof text), "where amount > 10");
  /* Every table without a selection; an explicit selection beside the URI. */
  static const char *const tables[] = {"events_order"};
  assert_int_equal(make(&a, &r, "sqlite:x.db", NULL, 0, NULL, &d, &err), BEAM_OK);
  assert_string_equal(beam_etl_destination_describe(&d, text, sizeof text), "every table");
  assert_int_equal(make(&a, &r, "sqlite:x.db", tables, 1, "amount is null", &d, &err), BEAM_OK);
  assert_true(beam_etl_destination_takes_row(&d, "events_order", &unknown));
  beam_arena_free(&a);
}

static void expect_bad(const char *uri, const char *const *tables, size_t n, const char *where, const char *want) {
  beam_arena a = BEAM_ARENA_INIT;
  beam_etl_route r = route_of(&a, "events_{event_type}", "events_other");
  beam_etl_destination d;
  beam_error err = {0};
  assert_int_equal(make(&a, &r, uri, tables, n, where, &d, &err), BEAM_ERR_INVALID_ARG);
  if (!strstr(err.message, want)) fail_msg("%s: got \"%s\", want \"%s\"", uri, err.message, want);
  beam_arena_free(&a);
}

static void test_destination_errors(void **state) {
  (void)state;
  static const char *const tables[] = {"events_order"};
  expect_bad("sqlite:x.db?tables=orders", NULL, 0, NULL,
             "tables: \"orders\" is not a table the route writes (route.table \"events_{event_type}\", route.default "
             "\"events_other\"; also _dead_letter, _files and _stream_bundles)");
  expect_bad("sqlite:x.db?tables=_beam_ledger", NULL, 0, NULL, "tables: \"_beam_ledger\" is not a table");
  expect_bad("sqlite:x.db?tables=,", NULL, 0, NULL, "tables: names no table");
  expect_bad("sqlite:x.db?where=amount%20%3E", NULL, 0, NULL, "where: \"amount >\": unexpected end of expression");
  expect_bad("sqlite:x.db?where=event_type%20%3E%201", NULL, 0, NULL, "where: \"event_type > 1\": ");
  expect_bad("sqlite:x.db?tables=events_order", tables, 1, NULL, "tables: given both in the sink URI and beside it");
  expect_bad("sqlite:x.db?where=amount%20%3E%201", NULL, 0, "amount < 2", "where: given both");
}

static void test_collect(void **state) {
  (void)state;
  beam_arena a = BEAM_ARENA_INIT;
  beam_etl_route r = route_of(&a, "events_{event_type}", NULL);
  beam_etl_destination first;
  beam_error err = {0};
  assert_int_equal(make(&a, &r, "jsonl:j?tables=_files", NULL, 0, NULL, &first, &err), BEAM_OK);
  const char *uris[] = {"sqlite:a.db", "sqlite:b.db?where=amount%20%3E%201"};
  beam_etl_destination *all;
  size_t n;
  assert_int_equal(beam_etl_destinations_collect(&first, 1, uris, 2, &schema, &r, &a, &all, &n, &err), BEAM_OK);
  assert_int_equal(n, 3);
  assert_string_equal(all[0].sink, "jsonl:j");
  assert_string_equal(all[2].sink, "sqlite:b.db");
  const char *twice[] = {"sqlite:a.db", "sqlite:a.db?tables=_files"};
  assert_int_equal(beam_etl_destinations_collect(NULL, 0, twice, 2, &schema, &r, &a, &all, &n, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "sink \"sqlite:a.db\" is named twice"));
  const char *bad[] = {"sqlite:a.db?tables=nope"};
  assert_int_equal(beam_etl_destinations_collect(NULL, 0, bad, 1, &schema, &r, &a, &all, &n, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "sink \"sqlite:a.db?tables=nope\": tables: \"nope\""));
  beam_arena_free(&a);
}

/* ---- The spec's "outputs" --------------------------------------------------------------- */

static const char spec_head[] = "{\"schema\": [{\"name\": \"event_type\", \"type\": \"STRING\"}, "
                                "{\"name\": \"amount\", \"type\": \"FLOAT64\"}], "
                                "\"route\": {\"table\": \"events_{event_type}\"}, \"outputs\": ";

static beam_status parse_outputs(const char *outputs, beam_etl_spec **spec, beam_error *err) {
  char text[1024];
  snprintf(text, sizeof text, "%s%s}", spec_head, outputs);
  return beam_etl_spec_parse(text, strlen(text), "s.json", spec, err);
}

static void test_spec_outputs(void **state) {
  (void)state;
  beam_etl_spec *spec;
  beam_error err = {0};
  assert_int_equal(parse_outputs("[{\"sink\": \"sqlite:a.db\", \"tables\": [\"events_order\", \"_dead_letter\"]},"
                                 " {\"sink\": \"jsonl:j?tables=_files\", \"where\": \"amount > 1\", \"description\": \"d\"}]",
                                 &spec, &err),
                   BEAM_OK);
  assert_int_equal(spec->n_outputs, 2);
  assert_int_equal(spec->outputs[0].n_tables, 2);
  assert_string_equal(spec->outputs[1].sink, "jsonl:j");
  assert_string_equal(spec->outputs[1].where, "amount > 1");
  beam_etl_spec_free(spec);
  static const struct {
    const char *outputs, *want;
  } bad[] = {
      {"{}", "s.json: outputs: must be an array"},
      {"[1]", "s.json: outputs[0]: must be an object, not an integer"},
      {"[{\"tables\": []}]", "s.json: outputs[0].sink: missing"},
      {"[{\"sink\": \"sqlite:a.db\", \"tables\": \"x\"}]", "outputs[0].tables: must be an array of table names"},
      {"[{\"sink\": \"sqlite:a.db\", \"tables\": [1]}]", "outputs[0].tables[0]: must be a string"},
      {"[{\"sink\": \"sqlite:a.db\", \"tables\": [\"nope\"]}]", "outputs[0].tables: \"nope\" is not a table the route writes"},
      {"[{\"sink\": \"sqlite:a.db\", \"where\": \"amount >\"}]", "outputs[0].where: \"amount >\": unexpected end"},
      {"[{\"sink\": \"sqlite:a.db\", \"wher\": \"x\"}]", "outputs[0]: unknown key \"wher\""},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    spec = NULL;
    assert_int_equal(parse_outputs(bad[i].outputs, &spec, &err), BEAM_ERR_INVALID_ARG);
    assert_null(spec);
    if (!strstr(err.message, bad[i].want)) fail_msg("%s: got \"%s\", want \"%s\"", bad[i].outputs, err.message, bad[i].want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_options_start),        cmocka_unit_test(test_options_each_decodes),
      cmocka_unit_test(test_options_each_errors),  cmocka_unit_test(test_take_options),
      cmocka_unit_test(test_route_may_produce),    cmocka_unit_test(test_destination_selection),
      cmocka_unit_test(test_destination_errors),   cmocka_unit_test(test_collect),
      cmocka_unit_test(test_spec_outputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
