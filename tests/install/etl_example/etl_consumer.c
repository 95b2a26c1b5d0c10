/* A program outside the tree, built against both installed modules (beam-c and
 * beam-c-transforms): the file ETL on a small CSV, on the local runner, into SQLite.
 *
 *   etl_consumer DIR   writes DIR/in.csv, runs the ETL into DIR/out.db and prints the
 *                      counts of its _files row (the check script reads the tables). */
#include <stdio.h>
#include <string.h>

#include <beam/pipeline.h>
#include <beam/runner.h>
#include <beam/transforms/etl_pipeline.h>

static const char *spec =
    "{\"format\": \"csv\", \"csv\": {\"header\": true},"
    " \"schema\": [{\"name\": \"id\", \"type\": \"INT64\", \"mode\": \"REQUIRED\"},"
    "              {\"name\": \"kind\", \"type\": \"STRING\"}],"
    " \"route\": {\"table\": \"rows_{kind}\", \"default\": \"rows_other\"}}";

static int write_input(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs("id,kind\n1,a\n2,b\n3,a\nnot-a-number,a\n", f);
  return fclose(f);
}

int main(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: etl_consumer DIR\n"), 2;
  char input[4096], sink[4096];
  snprintf(input, sizeof input, "%s/in.csv", argv[1]);
  snprintf(sink, sizeof sink, "sqlite:%s/out.db", argv[1]);
  if (write_input(input) != 0) return perror(input), 1;
  const char *inputs[] = {input};
  beam_etl_file_pipeline_config cfg = {
      .inputs = inputs, .n_inputs = 1, .spec_json = spec, .spec_name = "spec", .sink_uri = sink, .progress = "off"};
  beam_pipeline *p = beam_pipeline_new();
  beam_error err = {0};
  beam_run_result result = {0};
  beam_status s = beam_etl_file_pipeline_build(p, &cfg, &err);
  if (s == BEAM_OK) s = beam_pipeline_run_local(p, NULL, &result, &err);
  beam_run_result_free(&result);
  beam_pipeline_free(p);
  if (s != BEAM_OK) return fprintf(stderr, "etl_consumer: %s\n", err.message), 1;
  printf("etl_consumer: ran the file ETL from the installed beam-c-transforms into %s\n", sink);
  return 0;
}
