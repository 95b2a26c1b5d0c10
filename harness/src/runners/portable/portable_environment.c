/* Environments for portable submission (see portable_environment.h). */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "beam/urns.h"
#include "beam/worker.h"
#include "portable_environment.h"

/* The PROCESS command named by config, a path or Beam's JSON form {"command": "..."}; NULL
 * for none (this program). *json holds the parsed config (json_decref it). */
static beam_status process_command(const char *config, json_t **json, const char **command, beam_error *err) {
  *json = NULL;
  *command = NULL;
  if (config && config[0] == '{') {
    json_error_t jerr;
    *json = json_loads(config, 0, &jerr);
    *command = *json ? json_string_value(json_object_get(*json, "command")) : NULL;
    if (!*command) {
      json_decref(*json);
      *json = NULL;
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "--environment_config: expected {\"command\": \"...\"}");
    }
  } else if (config && config[0]) {
    *command = config;
  }
  return BEAM_OK;
}

bool beam_environment_stages_worker(const char *type, const char *config, bool stage_worker) {
  if (stage_worker || (type && strcasecmp(type, "DOCKER") == 0)) return true;
  if (type && type[0] && strcasecmp(type, "PROCESS") != 0) return false;
  json_t *json;
  const char *command;
  beam_error ignored = {0};
  if (process_command(config, &json, &command, &ignored) != BEAM_OK || !command) return false;
  const char *slash = strrchr(command, '/');
  bool boot = strcmp(slash ? slash + 1 : command, "boot") == 0;
  json_decref(json);
  return boot;
}

/* PROCESS: the command the runner runs (default: this very program), started as a worker by
 * the environment variable since runners pass only --id and --provision_endpoint. A boot
 * program ignores the variable and passes --worker to the binary it starts. */
static beam_status process_payload(const char *config, beam_arena *a, ProtobufCBinaryData *out, beam_error *err) {
  char self[PATH_MAX];
  const char *command = NULL;
  json_t *json = NULL;
  beam_status s = process_command(config, &json, &command, err);
  if (s != BEAM_OK) return s;
  if (!command) {
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return beam_error_set(err, BEAM_ERR_IO, "cannot find this program's path for the PROCESS environment");
    self[n] = '\0';
    command = self;
  }
  PIPE(ProcessPayload) pp = PIPE_INIT(PROCESS_PAYLOAD);
  pp.command = (char *)command;
  PIPE(ProcessPayload__EnvEntry) worker_env = PIPE_INIT(PROCESS_PAYLOAD__ENV_ENTRY);
  PIPE(ProcessPayload__EnvEntry) *envs[] = {&worker_env};
  worker_env.key = BEAM_WORKER_ENV;
  worker_env.value = "1";
  pp.n_env = 1;
  pp.env = envs;
  out->len = PIPE_FN(process_payload__get_packed_size)(&pp);
  out->data = beam_arena_alloc(a, out->len + 1);
  if (out->data) PIPE_FN(process_payload__pack)(&pp, out->data);
  json_decref(json);
  return out->data ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

static beam_status external_payload(const char *config, beam_arena *a, ProtobufCBinaryData *out, beam_error *err) {
  if (!config || !config[0])
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "--environment_type=EXTERNAL needs --environment_config=HOST:PORT of a worker pool");
  PIPE(ApiServiceDescriptor) endpoint = PIPE_INIT(API_SERVICE_DESCRIPTOR);
  endpoint.url = (char *)config;
  PIPE(ExternalPayload) ep = PIPE_INIT(EXTERNAL_PAYLOAD);
  ep.endpoint = &endpoint;
  out->len = PIPE_FN(external_payload__get_packed_size)(&ep);
  out->data = beam_arena_alloc(a, out->len + 1);
  if (out->data) PIPE_FN(external_payload__pack)(&ep, out->data);
  return out->data ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

static beam_status docker_payload(const char *config, beam_arena *a, ProtobufCBinaryData *out, beam_error *err) {
  if (!config || !config[0])
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "--environment_type=DOCKER needs --environment_config=IMAGE");
  PIPE(DockerPayload) dp = PIPE_INIT(DOCKER_PAYLOAD);
  dp.container_image = (char *)config;
  out->len = PIPE_FN(docker_payload__get_packed_size)(&dp);
  out->data = beam_arena_alloc(a, out->len + 1);
  if (out->data) PIPE_FN(docker_payload__pack)(&dp, out->data);
  return out->data ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

/* The environment's own dependencies followed by deps. */
static beam_status add_dependencies(PIPE(Environment) *env, PIPE(ArtifactInformation) *const *deps, size_t n_deps,
                                    beam_arena *a, beam_error *err) {
  if (!n_deps) return BEAM_OK;
  size_t n = env->n_dependencies + n_deps;
  PIPE(ArtifactInformation) **all = beam_arena_calloc(a, n, sizeof *all);
  if (!all) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < env->n_dependencies; i++) all[i] = env->dependencies[i];
  for (size_t i = 0; i < n_deps; i++) all[env->n_dependencies + i] = deps[i];
  env->dependencies = all;
  env->n_dependencies = n;
  return BEAM_OK;
}

beam_status beam_environment_apply(PIPE(Pipeline) *pl, const char *type, const char *config,
                                   PIPE(ArtifactInformation) *const *deps, size_t n_deps, beam_arena *a,
                                   beam_environment_saved **saved, size_t *n_saved, beam_error *err) {
  const char *urn = NULL;
  ProtobufCBinaryData payload = {0, NULL};
  beam_status s;
  if (!type || !type[0] || strcasecmp(type, "PROCESS") == 0)
    urn = BEAM_URN_ENV_PROCESS, s = process_payload(config, a, &payload, err);
  else if (strcasecmp(type, "EXTERNAL") == 0)
    urn = BEAM_URN_ENV_EXTERNAL, s = external_payload(config, a, &payload, err);
  else if (strcasecmp(type, "DOCKER") == 0)
    urn = BEAM_URN_ENV_DOCKER, s = docker_payload(config, a, &payload, err);
  else
    s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "--environment_type=%s: expected PROCESS, EXTERNAL or DOCKER", type);
  if (s != BEAM_OK) return s;
  const PIPE(Components) *c = pl->components;
  size_t n = c ? c->n_environments : 0;
  *saved = beam_arena_calloc(a, n + 1, sizeof **saved);
  if (!*saved) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  *n_saved = 0;
  for (size_t i = 0; i < n && s == BEAM_OK; i++) {
    PIPE(Environment) *env = c->environments[i]->value;
    (*saved)[(*n_saved)++] = (beam_environment_saved){env, env->urn, env->payload, env->dependencies,
                                                      env->n_dependencies};
    env->urn = (char *)urn;
    env->payload = payload;
    s = add_dependencies(env, deps, n_deps, a, err);
  }
  return s;
}

void beam_environment_restore(beam_environment_saved *saved, size_t n_saved) {
  for (size_t i = 0; i < n_saved; i++) {
    saved[i].env->urn = saved[i].urn;
    saved[i].env->payload = saved[i].payload;
    saved[i].env->dependencies = saved[i].dependencies;
    saved[i].env->n_dependencies = saved[i].n_dependencies;
  }
}
