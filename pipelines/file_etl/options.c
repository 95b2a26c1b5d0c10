/* file_etl flag parsing: --name=value or --name value; --input may repeat. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

void file_etl_usage(const char *prog) {
  fprintf(stderr,
          "usage: %s --input=PATH|gs://BUCKET/PATH [--input=...] --spec=SPEC.json --sink=SINK [--sink=...]\n"
          "       %s --input=pubsub:projects/P/subscriptions/S --spec=SPEC.json --sink=SINK [--sink=...]\n"
          "          [--bundle_max_records=N] [--bundle_max_ms=MS] [--max_idle_s=S] [--pubsub_retry_budget_s=S]\n"
          "          [--message_ledger_days=N]\n"
          "          [--runner=auto|local|portable|dataflow] [--size_threshold=BYTES]\n"
          "          [--big_runner=portable|dataflow]\n"
          "          [--job_endpoint=HOST:PORT] [--environment_type=PROCESS|EXTERNAL|DOCKER]\n"
          "          [--environment_config=CMD|HOST:PORT|IMAGE] [--worker_binary=PATH] [--stage_worker]\n"
          "          [--dump_pipeline=FILE] [--summary_json=FILE]\n"
          "          [--progress=auto|on|off] [--reload] [--no_sync] [--quiet] [--version]\n"
          "          [--split_size=BYTES|auto|0] [--parallelism=N] [--memory_budget=BYTES] [--temp_dir=DIR]\n"
          "\n"
          "Reads CSV / JSON-lines / ZIP / gzip files (or every file under a directory), parses them\n"
          "against the spec's schema, cleans, validates, filters and routes each row to a table.\n"
          "Bad rows land in _dead_letter with the reason; one row per file lands in _files.\n"
          "Each file loads exactly once: a file the destination already holds (same content) is\n"
          "skipped, and says so; --reload loads it again. A file that cannot be read as a whole is\n"
          "recorded in _files with status 'failed' and its error, none of its rows kept; the other\n"
          "files load.\n"
          "Exit status: 0 completed (dead letters included), 3 completed but some files failed,\n"
          "1 the run or the destination failed, 2 bad flags, spec, --input or destination (nothing\n"
          "created). When several apply: 2 over 1 over 3 over 0.\n"
          "\n"
          "Big files scale: a CSV / JSON-lines file larger than --split_size is read in byte ranges\n"
          "(each a unit of its own: a rerun after a crash keeps the ranges committed), by parallel\n"
          "bundles locally and by many workers on a runner. auto (the default): 64M on a runner;\n"
          "locally 4 ranges per thread for files over 8M. 0 never splits. gzip files, JSON arrays,\n"
          "CSV with newlines inside quoted fields and files under validate guard rails are read\n"
          "whole. The local runner runs --parallelism threads (default: the CPUs this process may\n"
          "use) and keeps grouping (dedupe) within --memory_budget (default 256M), spilling sorted\n"
          "runs to --temp_dir (default $TMPDIR or /tmp; unlinked at creation, nothing left behind).\n"
          "\n"
          "SINK: sqlite:PATH | jsonl:DIR | postgres:CONNINFO | file:DIR | gcs:gs://BUCKET/PREFIX\n"
          "      | bigquery:PROJECT.DATASET | pubsub:projects/P/topics/T[?ordering_key=FIELD]\n"
          "  jsonl:DIR and file:DIR are created with missing parents; sqlite:PATH's directory must exist.\n"
          "  A bad destination (unknown scheme, a path that cannot be written) or a missing --input\n"
          "  exits 2 before anything is created; remote destinations are checked for syntax only.\n"
          "  postgres:CONNINFO is a libpq connection string (\"host=H port=P dbname=D user=U\" or\n"
          "  postgresql://U@H:P/D); give the password in PGPASSWORD or ~/.pgpass, not on the command\n"
          "  line. Binary COPY, one transaction per bundle, retried bundles written once.\n"
          "  file: and gcs: write JSON-lines objects {table}/{yyyy}/{mm}/{dd}/{hh}/part-*.jsonl by the\n"
          "  spec's partition_field (else the ingestion hour), each bundle once. gs:// inputs (an\n"
          "  object, or a prefix read as a directory) are streamed. GCS credentials: Application\n"
          "  Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, metadata server);\n"
          "  STORAGE_EMULATOR_HOST=host:port uses an emulator without credentials.\n"
          "  bigquery: creates the dataset and each table with its partition_field (partitions of\n"
          "  partition_granularity, DAY by default) and cluster_fields (the spec's tables entry or top level),\n"
          "  streams with insertAll (refused rows dead-lettered with BigQuery's reason), load jobs for\n"
          "  big bundles; options ?endpoint=URL (no credentials), load_threshold=ROWS, bundle_bytes=N,\n"
          "  location=LOC; BIGQUERY_EMULATOR_HOST=host:port works like endpoint.\n"
          "  pubsub: publishes each row as a JSON message with attributes table and beam_c_row_id\n"
          "  (deduplicate on it: publishing is at-least-once); PUBSUB_EMULATOR_HOST=HOST:PORT targets\n"
          "  an emulator.\n"
          "  Several destinations: --sink again, or the spec's \"outputs\". Records are processed once;\n"
          "  each destination has its own ledger and commits. SINK?tables=a,b takes those tables only\n"
          "  (_dead_letter and _files too), SINK?where=EXPR the routed rows the filter keeps (percent-\n"
          "  encoded: where=amount%%20%%3E%%2010).\n"
          "\n"
          "Streaming: --input=pubsub:projects/P/subscriptions/S (the only --input) reads the subscription's\n"
          "messages, each one record (a JSON object, or a CSV line without header in schema order), on\n"
          "the local runner until SIGINT/SIGTERM (in-flight bundles commit and ack, exit 0) or\n"
          "--max_idle_s seconds without a message. A bundle closes at --bundle_max_records messages\n"
          "(default 1000) or --bundle_max_ms (default 1000); each destination commits its rows with\n"
          "the messages' ids (a redelivered message is written once) and one _stream_bundles row, and\n"
          "only then are the messages acked. Bad messages: _dead_letter with source = the subscription\n"
          "and message_id. PUBSUB_EMULATOR_HOST=HOST:PORT reads an emulator. Pub/Sub unreachable for\n"
          "--pubsub_retry_budget_s (default 60) fails the run (exit 1); shorter outages are retried.\n"
          "Message ids committed more than --message_ledger_days (default 7; 0 keeps them) ago are\n"
          "forgotten when a run starts (a redelivery comes within minutes; a seek back replays).\n"
          "\n%s",
          prog, prog, beam_dataflow_flags_help());
}

static bool set_string(const char **slot, const char *value) {
  *slot = value;
  return value && *value;
}

static bool parse_size(const char *text, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || end == text || v < 0) return false;
  int64_t mult = 1;
  if (*end == 'K' || *end == 'k') mult = 1LL << 10, end++;
  else if (*end == 'M' || *end == 'm') mult = 1LL << 20, end++;
  else if (*end == 'G' || *end == 'g') mult = 1LL << 30, end++;
  if (*end) return false;
  *out = (int64_t)v * mult;
  return true;
}

/* Appends value to a repeatable flag's list. */
static bool add_value(const char ***list, size_t *n, const char *value) {
  if (!value || !*value) return false;
  const char **grown = realloc(*list, (*n + 1) * sizeof *grown);
  if (!grown) return false;
  *list = grown;
  (*list)[(*n)++] = value;
  return true;
}

/* Dataflow's flex-template launcher (its image sets FLEX_TEMPLATE_GO_BINARY to this program)
 * adds pipeline options of its own (--job_name, --template_location, ...): under it a flag
 * this program does not know is noted and skipped instead of failing the launch. */
static bool launched_by_flex_template(void) {
  const char *binary = getenv("FLEX_TEMPLATE_GO_BINARY");
  return binary && *binary;
}

/* Applies one flag; value may be NULL for booleans. */
static bool apply(file_etl_options *o, const char *name, const char *value, char *msg, size_t cap) {
  bool ok = true;
  int handled;
  if (strcmp(name, "input") == 0) ok = add_value(&o->inputs, &o->n_inputs, value);
  else if (strcmp(name, "spec") == 0) ok = set_string(&o->spec, value);
  else if (strcmp(name, "sink") == 0) ok = add_value(&o->sinks, &o->n_sinks, value);
  else if (strcmp(name, "runner") == 0) {
    /* Beam's class-style names too: a flex-template launcher passes --runner=DataflowRunner. */
    if (value && strcmp(value, "DataflowRunner") == 0) value = "dataflow";
    if (value && strcmp(value, "PortableRunner") == 0) value = "portable";
    ok = set_string(&o->runner, value) && (strcmp(value, "auto") == 0 || strcmp(value, "local") == 0 ||
                                           strcmp(value, "portable") == 0 || strcmp(value, "dataflow") == 0);
  }
  else if (strcmp(name, "big_runner") == 0)
    ok = set_string(&o->big_runner, value) && (strcmp(value, "portable") == 0 || strcmp(value, "dataflow") == 0);
  else if (strcmp(name, "job_endpoint") == 0) ok = set_string(&o->job_endpoint, value);
  else if (strcmp(name, "environment_type") == 0) ok = set_string(&o->environment_type, value);
  else if (strcmp(name, "environment_config") == 0) ok = set_string(&o->environment_config, value);
  else if (strcmp(name, "worker_binary") == 0) ok = set_string(&o->worker_binary, value);
  else if (strcmp(name, "size_threshold") == 0) ok = value && parse_size(value, &o->size_threshold);
  else if (strcmp(name, "split_size") == 0)
    ok = value && (strcmp(value, "auto") == 0 ? (o->split_size = -1, true) : parse_size(value, &o->split_size));
  else if (strcmp(name, "parallelism") == 0)
    ok = value && parse_size(value, &o->parallelism) && o->parallelism >= 1 && o->parallelism <= 4096;
  else if (strcmp(name, "memory_budget") == 0) ok = value && parse_size(value, &o->memory_budget) && o->memory_budget >= 4096;
  else if (strcmp(name, "temp_dir") == 0) ok = set_string(&o->temp_dir, value);
  else if (strcmp(name, "bundle_max_records") == 0)
    ok = value && parse_size(value, &o->bundle_max_records) && o->bundle_max_records >= 1 &&
         o->bundle_max_records <= (1 << 20);
  else if (strcmp(name, "bundle_max_ms") == 0)
    ok = value && parse_size(value, &o->bundle_max_ms) && o->bundle_max_ms >= 1 && o->bundle_max_ms <= 3600000;
  else if (strcmp(name, "max_idle_s") == 0)
    ok = value && parse_size(value, &o->max_idle_s) && o->max_idle_s <= 365LL * 86400;
  else if (strcmp(name, "pubsub_retry_budget_s") == 0)
    ok = value && parse_size(value, &o->pubsub_retry_budget_s) && o->pubsub_retry_budget_s >= 1 &&
         o->pubsub_retry_budget_s <= 86400;
  else if (strcmp(name, "message_ledger_days") == 0) /* days: no K/M/G suffix */
    ok = value && value[strspn(value, "0123456789")] == '\0' && parse_size(value, &o->message_ledger_days) &&
         o->message_ledger_days <= 36500;
  else if (strcmp(name, "dump_pipeline") == 0) ok = set_string(&o->dump_pipeline, value);
  else if (strcmp(name, "summary_json") == 0) ok = set_string(&o->summary_json, value);
  else if (strcmp(name, "progress") == 0)
    ok = set_string(&o->progress, value) &&
         (strcmp(value, "auto") == 0 || strcmp(value, "on") == 0 || strcmp(value, "off") == 0);
  else if ((handled = beam_dataflow_flag(&o->dataflow, name, value, msg, cap)) != 0)
    return handled > 0;
  else if (launched_by_flex_template()) {
    fprintf(stderr, "file_etl: ignoring --%s: not a file_etl flag (passed by the flex-template launcher)\n", name);
    return true;
  } else {
    snprintf(msg, cap, "unknown flag --%s", name);
    return false;
  }
  if (!ok) snprintf(msg, cap, "bad value for --%s: \"%s\"", name, value ? value : "");
  return ok;
}

static bool is_bool_flag(const char *name) {
  return strcmp(name, "no_sync") == 0 || strcmp(name, "quiet") == 0 || strcmp(name, "help") == 0 ||
         strcmp(name, "reload") == 0 ||
         strcmp(name, "version") == 0 ||
         strcmp(name, "stage_worker") == 0;
}

static void apply_bool(file_etl_options *o, const char *name, bool v) {
  if (strcmp(name, "no_sync") == 0) o->no_sync = v;
  else if (strcmp(name, "quiet") == 0) o->quiet = v;
  else if (strcmp(name, "reload") == 0) o->reload = v;
  else if (strcmp(name, "stage_worker") == 0) o->stage_worker = v;
  else if (strcmp(name, "version") == 0) o->version = v;
  else o->help = v;
}

bool file_etl_options_parse(int argc, char **argv, file_etl_options *o, char *msg, size_t cap) {
  memset(o, 0, sizeof *o);
  beam_dataflow_options_init(&o->dataflow);
  o->runner = "auto";
  o->progress = "auto";
  o->size_threshold = 1LL << 30;
  o->split_size = -1;
  o->message_ledger_days = 7;
  o->bundle_max_records = o->bundle_max_ms = o->max_idle_s = o->pubsub_retry_budget_s = -1;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "-h") == 0) arg = "--help";
    if (strncmp(arg, "--", 2) != 0) {
      snprintf(msg, cap, "unexpected argument \"%s\" (flags look like --input=PATH)", arg);
      return false;
    }
    char name[64];
    const char *eq = strchr(arg + 2, '=');
    size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    if (len == 0 || len >= sizeof name) {
      snprintf(msg, cap, "bad flag \"%s\"", arg);
      return false;
    }
    memcpy(name, arg + 2, len);
    name[len] = '\0';
    for (char *c = name; *c; c++)
      if (*c == '-') *c = '_'; /* --dump-pipeline == --dump_pipeline */
    if (is_bool_flag(name)) {
      apply_bool(o, name, !eq || strcmp(eq + 1, "false") != 0);
      continue;
    }
    if (beam_dataflow_flag_is_bool(name)) {
      if (beam_dataflow_flag(&o->dataflow, name, eq ? eq + 1 : NULL, msg, cap) < 0) return false;
      continue;
    }
    const char *value = eq ? eq + 1 : NULL;
    /* --name value; under the launcher a valueless unknown flag must not swallow the next one. */
    if (!eq && i + 1 < argc && !(launched_by_flex_template() && strncmp(argv[i + 1], "--", 2) == 0))
      value = argv[++i];
    if (!apply(o, name, value, msg, cap)) return false;
  }
  if (o->help || o->version) return true;
  if (!o->n_inputs) snprintf(msg, cap, "--input is required");
  else if (!o->spec) snprintf(msg, cap, "--spec is required");
  else if ((strcmp(o->runner, "portable") == 0 || (o->big_runner && strcmp(o->big_runner, "portable") == 0)) &&
           !o->job_endpoint)
    snprintf(msg, cap, "the portable runner needs --job_endpoint=HOST:PORT (a Beam job service: Prism, Flink, ...)");
  else return true;
  return false;
}

void file_etl_options_free(file_etl_options *o) {
  free(o->inputs);
  free(o->sinks);
  o->inputs = NULL;
  o->sinks = NULL;
}

const char *file_etl_no_sink_message(void) {
  return "--sink is required (sqlite:PATH, jsonl:DIR, postgres:CONNINFO, file:DIR, gcs:gs://BUCKET/PREFIX, "
         "bigquery:PROJECT.DATASET or pubsub:projects/P/topics/T), or the spec's \"outputs\"";
}
