/* file_etl: the file ETL on the local runner (see README and etl_pipeline.h).
 *
 * Exit status: 0 the run completed (dead letters included); 3 it completed but some files
 * failed (each recorded in _files with status 'failed', none of its rows kept); 1 the run
 * failed (a destination, the runner): nothing of the failed bundle is committed; 2 bad usage,
 * a bad spec, a missing --input (a Pub/Sub subscription that does not exist or may not be
 * read) or a bad destination (found before anything is created).
 * Several outcomes (--runner=auto runs two groups) combine as 2 over 1 over 3 over 0.
 *
 * Files the destination's ledger holds (loaded before, same content) are skipped before the
 * run starts (load_plan.h), unless --reload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beam/dataflow.h"
#include "beam/pipeline.h"
#include "beam/runner.h"
#include "beam/version.h"
#include "beam/worker.h"
#include "beam/transforms/etl_element.h"
#include "beam/transforms/etl_destination.h"
#include "beam/transforms/etl_pipeline.h"
#include "beam/transforms/etl_stream.h"
#include "beam/transforms/pubsub_subscriber.h"
#include "beam/transforms/sink.h"
#include "input_list.h"
#include "load_plan.h"
#include "run_report.h"
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

/* --runner=auto without --big_runner: everything runs here; say so when that is a lot. */
static void note_no_big_runner(const file_etl_options *o) {
  int64_t total = file_etl_local_input_bytes(o->inputs, o->n_inputs);
  if (total >= o->size_threshold && !o->quiet)
    fprintf(stderr,
            "file_etl: inputs total %.1f MB, at or above --size_threshold (%.1f MB), but no --big_runner is set, "
            "so the local runner takes them\n",
            (double)total / 1e6, (double)o->size_threshold / 1e6);
}

/* Workers started by a runner do not share our working directory: hand them absolute paths. */
static char *absolute_path(const char *path) {
  if (strstr(path, "://")) return strdup(path); /* gs:// and other URLs are absolute already */
  char *real = realpath(path, NULL);
  if (real) return real;
  char cwd[4096];
  if (path[0] == '/' || !getcwd(cwd, sizeof cwd)) return strdup(path);
  size_t n = strlen(cwd) + strlen(path) + 2;
  char *abs = malloc(n);
  if (abs) snprintf(abs, n, "%s/%s", cwd, path);
  return abs;
}

static char *absolute_sink_uri(const char *uri) {
  const char *colon = strchr(uri, ':');
  /* Only file sinks have a path: a pubsub:projects/... location is a resource name, a
   * postgres: one a connection string. */
  if (!colon || colon[1] == '/' || strncmp(colon + 1, "//", 2) == 0 || strncmp(uri, "pubsub:", 7) == 0 ||
      strncmp(uri, "postgres:", 9) == 0)
    return strdup(uri);
  char *path = absolute_path(colon + 1);
  size_t n = (size_t)(colon - uri) + 1 + (path ? strlen(path) : 0) + 1;
  char *abs = path ? malloc(n) : NULL;
  if (abs) snprintf(abs, n, "%.*s:%s", (int)(colon - uri), uri, path);
  free(path);
  return abs;
}

/* The run's destinations (the spec's "outputs", then --sink), checked before anything runs. */
typedef struct destinations {
  beam_etl_spec *spec;
  beam_arena arena;
  const beam_etl_destination *list;
  size_t n;
  const char **sinks; /* each one's sink URI, for the load plan */
} destinations;

static void destinations_free(destinations *d) {
  beam_etl_spec_free(d->spec);
  beam_arena_free(&d->arena);
  free(d->sinks);
  memset(d, 0, sizeof *d);
}

/* A set of inputs and the runner that takes them. */
typedef struct file_group {
  const char **inputs;
  size_t n_inputs;
  const char *runner; /* "local" | "portable" | "dataflow" */
} file_group;

static beam_status run_on(const file_etl_options *o, beam_pipeline *p, const char *runner, beam_run_result *result,
                          beam_error *err) {
  if (strcmp(runner, "local") == 0) {
    /* The local runner's own options (the DoFns see them too, as on any runner). */
    json_t *opts = json_object();
    if (o->parallelism) json_object_set_new(opts, "parallelism", json_integer(o->parallelism));
    if (o->memory_budget) json_object_set_new(opts, "memory_budget", json_integer(o->memory_budget));
    if (o->temp_dir) json_object_set_new(opts, "temp_dir", json_string(o->temp_dir));
    /* the streaming mode's (a pubsub: input) */
    if (o->bundle_max_records >= 0) json_object_set_new(opts, "bundle_max_records", json_integer(o->bundle_max_records));
    if (o->bundle_max_ms >= 0) json_object_set_new(opts, "bundle_max_ms", json_integer(o->bundle_max_ms));
    if (o->max_idle_s >= 0) json_object_set_new(opts, "max_idle_s", json_integer(o->max_idle_s));
    json_object_set_new(opts, "progress", json_string(o->quiet ? "off" : o->progress)); /* a stream's line */
    if (o->pubsub_retry_budget_s > 0)
      json_object_set_new(opts, "pubsub_retry_budget_ms", json_integer(o->pubsub_retry_budget_s * 1000));
    beam_status s = opts ? beam_pipeline_run_local(p, opts, result, err)
                         : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    json_decref(opts);
    return s;
  }
  beam_buf proto = BEAM_BUF_INIT;
  beam_status s = beam_pipeline_encode(p, &proto, err);
  if (s == BEAM_OK && strcmp(runner, "dataflow") == 0) {
    beam_dataflow_options dfo = o->dataflow;
    dfo.quiet = o->quiet;
    dfo.stage_worker_binary = o->stage_worker; /* --stage_worker and --worker_binary are file_etl's */
    dfo.worker_binary = o->worker_binary;
    s = beam_run_dataflow(proto.data, proto.len, &dfo, result, err);
    beam_buf_free(&proto);
    return s;
  }
  beam_portable_options po = {.job_endpoint = o->job_endpoint,
                              .job_name = "file-etl",
                              .quiet = o->quiet,
                              .environment_type = o->environment_type,
                              .environment_config = o->environment_config,
                              .worker_binary = o->worker_binary,
                              .stage_worker = o->stage_worker,
                              .cancel_on_interrupt = true};
  if (s == BEAM_OK) s = beam_run_portable(proto.data, proto.len, &po, result, err);
  beam_buf_free(&proto);
  return s;
}

static int run_group(const file_etl_options *o, const char *spec_text, const destinations *dests, const file_group *g,
                     file_etl_run_report *rep) {
  bool remote = strcmp(g->runner, "local") != 0;
  char **abs_inputs = calloc(g->n_inputs + 1, sizeof *abs_inputs);
  char **sinks = calloc(o->n_sinks + 1, sizeof *sinks);
  bool sinks_ok = sinks != NULL;
  for (size_t i = 0; sinks && i < o->n_sinks; i++)
    sinks_ok = sinks_ok && (sinks[i] = remote ? absolute_sink_uri(o->sinks[i]) : strdup(o->sinks[i]));
  for (size_t i = 0; abs_inputs && i < g->n_inputs; i++)
    abs_inputs[i] = remote && !beam_etl_input_is_pubsub(g->inputs[i]) ? absolute_path(g->inputs[i]) : strdup(g->inputs[i]);
  char label[512];
  if (strcmp(g->runner, "dataflow") == 0)
    snprintf(label, sizeof label, "dataflow (%s, %s)", o->dataflow.project, o->dataflow.region);
  else if (remote) snprintf(label, sizeof label, "portable (%s)", o->job_endpoint);
  else snprintf(label, sizeof label, "local");
  /* Inside a runner there is no terminal to draw progress on: the runner shows it. */
  beam_etl_file_pipeline_config cfg = {.inputs = (const char **)abs_inputs,
                                       .n_inputs = g->n_inputs,
                                       .spec_json = spec_text,
                                       .spec_name = o->spec,
                                       .sink_uris = (const char *const *)sinks,
                                       .n_sink_uris = o->n_sinks,
                                       .runner = label,
                                       .progress = (o->quiet || remote) ? "off" : o->progress,
                                       .no_sync = o->no_sync,
                                       .reload = o->reload,
                                       .message_ledger_days = (int)o->message_ledger_days,
                                       .split_size = o->split_size,
                                       .parallelism = o->parallelism ? o->parallelism : (int64_t)beam_local_cpu_count()};
  beam_pipeline *p = beam_pipeline_new();
  int rc = 1;
  beam_error err = {0};
  beam_run_result result = {0};
  beam_etl_file_pipeline_outputs outputs;
  if (!p || !abs_inputs || !sinks_ok) fprintf(stderr, "file_etl: out of memory\n");
  else if (beam_etl_file_pipeline_build_outputs(p, &cfg, &outputs, &err) != BEAM_OK ||
           file_etl_run_report_attach(rep, p, outputs.files, &err) != BEAM_OK)
    fprintf(stderr, "file_etl: cannot build the pipeline: %s\n", err.message);
  else if (o->dump_pipeline && beam_pipeline_dump(p, o->dump_pipeline, &err) != BEAM_OK)
    fprintf(stderr, "file_etl: --dump_pipeline: %s\n", err.message);
  else if (run_on(o, p, g->runner, &result, &err) != BEAM_OK)
    fprintf(stderr, "file_etl: run failed on the %s runner: %s\n", label, err.message);
  else if (strcmp(g->runner, "dataflow") == 0 &&
           (o->dataflow.dry_run || o->dataflow.detach || o->dataflow.template_location))
    rc = 0; /* nothing ran yet: no counts to report */
  else if (beam_etl_input_is_pubsub(g->inputs[0])
               ? !file_etl_print_stream_summary(stdout, &result, dests->list, dests->n, label)
               : !file_etl_print_summary(stdout, &result, dests->list, dests->n, label))
    rc = 1;
  else
    rc = file_etl_files_failed(&result, dests->n) > 0 ? 3 : 0;
  if (beam_etl_input_is_pubsub(g->inputs[0]) && (result.n_counters || !remote))
    file_etl_run_report_add_stream(rep, &result, g->inputs[0], dests->list, dests->n, label);
  else if (result.n_counters)
    file_etl_run_report_add_run(rep, &result, dests->list, dests->n, label);
  beam_run_result_free(&result);
  beam_pipeline_free(p);
  for (size_t i = 0; abs_inputs && i < g->n_inputs; i++) free(abs_inputs[i]);
  free(abs_inputs);
  for (size_t i = 0; sinks && i < o->n_sinks; i++) free(sinks[i]);
  free(sinks);
  return rc;
}

/* The exit status of two outcomes: 2 over 1 over 3 over 0. */
static int worse_status(int a, int b) {
  static const int rank[] = {0, 2, 3, 1}; /* by status 0, 1, 2, 3 */
  int ra = a >= 0 && a <= 3 ? rank[a] : 2, rb = b >= 0 && b <= 3 ? rank[b] : 2;
  return ra >= rb ? a : b;
}

/* --runner=auto with a big runner: each file goes by its own size; the big files run even
 * when some small ones failed. */
static int run_split_by_size(const file_etl_options *o, const char *spec_text, const destinations *dests,
                             const char *const *inputs, size_t n_inputs, file_etl_run_report *rep) {
  file_etl_input_list all;
  beam_error err = {0};
  if (file_etl_list_inputs(inputs, n_inputs, &all, &err) != BEAM_OK) {
    fprintf(stderr, "file_etl: %s\n", err.message);
    return 1;
  }
  file_group small = {calloc(all.n + 1, sizeof(char *)), 0, "local"};
  file_group big = {calloc(all.n + 1, sizeof(char *)), 0, o->big_runner};
  int rc = small.inputs && big.inputs ? 0 : 1;
  for (size_t i = 0; rc == 0 && i < all.n; i++) {
    file_group *g = all.sizes[i] >= o->size_threshold ? &big : &small;
    g->inputs[g->n_inputs++] = all.paths[i];
  }
  const char *where = strcmp(o->big_runner, "dataflow") == 0 ? "Dataflow" : o->job_endpoint;
  if (rc == 0 && !o->quiet)
    fprintf(stderr, "file_etl: %zu file%s below %lld bytes run locally, %zu at or above on %s\n", small.n_inputs,
            small.n_inputs == 1 ? "" : "s", (long long)o->size_threshold, big.n_inputs, where);
  bool listed = rc == 0;
  if (listed && small.n_inputs) rc = run_group(o, spec_text, dests, &small, rep);
  if (listed && big.n_inputs && (rc == 0 || rc == 3)) rc = worse_status(rc, run_group(o, spec_text, dests, &big, rep));
  file_etl_input_list_free(&all);
  free(small.inputs);
  free(big.inputs);
  return rc;
}

/* The destinations: the spec's "outputs" and --sink, their selections checked against the
 * spec and each sink's URI and path. */
static int check_destinations(const file_etl_options *o, destinations *d, beam_error *err) {
  if (!o->n_sinks && !d->spec->n_outputs) {
    fprintf(stderr, "file_etl: %s (see --help)\n", file_etl_no_sink_message());
    return 2;
  }
  beam_etl_file_pipeline_config cfg = {.sink_uris = o->sinks, .n_sink_uris = o->n_sinks};
  if (beam_etl_file_pipeline_destinations(&cfg, d->spec, &d->arena, &d->list, &d->n, err) != BEAM_OK) {
    fprintf(stderr, "file_etl: bad destination: %s\n", err->message);
    return 2;
  }
  if (!(d->sinks = calloc(d->n, sizeof *d->sinks))) {
    fprintf(stderr, "file_etl: out of memory\n");
    return 2;
  }
  for (size_t i = 0; i < d->n; i++) {
    d->sinks[i] = d->list[i].sink;
    if (beam_sink_check_uri(d->list[i].sink, err) != BEAM_OK) {
      fprintf(stderr, "file_etl: bad destination: %s\n", err->message);
      return 2;
    }
  }
  return 0;
}

/* Everything that makes a usage error (exit 2), checked in this order before anything is
 * created: the spec, the inputs, the destinations' URIs and paths, the Dataflow flags. */
static int check_usage(const file_etl_options *o, const char *spec_text, destinations *dests, beam_error *err) {
  if (!spec_text || beam_etl_spec_parse(spec_text, strlen(spec_text), o->spec, &dests->spec, err) != BEAM_OK) {
    fprintf(stderr, "file_etl: bad spec: %s\n", err->message);
    return 2;
  }
  bool stream = false;
  if (beam_etl_inputs_check_stream(o->inputs, o->n_inputs, &stream, err) != BEAM_OK ||
      (!stream && file_etl_check_inputs(o->inputs, o->n_inputs, err) != BEAM_OK)) {
    fprintf(stderr, "file_etl: %s\n", err->message);
    return 2;
  }
  if ((stream ? beam_etl_spec_check_stream(dests->spec, err) : beam_etl_spec_check_files(dests->spec, err)) != BEAM_OK) {
    fprintf(stderr, "file_etl: bad spec: %s\n", err->message);
    return 2;
  }
  bool on_dataflow = strcmp(o->runner, "dataflow") == 0;
  if (stream && strcmp(o->runner, "auto") != 0 && strcmp(o->runner, "local") != 0 && !on_dataflow) {
    fprintf(stderr, "file_etl: --runner=%s: a pubsub: input runs on the local runner or as a streaming Dataflow "
                    "job\n", o->runner);
    return 2;
  }
  /* A subscription that does not exist, or may not be read, is a usage error: nothing runs
   * (a --dry_run calls nothing, this neither). */
  if (stream && !(on_dataflow && o->dataflow.dry_run) &&
      beam_pubsub_subscription_check(beam_etl_input_subscription(o->inputs[0]), NULL, err) != BEAM_OK) {
    fprintf(stderr, "file_etl: --input %s: %s\n", o->inputs[0], err->message);
    return 2;
  }
  int rc = check_destinations(o, dests, err);
  if (rc) return rc;
  bool uses_dataflow = strcmp(o->runner, "dataflow") == 0 ||
                       (strcmp(o->runner, "auto") == 0 && o->big_runner && strcmp(o->big_runner, "dataflow") == 0);
  if (uses_dataflow && beam_dataflow_options_check(&o->dataflow, err) != BEAM_OK) {
    fprintf(stderr, "file_etl: %s\n", err->message);
    return 2;
  }
  return 0;
}

/* Says which files are skipped (loaded before) or loaded again. */
static void report_plan(const file_etl_options *o, const destinations *dests, const file_etl_load_plan *plan) {
  for (size_t i = 0; i < plan->n_retracted_notes; i++) printf("file_etl: %s\n", plan->retracted_notes[i]);
  for (size_t i = 0; i < plan->n_skipped; i++)
    printf("file_etl: %s skipped, loaded at %s (--reload loads it again)\n", plan->skipped[i].path,
           plan->skipped[i].loaded_at);
  if (plan->n_reloaded && !o->quiet)
    fprintf(stderr, "file_etl: --reload: %zu file%s loaded before %s loaded again\n", plan->n_reloaded,
            plan->n_reloaded == 1 ? "" : "s", plan->n_reloaded == 1 ? "is" : "are");
  if (!plan->n_inputs) {
    printf("file_etl: nothing to load: %zu file%s already loaded\nrows went to ", plan->n_skipped,
           plan->n_skipped == 1 ? "" : "s");
    for (size_t i = 0; i < dests->n; i++) printf("%s%s", i ? ", " : "", dests->sinks[i]);
    printf("\n");
  }
}

static int run(const file_etl_options *o) {
  beam_error err = {0};
  char *spec_text = read_text_file(o->spec, &err);
  destinations dests = {0};
  int rc = check_usage(o, spec_text, &dests, &err);
  file_etl_load_plan plan = {0};
  file_etl_run_report rep = {0};
  if (rc == 0 && file_etl_run_report_init(&rep, o->summary_json, &err) != BEAM_OK) {
    fprintf(stderr, "file_etl: %s\n", err.message);
    rc = 2;
  }
  if (rc == 0 && file_etl_plan_load(dests.sinks, dests.n, o->inputs, o->n_inputs, o->reload, &plan, &err) != BEAM_OK) {
    fprintf(stderr, "file_etl: %s\n", err.message);
    rc = 1;
  }
  if (rc == 0) report_plan(o, &dests, &plan);
  if (rc == 0 && plan.n_inputs) {
    const char *const *inputs = (const char *const *)plan.inputs;
    if (strcmp(o->runner, "auto") == 0 && o->big_runner && !beam_etl_input_is_pubsub(inputs[0])) {
      rc = run_split_by_size(o, spec_text, &dests, inputs, plan.n_inputs, &rep);
    } else {
      file_group all = {(const char **)plan.inputs, plan.n_inputs, strcmp(o->runner, "auto") == 0 ? "local" : o->runner};
      if (strcmp(o->runner, "auto") == 0 && !beam_etl_input_is_pubsub(inputs[0])) note_no_big_runner(o);
      rc = run_group(o, spec_text, &dests, &all, &rep);
    }
  }
  if (rc != 2 && file_etl_run_report_write(&rep, &plan, rc, &err) != BEAM_OK) {
    fprintf(stderr, "file_etl: %s\n", err.message);
    rc = worse_status(rc, 1);
  }
  file_etl_run_report_free(&rep);
  file_etl_load_plan_free(&plan);
  destinations_free(&dests);
  free(spec_text);
  return rc;
}

/* What a worker started by a runner must find registered: the ETL DoFns and the report's. */
static bool register_worker_fns(void) {
  if (beam_etl_register_fns() == BEAM_OK && file_etl_run_report_register() == BEAM_OK) return true;
  fprintf(stderr, "file_etl: cannot register the ETL functions\n");
  return false;
}

int main(int argc, char **argv) {
  /* A runner starts this same program as its worker: register the DoFns and serve. */
  if (beam_worker_requested(argc, argv)) {
    if (!register_worker_fns()) return 1;
    return beam_worker_main(argc, argv);
  }
  if (beam_worker_pool_requested(argc, argv)) {
    if (!register_worker_fns()) return 1;
    return beam_worker_pool_main(argc, argv);
  }
  file_etl_options o;
  char msg[512];
  if (!file_etl_options_parse(argc, argv, &o, msg, sizeof msg)) {
    /* One line: the usage is a screenful that would push the message out of sight. */
    fprintf(stderr, "file_etl: %s (see --help)\n", msg);
    file_etl_options_free(&o);
    return 2;
  }
  if (o.version) {
    printf("file_etl (beam-c) %s\n", beam_version());
    file_etl_options_free(&o);
    return 0;
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
