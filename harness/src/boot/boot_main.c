/* The boot program (beam/boot.h): provision, materialize, pick the worker, exec it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "artifact_info.h"
#include "beam/boot.h"
#include "boot_internal.h"
#include "beam/grpc_client.h"

enum { PROVISION_TIMEOUT_MS = 60000 };

static beam_status provision(const beam_boot_flags *f, FN(ProvisionInfo) **info, FN(GetProvisionInfoResponse) **resp,
                             beam_error *err) {
  beam_grpc_channel *ch = NULL;
  beam_buf body = BEAM_BUF_INIT;
  uint8_t empty[1];
  beam_status s = beam_grpc_channel_open(f->provision_endpoint, f->id, &ch, err);
  if (s == BEAM_OK) s = beam_grpc_unary(ch, FN_PROVISION_METHOD, empty, 0, PROVISION_TIMEOUT_MS, &body, err);
  beam_grpc_channel_close(ch);
  if (s == BEAM_OK && !(*resp = FN_FN(get_provision_info_response__unpack)(NULL, body.len, body.data)))
    s = beam_error_set(err, BEAM_ERR_MALFORMED, "undecodable GetProvisionInfoResponse");
  beam_buf_free(&body);
  if (s != BEAM_OK) return beam_error_prefix(err, "GetProvisionInfo from %s: ", f->provision_endpoint);
  static FN(ProvisionInfo) none = FN_INIT(PROVISION_INFO);
  *info = (*resp)->info ? (*resp)->info : &none;
  return BEAM_OK;
}

/* ProvisionInfo's endpoints win over the flags (Beam's rule: the runner knows best). */
static const char *endpoint(const PIPE(ApiServiceDescriptor) *provided, const char *flag) {
  return provided && provided->url && *provided->url ? provided->url : flag;
}

static beam_status mkdirs(const char *dir, beam_error *err) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "--semi_persist_dir is too long");
  for (char *p = path + 1;; p++) {
    char c = *p;
    if (c != '/' && c != '\0') continue;
    *p = '\0';
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return beam_error_set(err, BEAM_ERR_IO, "%s: %s", path, strerror(errno));
    *p = c;
    if (!c) return BEAM_OK;
  }
}

/* The staged worker binary, else --worker_binary, $BEAM_C_WORKER_BINARY, the image's. */
static beam_status pick_worker(const beam_boot_flags *f, beam_boot_staged *staged, size_t n, beam_boot_plan *plan,
                               beam_error *err) {
  for (size_t i = 0; i < n; i++) {
    const char *name = staged[i].staged_name;
    const char *slash = name ? strrchr(name, '/') : NULL;
    if (name && strcmp(slash ? slash + 1 : name, BEAM_WORKER_ARTIFACT_NAME) == 0) {
      if (fchmod(staged[i].fd, 0755) != 0)
        return beam_error_set(err, BEAM_ERR_IO, "chmod +x %s: %s", staged[i].path, strerror(errno));
      plan->worker = strdup(staged[i].path);
      plan->worker_fd = staged[i].fd;
      staged[i].fd = -1;
      return plan->worker ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    }
  }
  const char *env = getenv(BEAM_BOOT_WORKER_BINARY_ENV);
  const char *baked = f->worker_binary ? f->worker_binary : env && *env ? env : BEAM_BOOT_DEFAULT_WORKER;
  if (access(baked, X_OK) != 0)
    return beam_error_set(err, BEAM_ERR_NOT_FOUND,
                          "no worker binary: none of the %zu staged artifacts is named %s, and %s (%s) is not an "
                          "executable file: %s",
                          n, BEAM_WORKER_ARTIFACT_NAME, baked,
                          f->worker_binary ? "--worker_binary" : env && *env ? "$" BEAM_BOOT_WORKER_BINARY_ENV
                                                                            : "the image's worker",
                          strerror(errno));
  plan->worker = strdup(baked);
  return plan->worker ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

static beam_status add_arg(beam_boot_plan *plan, const char *flag, const char *value) {
  if (value && !*value) return BEAM_OK;
  size_t n = strlen(flag) + (value ? strlen(value) + 3 : 0) + 1; /* "--" flag "=" value NUL */
  char *arg = malloc(n);
  char **grown = realloc(plan->argv, (plan->argc + 2) * sizeof *grown);
  if (grown) plan->argv = grown;
  if (!arg || !grown) {
    free(arg);
    return BEAM_ERR_NOMEM;
  }
  if (value) snprintf(arg, n, "--%s=%s", flag, value);
  else snprintf(arg, n, "%s", flag);
  plan->argv[plan->argc++] = arg;
  plan->argv[plan->argc] = NULL;
  return BEAM_OK;
}

static beam_status build_argv(const beam_boot_flags *f, const FN(ProvisionInfo) *info, beam_boot_plan *plan,
                              beam_error *err) {
  const char *control = endpoint(info->control_endpoint, f->control_endpoint);
  const char *logging = endpoint(info->logging_endpoint, f->logging_endpoint);
  const char *artifact = endpoint(info->artifact_endpoint, f->artifact_endpoint);
  beam_status s = add_arg(plan, plan->worker, NULL);
  if (s == BEAM_OK) s = add_arg(plan, "--worker", NULL);
  if (s == BEAM_OK && f->id) s = add_arg(plan, "id", f->id);
  if (s == BEAM_OK) s = add_arg(plan, "provision_endpoint", f->provision_endpoint);
  if (s == BEAM_OK && control) s = add_arg(plan, "control_endpoint", control);
  if (s == BEAM_OK && logging) s = add_arg(plan, "logging_endpoint", logging);
  if (s == BEAM_OK && artifact) s = add_arg(plan, "artifact_endpoint", artifact);
  if (s == BEAM_OK) s = add_arg(plan, "semi_persist_dir", f->semi_persist_dir);
  return s == BEAM_OK ? BEAM_OK : beam_error_set(err, s, "out of memory");
}

beam_status beam_boot_prepare(const beam_boot_flags *f, beam_boot_plan *plan, beam_error *err) {
  memset(plan, 0, sizeof *plan);
  plan->worker_fd = -1;
  FN(GetProvisionInfoResponse) *resp = NULL;
  FN(ProvisionInfo) *info = NULL;
  beam_boot_staged *staged = NULL;
  size_t n_staged = 0;
  char dir[4096];
  beam_status s = provision(f, &info, &resp, err);
  if (s == BEAM_OK && snprintf(dir, sizeof dir, "%s/staged", f->semi_persist_dir) >= (int)sizeof dir)
    s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "--semi_persist_dir is too long");
  if (s == BEAM_OK && info->n_dependencies) s = mkdirs(dir, err);
  if (s == BEAM_OK)
    s = beam_boot_materialize(endpoint(info->artifact_endpoint, f->artifact_endpoint), f->id, info, dir, &staged,
                              &n_staged, err);
  if (s == BEAM_OK) s = pick_worker(f, staged, n_staged, plan, err);
  if (s == BEAM_OK) s = build_argv(f, info, plan, err);
  for (size_t i = 0; s == BEAM_OK && i < n_staged; i++)
    fprintf(stderr, "beam-c boot: worker %s: fetched %s (%zu bytes, %s)\n", f->id ? f->id : "", staged[i].path,
            staged[i].bytes, staged[i].sha256_checked ? "sha256 checked" : "no sha256 to check");
  if (s == BEAM_OK)
    fprintf(stderr, "beam-c boot: worker %s: starting %s%s\n", f->id ? f->id : "", plan->worker,
            plan->worker_fd >= 0 ? " (staged)" : "");
  beam_boot_staged_free(staged, n_staged);
  if (resp) FN_FN(get_provision_info_response__free_unpacked)(resp, NULL);
  if (s != BEAM_OK) beam_boot_plan_free(plan);
  return s;
}

void beam_boot_plan_free(beam_boot_plan *plan) {
  for (size_t i = 0; i < plan->argc; i++) free(plan->argv[i]);
  free(plan->argv);
  free(plan->worker);
  if (plan->worker_fd >= 0) close(plan->worker_fd);
  memset(plan, 0, sizeof *plan);
  plan->worker_fd = -1;
}

int beam_boot_main(int argc, char **argv) {
  beam_boot_flags f;
  beam_error err = {0};
  if (beam_boot_parse_flags(argc, argv, &f, stderr, &err) != BEAM_OK) {
    fprintf(stderr, "beam-c boot: %s\n", err.message);
    return 2;
  }
  beam_boot_plan plan;
  if (beam_boot_prepare(&f, &plan, &err) != BEAM_OK) {
    fprintf(stderr, "beam-c boot: worker %s: %s\n", f.id ? f.id : "", err.message);
    return 1;
  }
  fflush(NULL);
  /* A staged worker runs from the descriptor of the file whose sha256 was checked. A script
   * cannot run from a close-on-exec descriptor (ENOENT): its path will do. */
  if (plan.worker_fd >= 0) fexecve(plan.worker_fd, plan.argv, environ);
  if (plan.worker_fd < 0 || errno == ENOENT) execv(plan.worker, plan.argv);
  fprintf(stderr, "beam-c boot: worker %s: cannot execute %s: %s\n", f.id ? f.id : "", plan.worker, strerror(errno));
  beam_boot_plan_free(&plan);
  return 1;
}
