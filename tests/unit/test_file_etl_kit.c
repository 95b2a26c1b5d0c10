/* The file ETL (pipelines/file_etl) tested with the testing kit (beam/testing_etl.h): routing,
 * cleaning, dedupe, filtering and dead letters, asserted inside the pipeline, so the same
 * tests run on the local runner and on Prism (ctest -L prism: BEAM_TEST_RUNNER=portable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "beam/dofn.h"
#include "beam/testing_cmocka.h"
#include "beam/transforms/etl_element.h"
#include "beam/transforms/file_identity.h"
#include "beam/transforms/testing_etl.h"

static const char spec[] =
    "{\"format\": \"auto\","
    " \"schema\": [{\"name\": \"event_id\", \"type\": \"STRING\", \"mode\": \"REQUIRED\"},"
    "            {\"name\": \"event_type\", \"type\": \"STRING\"},"
    "            {\"name\": \"amount\", \"type\": \"FLOAT64\"},"
    "            {\"name\": \"ts\", \"type\": \"TIMESTAMP\", \"mode\": \"REQUIRED\"}],"
    " \"clean\": {\"trim\": true, \"lowercase\": [\"event_type\"], \"dedupe_on\": \"event_id\"},"
    " \"validate\": {\"mode\": \"soft\", \"rules\": [{\"field\": \"amount\", \"min\": 0}]},"
    " \"filter\": \"event_type != 'test'\","
    " \"route\": {\"table\": \"events_{event_type}\", \"default\": \"events_other\"}}";

static const char events[] =
    "{\"event_id\": \"e1\", \"event_type\": \"order\", \"amount\": 10, \"ts\": \"2024-01-01T00:00:00Z\"}\n"
    "{\"event_id\": \"e2\", \"event_type\": \" Order \", \"amount\": 5, \"ts\": \"2024-01-01T00:00:01Z\"}\n"
    "{\"event_id\": \"e1\", \"event_type\": \"order\", \"amount\": 10, \"ts\": \"2024-01-01T00:00:00Z\"}\n" /* duplicate */
    "{\"event_id\": \"e3\", \"event_type\": \"test\", \"amount\": 1, \"ts\": \"2024-01-01T00:00:02Z\"}\n"  /* filtered */
    "{\"event_id\": \"e4\", \"event_type\": \"refund\", \"amount\": -5, \"ts\": \"2024-01-01T00:00:03Z\"}\n"
    "{\"event_id\": \"e5\", \"amount\": 7, \"ts\": \"2024-01-01T00:00:04Z\"}\n" /* null type: the filter is unknown */
    "not json\n";

/* A sink in the test's temporary directory (the runner's workers write there too). */
static const char *sqlite_sink(beam_test *t, char *buf, size_t cap) {
  snprintf(buf, cap, "sqlite:%s/out.db", beam_test_temp_dir(t));
  return buf;
}

static void routes_filters_dedupes_and_dead_letters(void **state) {
  (void)state;
  beam_test *t = beam_test_new("file ETL: one JSON-lines file");
  const char *inputs[] = {beam_test_write_file(t, "events.jsonl", events)};
  char sink[4200];
  beam_etl_file_pipeline_config cfg = {.inputs = inputs, .n_inputs = 1, .spec_json = spec, .spec_name = "spec.json",
                                       .sink_uri = sqlite_sink(t, sink, sizeof sink), .progress = "off"};
  beam_etl_file_pipeline_outputs out;
  beam_test_etl_build(t, &cfg, &out);
  const beam_test_etl_table tables[] = {{"events_order", 2}, {"_dead_letter", 2}};
  beam_assert_etl_tables(t, &out, "RowsPerTable", tables, 2);
  const char *const dead[] = {
      "events.jsonl:5: validate: field \"amount\": \"-5\" fails rule min 0 (validate.rules[0])",
      "events.jsonl:7: parse: bad JSON: expected a JSON object ('{') at the start of the record, found 'n' at byte 1",
  };
  beam_assert_etl_dead_letters(t, &out, "DeadLetters", dead, 2);
  const beam_test_etl_file files[] = {
      {"events.jsonl", .records = 7, .written = 2, .dead_lettered = 2, .filtered = 2, .deduplicated = 1}};
  beam_assert_etl_files(t, &out, "FilesCounts", files, 1);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

/* The bundled samples (CSV, JSON lines, a ZIP of CSVs) with the sample spec: what the README's
 * run-sample output shows. */
static void the_bundled_samples(void **state) {
  (void)state;
  const char *root = getenv("BEAM_SOURCE_DIR");
  if (!root) skip();
  char landing[4096], spec_path[4096];
  snprintf(landing, sizeof landing, "%s/pipelines/file_etl/samples/landing", root);
  snprintf(spec_path, sizeof spec_path, "%s/pipelines/file_etl/samples/spec.json", root);
  FILE *f = fopen(spec_path, "rb");
  assert_non_null(f);
  char sample_spec[8192];
  size_t n = fread(sample_spec, 1, sizeof sample_spec - 1, f);
  fclose(f);
  sample_spec[n] = '\0';

  beam_test *t = beam_test_new("file ETL: the bundled samples");
  const char *inputs[] = {landing};
  char sink[4200];
  beam_etl_file_pipeline_config cfg = {.inputs = inputs, .n_inputs = 1, .spec_json = sample_spec,
                                       .spec_name = "spec.json", .sink_uri = sqlite_sink(t, sink, sizeof sink),
                                       .progress = "off"};
  beam_etl_file_pipeline_outputs out;
  beam_test_etl_build(t, &cfg, &out);
  const beam_test_etl_table tables[] = {{"events_inventory", 41}, {"events_order", 40},      {"events_other", 1},
                                        {"events_user_activity", 41}, {"_dead_letter", 7}};
  beam_assert_etl_tables(t, &out, "RowsPerTable", tables, 5);
  const char *const dead[] = {
      "events.csv:22: parse: field \"amount\": \"ten\" is not a FLOAT64",
      "events.csv:23: parse: bad CSV quoting at column 4: unterminated quoted field starting on line 25 (reached end of input)",
      "events.jsonl:64: parse: field \"amount\": \"abc\" is not a FLOAT64",
      "events.jsonl:65: parse: field \"ts\": required but missing",
      "events.jsonl:66: parse: bad JSON in field 'ts': expected ',' or '}' after the value, found end of record at byte 89",
      "events.jsonl:67: route: route: value \"ord er\" of field \"event_type\" makes invalid table name \"events_ord er\"",
      "events_archive.zip!part-2.csv:22: parse: field \"amount\": \"ten\" is not a FLOAT64",
  };
  beam_assert_etl_dead_letters(t, &out, "DeadLetters", dead, 7);
  const beam_test_etl_file files[] = {
      {"events.csv", .records = 23, .written = 21, .dead_lettered = 2},
      {"events.jsonl", .records = 68, .written = 61, .dead_lettered = 4, .filtered = 1, .deduplicated = 2},
      {"events_archive.zip", .records = 42, .written = 41, .dead_lettered = 1},
  };
  beam_assert_etl_files(t, &out, "FilesCounts", files, 3);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

/* A wrong expectation about the ETL names the table and the counts that differ. */
static void a_wrong_table_count_is_reported(void **state) {
  (void)state;
  beam_test *t = beam_test_new("file ETL: wrong expectation");
  const char *inputs[] = {beam_test_write_file(t, "events.jsonl", events)};
  char sink[4200];
  beam_etl_file_pipeline_config cfg = {.inputs = inputs, .n_inputs = 1, .spec_json = spec, .spec_name = "spec.json",
                                       .sink_uri = sqlite_sink(t, sink, sizeof sink), .progress = "off"};
  beam_etl_file_pipeline_outputs out;
  beam_test_etl_build(t, &cfg, &out);
  const beam_test_etl_table tables[] = {{"events_order", 3}, {"events_refund", 1}, {"_dead_letter", 2}};
  beam_assert_etl_tables(t, &out, "RowsPerTable", tables, 3);
  assert_int_not_equal(beam_test_run(t, NULL), BEAM_OK);
  print_message("report: %s\n", beam_test_failure(t));
  assert_non_null(strstr(beam_test_failure(t), "assert \"RowsPerTable\" on DedupePick.rows (equal) failed: "
                                               "2 missing, 0 unexpected (expected 6, got 4); missing: "));
  assert_non_null(strstr(beam_test_failure(t), "\"events_order\""));
  assert_non_null(strstr(beam_test_failure(t), "\"events_refund\""));
  beam_test_free(t);
}

/* A dead letter whose text differs shows both texts whole. */
static void a_wrong_dead_letter_is_shown_whole(void **state) {
  (void)state;
  beam_test *t = beam_test_new("file ETL: wrong dead letter");
  const char *inputs[] = {beam_test_write_file(t, "events.jsonl", events)};
  char sink[4200];
  beam_etl_file_pipeline_config cfg = {.inputs = inputs, .n_inputs = 1, .spec_json = spec, .spec_name = "spec.json",
                                       .sink_uri = sqlite_sink(t, sink, sizeof sink), .progress = "off"};
  beam_etl_file_pipeline_outputs out;
  beam_test_etl_build(t, &cfg, &out);
  const char *const dead[] = {
      "events.jsonl:5: validate: field \"amount\": \"-5\" fails rule min 1 (validate.rules[0])",
      "events.jsonl:7: parse: bad JSON: expected a JSON object ('{') at the start of the record, found 'n' at byte 1",
  };
  beam_assert_etl_dead_letters(t, &out, "DeadLetters", dead, 2);
  assert_int_not_equal(beam_test_run(t, NULL), BEAM_OK);
  print_message("report: %s\n", beam_test_failure(t));
  assert_non_null(strstr(beam_test_failure(t),
                         "assert \"DeadLetters\" on DedupePick.rows (equal) failed: 1 missing, 1 unexpected "
                         "(expected 2, got 2); missing: \"events.jsonl:5: validate: field \\\"amount\\\": \\\"-5\\\" fails "
                         "rule min 1 (validate.rules[0])\"; unexpected: \"events.jsonl:5: validate: field \\\"amount\\\": "
                         "\\\"-5\\\" fails rule min 0 (validate.rules[0])\""));
  beam_test_free(t);
}

/* DoFn "origin_of": an ETL element -> "<file identity>@<offset>", its record's identity. */
static beam_status origin_of_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                     beam_error *err) {
  (void)state;
  const char *table, *file;
  beam_etl_row row;
  beam_status s = beam_etl_element_view(elem->value, NULL, beam_dofn_scratch(ctx), &table, &file, &row, err);
  if (s == BEAM_ERR_MALFORMED) { /* rows of the spec's tables: no spec here, so view the header only */
    const beam_value *h = elem->value->u.list.items;
    char text[512];
    snprintf(text, sizeof text, "%.*s@%lld", h[6].kind == BEAM_VALUE_STRING ? (int)h[6].u.bytes.len : 0,
             h[6].kind == BEAM_VALUE_STRING ? (const char *)h[6].u.bytes.data : "",
             h[5].kind == BEAM_VALUE_INT64 ? (long long)h[5].u.i64 : -1LL);
    beam_value v = beam_value_string(text, strlen(text));
    return beam_dofn_emit(ctx, 0, &v, err);
  }
  if (s == BEAM_OK && strcmp(table, BEAM_ETL_FILES_TABLE) == 0) return BEAM_OK; /* a file's report */
  return s == BEAM_OK ? beam_error_set(err, BEAM_ERR_INVALID_ARG, "expected a routed row, got %s", table) : s;
}
static const beam_dofn_def origin_of = {.name = "origin_of", .process = origin_of_process};
BEAM_REGISTER_DOFN(origin_of)

/* Two ZIP members whose records sit at the same offset of their own streams: their identities
 * differ (the member is part of the identity), so record ids (BigQuery insertIds, Pub/Sub row
 * ids) of different rows never collide. */
static void zip_members_give_distinct_record_identities(void **state) {
  (void)state;
  beam_test *t = beam_test_new("file ETL: record identities in a ZIP");
  char zip[4200], script[9000];
  snprintf(zip, sizeof zip, "%s/two.zip", beam_test_temp_dir(t));
  snprintf(script, sizeof script,
           "python3 -c \"import zipfile; z = zipfile.ZipFile('%s', 'w'); z.writestr('a.csv', 'id,name\\n1,x\\n');"
           " z.writestr('b.csv', 'id,name\\n1,x\\n'); z.close()\"",
           zip);
  assert_int_equal(system(script), 0);
  beam_file_identity id;
  beam_error err = {0};
  assert_int_equal(beam_file_identity_of(zip, &id, &err), BEAM_OK);
  const char *inputs[] = {zip};
  char sink[4200];
  beam_etl_file_pipeline_config cfg = {.inputs = inputs, .n_inputs = 1, .spec_name = "spec.json",
                                       .spec_json = "{\"format\": \"csv\", \"schema\": [{\"name\": \"id\", \"type\": "
                                                    "\"STRING\"}, {\"name\": \"name\", \"type\": \"STRING\"}],"
                                                    " \"route\": {\"table\": \"t\"}}",
                                       .sink_uri = sqlite_sink(t, sink, sizeof sink), .progress = "off"};
  beam_etl_file_pipeline_outputs out;
  beam_test_etl_build(t, &cfg, &out);
  beam_pipeline *p = beam_test_pipeline(t);
  beam_pcollection *ids = beam_pardo1(p, "OriginOf", out.rows, "origin_of", NULL, beam_coder_spec_string(p));
  char a[300], b[300];
  snprintf(a, sizeof a, "%s!a.csv@8", id.id);
  snprintf(b, sizeof b, "%s!b.csv@8", id.id);
  const char *const expected[] = {a, b};
  beam_assert_equal_strings(t, ids, "RecordIdentities", expected, 2);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

/* With dedupe the rows cross a GroupByKey without their record identity (etl_dofn_dedupe.c);
 * the kept rows have it again, member and all, as the read made it. */
static void dedupe_keeps_record_identities(void **state) {
  (void)state;
  beam_test *t = beam_test_new("file ETL: record identities through dedupe");
  char zip[4200], csv[4200], script[9000];
  snprintf(zip, sizeof zip, "%s/two.zip", beam_test_temp_dir(t));
  snprintf(csv, sizeof csv, "%s/plain.csv", beam_test_temp_dir(t));
  snprintf(script, sizeof script,
           "python3 -c \"import zipfile; z = zipfile.ZipFile('%s', 'w'); z.writestr('a.csv', 'id,name\\n1,x\\n');"
           " z.writestr('b.csv', 'id,name\\n2,y\\n'); z.close(); open('%s', 'w').write('id,name\\n1,dup\\n3,z\\n')\"",
           zip, csv);
  assert_int_equal(system(script), 0);
  beam_file_identity zid, cid;
  beam_error err = {0};
  assert_int_equal(beam_file_identity_of(zip, &zid, &err), BEAM_OK);
  assert_int_equal(beam_file_identity_of(csv, &cid, &err), BEAM_OK);
  const char *inputs[] = {zip, csv};
  char sink[4200];
  beam_etl_file_pipeline_config cfg = {.inputs = inputs, .n_inputs = 2, .spec_name = "spec.json",
                                       .spec_json = "{\"format\": \"csv\", \"schema\": [{\"name\": \"id\", \"type\": "
                                                    "\"STRING\"}, {\"name\": \"name\", \"type\": \"STRING\"}],"
                                                    " \"clean\": {\"dedupe_on\": \"id\"}, \"route\": {\"table\": \"t\"}}",
                                       .sink_uri = sqlite_sink(t, sink, sizeof sink), .progress = "off"};
  beam_etl_file_pipeline_outputs out;
  beam_test_etl_build(t, &cfg, &out);
  beam_pipeline *p = beam_test_pipeline(t);
  beam_pcollection *ids = beam_pardo1(p, "OriginOf", out.rows, "origin_of", NULL, beam_coder_spec_string(p));
  char a[300], b[300], c[300];
  snprintf(a, sizeof a, "%s!a.csv@8", zid.id);
  snprintf(b, sizeof b, "%s!b.csv@8", zid.id);
  snprintf(c, sizeof c, "%s@14", cid.id); /* "1,dup" is a duplicate of the ZIP's "1,x" */
  const char *const expected[] = {a, b, c};
  beam_assert_equal_strings(t, ids, "RecordIdentities", expected, 3);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

int main(int argc, char **argv) {
  int rc;
  if (beam_test_etl_worker(argc, argv, &rc)) return rc;
  beam_error err = {0};
  if (beam_test_configure(argc, argv, &err) != BEAM_OK) return fprintf(stderr, "%s\n", err.message), 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(routes_filters_dedupes_and_dead_letters),
      cmocka_unit_test(the_bundled_samples),
      cmocka_unit_test(a_wrong_table_count_is_reported),
      cmocka_unit_test(a_wrong_dead_letter_is_shown_whole),
      cmocka_unit_test(zip_members_give_distinct_record_identities),
      cmocka_unit_test(dedupe_keeps_record_identities),
  };
  return cmocka_run_group_tests_name("file_etl_kit", tests, NULL, NULL);
}
