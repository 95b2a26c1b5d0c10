/* Testing the file ETL with the testing kit: build it into a test's pipeline and assert its
 * outcomes (rows per routed table, dead letters with their error text, the _files counts).
 * Like every kit assertion they are pipeline transforms, checked on whatever runner runs
 * the test.
 *
 *   beam_test *t = beam_test_new("events ETL");
 *   const char *in = beam_test_write_file(t, "events.jsonl", "{...}\n{...}\n");
 *   const char *inputs[] = {in};
 *   char sink[4200];
 *   snprintf(sink, sizeof sink, "sqlite:%s/out.db", beam_test_temp_dir(t));
 *   beam_etl_file_pipeline_config cfg = {.inputs = inputs, .n_inputs = 1, .spec_json = SPEC,
 *                                        .spec_name = "spec", .sink_uri = sink, .progress = "off"};
 *   beam_etl_file_pipeline_outputs out;
 *   beam_test_etl_build(t, &cfg, &out);
 *   const beam_test_etl_table tables[] = {{"events_order", 2}, {"_dead_letter", 1}};
 *   beam_assert_etl_tables(t, &out, "Tables", tables, 2);
 *   const char *dead[] = {"events.jsonl:3: validate: field \"amount\": ..."};
 *   beam_assert_etl_dead_letters(t, &out, "DeadLetters", dead, 1);
 *   const beam_test_etl_file files[] = {{"events.jsonl", .records = 3, .written = 2, .dead_lettered = 1}};
 *   beam_assert_etl_files(t, &out, "Files", files, 1); */
#ifndef BEAM_TRANSFORMS_TESTING_ETL_H
#define BEAM_TRANSFORMS_TESTING_ETL_H

#include <stdint.h>

#include "beam/testing.h"
#include "beam/transforms/etl_pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_test_etl_table {
  const char *table; /* a routed table, or "_dead_letter" */
  int64_t rows;
} beam_test_etl_table;

/* One _files row's counts; name is the input file's base name. */
typedef struct beam_test_etl_file {
  const char *name;
  int64_t records, written, dead_lettered, filtered, deduplicated;
} beam_test_etl_file;

/* beam_test_worker for a test program of the file ETL: registers the ETL's DoFns (and these
 * assertions') first, so that a runner's workers find them. main() begins with
 *   int rc;
 *   if (beam_test_etl_worker(argc, argv, &rc)) return rc; */
bool beam_test_etl_worker(int argc, char **argv, int *exit_code);

/* Builds the file ETL into the test's pipeline; out receives the PCollections to assert on. */
beam_status beam_test_etl_build(beam_test *t, const beam_etl_file_pipeline_config *cfg,
                                beam_etl_file_pipeline_outputs *out);
/* The rows sent to each table (routed rows, and dead letters as "_dead_letter"): exactly these
 * tables with these counts. Rows a sink refuses later become stage "sink" dead letters that
 * only the _files counts show. */
beam_status beam_assert_etl_tables(beam_test *t, const beam_etl_file_pipeline_outputs *out, const char *name,
                                   const beam_test_etl_table *tables, size_t n);
/* The dead letters, exactly, each rendered as "SOURCE:LINE: STAGE: ERROR" with SOURCE the input
 * file's base name ("archive.zip!member.csv" inside archives). */
beam_status beam_assert_etl_dead_letters(beam_test *t, const beam_etl_file_pipeline_outputs *out, const char *name,
                                         const char *const *expected, size_t n);
/* The _files rows: exactly one per listed file with these counts. */
beam_status beam_assert_etl_files(beam_test *t, const beam_etl_file_pipeline_outputs *out, const char *name,
                                  const beam_test_etl_file *files, size_t n);

#ifdef __cplusplus
}
#endif
#endif
