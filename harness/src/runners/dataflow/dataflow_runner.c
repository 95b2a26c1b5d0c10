/* --runner=dataflow: stage, create the job, follow it to a terminal state (see dataflow.h). */
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "beam/dataflow.h"
#include "beam/dofn.h"
#include "dataflow_client.h"
#include "dataflow_stage.h"
#include "portable_metrics.h"

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
  (void)sig;
  interrupted = 1;
}

/* beam-c-<user>-<mmddhhmmss>, lowercased to Dataflow's alphabet. */
static void default_job_name(char *out, size_t cap) {
  const struct passwd *pw = getpwuid(getuid());
  char user[32];
  snprintf(user, sizeof user, "%s", pw && pw->pw_name ? pw->pw_name : "user");
  for (char *c = user; *c; c++)
    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))) *c = '-';
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char stamp[16];
  strftime(stamp, sizeof stamp, "%m%d%H%M%S", &tm);
  snprintf(out, cap, "beam-c-%s-%s", user, stamp);
}

/* "JOB_STATE_RUNNING" -> "RUNNING", "JOB_MESSAGE_ERROR" -> "ERROR"; anything else as it is. */
static const char *without_prefix(const char *s, const char *prefix) {
  size_t n = strlen(prefix);
  return s && strncmp(s, prefix, n) == 0 ? s + n : s ? s : "";
}

static bool state_is_terminal(const char *s) {
  static const char *const terminal[] = {"JOB_STATE_DONE",    "JOB_STATE_FAILED",  "JOB_STATE_CANCELLED",
                                         "JOB_STATE_UPDATED", "JOB_STATE_DRAINED", NULL};
  for (size_t i = 0; s && terminal[i]; i++)
    if (strcmp(s, terminal[i]) == 0) return true;
  return false;
}

/* Job messages already printed, by id (the service pages from the start every time). */
typedef struct seen_ids {
  char **ids;
  size_t n;
} seen_ids;

static bool seen_add(seen_ids *s, const char *id) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->ids[i], id) == 0) return false;
  char **grown = realloc(s->ids, (s->n + 1) * sizeof *grown);
  if (!grown) return false;
  s->ids = grown;
  s->ids[s->n] = strdup(id);
  if (s->ids[s->n]) s->n++;
  return true;
}

static void seen_free(seen_ids *s) {
  for (size_t i = 0; i < s->n; i++) free(s->ids[i]);
  free(s->ids);
}

typedef struct follower {
  beam_dataflow_client *client;
  const char *job_id;
  bool quiet;
  seen_ids seen;
  char last_error[1024]; /* the newest JOB_MESSAGE_ERROR: what a failure reports */
  char last_time[64];    /* the newest message time seen (RFC 3339 UTC compares as text) */
} follower;

static void print_new_messages(follower *f) {
  char *token = NULL;
  do {
    json_t *page = NULL;
    beam_error err = {0};
    /* From the newest message seen on: each poll asks only for what may be new (messages
     * at that very time come again and are skipped by id). */
    const char *since = f->last_time[0] ? f->last_time : NULL;
    if (beam_dataflow_list_messages(f->client, f->job_id, since, token, &page, &err) != BEAM_OK) {
      if (!f->quiet) fprintf(stderr, "dataflow: cannot list job messages: %s\n", err.message);
      break;
    }
    free(token);
    token = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(page, "jobMessages"), i, m) {
      const char *id = json_string_value(json_object_get(m, "id"));
      const char *text = json_string_value(json_object_get(m, "messageText"));
      const char *imp = json_string_value(json_object_get(m, "messageImportance"));
      const char *when = json_string_value(json_object_get(m, "time"));
      if (!id || !text || !seen_add(&f->seen, id)) continue;
      if (when && strcmp(when, f->last_time) > 0) snprintf(f->last_time, sizeof f->last_time, "%s", when);
      if (imp && strcmp(imp, "JOB_MESSAGE_ERROR") == 0) snprintf(f->last_error, sizeof f->last_error, "%s", text);
      if (!f->quiet)
        fprintf(stderr, "dataflow: %s %s %s\n", when ? when : "", without_prefix(imp, "JOB_MESSAGE_"), text);
    }
    const char *next = json_string_value(json_object_get(page, "nextPageToken"));
    if (next && *next) token = strdup(next);
    json_decref(page);
  } while (token);
  free(token);
}

/* Ctrl-C: on a terminal ask whether to cancel; otherwise (SIGTERM from a scheduler) cancel. */
static bool should_cancel(const char *job_id) {
  if (!isatty(STDIN_FILENO)) return true;
  fprintf(stderr, "\nCancel Dataflow job %s? [y/N] ", job_id);
  char answer[16] = {0};
  if (!fgets(answer, sizeof answer, stdin)) return false;
  return answer[0] == 'y' || answer[0] == 'Y';
}

static void sleep_ms(int ms) {
  for (int slept = 0; slept < ms && !interrupted; slept += 50) usleep(50 * 1000);
}

/* What the first Ctrl-C/SIGTERM does: drain a streaming job (unless --cancel_on_interrupt),
 * else cancel (after asking on a terminal). False: stop following, the job runs on. */
static bool on_first_interrupt(beam_dataflow_client *c, const char *job_id, bool drain) {
  beam_error cerr = {0};
  if (drain) {
    fprintf(stderr, "dataflow: draining job %s (what was read is processed, then it ends)\n", job_id);
    if (beam_dataflow_drain_job(c, job_id, &cerr) != BEAM_OK)
      fprintf(stderr, "dataflow: cannot drain job %s: %s\n", job_id, cerr.message);
    return true;
  }
  if (!should_cancel(job_id)) return false;
  fprintf(stderr, "dataflow: cancelling job %s\n", job_id);
  if (beam_dataflow_cancel_job(c, job_id, &cerr) != BEAM_OK)
    fprintf(stderr, "dataflow: cannot cancel job %s: %s\n", job_id, cerr.message);
  return true;
}

static beam_status follow(beam_dataflow_client *c, const char *job_id, const beam_dataflow_options *o, bool streaming,
                          beam_error *err) {
  follower f = {.client = c, .job_id = job_id, .quiet = o->quiet};
  char state[64] = "";
  bool stop_asked = false, drain = streaming && !o->cancel_on_interrupt;
  beam_status s = BEAM_OK;
  for (;;) {
    if (interrupted && !stop_asked) {
      interrupted = 0;
      stop_asked = true;
      if (!on_first_interrupt(c, job_id, drain)) {
        s = beam_error_set(err, BEAM_ERR_USER, "stopped following Dataflow job %s; it keeps running", job_id);
        break;
      }
    } else if (interrupted) {
      /* A second Ctrl-C while the job drains or cancels: stop following (it goes on). */
      interrupted = 0;
      s = beam_error_set(err, BEAM_ERR_USER, "stopped following Dataflow job %s; it keeps %s", job_id,
                         drain ? "draining" : "cancelling");
      break;
    }
    json_t *job = NULL;
    s = beam_dataflow_get_job(c, job_id, &job, err);
    if (s != BEAM_OK) break;
    const char *now = json_string_value(json_object_get(job, "currentState"));
    if (now && strcmp(now, state) != 0) {
      snprintf(state, sizeof state, "%s", now);
      if (!o->quiet) fprintf(stderr, "dataflow: job %s is %s\n", job_id, without_prefix(state, "JOB_STATE_"));
    }
    json_decref(job);
    print_new_messages(&f);
    if (state_is_terminal(state)) break;
    sleep_ms(o->poll_interval_ms);
  }
  bool drained = stop_asked && drain && strcmp(state, "JOB_STATE_DRAINED") == 0;
  if (s == BEAM_OK && strcmp(state, "JOB_STATE_DONE") != 0 && !drained)
    s = beam_error_set(err, BEAM_ERR_USER, "Dataflow job %s ended %s%s%s", job_id,
                       state[0] ? without_prefix(state, "JOB_STATE_") : "without a state",
                       f.last_error[0] ? ": " : "", f.last_error);
  seen_free(&f.seen);
  return s;
}

/* User counters of a finished job, as the local runner reports them: MetricUpdates of origin
 * "user" whose context names the step (our transform id) and namespace; the committed values
 * only (Dataflow also reports tentative ones, context tentative=true, counting retried work). */
static void read_counters(beam_dataflow_client *c, const char *job_id, beam_run_result *result, bool quiet) {
  json_t *m = NULL;
  beam_error err = {0};
  if (beam_dataflow_get_metrics(c, job_id, &m, &err) != BEAM_OK) {
    if (!quiet) fprintf(stderr, "dataflow: cannot read the job's counters: %s\n", err.message);
    return;
  }
  size_t i;
  json_t *u;
  json_array_foreach(json_object_get(m, "metrics"), i, u) {
    const json_t *name = json_object_get(u, "name"), *ctx = json_object_get(name, "context");
    const char *origin = json_string_value(json_object_get(name, "origin"));
    const char *metric = json_string_value(json_object_get(name, "name"));
    const char *step = json_string_value(json_object_get(ctx, "step"));
    const char *ns = json_string_value(json_object_get(ctx, "namespace"));
    const char *tentative = json_string_value(json_object_get(ctx, "tentative"));
    const json_t *scalar = json_object_get(u, "scalar");
    if (!origin || strcmp(origin, "user") != 0 || !metric || !step || (tentative && strcmp(tentative, "true") == 0) ||
        !json_is_number(scalar))
      continue;
    char qualified[256];
    if (ns && *ns && strcmp(ns, BEAM_COUNTER_DEFAULT_NAMESPACE) != 0)
      snprintf(qualified, sizeof qualified, "%s:%s", ns, metric), metric = qualified;
    beam_run_result_add_counter(result, step, metric, (int64_t)json_number_value(scalar));
  }
  json_decref(m);
}

/* Creates the job; a taken name gets a message saying what to do. */
static beam_status create_job(beam_dataflow_client *c, json_t *job, const beam_dataflow_options *o,
                              const char *job_name, char *job_id, size_t cap, beam_error *err) {
  if (o->update) {
    char old[256];
    beam_status s = beam_dataflow_find_active_job(c, job_name, old, sizeof old, err);
    if (s != BEAM_OK) return s;
    json_object_set_new(job, "replaceJobId", json_string(old));
    if (o->transform_name_mapping) {
      json_t *m = json_loads(o->transform_name_mapping, 0, NULL);
      if (!json_is_object(m)) {
        json_decref(m);
        return beam_error_set(err, BEAM_ERR_INVALID_ARG, "--transform_name_mapping: expected {\"old\": \"new\", ...}");
      }
      json_object_set_new(job, "transformNameMapping", m);
    }
  }
  json_t *created = NULL;
  beam_status s = beam_dataflow_create_job(c, job, &created, err);
  if (s != BEAM_OK && c->last_status == 409) {
    char service[sizeof err->message];
    snprintf(service, sizeof service, "%s", err->message);
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "a Dataflow job named %s is already active in project %s, region %s: pass another "
                          "--job_name, or --update to replace it (the service said: %s)",
                          job_name, o->project, o->region, service);
  }
  const char *id = json_string_value(json_object_get(created, "id"));
  if (s == BEAM_OK && !id) s = beam_error_set(err, BEAM_ERR_MALFORMED, "jobs.create answered without a job id");
  if (s == BEAM_OK) snprintf(job_id, cap, "%s", id);
  json_decref(created);
  return s;
}

/* --template_location: the Job JSON, to GCS or a local file, for someone else to create. */
static beam_status write_template(const json_t *job, const char *where, bool quiet, beam_error *err) {
  char *text = json_dumps(job, JSON_INDENT(2) | JSON_SORT_KEYS);
  if (!text) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = BEAM_OK;
  if (strncmp(where, "gs://", 5) == 0) {
    beam_gcs *gcs = NULL;
    beam_gcs_options go = {0};
    char *bucket = NULL, *object = NULL;
    s = beam_gcs_new(&go, &gcs, err);
    if (s == BEAM_OK) s = beam_gcs_parse_uri(where, &bucket, &object, err);
    beam_gcs_upload_options uo = {.content_type = "application/json"};
    if (s == BEAM_OK) s = beam_gcs_upload_bytes(gcs, bucket, object, &uo, text, strlen(text), NULL, err);
    free(bucket);
    free(object);
    beam_gcs_free(gcs);
  } else {
    FILE *f = fopen(where, "w");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0)
      s = beam_error_set(err, BEAM_ERR_IO, "cannot write %s: %m", where);
  }
  free(text);
  if (s != BEAM_OK) return beam_error_prefix(err, "--template_location: ");
  if (!quiet) fprintf(stderr, "dataflow: job template written to %s (the job was not created)\n", where);
  return BEAM_OK;
}

static beam_status submit(const beam_buf *pipeline, const beam_dataflow_stage *st, const beam_dataflow_options *o,
                          const char *job_name, beam_run_result *result, beam_error *err) {
  json_t *job = NULL;
  beam_status s = beam_dataflow_job_json(pipeline->data, pipeline->len, o, job_name, st->pipeline_url, st->worker_url,
                                         &job, err);
  if (s == BEAM_OK && o->dry_run) {
    json_dumpf(job, o->out ? o->out : stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    fputc('\n', o->out ? o->out : stdout);
    json_decref(job);
    return BEAM_OK;
  }
  beam_gcs *gcs = NULL;
  beam_gcs_options go = {0};
  if (s == BEAM_OK) s = beam_gcs_new(&go, &gcs, err);
  if (s == BEAM_OK) s = beam_dataflow_stage_files(gcs, st, pipeline, o->quiet, err);
  beam_gcs_free(gcs);
  if (s == BEAM_OK && o->template_location) {
    s = write_template(job, o->template_location, o->quiet, err);
    json_decref(job);
    return s;
  }
  beam_dataflow_client c = {0};
  if (s == BEAM_OK) s = beam_dataflow_client_open(&c, o->dataflow_endpoint, o->project, o->region, err);
  char job_id[256] = "";
  if (s == BEAM_OK) s = create_job(&c, job, o, job_name, job_id, sizeof job_id, err);
  json_decref(job);
  if (s == BEAM_OK && !o->quiet)
    fprintf(stderr, "dataflow: created job %s (%s): https://console.cloud.google.com/dataflow/jobs/%s/%s?project=%s\n",
            job_id, job_name, o->region, job_id, o->project);
  bool streaming = o->streaming || beam_dataflow_pipeline_is_unbounded(pipeline->data, pipeline->len);
  if (s == BEAM_OK && !o->detach) s = follow(&c, job_id, o, streaming, err);
  if (s == BEAM_OK && !o->detach && result) read_counters(&c, job_id, result, o->quiet);
  if (c.base) beam_dataflow_client_close(&c);
  return s;
}

beam_status beam_run_dataflow(const uint8_t *pipeline_proto, size_t len, const beam_dataflow_options *o,
                              beam_run_result *result, beam_error *err) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (result) memset(result, 0, sizeof *result);
  beam_status s = beam_dataflow_options_check(o, err);
  if (s != BEAM_OK) return s;
  char name[128];
  if (o->job_name) snprintf(name, sizeof name, "%s", o->job_name);
  else default_job_name(name, sizeof name);
  beam_dataflow_stage st = {0};
  beam_buf pipeline = BEAM_BUF_INIT;
  s = beam_dataflow_stage_paths(o, name, &st, err);
  if (s == BEAM_OK && o->stage_worker_binary) s = beam_dataflow_worker_paths(o, &st, err);
  if (s == BEAM_OK) s = beam_dataflow_prepare_pipeline(pipeline_proto, len, o, &st, &pipeline, err);
  struct sigaction sa = {0}, old_int, old_term;
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  bool watch = s == BEAM_OK && o->watch_interrupt && !o->dry_run;
  if (watch) {
    interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
  }
  if (s == BEAM_OK) s = submit(&pipeline, &st, o, name, result, err);
  if (watch) {
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
  }
  beam_buf_free(&pipeline);
  beam_dataflow_stage_free(&st);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (result) result->elapsed_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  return s;
}
