/* file_etl: the file ETL on the local runner (see README and etl_pipeline.h).
 *
 * Exit status: 0 the run completed (dead letters included); 1 the run failed (hard
 * validation, unreadable input, sink failure): nothing of the failed bundle is committed;
 * 2 bad usage or a bad spec. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "beam/pipeline.h"
#include "beam/runner.h"
#include "beam/transforms/etl_pipeline.h"
#include "beam/transforms/sink.h"
#include "options.h"
#include "summary.h"

static char *read_text_file(const char *path, beam_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return beam_error_set(err, BEAM_ERR_IO, "%s: cannot open: %m", path), NULL;
  size_t cap = 4096, len = 0;
  char *text = malloc(cap);
  for (size_t got; text && (got = fread(text + len, 1, cap - len - 1, f)) > 0;) {
    len += got;
    if (len + 1 == cap) {
      char *grown = realloc(text, cap *= 2);
      if (!grown) free(text);
      text = grown;
    }
  }
  fclose(f);
  if (!text) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory reading %s", path), NULL;
  text[len] = '\0';
  return text;
}

/* Total bytes under path (files, or directories walked), for the size dispatch. */
static int64_t input_bytes(const char *path, int depth) {
  struct stat sb;
  if (stat(path, &sb) != 0) return 0;
  if (!S_ISDIR(sb.st_mode)) return S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : 0;
  DIR *d = depth < 32 ? opendir(path) : NULL;
  int64_t total = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char child[4096];
    int n = snprintf(child, sizeof child, "%s/%s", path, e->d_name);
    if (n > 0 && (size_t)n < sizeof child) total += input_bytes(child, depth + 1);
  }
  if (d) closedir(d);
  return total;
}

static const char *choose_runner(const file_etl_options *o) {
  if (strcmp(o->runner, "local") == 0) return "local";
  int64_t total = 0;
  for (size_t i = 0; i < o->n_inputs; i++) total += input_bytes(o->inputs[i], 0);
  if (total >= o->size_threshold && !o->quiet)
    fprintf(stderr,
            "file_etl: inputs total %.1f MB, at or above --size_threshold (%.1f MB); no remote runner is "
            "configured in this build, so the local runner takes it\n",
            (double)total / 1e6, (double)o->size_threshold / 1e6);
  return "local";
}

/* Opens and closes the sink once so a bad URI fails before any work. */
static beam_status check_sink(const char *uri, beam_error *err) {
  beam_sink *s = NULL;
  beam_status st = beam_sink_open(uri, NULL, &s, err);
  if (st == BEAM_OK) st = beam_sink_close(s, err);
  beam_sink_free(s);
  return st;
}

static int run(const file_etl_options *o) {
  beam_error err = {0};
  char *spec_text = read_text_file(o->spec, &err);
  beam_etl_spec *spec = NULL;
  if (!spec_text || beam_etl_spec_parse(spec_text, strlen(spec_text), o->spec, &spec, &err) != BEAM_OK) {
    fprintf(stderr, "file_etl: bad spec: %s\n", err.message);
    free(spec_text);
    return 2;
  }
  beam_etl_spec_free(spec);
  const char *runner = choose_runner(o);
  if (check_sink(o->sink, &err) != BEAM_OK) {
    fprintf(stderr, "file_etl: sink %s: %s\n", o->sink, err.message);
    free(spec_text);
    return 1;
  }
  beam_etl_file_pipeline_config cfg = {o->inputs, o->n_inputs, spec_text, o->spec, o->sink, runner,
                                       o->quiet ? "off" : o->progress, o->no_sync};
  beam_pipeline *p = beam_pipeline_new();
  int rc = 1;
  beam_run_result result = {0};
  if (!p || beam_etl_file_pipeline_build(p, &cfg, &err) != BEAM_OK)
    fprintf(stderr, "file_etl: cannot build the pipeline: %s\n", p ? err.message : "out of memory");
  else if (o->dump_pipeline && beam_pipeline_dump(p, o->dump_pipeline, &err) != BEAM_OK)
    fprintf(stderr, "file_etl: --dump_pipeline: %s\n", err.message);
  else if (beam_pipeline_run_local(p, NULL, &result, &err) != BEAM_OK)
    fprintf(stderr, "file_etl: run failed: %s\n", err.message);
  else
    rc = file_etl_print_summary(stdout, &result, o->sink, runner) ? 0 : 1;
  beam_run_result_free(&result);
  beam_pipeline_free(p);
  free(spec_text);
  return rc;
}

int main(int argc, char **argv) {
  file_etl_options o;
  char msg[512];
  if (!file_etl_options_parse(argc, argv, &o, msg, sizeof msg)) {
    fprintf(stderr, "file_etl: %s\n", msg);
    file_etl_usage(argv[0]);
    file_etl_options_free(&o);
    return 2;
  }
  if (o.help) {
    file_etl_usage(argv[0]);
    file_etl_options_free(&o);
    return 0;
  }
  int rc = run(&o);
  file_etl_options_free(&o);
  return rc;
}
