/* --summary_json (see run_report.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beam/dofn.h"
#include "beam/transforms/etl_element.h"
#include "beam/transforms/etl_pipeline.h"
#include "summary.h"
#include "run_report.h"

/* ---- The DoFn: a _files element -> one JSON line appended to config.path ---------------- */

typedef struct report_state {
  int fd;
} report_state;

static beam_status report_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  report_state *st = state;
  const char *path = json_string_value(json_object_get(beam_dofn_config(ctx), "path"));
  st->fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
  /* A worker on another machine cannot reach the file: the report then lists totals only. */
  return BEAM_OK;
}

static json_t *value_json(const beam_value *v) {
  switch (v->kind) {
    case BEAM_VALUE_STRING: return json_stringn((const char *)v->u.bytes.data, v->u.bytes.len);
    case BEAM_VALUE_INT64: return json_integer(v->u.i64);
    default: return json_null();
  }
}

static beam_status report_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  report_state *st = state;
  if (st->fd < 0) return BEAM_OK;
  const char *table, *file;
  beam_etl_row row;
  beam_status s = beam_etl_element_view(elem->value, NULL, beam_dofn_scratch(ctx), &table, &file, &row, err);
  if (s != BEAM_OK || strcmp(table, BEAM_ETL_FILES_TABLE) != 0) return s;
  json_t *o = json_object();
  for (size_t i = 0; i < row.schema->n_fields; i++) {
    const char *name = row.schema->fields[i].name;
    if (strcmp(name, "started_at") && strcmp(name, "finished_at") && strcmp(name, "runner"))
      json_object_set_new(o, name, value_json(&row.values[i]));
  }
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!text) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t len = strlen(text);
  text[len] = '\n'; /* replaces the NUL: one write, one line (O_APPEND keeps lines whole) */
  ssize_t w = write(st->fd, text, len + 1);
  free(text);
  (void)w; /* a report that cannot be written loses its lines, never the load */
  return BEAM_OK;
}

static void report_teardown(void *state) {
  report_state *st = state;
  if (st->fd >= 0) close(st->fd);
}

static const beam_dofn_def report_dofn = {
    .name = "file_etl_report",
    .state_size = sizeof(report_state),
    .setup = report_setup,
    .process = report_process,
    .teardown = report_teardown,
};

beam_status file_etl_run_report_register(void) { return beam_dofn_register(&report_dofn); }

/* ---- The driver's side -------------------------------------------------------------------- */

beam_status file_etl_run_report_init(file_etl_run_report *r, const char *path, beam_error *err) {
  memset(r, 0, sizeof *r);
  if (!path) return BEAM_OK;
  const char *tmp = getenv("TMPDIR");
  char lines[4096];
  snprintf(lines, sizeof lines, "%s/file_etl_report.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  int fd = mkstemp(lines);
  if (fd < 0) return beam_error_set(err, BEAM_ERR_IO, "--summary_json: cannot create a temporary file: %m");
  close(fd);
  r->path = strdup(path);
  r->lines_path = strdup(lines);
  r->root = json_pack("{s:[],s:{}}", "files", "totals");
  if (!r->path || !r->lines_path || !r->root) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return BEAM_OK;
}

beam_status file_etl_run_report_attach(file_etl_run_report *r, beam_pipeline *p, beam_pcollection *files,
                                       beam_error *err) {
  if (!r->path || !files) return BEAM_OK;
  beam_status s = file_etl_run_report_register();
  if (s != BEAM_OK) return beam_error_set(err, s, "cannot register the report DoFn");
  json_t *cfg = json_pack("{s:s}", "path", r->lines_path);
  char *text = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
  json_decref(cfg);
  if (!text) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_pardo1(p, "SummaryJson", files, "file_etl_report", text, beam_coder_spec_string(p));
  free(text);
  const beam_error *perr = beam_pipeline_error(p);
  if (perr && err) *err = *perr;
  return perr ? perr->code : BEAM_OK;
}

static void add_total(json_t *totals, const char *name, int64_t v) {
  json_t *old = json_object_get(totals, name);
  json_object_set_new(totals, name, json_integer(v + (old ? json_integer_value(old) : 0)));
}

static void add_table(void *ctx, const char *table, int64_t rows) { add_total(ctx, table, rows); }

/* destinations[d] (created at the first run group), with this run's counts added. */
static void add_destination(json_t *list, const beam_run_result *res, const beam_etl_destination *dest, size_t d,
                            size_t n_dests) {
  json_t *o = json_array_get(list, d);
  if (!o) {
    char what[512];
    o = json_pack("{s:s,s:s,s:{}}", "sink", dest->sink, "selection",
                  beam_etl_destination_describe(dest, what, sizeof what), "written");
    json_array_append_new(list, o);
  }
  file_etl_destination_counts c;
  file_etl_destination_counts_of(res, d, n_dests, &c);
  file_etl_destination_tables(res, d, n_dests, add_table, json_object_get(o, "written"));
  add_total(o, "dead_lettered", c.dead_lettered);
  add_total(o, "files_rows", c.files_rows);
  add_total(o, "not_taken", c.not_taken);
  add_total(o, "files_already_loaded", c.already_files);
}

void file_etl_run_report_add_run(file_etl_run_report *r, const beam_run_result *res,
                                 const beam_etl_destination *dests, size_t n_dests, const char *runner) {
  if (!r->root) return;
  json_t *totals = json_object_get(r->root, "totals");
  char finish[64];
  beam_etl_file_pipeline_step("FinishFile", 0, n_dests, finish, sizeof finish);
  static const struct { const char *transform, *counter, *name; } picks[] = {
      {"ListFiles", "files", "files_read"},        {"ReadAndProcess", "records", "records"},
      {"ReadAndProcess", "filtered", "filtered"},
      {"ReadAndProcess", "empty_as_null", "empty_strings_as_null"},
      {"DedupePick", "deduplicated", "deduplicated"}, {"ReadAndProcess", "bytes_read", "bytes_read"},
      {NULL, "files_split", "files_split"},   {NULL, "ranges", "ranges"},
  };
  add_total(totals, "files_failed", file_etl_files_failed(res, n_dests));
  int64_t failed_dropped = file_etl_failed_dropped(res);
  if (failed_dropped) add_total(totals, "dropped_with_failed_files", failed_dropped);
  for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++)
    add_total(totals, picks[i].name,
              beam_run_result_counter(res, picks[i].transform ? picks[i].transform : finish, picks[i].counter));
  if (n_dests == 1) {
    json_t *written = json_object_get(totals, "written");
    if (!written) json_object_set_new(totals, "written", written = json_object());
    file_etl_destination_tables(res, 0, 1, add_table, written);
    file_etl_destination_counts c;
    file_etl_destination_counts_of(res, 0, 1, &c);
    if (c.dead_lettered || json_object_get(written, BEAM_ETL_DEAD_LETTER_TABLE))
      add_total(written, BEAM_ETL_DEAD_LETTER_TABLE, c.dead_lettered);
    if (c.retracted) add_total(totals, "retracted", c.retracted);
  }
  json_t *list = json_object_get(r->root, "destinations");
  if (!list) json_object_set_new(r->root, "destinations", list = json_array());
  for (size_t d = 0; d < n_dests; d++) add_destination(list, res, &dests[d], d, n_dests);
  json_t *runners = json_object_get(r->root, "runners");
  if (!runners) json_object_set_new(r->root, "runners", runners = json_array());
  json_array_append_new(runners, json_string(runner));
}

/* destinations[d] of a stream: what it committed, and how long after publishing. */
static json_t *stream_destination(const beam_run_result *res, const beam_etl_destination *dest, size_t d,
                                  size_t n_dests) {
  char what[512], write[64];
  beam_etl_file_pipeline_step("Write", d, n_dests, write, sizeof write);
  file_etl_destination_counts c;
  file_etl_destination_counts_of(res, d, n_dests, &c);
  json_t *o = json_pack("{s:s,s:s,s:{},s:I,s:I,s:I,s:I,s:I}", "sink", dest->sink, "selection",
                        beam_etl_destination_describe(dest, what, sizeof what), "written", "dead_lettered",
                        (json_int_t)c.dead_lettered, "not_taken", (json_int_t)c.not_taken, "bundles",
                        (json_int_t)beam_run_result_counter(res, write, "stream_bundles"), "messages_committed",
                        (json_int_t)beam_run_result_counter(res, write, "stream_messages"),
                        "messages_committed_before",
                        (json_int_t)beam_run_result_counter(res, write, "messages_already_loaded"));
  if (!o) return NULL;
  file_etl_destination_tables(res, d, n_dests, add_table, json_object_get(o, "written"));
  beam_latency_histogram h;
  file_etl_stream_latency(res, d, n_dests, &h);
  if (h.n)
    json_object_set_new(o, "commit_latency_ms",
                        json_pack("{s:f,s:f,s:I}", "p50", beam_latency_quantile_ms(&h, 0.5), "p99",
                                  beam_latency_quantile_ms(&h, 0.99), "messages", (json_int_t)h.n));
  return o;
}

void file_etl_run_report_add_stream(file_etl_run_report *r, const beam_run_result *res, const char *input,
                                    const beam_etl_destination *dests, size_t n_dests, const char *runner) {
  if (!r->root) return;
  int64_t messages = beam_run_result_counter(res, "ReadMessages", "messages");
  double secs = res->elapsed_seconds;
  json_object_set_new(r->root, "stream",
                      json_pack("{s:s,s:I,s:I,s:f,s:f}", "input", input, "messages", (json_int_t)messages,
                                "filtered", (json_int_t)beam_run_result_counter(res, "ReadMessages", "filtered"),
                                "elapsed_seconds", secs, "messages_per_second",
                                secs > 0 ? (double)messages / secs : 0.0));
  json_t *list = json_array();
  for (size_t d = 0; list && d < n_dests; d++) json_array_append_new(list, stream_destination(res, &dests[d], d, n_dests));
  json_object_set_new(r->root, "destinations", list);
  json_t *runners = json_object_get(r->root, "runners");
  if (!runners) json_object_set_new(r->root, "runners", runners = json_array());
  json_array_append_new(runners, json_string(runner));
}

/* The workers' lines, the last line of a file winning (a retried bundle may repeat one). */
static void add_file_lines(file_etl_run_report *r) {
  FILE *f = fopen(r->lines_path, "r");
  if (!f) return;
  json_t *by_name = json_object(), *files = json_object_get(r->root, "files");
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    json_t *o = json_loads(line, 0, NULL);
    const char *name = json_string_value(json_object_get(o, "name"));
    if (name) json_object_set(by_name, name, o);
    json_decref(o);
  }
  free(line);
  fclose(f);
  const char *name;
  json_t *o;
  json_object_foreach(by_name, name, o) json_array_append(files, o);
  json_decref(by_name);
}

beam_status file_etl_run_report_write(file_etl_run_report *r, const file_etl_load_plan *plan, int exit_status,
                                      beam_error *err) {
  if (!r->root) return BEAM_OK;
  add_file_lines(r);
  json_t *files = json_object_get(r->root, "files");
  for (size_t i = 0; plan && i < plan->n_skipped; i++)
    json_array_append_new(files, json_pack("{s:s,s:s,s:s}", "name", plan->skipped[i].path, "status", "skipped",
                                           "loaded_at", plan->skipped[i].loaded_at));
  static const char *const outcome[] = {"completed", "failed", "usage_error", "completed_with_failed_files"};
  json_object_set_new(r->root, "exit_status", json_integer(exit_status));
  json_object_set_new(r->root, "outcome", json_string(exit_status >= 0 && exit_status <= 3 ? outcome[exit_status] : "failed"));
  json_object_set_new(r->root, "files_skipped", json_integer(plan ? (json_int_t)plan->n_skipped : 0));
  if (plan && plan->n_retracted_notes) { /* before the run: rows of unfinished loads of changed files */
    json_t *notes = json_array();
    for (size_t i = 0; i < plan->n_retracted_notes; i++) json_array_append_new(notes, json_string(plan->retracted_notes[i]));
    json_object_set_new(r->root, "unfinished_loads_removed", notes);
    json_object_set_new(r->root, "unfinished_rows_removed", json_integer(plan->retracted_rows));
  }
  if (json_dump_file(r->root, r->path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
    return beam_error_set(err, BEAM_ERR_IO, "--summary_json: cannot write %s", r->path);
  return BEAM_OK;
}

void file_etl_run_report_free(file_etl_run_report *r) {
  if (r->lines_path) unlink(r->lines_path);
  free(r->lines_path);
  free(r->path);
  json_decref(r->root);
  memset(r, 0, sizeof *r);
}
