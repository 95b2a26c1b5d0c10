/* The boot program's parts: flag parsing, a download refused on a sha256 mismatch, and the
 * whole preparation (GetProvisionInfo, GetArtifact, worker choice, argv) against a real gRPC
 * server on loopback playing the runner: a good, a deferred (resolved first), a corrupted and a
 * missing worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifact_info.h"
#include "boot_internal.h"
#include "grpc_server.h"
#include "job_names.h"

#define WORKER_BYTES "#!/bin/sh\necho the worker\n"

static char dir[64];
static char worker_sha[BEAM_SHA256_HEX_LEN + 1];

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Any file left in d (a refused download must leave none, not even its .part). */
static int count_files(const char *d) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | wc -l", d);
  FILE *p = popen(cmd, "r");
  int n = -1;
  if (p && fscanf(p, "%d", &n) != 1) n = -1;
  if (p) pclose(p);
  return n;
}

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/beam-test-boot-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  beam_sha256 h;
  if (beam_sha256_begin(&h, NULL) != BEAM_OK) return -1;
  beam_sha256_update(&h, WORKER_BYTES, strlen(WORKER_BYTES));
  beam_sha256_end_hex(&h, worker_sha);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void flags_in_every_form(void **state) {
  (void)state;
  char *argv[] = {"boot", "--id=w1", "-provision_endpoint", "localhost:1", "--runner_flag=3", "--other", "value",
                  "--logging_endpoint", "localhost:2", "-semi_persist_dir=/x", "--worker_binary=/w", NULL};
  beam_boot_flags f;
  beam_error err = {0};
  char noted[512] = {0};
  FILE *note = fmemopen(noted, sizeof noted - 1, "w");
  assert_int_equal(beam_boot_parse_flags(11, argv, &f, note, &err), BEAM_OK);
  fclose(note);
  assert_string_equal(f.id, "w1");
  assert_string_equal(f.provision_endpoint, "localhost:1");
  assert_string_equal(f.logging_endpoint, "localhost:2");
  assert_string_equal(f.semi_persist_dir, "/x");
  assert_string_equal(f.worker_binary, "/w");
  assert_null(f.control_endpoint);
  assert_null(f.artifact_endpoint);
  /* Unknown flags are noted, and "value" was taken as --other's value, not a flag. */
  assert_non_null(strstr(noted, "ignoring unknown flag --runner_flag=3"));
  assert_non_null(strstr(noted, "ignoring unknown flag --other"));
  assert_null(strstr(noted, "value"));
}

static void provision_endpoint_is_required(void **state) {
  (void)state;
  char *argv[] = {"boot", "--id=w1", "--control_endpoint=localhost:3", NULL};
  beam_boot_flags f;
  beam_error err = {0};
  assert_int_equal(beam_boot_parse_flags(3, argv, &f, NULL, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "--provision_endpoint is required"));
  char *ok[] = {"boot", "--provision_endpoint=localhost:1", NULL};
  assert_int_equal(beam_boot_parse_flags(2, ok, &f, NULL, &err), BEAM_OK);
  assert_string_equal(f.semi_persist_dir, "/tmp");
  assert_null(f.id);
}

static void download_checks_sha256(void **state) {
  (void)state;
  char sub[128], path[192];
  snprintf(sub, sizeof sub, "%s/download", dir);
  assert_int_equal(mkdir(sub, 0755), 0);
  beam_boot_download d;
  beam_error err = {0};
  /* Right bytes: renamed into place, with a descriptor of the checked file. */
  assert_int_equal(beam_boot_download_begin(&d, sub, "good", worker_sha, &err), BEAM_OK);
  assert_int_equal(beam_boot_download_write(&d, WORKER_BYTES, 10, &err), BEAM_OK);
  assert_int_equal(beam_boot_download_write(&d, &WORKER_BYTES[10], strlen(WORKER_BYTES) - 10, &err), BEAM_OK);
  int fd = -1;
  assert_int_equal(beam_boot_download_finish(&d, &fd, &err), BEAM_OK);
  assert_true(fd >= 0);
  char back[64] = {0};
  assert_int_equal(read(fd, back, sizeof back - 1), (ssize_t)strlen(WORKER_BYTES));
  assert_string_equal(back, WORKER_BYTES);
  close(fd);
  snprintf(path, sizeof path, "%s/good", sub);
  assert_true(exists(path));
  assert_int_equal(unlink(path), 0);
  /* One byte off: refused with both digests named, and nothing left behind. */
  assert_int_equal(beam_boot_download_begin(&d, sub, "corrupt", worker_sha, &err), BEAM_OK);
  assert_int_equal(beam_boot_download_write(&d, "#!/bin/sh\necho the workeR\n", strlen(WORKER_BYTES), &err), BEAM_OK);
  assert_int_equal(beam_boot_download_finish(&d, &fd, &err), BEAM_ERR_MALFORMED);
  assert_int_equal(fd, -1);
  assert_non_null(strstr(err.message, "artifact corrupt: sha256 mismatch"));
  assert_non_null(strstr(err.message, worker_sha));
  assert_non_null(strstr(err.message, "refusing a corrupted download"));
  assert_int_equal(count_files(sub), 0);
  /* No sha256 in the artifact: nothing to check, the bytes are kept. */
  assert_int_equal(beam_boot_download_begin(&d, sub, "unchecked", NULL, &err), BEAM_OK);
  assert_int_equal(beam_boot_download_write(&d, "x", 1, &err), BEAM_OK);
  assert_int_equal(beam_boot_download_finish(&d, NULL, &err), BEAM_OK);
  assert_int_equal(count_files(sub), 1);
}

/* The runner: GetProvisionInfo names itself as every endpoint and one FILE dependency staged
 * as beam-c-worker with WORKER_BYTES' digest; GetArtifact serves `served`. */
typedef struct fake_runner {
  char endpoint[64];
  const char *served;
  bool no_dependencies;
  bool deferred; /* list the worker as a DEFERRED artifact that ResolveArtifacts turns into the FILE one */
  int artifact_calls, resolve_calls;
} fake_runner;

#define DEFERRED_URN "beam:artifact:type:deferred:v1"

/* The FILE artifact staged as beam-c-worker with WORKER_BYTES' digest (memory from a). */
static PIPE(ArtifactInformation) *worker_artifact(beam_arena *a) {
  PIPE(ArtifactInformation) *dep = NULL;
  assert_int_equal(beam_artifact_file_new("/launcher/file_etl", worker_sha, BEAM_WORKER_ARTIFACT_NAME, a, &dep, NULL),
                   BEAM_OK);
  return dep;
}

static grpc_status_code provision_handler(void *user, const uint8_t *req, size_t len, beam_buf *resp,
                                          beam_error *err) {
  (void)req, (void)len, (void)err;
  fake_runner *r = user;
  beam_arena a = {0};
  PIPE(ArtifactInformation) *dep = worker_artifact(&a);
  PIPE(ArtifactInformation) deferred = PIPE_INIT(ARTIFACT_INFORMATION);
  deferred.type_urn = DEFERRED_URN;
  if (r->deferred) dep = &deferred;
  PIPE(ApiServiceDescriptor) ep = PIPE_INIT(API_SERVICE_DESCRIPTOR);
  ep.url = r->endpoint;
  FN(ProvisionInfo) info = FN_INIT(PROVISION_INFO);
  info.control_endpoint = info.logging_endpoint = info.artifact_endpoint = &ep;
  info.dependencies = &dep;
  info.n_dependencies = r->no_dependencies ? 0 : 1;
  FN(GetProvisionInfoResponse) out = FN_INIT(GET_PROVISION_INFO_RESPONSE);
  out.info = &info;
  assert_int_equal(beam_buf_reserve(resp, FN_FN(get_provision_info_response__get_packed_size)(&out)), BEAM_OK);
  resp->len = FN_FN(get_provision_info_response__pack)(&out, resp->data);
  beam_arena_free(&a);
  return GRPC_STATUS_OK;
}

static grpc_status_code artifact_handler(void *user, const uint8_t *req, size_t len, beam_buf *resp,
                                         beam_error *err) {
  fake_runner *r = user;
  r->artifact_calls++;
  JOB(GetArtifactRequest) *in = JOB_FN(get_artifact_request__unpack)(NULL, len, req);
  assert_non_null(in);
  beam_artifact_desc d;
  assert_int_equal(beam_artifact_describe(in->artifact, &d, err), BEAM_OK);
  assert_string_equal(d.path, "/launcher/file_etl");
  assert_string_equal(d.staged_name, BEAM_WORKER_ARTIFACT_NAME);
  beam_artifact_desc_free(&d);
  JOB_FN(get_artifact_request__free_unpacked)(in, NULL);
  JOB(GetArtifactResponse) chunk = JOB_INIT(GET_ARTIFACT_RESPONSE);
  chunk.data.data = (uint8_t *)r->served;
  chunk.data.len = strlen(r->served);
  assert_int_equal(beam_buf_reserve(resp, JOB_FN(get_artifact_response__get_packed_size)(&chunk)), BEAM_OK);
  resp->len = JOB_FN(get_artifact_response__pack)(&chunk, resp->data);
  return GRPC_STATUS_OK;
}

static grpc_status_code resolve_handler(void *user, const uint8_t *req, size_t len, beam_buf *resp,
                                        beam_error *err) {
  (void)err;
  fake_runner *r = user;
  r->resolve_calls++;
  JOB(ResolveArtifactsRequest) *in = JOB_FN(resolve_artifacts_request__unpack)(NULL, len, req);
  assert_non_null(in);
  assert_int_equal(in->n_artifacts, 1);
  assert_string_equal(in->artifacts[0]->type_urn, DEFERRED_URN);
  JOB_FN(resolve_artifacts_request__free_unpacked)(in, NULL);
  beam_arena a = {0};
  PIPE(ArtifactInformation) *file = worker_artifact(&a);
  JOB(ResolveArtifactsResponse) out = JOB_INIT(RESOLVE_ARTIFACTS_RESPONSE);
  out.replacements = &file;
  out.n_replacements = 1;
  assert_int_equal(beam_buf_reserve(resp, JOB_FN(resolve_artifacts_response__get_packed_size)(&out)), BEAM_OK);
  resp->len = JOB_FN(resolve_artifacts_response__pack)(&out, resp->data);
  beam_arena_free(&a);
  return GRPC_STATUS_OK;
}

static beam_grpc_server *start_runner(fake_runner *r) {
  beam_grpc_method methods[] = {
      {"/org.apache.beam.model.fn_execution.v1.ProvisionService/GetProvisionInfo", provision_handler, r},
      {"/org.apache.beam.model.job_management.v1.ArtifactRetrievalService/GetArtifact", artifact_handler, r},
      {"/org.apache.beam.model.job_management.v1.ArtifactRetrievalService/ResolveArtifacts", resolve_handler, r},
  };
  beam_grpc_server *server = NULL;
  beam_error err = {0};
  assert_int_equal(beam_grpc_server_start("127.0.0.1:0", methods, 3, &server, &err), BEAM_OK);
  snprintf(r->endpoint, sizeof r->endpoint, "127.0.0.1:%d", beam_grpc_server_port(server));
  return server;
}

static bool has_arg(const beam_boot_plan *p, const char *arg) {
  for (size_t i = 0; i < p->argc; i++)
    if (strcmp(p->argv[i], arg) == 0) return true;
  return false;
}

static void prepare_fetches_and_picks_the_staged_worker(void **state) {
  (void)state;
  fake_runner r = {.served = WORKER_BYTES};
  beam_grpc_server *server = start_runner(&r);
  char semi[128], expect[256];
  snprintf(semi, sizeof semi, "%s/semi/persist", dir);
  beam_boot_flags f = {.id = "w1", .provision_endpoint = r.endpoint, .control_endpoint = "ignored:1",
                       .semi_persist_dir = semi};
  beam_boot_plan plan;
  beam_error err = {0};
  beam_status s = beam_boot_prepare(&f, &plan, &err);
  beam_grpc_server_stop_and_free(server);
  assert_int_equal(s, BEAM_OK);
  assert_int_equal(r.artifact_calls, 1);
  assert_int_equal(r.resolve_calls, 0); /* FILE artifacts are fetched as they are */
  snprintf(expect, sizeof expect, "%s/staged/beam-c-worker", semi);
  assert_string_equal(plan.worker, expect);
  assert_true(plan.worker_fd >= 0);
  assert_int_equal(access(expect, X_OK), 0);
  assert_string_equal(plan.argv[0], expect);
  assert_string_equal(plan.argv[1], "--worker");
  assert_true(has_arg(&plan, "--id=w1"));
  /* ProvisionInfo's endpoints win over the flags. */
  snprintf(expect, sizeof expect, "--control_endpoint=%s", r.endpoint);
  assert_true(has_arg(&plan, expect));
  snprintf(expect, sizeof expect, "--artifact_endpoint=%s", r.endpoint);
  assert_true(has_arg(&plan, expect));
  snprintf(expect, sizeof expect, "--semi_persist_dir=%s", semi);
  assert_true(has_arg(&plan, expect));
  assert_null(plan.argv[plan.argc]);
  beam_boot_plan_free(&plan);
}

static void a_deferred_artifact_is_resolved_first(void **state) {
  (void)state;
  fake_runner r = {.served = WORKER_BYTES, .deferred = true};
  beam_grpc_server *server = start_runner(&r);
  char semi[128];
  snprintf(semi, sizeof semi, "%s/deferred", dir);
  beam_boot_flags f = {.id = "w5", .provision_endpoint = r.endpoint, .semi_persist_dir = semi};
  beam_boot_plan plan;
  beam_error err = {0};
  beam_status s = beam_boot_prepare(&f, &plan, &err);
  beam_grpc_server_stop_and_free(server);
  assert_int_equal(s, BEAM_OK);
  assert_int_equal(r.resolve_calls, 1);
  assert_int_equal(r.artifact_calls, 1);
  assert_true(plan.worker_fd >= 0);
  assert_non_null(strstr(plan.worker, "/deferred/staged/beam-c-worker"));
  beam_boot_plan_free(&plan);
}

static void prepare_refuses_a_corrupted_worker(void **state) {
  (void)state;
  fake_runner r = {.served = "#!/bin/sh\necho the w0rker\n"};
  beam_grpc_server *server = start_runner(&r);
  char semi[128], staged[192];
  snprintf(semi, sizeof semi, "%s/corrupt", dir);
  beam_boot_flags f = {.id = "w2", .provision_endpoint = r.endpoint, .semi_persist_dir = semi};
  beam_boot_plan plan;
  beam_error err = {0};
  beam_status s = beam_boot_prepare(&f, &plan, &err);
  beam_grpc_server_stop_and_free(server);
  assert_int_equal(s, BEAM_ERR_MALFORMED);
  assert_non_null(strstr(err.message, "artifact 0 (beam:artifact:type:file:v1 /launcher/file_etl)"));
  assert_non_null(strstr(err.message, "artifact beam-c-worker: sha256 mismatch"));
  assert_null(plan.worker);
  snprintf(staged, sizeof staged, "%s/staged", semi);
  assert_int_equal(count_files(staged), 0);
}

static void without_a_staged_worker_the_baked_one_runs(void **state) {
  (void)state;
  fake_runner r = {.no_dependencies = true};
  beam_grpc_server *server = start_runner(&r);
  char semi[128];
  snprintf(semi, sizeof semi, "%s/baked", dir);
  beam_boot_flags f = {.id = "w3", .provision_endpoint = r.endpoint, .semi_persist_dir = semi,
                       .worker_binary = "/nonexistent/worker"};
  beam_boot_plan plan;
  beam_error err = {0};
  assert_int_equal(beam_boot_prepare(&f, &plan, &err), BEAM_ERR_NOT_FOUND);
  assert_non_null(strstr(err.message, "no worker binary: none of the 0 staged artifacts is named beam-c-worker"));
  assert_non_null(strstr(err.message, "/nonexistent/worker (--worker_binary)"));
  f.worker_binary = "/bin/true";
  assert_int_equal(beam_boot_prepare(&f, &plan, &err), BEAM_OK);
  beam_grpc_server_stop_and_free(server);
  assert_string_equal(plan.worker, "/bin/true");
  assert_int_equal(plan.worker_fd, -1);
  assert_int_equal(r.artifact_calls, 0);
  beam_boot_plan_free(&plan);
}

static void unreachable_provision_service_fails_fast(void **state) {
  (void)state;
  beam_boot_flags f = {.id = "w4", .provision_endpoint = "127.0.0.1:1", .semi_persist_dir = dir};
  beam_boot_plan plan;
  beam_error err = {0};
  assert_int_equal(beam_boot_prepare(&f, &plan, &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "GetProvisionInfo from 127.0.0.1:1"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(flags_in_every_form),
      cmocka_unit_test(provision_endpoint_is_required),
      cmocka_unit_test(download_checks_sha256),
      cmocka_unit_test(prepare_fetches_and_picks_the_staged_worker),
      cmocka_unit_test(a_deferred_artifact_is_resolved_first),
      cmocka_unit_test(prepare_refuses_a_corrupted_worker),
      cmocka_unit_test(without_a_staged_worker_the_baked_one_runs),
      cmocka_unit_test(unreachable_provision_service_fails_fast),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
