/* ETL spec loading: the example spec, type names, bookkeeping schemas, and bad specs whose
 * errors must name the key path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "beam/transforms/etl_spec.h"
#include "etl_test_util.h"

static void example_spec_parses(void **state) {
  (void)state;
  beam_etl_spec *spec = NULL;
  beam_error err = {0};
  const char *text = ETL_EXAMPLE_SPEC;
  assert_int_equal(beam_etl_spec_parse(text, strlen(text), "spec.json", &spec, &err), BEAM_OK);
  assert_string_equal(spec->name, "spec.json");
  assert_int_equal(spec->format, BEAM_ETL_FORMAT_JSONL);
  assert_int_equal(spec->csv.delimiter, ',');
  assert_int_equal(spec->csv.quote, '"');
  assert_true(spec->csv.header);
  assert_int_equal(spec->schema.n_fields, 6);
  assert_string_equal(spec->schema.fields[3].name, "ts");
  assert_int_equal(spec->schema.fields[3].type, BEAM_ETL_TIMESTAMP);
  assert_int_equal(spec->schema.fields[3].mode, BEAM_ETL_REQUIRED);
  assert_int_equal(spec->schema.fields[2].mode, BEAM_ETL_NULLABLE);
  assert_true(spec->clean.trim);
  assert_int_equal(spec->clean.case_fold[1], BEAM_ETL_CASE_LOWER);
  assert_int_equal(spec->clean.case_fold[0], BEAM_ETL_CASE_KEEP);
  assert_int_equal(spec->clean.n_null_tokens, 3);
  assert_int_equal(spec->dedupe_field, 0);
  assert_false(spec->validate.hard);
  /* min and max of rule 0 expand into two checks. */
  assert_int_equal(spec->validate.n_rules, 6);
  assert_int_equal(spec->validate.rules[0].kind, BEAM_ETL_RULE_MIN);
  assert_int_equal(spec->validate.rules[1].kind, BEAM_ETL_RULE_MAX);
  assert_int_equal(spec->validate.rules[1].index, 0);
  assert_int_equal(spec->validate.rules[2].kind, BEAM_ETL_RULE_ENUM);
  assert_non_null(spec->filter);
  assert_string_equal(spec->route.template_text, "events_{event_type}");
  assert_int_equal(spec->route.n_placeholders, 1);
  assert_string_equal(spec->route.default_table, "events_other");
  assert_int_equal(spec->partition_field, 3);
  assert_int_equal(spec->n_cluster_fields, 1);
  assert_int_equal(spec->cluster_fields[0], 1);
  beam_etl_spec_free(spec);
}

static void minimal_spec_gets_defaults(void **state) {
  (void)state;
  const char *text = "{\"schema\": [{\"name\": \"a\", \"type\": \"integer\"}], \"route\": {\"table\": \"t\"}}";
  beam_etl_spec *spec = NULL;
  beam_error err = {0};
  assert_int_equal(beam_etl_spec_parse(text, strlen(text), NULL, &spec, &err), BEAM_OK);
  assert_int_equal(spec->format, BEAM_ETL_FORMAT_AUTO);
  assert_int_equal(spec->schema.fields[0].type, BEAM_ETL_INT64);
  assert_true(spec->clean.trim);
  assert_int_equal(spec->clean.n_null_tokens, 4);
  assert_int_equal(spec->dedupe_field, -1);
  assert_int_equal(spec->partition_field, -1);
  assert_null(spec->filter);
  assert_int_equal(spec->validate.n_rules, 0);
  beam_etl_spec_free(spec);
}

static void type_names_and_aliases(void **state) {
  (void)state;
  beam_etl_type t;
  struct {
    const char *name;
    beam_etl_type type;
  } ok[] = {{"STRING", BEAM_ETL_STRING},   {"INT64", BEAM_ETL_INT64},     {"INTEGER", BEAM_ETL_INT64},
            {"FLOAT", BEAM_ETL_FLOAT64},   {"FLOAT64", BEAM_ETL_FLOAT64}, {"BOOLEAN", BEAM_ETL_BOOL},
            {"bool", BEAM_ETL_BOOL},       {"NUMERIC", BEAM_ETL_NUMERIC}, {"TIMESTAMP", BEAM_ETL_TIMESTAMP},
            {"DATE", BEAM_ETL_DATE},       {"BYTES", BEAM_ETL_BYTES}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    assert_int_equal(beam_etl_type_parse(ok[i].name, &t), BEAM_OK);
    assert_int_equal(t, ok[i].type);
  }
  assert_string_equal(beam_etl_type_name(BEAM_ETL_INT64), "INT64");
  assert_string_equal(beam_etl_type_name(BEAM_ETL_FLOAT64), "FLOAT64");
  assert_int_equal(beam_etl_type_parse("FLOT64", &t), BEAM_ERR_NOT_FOUND);
  assert_int_equal(beam_etl_type_parse("DATETIME", &t), BEAM_ERR_UNSUPPORTED);
}

static void bookkeeping_schemas(void **state) {
  (void)state;
  const beam_etl_schema *dl = beam_etl_dead_letter_schema();
  assert_int_equal(dl->n_fields, 7);
  /* the streaming release's message_id: last and NULLABLE */
  assert_int_equal(beam_etl_schema_find(dl, "message_id"), 6);
  assert_int_equal(dl->fields[6].type, BEAM_ETL_STRING);
  assert_int_equal(dl->fields[6].mode, BEAM_ETL_NULLABLE);
  const beam_etl_schema *sb = beam_etl_stream_bundles_schema();
  assert_int_equal(sb->n_fields, 8);
  assert_int_equal(beam_etl_schema_find(sb, "subscription"), 0);
  assert_int_equal(beam_etl_schema_find(sb, "committed_at"), 7);
  assert_ptr_equal(beam_etl_bookkeeping_schema(BEAM_ETL_STREAM_BUNDLES_TABLE), sb);
  assert_true(beam_etl_is_bookkeeping_table("_files"));
  assert_false(beam_etl_is_bookkeeping_table("events"));
  assert_null(beam_etl_bookkeeping_schema("events"));
  assert_int_equal(beam_etl_schema_find(dl, "source"), 0);
  assert_int_equal(beam_etl_schema_find(dl, "stage"), 4);
  assert_int_equal(beam_etl_schema_find(dl, "offset"), 5); /* last and NULLABLE: earlier tables gain it */
  assert_int_equal(dl->fields[5].type, BEAM_ETL_INT64);
  assert_int_equal(dl->fields[5].mode, BEAM_ETL_NULLABLE);
  assert_int_equal(dl->fields[0].mode, BEAM_ETL_REQUIRED);
  assert_int_equal(dl->fields[1].type, BEAM_ETL_INT64);
  assert_int_equal(dl->fields[2].mode, BEAM_ETL_NULLABLE);
  assert_int_equal(dl->fields[3].mode, BEAM_ETL_REQUIRED);
  const beam_etl_schema *fs = beam_etl_files_schema();
  assert_int_equal(fs->n_fields, 14);
  assert_int_equal(beam_etl_schema_find(fs, "ranges"), 13); /* the scale release's: last, NULLABLE */
  assert_int_equal(fs->fields[13].type, BEAM_ETL_INT64);
  assert_int_equal(fs->fields[13].mode, BEAM_ETL_NULLABLE);
  for (int i = 10; i < 13; i++) { /* status, error, file_id: last and NULLABLE, earlier tables gain them */
    assert_int_equal(fs->fields[i].type, BEAM_ETL_STRING);
    assert_int_equal(fs->fields[i].mode, BEAM_ETL_NULLABLE);
  }
  assert_int_equal(beam_etl_schema_find(fs, "status"), 10);
  assert_int_equal(beam_etl_schema_find(fs, "deduplicated"), 6);
  assert_int_equal(fs->fields[8].type, BEAM_ETL_TIMESTAMP);
  assert_int_equal(fs->fields[9].type, BEAM_ETL_TIMESTAMP);
  assert_int_equal(fs->fields[0].mode, BEAM_ETL_REQUIRED);
  assert_int_equal(beam_etl_schema_find(fs, "nope"), -1);
}

#define SCHEMA3                                                                          \
  "\"schema\": [{\"name\": \"event_id\", \"type\": \"STRING\", \"mode\": \"REQUIRED\"}," \
  "{\"name\": \"event_type\", \"type\": \"STRING\"},"                                    \
  "{\"name\": \"amount\", \"type\": \"FLOAT64\"},"                                       \
  "{\"name\": \"ts\", \"type\": \"TIMESTAMP\"}]"
#define ROUTE "\"route\": {\"table\": \"events\"}"

typedef struct bad_spec {
  const char *json;
  const char *message; /* exact expected message, or a substring when it starts with '~' */
} bad_spec;

static const bad_spec bad_specs[] = {
    {"{\"schema\": [{\"name\": \"a\", \"type\": \"STRING\"}, {\"name\": \"b\", \"type\": \"INT64\"},"
     " {\"name\": \"c\", \"type\": \"FLOT64\"}], " ROUTE "}",
     "spec.json: schema[2].type: unknown type \"FLOT64\""},
    {"{" SCHEMA3 ", " ROUTE ", \"validate\": {\"rules\": [{\"field\": \"amout\", \"min\": 0}]}}",
     "spec.json: validate.rules[0].field: no field \"amout\" in schema"},
    {"{" SCHEMA3 ", " ROUTE ", \"filter\": \"amount >)\"}", "spec.json: filter: unexpected token ')' at column 9"},
    {"{" SCHEMA3 ", " ROUTE ", \"filtr\": \"amount > 0\"}", "~spec.json: unknown key \"filtr\" (expected one of: format"},
    {"{" SCHEMA3 ", " ROUTE ", \"filter\": \"a\", \"filter\": \"b\"}", "~duplicate object key"},
    {"{" SCHEMA3 ", " ROUTE ", \"filter\": \"amount == 'abc'\"}",
     "spec.json: filter: column 11: field \"amount\" is FLOAT64 and cannot be compared with a string"},
    {"{" SCHEMA3 ", " ROUTE ", \"filter\": \"event_type == 5\"}",
     "spec.json: filter: column 15: field \"event_type\" is STRING and cannot be compared with a number"},
    {"{" SCHEMA3 ", " ROUTE ", \"filter\": \"ts > 'yesterday'\"}",
     "spec.json: filter: column 6: field \"ts\": \"yesterday\" is not a TIMESTAMP"},
    {"{" SCHEMA3 ", " ROUTE ", \"filter\": \"amunt > 1\"}", "spec.json: filter: column 1: no field \"amunt\" in schema"},
    {"{" SCHEMA3 ", " ROUTE ", \"validate\": {\"rules\": [{\"field\": \"event_id\", \"regex\": \"([a-z\"}]}}",
     "~spec.json: validate.rules[0].regex: invalid regex \"([a-z\": "},
    /* The pattern with a typo: PCRE2's reason, the position (in characters), the field. */
    {"{" SCHEMA3 ", " ROUTE ", \"validate\": {\"rules\": [{\"field\": \"amount\", \"min\": 0},"
     " {\"field\": \"event_id\", \"regex\": \"^[a-z]+-\\\\d+$(\"}]}}",
     "spec.json: validate.rules[1].regex: invalid regex \"^[a-z]+-\\d+$(\": missing closing parenthesis at offset 13 "
     "(field \"event_id\")"},
    {"{" SCHEMA3 ", " ROUTE ", \"validate\": {\"rules\": [{\"field\": \"event_id\", \"regex\": \"\u00e9t\u00e9+*\"}]}}",
     "spec.json: validate.rules[0].regex: invalid regex \"\xc3\xa9t\xc3\xa9+*\": quantifier does not follow a repeatable "
     "item at offset 4 (field \"event_id\")"},
    {"{" SCHEMA3 ", " ROUTE ", \"validate\": {\"rules\": [{\"field\": \"event_id\", \"min\": 1}]}}",
     "~validate.rules[0].min: field \"event_id\" is STRING: min/max apply to numbers, TIMESTAMP and DATE (use min_length"},
    {"{" SCHEMA3 ", " ROUTE ", \"validate\": {\"rules\": [{\"field\": \"ts\", \"min\": \"2020-13-01\"}]}}",
     "spec.json: validate.rules[0].min: field \"ts\": \"2020-13-01\" is not a TIMESTAMP"},
    {"{" SCHEMA3 ", " ROUTE ", \"validate\": {\"rules\": [{\"field\": \"amount\", \"enum\": [1, \"x\"]}]}}",
     "spec.json: validate.rules[0].enum[1]: field \"amount\": \"x\" is not a FLOAT64"},
    {"{" SCHEMA3 ", " ROUTE ", \"validate\": {\"rules\": [{\"field\": \"amount\"}]}}",
     "~spec.json: validate.rules[0]: rule has no check"},
    {"{" SCHEMA3 ", " ROUTE ", \"validate\": {\"rules\": [{\"field\": \"amount\", \"maximum\": 3}]}}",
     "~spec.json: validate.rules[0]: unknown key \"maximum\""},
    {"{" SCHEMA3 ", " ROUTE ", \"validate\": {\"mode\": \"strict\"}}",
     "spec.json: validate.mode: must be \"soft\" or \"hard\""},
    {"{" SCHEMA3 ", " ROUTE ", \"validate\": {\"rules\": [{\"field\": \"amount\", \"type\": \"INT64\"}]}}",
     "spec.json: validate.rules[0].type: rule type INT64 conflicts with schema type FLOAT64 of field \"amount\""},
    {"{" SCHEMA3 ", \"route\": {\"table\": \"events_{evnt_type}\"}}",
     "spec.json: route.table: no field \"evnt_type\" in schema"},
    {"{" SCHEMA3 ", \"route\": {\"table\": \"events-{event_type}\"}}",
     "~spec.json: route.table: \"events-{event_type}\": character '-' at offset 6 is not allowed"},
    {"{" SCHEMA3 ", \"route\": {\"table\": \"_mine\"}}", "~table names starting with \"_\" are reserved"},
    {"{" SCHEMA3 ", \"route\": {\"table\": \"sqlite_master\"}}",
     "spec.json: route.table: \"sqlite_master\": table names starting with \"sqlite_\" are reserved"},
    {"{" SCHEMA3 ", \"route\": {\"table\": \"e_{event_type}\", \"default\": \"PG_catalog\"}}",
     "spec.json: route.default: \"PG_catalog\": table names starting with \"pg_\" are reserved"},
    {"{" SCHEMA3 ", \"route\": {\"table\": \"events_{event_type\"}}", "~unclosed \"{\""},
    {"{" SCHEMA3 ", \"route\": {\"table\": \"e_{amount}\"}}",
     "spec.json: route.table: field \"amount\" is FLOAT64: only STRING, INT64 and BOOL fields can name tables"},
    {"{" SCHEMA3 ", \"route\": {\"table\": \"e_{event_type}\", \"default\": \"other table\"}}",
     "spec.json: route.default: \"other table\" is not a valid table name"},
    {"{" SCHEMA3 ", \"route\": {\"table\": \"e_{event_type}\", \"default\": \"_dead_letter\"}}",
     "~route.default: \"_dead_letter\": table names starting with \"_\" are reserved"},
    {"{" SCHEMA3 "}", "spec.json: route: missing (every spec names its destination table)"},
    {"{" ROUTE "}", "spec.json: schema: missing"},
    {"{" SCHEMA3 ", " ROUTE ", \"clean\": {\"dedupe_on\": \"id\"}}", "spec.json: clean.dedupe_on: no field \"id\" in schema"},
    {"{" SCHEMA3 ", " ROUTE ", \"clean\": {\"lowercase\": [\"event_type\", \"evt\"]}}",
     "spec.json: clean.lowercase[1]: no field \"evt\" in schema"},
    {"{" SCHEMA3 ", " ROUTE ", \"clean\": {\"trimm\": true}}", "~spec.json: clean: unknown key \"trimm\""},
    {"{" SCHEMA3 ", " ROUTE ", \"partition_field\": \"event_type\"}",
     "spec.json: partition_field: field \"event_type\" is STRING; partitioning needs a TIMESTAMP or DATE field"},
    {"{" SCHEMA3 ", " ROUTE ", \"cluster_fields\": [\"amount\"]}",
     "spec.json: cluster_fields[0]: field \"amount\" is FLOAT64, which BigQuery cannot cluster on"},
    {"{" SCHEMA3 ", " ROUTE ", \"format\": \"xml\"}", "spec.json: format: must be \"jsonl\", \"csv\" or \"auto\""},
    {"{" SCHEMA3 ", " ROUTE ", \"csv\": {\"delimiter\": \";;\"}}", "spec.json: csv.delimiter: must be a one-character string"},
    {"{\"schema\": [{\"name\": \"a\", \"type\": \"STRING\"}, {\"name\": \"A\", \"type\": \"STRING\"}], " ROUTE "}",
     "~spec.json: schema[1].name: duplicate field \"A\""},
    {"{\"schema\": [{\"name\": \"a b\", \"type\": \"STRING\"}], " ROUTE "}", "~spec.json: schema[0].name: \"a b\" is not a valid field name"},
    {"{\"schema\": [{\"name\": \"a\", \"type\": \"DATETIME\"}], " ROUTE "}",
     "spec.json: schema[0].type: type \"DATETIME\" is not supported by the ETL transforms"},
    {"{\"schema\": [{\"name\": \"a\", \"type\": \"STRING\", \"mode\": \"REPEATED\"}], " ROUTE "}",
     "~schema[0].mode: REPEATED fields are not supported"},
    {"{\"schema\": [{\"name\": \"a\", \"tpye\": \"STRING\"}], " ROUTE "}", "~spec.json: schema[0]: unknown key \"tpye\""},
    {"{" SCHEMA3 ", " ROUTE ",}", "~spec.json: invalid JSON at line 1"},
    {"[1, 2]", "spec.json: must be a JSON object, not an array"},
};

static void bad_specs_name_the_key(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_specs / sizeof bad_specs[0]; i++) {
    beam_etl_spec *spec = (beam_etl_spec *)1;
    beam_error err = {0};
    beam_status st = beam_etl_spec_parse(bad_specs[i].json, strlen(bad_specs[i].json), "spec.json", &spec, &err);
    if (st == BEAM_OK) fail_msg("spec %zu parsed but should fail: %s", i, bad_specs[i].json);
    assert_null(spec);
    const char *want = bad_specs[i].message;
    bool ok = want[0] == '~' ? strstr(err.message, want + 1) != NULL : strcmp(err.message, want) == 0;
    if (!ok) fail_msg("spec %zu: got  [%s]\nwant [%s]", i, err.message, want);
  }
}

static void load_file_and_missing_file(void **state) {
  (void)state;
  char path[] = "/tmp/beam_etl_specXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = ETL_EXAMPLE_SPEC;
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  beam_etl_spec *spec = NULL;
  beam_error err = {0};
  assert_int_equal(beam_etl_spec_load_file(path, &spec, &err), BEAM_OK);
  assert_string_equal(spec->name, path);
  beam_etl_spec_free(spec);
  unlink(path);
  assert_int_equal(beam_etl_spec_load_file("/nonexistent/spec.json", &spec, &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "/nonexistent/spec.json: cannot open"));
  assert_null(spec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(example_spec_parses),    cmocka_unit_test(minimal_spec_gets_defaults),
      cmocka_unit_test(type_names_and_aliases), cmocka_unit_test(bookkeeping_schemas),
      cmocka_unit_test(bad_specs_name_the_key), cmocka_unit_test(load_file_and_missing_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
