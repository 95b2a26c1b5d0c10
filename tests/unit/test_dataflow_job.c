/* Dataflow submission without a network: Beam-named flags, the checks that name the wrong
 * flag, and the Job body built for a pipeline (labels, experiments, container images). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/dataflow.h"
#include "beam/pipeline.h"
#include "beam/urns.h"
#include "dataflow_stage.h"
#include "proto_lookup.h"

static void base_options(beam_dataflow_options *o) {
  beam_dataflow_options_init(o);
  o->project = "p";
  o->region = "europe-west1";
  o->temp_location = "gs://b/tmp";
  o->sdk_container_image = "img:1";
}

static void flags_use_beams_names(void **state) {
  (void)state;
  beam_dataflow_options o;
  beam_dataflow_options_init(&o);
  char msg[256];
  assert_int_equal(beam_dataflow_flag(&o, "project", "p1", msg, sizeof msg), 1);
  assert_int_equal(beam_dataflow_flag(&o, "num_workers", "3", msg, sizeof msg), 1);
  assert_int_equal(beam_dataflow_flag(&o, "no_use_public_ips", NULL, msg, sizeof msg), 1);
  assert_int_equal(beam_dataflow_flag(&o, "input", "x", msg, sizeof msg), 0);
  assert_int_equal(beam_dataflow_flag(&o, "max_num_workers", "many", msg, sizeof msg), -1);
  assert_non_null(strstr(msg, "--max_num_workers"));
  assert_string_equal(o.project, "p1");
  assert_int_equal(o.num_workers, 3);
  assert_true(o.no_use_public_ips);
}

static void checks_name_the_flag(void **state) {
  (void)state;
  beam_dataflow_options o;
  base_options(&o);
  beam_error err = {0};
  assert_int_equal(beam_dataflow_options_check(&o, &err), BEAM_OK);
  o.temp_location = "/tmp/x";
  assert_int_equal(beam_dataflow_options_check(&o, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "--temp_location must be a gs:// path"));
  base_options(&o);
  o.job_name = "Bad_Name";
  assert_int_equal(beam_dataflow_options_check(&o, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "--job_name=Bad_Name"));
  base_options(&o);
  o.sdk_container_image = NULL;
  assert_int_equal(beam_dataflow_options_check(&o, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "--sdk_container_image"));
}

/* A one-transform pipeline, with DOCKER environments as a submission makes it. */
static void docker_pipeline(const beam_dataflow_options *o, beam_buf *out) {
  beam_pipeline *p = beam_pipeline_new();
  beam_impulse(p, "Impulse");
  beam_buf proto = BEAM_BUF_INIT;
  beam_error err = {0};
  assert_int_equal(beam_pipeline_encode(p, &proto, &err), BEAM_OK);
  beam_dataflow_stage st = {0};
  assert_int_equal(beam_dataflow_prepare_pipeline(proto.data, proto.len, o, &st, out, &err), BEAM_OK);
  beam_buf_free(&proto);
  beam_pipeline_free(p);
}

static void job_body_carries_labels_experiments_and_images(void **state) {
  (void)state;
  beam_dataflow_options o;
  base_options(&o);
  o.labels = "team=data,env=prod";
  o.experiments = "use_runner_v2,shuffle_mode=service";
  beam_buf pl = BEAM_BUF_INIT;
  docker_pipeline(&o, &pl);
  json_t *job = NULL;
  beam_error err = {0};
  assert_int_equal(beam_dataflow_job_json(pl.data, pl.len, &o, "job-1", "gs://b/pipeline.pb", NULL, &job, &err),
                   BEAM_OK);
  assert_string_equal(json_string_value(json_object_get(json_object_get(job, "labels"), "env")), "prod");
  json_t *env = json_object_get(job, "environment");
  json_t *exps = json_object_get(env, "experiments");
  assert_int_equal(json_array_size(exps), 5); /* use_runner_v2 once, plus the other three required */
  json_t *img = json_array_get(json_object_get(json_array_get(json_object_get(env, "workerPools"), 0),
                                               "sdkHarnessContainerImages"),
                               0);
  assert_string_equal(json_string_value(json_object_get(img, "containerImage")), "img:1");
  assert_true(json_array_size(json_object_get(img, "capabilities")) > 5);
  json_t *opts = json_object_get(json_object_get(env, "sdkPipelineOptions"), "options");
  assert_string_equal(json_string_value(json_object_get(opts, "pipelineUrl")), "gs://b/pipeline.pb");
  json_decref(job);
  o.labels = "oops";
  assert_int_equal(beam_dataflow_job_json(pl.data, pl.len, &o, "job-1", "gs://b/p.pb", NULL, &job, &err),
                   BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "--labels"));
  beam_buf_free(&pl);
}

/* A splittable ParDo survives preparation for Dataflow: the staged pipeline still declares
 * the requirement and names the restriction coder, and the Job body builds as for any other. */
static void splittable_pardo_keeps_its_requirement(void **state) {
  (void)state;
  beam_dataflow_options o;
  base_options(&o);
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *in = beam_pardo1(p, "Seed", beam_impulse(p, "Impulse"), "seed", NULL, beam_coder_spec_varint(p));
  beam_coder_spec *varint = beam_coder_spec_varint(p);
  beam_pardo_spec spec = {.dofn = "positions", .n_outputs = 1, .output_coders = &varint};
  beam_pcollection *out = NULL;
  assert_int_equal(beam_splittable_pardo(p, "Positions", in, &spec, &out), BEAM_OK);
  beam_buf proto = BEAM_BUF_INIT, prepared = BEAM_BUF_INIT;
  beam_error err = {0};
  assert_int_equal(beam_pipeline_encode(p, &proto, &err), BEAM_OK);
  beam_dataflow_stage st = {0};
  assert_int_equal(beam_dataflow_prepare_pipeline(proto.data, proto.len, &o, &st, &prepared, &err), BEAM_OK);
  PIPE(Pipeline) *pl = PIPE_FN(pipeline__unpack)(NULL, prepared.len, prepared.data);
  assert_non_null(pl);
  bool declared = false;
  for (size_t i = 0; i < pl->n_requirements; i++)
    declared |= strcmp(pl->requirements[i], BEAM_URN_REQUIREMENT_SPLITTABLE) == 0;
  assert_true(declared);
  const PIPE(PTransform) *t = beam_proto_find_transform(pl->components, "Positions");
  assert_non_null(t);
  PIPE(ParDoPayload) *pardo = PIPE_FN(par_do_payload__unpack)(NULL, t->spec->payload.len, t->spec->payload.data);
  const PIPE(Coder) *rc = beam_proto_find_coder(pl->components, pardo->restriction_coder_id);
  assert_non_null(rc);
  assert_string_equal(rc->spec->urn, BEAM_URN_CODER_KV);
  PIPE_FN(par_do_payload__free_unpacked)(pardo, NULL);
  PIPE_FN(pipeline__free_unpacked)(pl, NULL);
  json_t *job = NULL;
  assert_int_equal(beam_dataflow_job_json(prepared.data, prepared.len, &o, "job-1", "gs://b/pipeline.pb", NULL, &job, &err),
                   BEAM_OK);
  json_decref(job);
  beam_buf_free(&proto);
  beam_buf_free(&prepared);
  beam_pipeline_free(p);
}

/* The Job body's type, version job_type and pipeline option `streaming` for a pipeline. */
static void assert_job_kind(beam_pipeline *p, const beam_dataflow_options *o, bool streaming) {
  beam_buf proto = BEAM_BUF_INIT, prepared = BEAM_BUF_INIT;
  beam_error err = {0};
  assert_int_equal(beam_pipeline_encode(p, &proto, &err), BEAM_OK);
  beam_dataflow_stage st = {0};
  assert_int_equal(beam_dataflow_prepare_pipeline(proto.data, proto.len, o, &st, &prepared, &err), BEAM_OK);
  json_t *job = NULL;
  assert_int_equal(beam_dataflow_job_json(prepared.data, prepared.len, o, "job-1", "gs://b/p.pb", NULL, &job, &err),
                   BEAM_OK);
  json_t *env = json_object_get(job, "environment");
  assert_string_equal(json_string_value(json_object_get(job, "type")),
                      streaming ? "JOB_TYPE_STREAMING" : "JOB_TYPE_BATCH");
  assert_string_equal(json_string_value(json_object_get(json_object_get(env, "version"), "job_type")),
                      streaming ? "FNAPI_STREAMING" : "FNAPI_BATCH");
  json_t *opts = json_object_get(json_object_get(env, "sdkPipelineOptions"), "options");
  assert_int_equal(json_is_true(json_object_get(opts, "streaming")), streaming);
  json_decref(job);
  beam_buf_free(&proto);
  beam_buf_free(&prepared);
}

/* A Pub/Sub read makes its PCollection and everything after it UNBOUNDED, the Dataflow job a
 * streaming one; --streaming does the same for a bounded pipeline; a GroupByKey of the stream
 * in the global window is refused, naming it. */
static void unbounded_pipeline_is_a_streaming_job(void **state) {
  (void)state;
  beam_dataflow_options o;
  base_options(&o);
  beam_pipeline *p = beam_pipeline_new();
  beam_pubsub_read_spec read = {.subscription = "projects/p/subscriptions/s"};
  beam_pcollection *msgs = beam_pubsub_read(p, "Read", &read);
  beam_pcollection *rows = beam_pardo1(p, "Parse", msgs, "parse", NULL, beam_coder_spec_bytes(p));
  assert_true(beam_pcollection_is_unbounded(p, rows));
  assert_job_kind(p, &o, true);
  beam_coder_spec *kv = beam_coder_spec_kv(p, beam_coder_spec_bytes(p), beam_coder_spec_bytes(p));
  beam_group_by_key(p, "Group", beam_pardo1(p, "Key", rows, "key", NULL, kv));
  beam_buf proto = BEAM_BUF_INIT;
  beam_error err = {0};
  assert_int_equal(beam_pipeline_encode(p, &proto, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "GroupByKey \"Group\""));
  beam_buf_free(&proto);
  beam_pipeline_free(p);

  p = beam_pipeline_new();
  beam_pcollection *imp = beam_impulse(p, "Impulse");
  assert_false(beam_pcollection_is_unbounded(p, imp));
  assert_job_kind(p, &o, false);
  o.streaming = true;
  assert_job_kind(p, &o, true);
  beam_pipeline_free(p);

  p = beam_pipeline_new();
  beam_pubsub_read_spec neither = {0};
  assert_null(beam_pubsub_read(p, "Read", &neither));
  assert_non_null(strstr(beam_pipeline_error(p)->message, "needs a subscription or a topic"));
  beam_pipeline_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(flags_use_beams_names),
      cmocka_unit_test(checks_name_the_flag),
      cmocka_unit_test(job_body_carries_labels_experiments_and_images),
      cmocka_unit_test(splittable_pardo_keeps_its_requirement),
      cmocka_unit_test(unbounded_pipeline_is_a_streaming_job),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
