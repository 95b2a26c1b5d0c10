/* A test: its pipeline, the runner it runs on (flags, then BEAM_TEST_* variables, then local),
 * its temporary files, and the run that checks every assertion ran and held. */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beam/worker.h"
#include "testing_internal.h"

struct beam_test {
  char *name;
  beam_pipeline *p;
  beam_error error; /* first construction error of the kit */
  char **checks;    /* transform ids of the checks */
  size_t n_checks;
  char *temp_dir;
  char **files;
  size_t n_files;
  char *failure;
  char *subject; /* beam_test_next_subject */
  beam_run_result result;
};

/* --- where tests run ----------------------------------------------------------------------- */

/* Set by beam_test_configure (flags); NULL means: look at the environment. */
static char *flag_runner, *flag_endpoint, *flag_env_type, *flag_env_config;

static const char *setting(const char *flag, const char *env) {
  const char *v = flag ? flag : getenv(env);
  return v && *v ? v : NULL;
}

static const char *runner_setting(void) {
  const char *r = setting(flag_runner, "BEAM_TEST_RUNNER");
  return r ? r : "local";
}

static void set_flag(char **slot, const char *value) {
  free(*slot);
  *slot = strdup(value);
}

beam_status beam_test_configure(int argc, char **argv, beam_error *err) {
  static const struct {
    const char *prefix;
    char **slot;
  } flags[] = {{"--runner=", &flag_runner},
               {"--job_endpoint=", &flag_endpoint},
               {"--environment_type=", &flag_env_type},
               {"--environment_config=", &flag_env_config}};
  for (int i = 1; i < argc; i++)
    for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++)
      if (strncmp(argv[i], flags[f].prefix, strlen(flags[f].prefix)) == 0)
        set_flag(flags[f].slot, argv[i] + strlen(flags[f].prefix));
  const char *r = runner_setting();
  if (strcmp(r, "local") != 0 && strcmp(r, "portable") != 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "test runner \"%s\": expected local or portable", r);
  return BEAM_OK;
}

bool beam_test_worker(int argc, char **argv, int *exit_code) {
  bool worker = beam_worker_requested(argc, argv), pool = !worker && beam_worker_pool_requested(argc, argv);
  if (!worker && !pool) return false;
  beam_test_install_dofns();
  *exit_code = worker ? beam_worker_main(argc, argv) : beam_worker_pool_main(argc, argv);
  return true;
}

/* --- the test object ----------------------------------------------------------------------- */

beam_test *beam_test_new(const char *name) {
  beam_test *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->name = strdup(name ? name : "test");
  t->p = beam_pipeline_new();
  beam_test_install_dofns();
  if (!t->name || !t->p) {
    beam_test_free(t);
    return NULL;
  }
  return t;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

void beam_test_free(beam_test *t) {
  if (!t) return;
  if (t->temp_dir) nftw(t->temp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  for (size_t i = 0; i < t->n_checks; i++) free(t->checks[i]);
  for (size_t i = 0; i < t->n_files; i++) free(t->files[i]);
  free(t->checks);
  free(t->files);
  free(t->temp_dir);
  free(t->failure);
  free(t->subject);
  free(t->name);
  beam_run_result_free(&t->result);
  beam_pipeline_free(t->p);
  free(t);
}

beam_pipeline *beam_test_pipeline(beam_test *t) { return t->p; }
const char *beam_test_name(const beam_test *t) { return t->name; }
const char *beam_test_runner(const beam_test *t) {
  (void)t;
  return strcmp(runner_setting(), "portable") == 0 ? "portable" : "local";
}
const char *beam_test_failure(const beam_test *t) { return t->failure ? t->failure : ""; }
const beam_run_result *beam_test_result(const beam_test *t) { return &t->result; }

beam_status beam_test_fail(beam_test *t, beam_status code, const char *fmt, ...) {
  if (t->error.code != BEAM_OK) return code;
  va_list ap;
  va_start(ap, fmt);
  beam_error_vset(&t->error, code, fmt, ap);
  va_end(ap);
  return code;
}

bool beam_test_failed(const beam_test *t) { return t->error.code != BEAM_OK || beam_pipeline_error(t->p); }

static bool push(char ***items, size_t *n, char *item) {
  char **grown = item ? realloc(*items, (*n + 1) * sizeof *grown) : NULL;
  if (!grown) return free(item), false;
  *items = grown;
  (*items)[(*n)++] = item;
  return true;
}

void beam_test_next_subject(beam_test *t, const char *subject) {
  free(t->subject);
  t->subject = subject ? strdup(subject) : NULL;
}

/* The pending subject (caller frees), or NULL. */
const char *beam_test_take_subject(beam_test *t) {
  char *s = t->subject;
  t->subject = NULL;
  return s;
}

beam_status beam_test_add_check(beam_test *t, const char *transform_id) {
  return push(&t->checks, &t->n_checks, strdup(transform_id)) ? BEAM_OK : beam_test_fail(t, BEAM_ERR_NOMEM, "out of memory");
}

const char *beam_test_temp_dir(beam_test *t) {
  if (t->temp_dir) return t->temp_dir;
  const char *base = getenv("TMPDIR");
  char tmpl[4096];
  snprintf(tmpl, sizeof tmpl, "%s/beam-test-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(tmpl)) return beam_test_fail(t, BEAM_ERR_IO, "cannot create a temporary directory in %s", base ? base : "/tmp"), NULL;
  t->temp_dir = strdup(tmpl);
  return t->temp_dir;
}

const char *beam_test_write_file(beam_test *t, const char *name, const char *text) {
  const char *dir = beam_test_temp_dir(t);
  if (!dir || !name || !text) return NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  bool ok = f && fwrite(text, 1, strlen(text), f) == strlen(text);
  if (f && fclose(f) != 0) ok = false;
  if (!ok) return beam_test_fail(t, BEAM_ERR_IO, "cannot write %s", path), NULL;
  return push(&t->files, &t->n_files, strdup(path)) ? t->files[t->n_files - 1] : NULL;
}

/* --- running ------------------------------------------------------------------------------- */

static beam_status run_portable(beam_test *t, beam_error *err) {
  const char *endpoint = setting(flag_endpoint, "BEAM_TEST_JOB_ENDPOINT");
  if (!endpoint)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "the portable test runner needs a job endpoint (BEAM_TEST_JOB_ENDPOINT or --job_endpoint)");
  beam_buf proto = BEAM_BUF_INIT;
  beam_status s = beam_pipeline_encode(t->p, &proto, err);
  beam_portable_options o = {.job_endpoint = endpoint,
                             .job_name = t->name,
                             .quiet = true,
                             .environment_type = setting(flag_env_type, "BEAM_TEST_ENVIRONMENT_TYPE"),
                             .environment_config = setting(flag_env_config, "BEAM_TEST_ENVIRONMENT_CONFIG"),
                             .cancel_on_interrupt = true};
  if (s == BEAM_OK) s = beam_run_portable(proto.data, proto.len, &o, &t->result, err);
  beam_buf_free(&proto);
  return s;
}

/* Every check must have run: a runner that skipped one would otherwise pass the test. */
static beam_status verify_checks_ran(beam_test *t, beam_error *err) {
  for (size_t i = 0; i < t->n_checks; i++)
    if (beam_run_result_counter(&t->result, t->checks[i], BEAM_TEST_CHECKED_COUNTER) < 1)
      return beam_error_set(err, BEAM_ERR_INTERNAL, "%s never ran: the runner reported no result for it", t->checks[i]);
  return BEAM_OK;
}

beam_status beam_test_run(beam_test *t, beam_error *err) {
  beam_error local = {0};
  if (!err) err = &local;
  free(t->failure);
  t->failure = NULL;
  beam_run_result_free(&t->result);
  memset(&t->result, 0, sizeof t->result);
  beam_status s = BEAM_OK;
  const char *worker_env = getenv(BEAM_WORKER_ENV);
  if (worker_env && strcmp(worker_env, "1") == 0)
    s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "this program was started as a Beam worker but ran a test: "
                       "begin main() with `if (beam_test_worker(argc, argv, &rc)) return rc;`");
  else if (t->error.code != BEAM_OK)
    s = beam_error_set(err, t->error.code, "%s", t->error.message);
  else if (beam_pipeline_error(t->p))
    s = beam_error_set(err, beam_pipeline_error(t->p)->code, "%s", beam_pipeline_error(t->p)->message);
  else if (strcmp(beam_test_runner(t), "portable") == 0)
    s = run_portable(t, err);
  else if (strcmp(runner_setting(), "local") != 0)
    s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "test runner \"%s\": expected local or portable", runner_setting());
  else
    s = beam_pipeline_run_local(t->p, NULL, &t->result, err);
  if (s == BEAM_OK) s = verify_checks_ran(t, err);
  if (s != BEAM_OK) t->failure = strdup(err->message);
  return s;
}

int beam_test_main_result(beam_test *t) {
  if (!t) return fprintf(stderr, "FAIL (out of memory creating the test)\n"), 1;
  if (beam_test_run(t, NULL) != BEAM_OK) {
    fprintf(stderr, "FAIL %s (%s runner): %s\n", t->name, beam_test_runner(t), beam_test_failure(t));
    return 1;
  }
  printf("PASS %s (%s runner, %zu assertions, %.3f s)\n", t->name, beam_test_runner(t), t->n_checks,
         t->result.elapsed_seconds);
  return 0;
}
