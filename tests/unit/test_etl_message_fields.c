/* Message fields in a spec: _attributes.NAME and _publish_time in route and filter (hidden
 * fields no table has), a field's "source", what a file input and a destination's `where` may
 * not name, event_time_field; and a message through the chain with them: its attributes and
 * publish time as fields, a missing routing attribute dead-lettered naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/etl_process.h"
#include "beam/transforms/etl_stream.h"
#include "beam/transforms/etl_table.h"
#include "beam/transforms/message_record.h"
#include "etl_message_fields.h"

#define SUB "projects/p/subscriptions/s"

static const char *const SPEC =
    "{\"schema\": [{\"name\": \"id\", \"type\": \"STRING\", \"mode\": \"REQUIRED\"},"
    " {\"name\": \"kind\", \"type\": \"STRING\", \"source\": \"_attributes.kind\"},"
    " {\"name\": \"n\", \"type\": \"INT64\"},"
    " {\"name\": \"published\", \"type\": \"TIMESTAMP\", \"source\": \"_publish_time\"}],"
    " \"filter\": \"_attributes.env != 'test' && _publish_time >= '2023-01-01T00:00:00Z'\","
    " \"route\": {\"table\": \"t_{_attributes.region}_{kind}\", \"default\": \"t_other\"}}";

static beam_etl_spec *parse_ok(const char *text) {
  beam_etl_spec *spec = NULL;
  beam_error err = {0};
  if (beam_etl_spec_parse(text, strlen(text), "s.json", &spec, &err) != BEAM_OK) fail_msg("%s", err.message);
  return spec;
}

static void parse_fails(const char *text, const char *want) {
  beam_etl_spec *spec = NULL;
  beam_error err = {0};
  if (beam_etl_spec_parse(text, strlen(text), "s.json", &spec, &err) == BEAM_OK) fail_msg("parsed; want \"%s\"", want);
  if (!strstr(err.message, want)) fail_msg("got \"%s\", want \"%s\"", err.message, want);
}

static void spec_hidden_and_sourced_fields(void **state) {
  (void)state;
  beam_etl_spec *spec = parse_ok(SPEC);
  /* env, _publish_time (filter) and region (route) join the record's schema, not the tables' */
  assert_int_equal(spec->n_hidden, 3);
  assert_int_equal(spec->schema.n_fields, 7);
  assert_string_equal(spec->schema.fields[4].name, "_attributes.env");
  assert_string_equal(spec->schema.fields[5].name, "_publish_time");
  assert_int_equal(spec->schema.fields[5].type, BEAM_ETL_TIMESTAMP);
  assert_string_equal(spec->schema.fields[6].name, "_attributes.region");
  const beam_etl_schema *table = beam_etl_table_schema(spec, "t_eu_a");
  assert_ptr_equal(table, &spec->top_schema);
  assert_int_equal(table->n_fields, 4);
  assert_non_null(spec->sources);
  assert_int_equal(spec->sources[0].kind, BEAM_ETL_SOURCE_DATA);
  assert_int_equal(spec->sources[1].kind, BEAM_ETL_SOURCE_ATTRIBUTE);
  assert_string_equal(spec->sources[1].attribute, "kind");
  assert_int_equal(spec->sources[3].kind, BEAM_ETL_SOURCE_PUBLISH_TIME);
  assert_string_equal(spec->sources[6].attribute, "region");
  /* a file has no message: the spec is refused naming the first key that uses one */
  beam_error err = {0};
  assert_int_equal(beam_etl_spec_check_files(spec, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "s.json: schema[1].source: _attributes.NAME and _publish_time"));
  assert_int_equal(beam_etl_spec_check_stream(spec, &err), BEAM_OK);
  beam_etl_spec_free(spec);
  /* a plain spec: nothing changes */
  spec = parse_ok("{\"schema\": [{\"name\": \"id\", \"type\": \"STRING\"}], \"route\": {\"table\": \"t\"}}");
  assert_null(spec->sources);
  assert_int_equal(spec->n_hidden, 0);
  assert_ptr_equal(beam_etl_table_schema(spec, "t"), &spec->schema);
  assert_int_equal(beam_etl_spec_check_files(spec, &err), BEAM_OK);
  beam_etl_spec_free(spec);
  spec = parse_ok("{\"schema\": [{\"name\": \"id\", \"type\": \"STRING\"}], \"filter\": \"id != '_publish_time'\","
                  " \"route\": {\"table\": \"t_{_attributes.k-1.x}\"}}");
  assert_int_equal(spec->n_hidden, 1); /* a quoted _publish_time is a literal */
  assert_int_equal(beam_etl_spec_check_files(spec, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "s.json: route.table: "));
  beam_etl_spec_free(spec);
}

static void spec_errors_name_the_key(void **state) {
  (void)state;
#define FIELDS "\"schema\": [{\"name\": \"id\", \"type\": \"STRING\"}, {\"name\": \"ts\", \"type\": \"TIMESTAMP\"}"
  parse_fails("{" FIELDS ", {\"name\": \"k\", \"type\": \"STRING\", \"source\": \"_attrs.k\"}], \"route\": {\"table\": \"t\"}}",
              "s.json: schema[2].source: must be \"_publish_time\" or \"_attributes.NAME\"");
  parse_fails("{" FIELDS ", {\"name\": \"k\", \"type\": \"INT64\", \"source\": \"_publish_time\"}], \"route\": {\"table\": \"t\"}}",
              "schema[2].source: field \"k\" is INT64; the publish time fills a TIMESTAMP or STRING field");
  parse_fails("{" FIELDS "], \"route\": {\"table\": \"t\"}, \"outputs\": [{\"sink\": \"jsonl:x\", \"where\": "
              "\"_attributes.a == 'b'\"}]}",
              "outputs[0].where: \"_attributes.a\": a destination selects rows by their columns");
  parse_fails("{" FIELDS ", {\"name\": \"_publish_time\", \"type\": \"TIMESTAMP\"}], \"filter\": \"_publish_time is null\","
              " \"route\": {\"table\": \"t\"}}",
              "filter: \"_publish_time\" names both a schema field and the message's publish time");
  parse_fails("{" FIELDS "], \"route\": {\"table\": \"t\"}, \"event_time_field\": \"id\"}",
              "event_time_field: field \"id\" is STRING; an event time is a TIMESTAMP or DATE field");
  parse_fails("{" FIELDS "], \"route\": {\"table\": \"t\"}, \"event_time_field\": \"when\"}",
              "event_time_field: no field \"when\" in schema");
  parse_fails("{\"tables\": {\"a\": {\"schema\": [{\"name\": \"ts\", \"type\": \"TIMESTAMP\"}]}, \"b\": {\"schema\": "
              "[{\"name\": \"id\", \"type\": \"STRING\"}]}}, \"route\": {\"table\": \"a\", \"default\": \"b\"},"
              " \"event_time_field\": \"ts\"}",
              "event_time_field: field \"ts\" is not in tables.b.schema (every table needs it)");
  parse_fails("{\"tables\": {\"a\": {\"schema\": [{\"name\": \"k\", \"type\": \"STRING\", \"source\": \"_attributes.k\"}]},"
              " \"b\": {\"schema\": [{\"name\": \"k\", \"type\": \"STRING\", \"source\": \"_attributes.j\"}]}},"
              " \"route\": {\"table\": \"a\", \"default\": \"b\"}}",
              "tables.b.schema[0].source: field \"k\" takes its value from _attributes.j here but from _attributes.k");
  parse_fails("{" FIELDS "], \"route\": {\"table\": \"t_{_publish_time}\"}}",
              "route.table: field \"_publish_time\" is TIMESTAMP: only STRING, INT64 and BOOL fields can name tables");
#undef FIELDS
}

/* A message through the chain: data parsed against the data schema, message values joined. */
static beam_etl_outcome run(const beam_etl_spec *spec, const char *data, const beam_pubsub_attribute *attrs,
                            size_t n_attrs, beam_arena *a) {
  beam_etl_message_fields mf;
  beam_error err = {0};
  assert_int_equal(beam_etl_message_fields_init(spec, &mf, &err), BEAM_OK);
  beam_message_parser *p = NULL;
  assert_int_equal(beam_message_parser_new(BEAM_MESSAGE_AUTO, NULL, &mf.data_schema, &p, &err), BEAM_OK);
  beam_pubsub_message m = {.data = (const uint8_t *)data, .data_len = strlen(data), .attributes = attrs,
                           .n_attributes = n_attrs, .message_id = "7", .publish_time_us = 1700000000123456LL};
  beam_etl_record rec;
  beam_read_result res;
  beam_etl_parse_error perr;
  assert_int_equal(beam_message_parse(p, SUB, m.data, m.data_len, a, &rec, &res, &perr, &err), BEAM_OK);
  assert_int_equal(res, BEAM_READ_RECORD);
  assert_int_equal(beam_etl_message_cells(spec, &mf, &m, a, &rec), BEAM_OK);
  beam_etl_outcome o;
  assert_int_equal(beam_etl_process_record(spec, &rec, a, &o), BEAM_OK);
  beam_message_parser_free(p);
  beam_etl_message_fields_free(&mf);
  return o;
}

static void messages_through_the_chain(void **state) {
  (void)state;
  beam_etl_spec *spec = parse_ok(SPEC);
  beam_arena a = {0};
  const beam_pubsub_attribute all[] = {{"kind", "a"}, {"region", "eu"}, {"env", "prod"}};
  /* the data's "kind" is not the field's: the attribute is */
  beam_etl_outcome o = run(spec, "{\"id\": \"m1\", \"kind\": \"zz\", \"n\": 3}", all, 3, &a);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_ROW);
  assert_string_equal(o.table, "t_eu_a");
  assert_ptr_equal(o.row.schema, &spec->top_schema);
  assert_string_equal((const char *)o.row.values[1].u.bytes.data, "a");
  assert_int_equal(o.row.values[2].u.i64, 3);
  assert_int_equal(o.row.values[3].kind, BEAM_VALUE_INT64);
  assert_int_equal(o.row.values[3].u.i64, 1700000000123456LL);
  /* a CSV message's columns are the data fields only: id, n */
  o = run(spec, "m2,5", all, 3, &a);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_ROW);
  assert_int_equal(o.row.values[2].u.i64, 5);
  /* the filter on an attribute: false, and unknown when the attribute is missing */
  const beam_pubsub_attribute test_env[] = {{"kind", "a"}, {"region", "eu"}, {"env", "test"}};
  assert_int_equal(run(spec, "{\"id\": \"m3\"}", test_env, 3, &a).kind, BEAM_ETL_OUTCOME_FILTERED);
  assert_int_equal(run(spec, "{\"id\": \"m4\"}", all, 2, &a).kind, BEAM_ETL_OUTCOME_FILTERED);
  /* route by a missing attribute: a dead letter naming it, though route.default is set */
  const beam_pubsub_attribute no_region[] = {{"kind", "a"}, {"env", "prod"}};
  o = run(spec, "{\"id\": \"m5\"}", no_region, 2, &a);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_DEAD_LETTER);
  assert_string_equal(o.stage, BEAM_ETL_STAGE_ROUTE);
  assert_non_null(strstr(o.error, "the message has no attribute \"region\""));
  const beam_pubsub_attribute no_kind[] = {{"region", "eu"}, {"env", "prod"}};
  o = run(spec, "{\"id\": \"m6\"}", no_kind, 2, &a);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_DEAD_LETTER);
  assert_non_null(strstr(o.error, "no attribute \"kind\""));
  /* an attribute present but empty is null (clean's null tokens): route.default */
  const beam_pubsub_attribute empty_region[] = {{"kind", "a"}, {"region", ""}, {"env", "prod"}};
  o = run(spec, "{\"id\": \"m7\"}", empty_region, 3, &a);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_ROW);
  assert_string_equal(o.table, "t_other");
  beam_arena_free(&a);
  beam_etl_spec_free(spec);
}

static void event_time_fields(void **state) {
  (void)state;
  beam_etl_spec *spec = parse_ok(
      "{\"schema\": [{\"name\": \"id\", \"type\": \"STRING\"}, {\"name\": \"ts\", \"type\": \"TIMESTAMP\"}],"
      " \"tables\": {\"own\": {\"schema\": [{\"name\": \"id\", \"type\": \"STRING\"}, {\"name\": \"ts\", \"type\": "
      "\"TIMESTAMP\"}, {\"name\": \"day\", \"type\": \"DATE\"}], \"partition_field\": \"day\"}},"
      " \"event_time_field\": \"ts\", \"route\": {\"table\": \"{id}\"}}");
  const char *key = NULL;
  const beam_etl_schema *own = beam_etl_table_schema(spec, "own"), *other = beam_etl_table_schema(spec, "other");
  assert_int_equal(beam_etl_table_time_field(spec, "own", own, &key), 2);
  assert_non_null(strstr(key, "partition_field"));
  assert_int_equal(beam_etl_table_time_field(spec, "other", other, &key), 1);
  assert_string_equal(key, "event_time_field");
  beam_etl_spec_free(spec);
  spec = parse_ok("{\"schema\": [{\"name\": \"id\", \"type\": \"STRING\"}], \"route\": {\"table\": \"t\"}}");
  assert_int_equal(beam_etl_table_time_field(spec, "t", &spec->schema, NULL), -1);
  beam_etl_spec_free(spec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(spec_hidden_and_sourced_fields),
      cmocka_unit_test(spec_errors_name_the_key),
      cmocka_unit_test(messages_through_the_chain),
      cmocka_unit_test(event_time_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
