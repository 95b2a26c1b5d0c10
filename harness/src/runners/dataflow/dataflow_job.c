/* The Job body of projects.locations.jobs.create for a portable (runner v2) submission:
 * no steps, the staged Pipeline proto named by sdkPipelineOptions.options.pipelineUrl, one
 * SDK harness container image per environment. Field names and shapes follow
 * dataflow.v1b3.json; tests check every body against that document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/dataflow.h"
#include "proto_names.h"

#define SDK_NAME "Apache Beam SDK for C (beam-c)"
#define SDK_VERSION "0.1.0"

/* What runner v2 with portable submission needs; Beam's SDKs add the same four, and for a
 * streaming job the two that select Streaming Engine. */
static const char *const REQUIRED_EXPERIMENTS[] = {"use_runner_v2", "use_unified_worker",
                                                   "use_portable_job_submission", "beam_fn_api", NULL};
static const char *const STREAMING_EXPERIMENTS[] = {"enable_streaming_engine", "enable_windmill_service", NULL};

static bool array_has_string(const json_t *a, const char *s, size_t n) {
  for (size_t i = 0; i < json_array_size(a); i++) {
    const char *v = json_string_value(json_array_get(a, i));
    if (v && strlen(v) == n && strncmp(v, s, n) == 0) return true;
  }
  return false;
}

static void add_missing(json_t *a, const char *const *names) {
  for (size_t i = 0; a && names[i]; i++)
    if (!array_has_string(a, names[i], strlen(names[i]))) json_array_append_new(a, json_string(names[i]));
}

static json_t *experiments_json(const char *user, bool streaming) {
  json_t *a = json_array();
  for (const char *p = user; a && p && *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (n && !array_has_string(a, p, n)) json_array_append_new(a, json_stringn(p, n));
    p = comma ? comma + 1 : p + n;
  }
  add_missing(a, REQUIRED_EXPERIMENTS);
  if (streaming) add_missing(a, STREAMING_EXPERIMENTS);
  return a;
}

/* --labels as a JSON object ({"team": "data"}) or k=v,k=v. */
static beam_status labels_json(const char *text, json_t **out, beam_error *err) {
  *out = NULL;
  if (!text) return BEAM_OK;
  if (text[0] == '{') {
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    const char *k;
    json_t *v;
    bool ok = json_is_object(j);
    json_object_foreach(j, k, v) ok = ok && json_is_string(v);
    if (!ok) {
      json_decref(j);
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "--labels: expected {\"key\": \"value\", ...} or key=value,...");
    }
    *out = j;
    return BEAM_OK;
  }
  json_t *j = json_object();
  for (const char *p = text; j && *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    const char *eq = memchr(p, '=', n);
    if (!eq || eq == p) {
      json_decref(j);
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "--labels: \"%.*s\" is not key=value", (int)n, p);
    }
    char key[128];
    snprintf(key, sizeof key, "%.*s", (int)(eq - p), p);
    json_object_set_new(j, key, json_stringn(eq + 1, n - (size_t)(eq - p) - 1));
    p = comma ? comma + 1 : p + n;
  }
  *out = j;
  return j ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

/* sdkHarnessContainerImages: one entry per DOCKER environment, with its capabilities. */
static json_t *container_images_json(const PIPE(Pipeline) *pl) {
  json_t *images = json_array();
  const PIPE(Components) *c = pl->components;
  for (size_t i = 0; images && c && i < c->n_environments; i++) {
    const PIPE(Environment) *env = c->environments[i]->value;
    PIPE(DockerPayload) *dp = PIPE_FN(docker_payload__unpack)(NULL, env->payload.len, env->payload.data);
    if (!dp) continue;
    json_t *caps = json_array();
    for (size_t k = 0; k < env->n_capabilities; k++) json_array_append_new(caps, json_string(env->capabilities[k]));
    json_array_append_new(images, json_pack("{s:s, s:s, s:o, s:b}", "containerImage", dp->container_image,
                                            "environmentId", c->environments[i]->key, "capabilities", caps,
                                            "useSingleCorePerContainer", 0));
    PIPE_FN(docker_payload__free_unpacked)(dp, NULL);
  }
  return images;
}

static json_t *worker_pool_json(const beam_dataflow_options *o, json_t *images, const char *worker_url) {
  json_t *pool = json_pack("{s:s, s:o, s:s}", "kind", "harness", "sdkHarnessContainerImages", images,
                           "workerHarnessContainerImage", o->sdk_container_image);
  if (!pool) return NULL;
  if (o->num_workers) json_object_set_new(pool, "numWorkers", json_integer(o->num_workers));
  if (o->max_num_workers)
    json_object_set_new(pool, "autoscalingSettings",
                        json_pack("{s:s, s:i}", "algorithm", "AUTOSCALING_ALGORITHM_BASIC", "maxNumWorkers",
                                  o->max_num_workers));
  if (o->machine_type) json_object_set_new(pool, "machineType", json_string(o->machine_type));
  if (o->network) json_object_set_new(pool, "network", json_string(o->network));
  if (o->subnetwork) json_object_set_new(pool, "subnetwork", json_string(o->subnetwork));
  json_object_set_new(pool, "ipConfiguration",
                      json_string(o->no_use_public_ips ? "WORKER_IP_PRIVATE" : "WORKER_IP_UNSPECIFIED"));
  if (worker_url)
    json_object_set_new(pool, "packages", json_pack("[{s:s, s:s}]", "name", "beam-c-worker", "location", worker_url));
  return pool;
}

/* sdkPipelineOptions.options: the user's options plus what the service reads. */
static json_t *sdk_options_json(const beam_dataflow_options *o, const char *job_name, const char *pipeline_url,
                                json_t *experiments, bool streaming) {
  json_t *opts = o->pipeline_options ? json_deep_copy(o->pipeline_options) : json_object();
  if (!json_is_object(opts)) {
    json_decref(opts);
    opts = json_object();
  }
  json_object_set_new(opts, "pipelineUrl", json_string(pipeline_url));
  json_object_set_new(opts, "region", json_string(o->region));
  json_object_set_new(opts, "project", json_string(o->project));
  json_object_set_new(opts, "jobName", json_string(job_name));
  json_object_set_new(opts, "tempLocation", json_string(o->temp_location));
  json_object_set_new(opts, "experiments", json_deep_copy(experiments));
  if (streaming) json_object_set_new(opts, "streaming", json_true());
  return json_pack("{s:o}", "options", opts);
}

bool beam_dataflow_pipeline_is_unbounded(const uint8_t *pipeline_proto, size_t len) {
  PIPE(Pipeline) *pl = PIPE_FN(pipeline__unpack)(NULL, len, pipeline_proto);
  bool unbounded = false;
  for (size_t i = 0; pl && pl->components && i < pl->components->n_pcollections; i++)
    unbounded |= pl->components->pcollections[i]->value->is_bounded == PIPE_ENUM(IS_BOUNDED__ENUM__UNBOUNDED);
  if (pl) PIPE_FN(pipeline__free_unpacked)(pl, NULL);
  return unbounded;
}

beam_status beam_dataflow_job_json(const uint8_t *pipeline_proto, size_t len, const beam_dataflow_options *o,
                                   const char *job_name, const char *pipeline_url, const char *worker_url,
                                   json_t **out, beam_error *err) {
  *out = NULL;
  PIPE(Pipeline) *pl = PIPE_FN(pipeline__unpack)(NULL, len, pipeline_proto);
  if (!pl) return beam_error_set(err, BEAM_ERR_MALFORMED, "cannot decode the Pipeline proto to submit");
  json_t *images = container_images_json(pl);
  PIPE_FN(pipeline__free_unpacked)(pl, NULL);
  if (!images || json_array_size(images) == 0) {
    json_decref(images);
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "the pipeline has no DOCKER environment for Dataflow to run");
  }
  json_t *labels = NULL;
  beam_status s = labels_json(o->labels, &labels, err);
  if (s != BEAM_OK) {
    json_decref(images);
    return s;
  }
  bool streaming = o->streaming || beam_dataflow_pipeline_is_unbounded(pipeline_proto, len);
  json_t *experiments = experiments_json(o->experiments, streaming);
  json_t *env = json_pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:o, s:s, s:O, s:[o]}", "userAgent", "name", SDK_NAME,
                          "version", SDK_VERSION, "version", "job_type", streaming ? "FNAPI_STREAMING" : "FNAPI_BATCH",
                          "major", "6", "sdkPipelineOptions",
                          sdk_options_json(o, job_name, pipeline_url, experiments, streaming),
                          "tempStoragePrefix", o->temp_location, "experiments", experiments, "workerPools",
                          worker_pool_json(o, images, worker_url));
  json_decref(experiments);
  if (env && o->service_account_email)
    json_object_set_new(env, "serviceAccountEmail", json_string(o->service_account_email));
  json_t *job = env ? json_pack("{s:s, s:s, s:s, s:o, s:[]}", "name", job_name, "projectId", o->project, "type",
                                streaming ? "JOB_TYPE_STREAMING" : "JOB_TYPE_BATCH", "environment", env, "steps")
                    : NULL;
  if (job && labels) json_object_set(job, "labels", labels);
  json_decref(labels);
  if (!job) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory building the Dataflow job");
  *out = job;
  return BEAM_OK;
}
