/* The launcher's side of worker staging: which environments get the worker binary, the
 * artifact it becomes (FILE payload with path and sha256, staging_to role), and its addition
 * to (and removal from) every environment of a pipeline. The exchange with real job services
 * is tested in tests/peers (prism_boot, flink_boot, python_stage_worker). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifact_info.h"
#include "beam/urns.h"
#include "portable_artifacts.h"
#include "portable_environment.h"

static void which_environments_stage_the_worker(void **state) {
  (void)state;
  assert_true(beam_environment_stages_worker("DOCKER", "beam-c:latest", false));
  assert_true(beam_environment_stages_worker("docker", NULL, false));
  assert_false(beam_environment_stages_worker("PROCESS", NULL, false));
  assert_false(beam_environment_stages_worker(NULL, NULL, false));
  assert_false(beam_environment_stages_worker("PROCESS", "/usr/bin/file_etl", false));
  assert_true(beam_environment_stages_worker("PROCESS", "/opt/apache/beam/boot", false));
  assert_true(beam_environment_stages_worker(NULL, "{\"command\": \"/x/boot\"}", false));
  assert_false(beam_environment_stages_worker("PROCESS", "{\"command\": \"/x/reboot\"}", false));
  assert_false(beam_environment_stages_worker("PROCESS", "{\"cmd\": \"/x/boot\"}", false));
  assert_false(beam_environment_stages_worker("EXTERNAL", "127.0.0.1:5000", false));
  assert_true(beam_environment_stages_worker("EXTERNAL", "127.0.0.1:5000", true));
  assert_true(beam_environment_stages_worker("PROCESS", NULL, true));
}

static void the_worker_artifact(void **state) {
  (void)state;
  beam_stage_plan plan = {0};
  beam_error err = {0};
  assert_int_equal(beam_stage_plan_worker(&plan, NULL, &err), BEAM_OK);
  char self[BEAM_SHA256_HEX_LEN + 1];
  assert_int_equal(beam_sha256_file("/proc/self/exe", self, &err), BEAM_OK);
  assert_string_equal(plan.sha256, self);
  assert_int_equal(plan.n_deps, 1);
  const PIPE(ArtifactInformation) *ai = plan.deps[0];
  assert_string_equal(ai->type_urn, "beam:artifact:type:file:v1");
  assert_string_equal(ai->role_urn, "beam:artifact:role:staging_to:v1");
  beam_artifact_desc d;
  assert_int_equal(beam_artifact_describe(ai, &d, &err), BEAM_OK);
  assert_string_equal(d.path, plan.path);
  assert_string_equal(d.sha256, self);
  assert_string_equal(d.staged_name, "beam-c-worker");
  assert_non_null(strstr(plan.path, "test_portable_staging"));
  beam_artifact_desc_free(&d);
  beam_stage_plan_free(&plan);

  assert_int_equal(beam_stage_plan_worker(&plan, "/nonexistent/worker", &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "worker binary /nonexistent/worker"));
  beam_stage_plan_free(&plan);
  char data[] = "/tmp/beam-test-staging-XXXXXX";
  int fd = mkstemp(data); /* mode 0600: not executable, even for root */
  assert_true(fd >= 0);
  close(fd);
  beam_status s = beam_stage_plan_worker(&plan, data, &err);
  unlink(data);
  assert_int_equal(s, BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "is not executable"));
  beam_stage_plan_free(&plan);
}

static void every_environment_gets_the_worker_and_gives_it_back(void **state) {
  (void)state;
  PIPE(ArtifactInformation) own = PIPE_INIT(ARTIFACT_INFORMATION);
  PIPE(ArtifactInformation) *own_deps[] = {&own};
  PIPE(Environment) env1 = PIPE_INIT(ENVIRONMENT), env2 = PIPE_INIT(ENVIRONMENT);
  env1.urn = env2.urn = "beam:env:default:v1";
  env2.dependencies = own_deps;
  env2.n_dependencies = 1;
  PIPE(Components__EnvironmentsEntry) e1 = PIPE_INIT(COMPONENTS__ENVIRONMENTS_ENTRY);
  PIPE(Components__EnvironmentsEntry) e2 = PIPE_INIT(COMPONENTS__ENVIRONMENTS_ENTRY);
  e1.key = "env1", e1.value = &env1;
  e2.key = "env2", e2.value = &env2;
  PIPE(Components__EnvironmentsEntry) *entries[] = {&e1, &e2};
  PIPE(Components) components = PIPE_INIT(COMPONENTS);
  components.environments = entries;
  components.n_environments = 2;
  PIPE(Pipeline) pl = PIPE_INIT(PIPELINE);
  pl.components = &components;

  beam_stage_plan plan = {0};
  beam_error err = {0};
  assert_int_equal(beam_stage_plan_worker(&plan, NULL, &err), BEAM_OK);
  beam_arena a = {0};
  beam_environment_saved *saved = NULL;
  size_t n_saved = 0;
  assert_int_equal(beam_environment_apply(&pl, "DOCKER", "beam-c:latest", plan.deps, plan.n_deps, &a, &saved,
                                          &n_saved, &err),
                   BEAM_OK);
  assert_int_equal(n_saved, 2);
  assert_string_equal(env1.urn, BEAM_URN_ENV_DOCKER);
  assert_int_equal(env1.n_dependencies, 1);
  assert_ptr_equal(env1.dependencies[0], plan.deps[0]);
  assert_int_equal(env2.n_dependencies, 2); /* its own first, then the worker */
  assert_ptr_equal(env2.dependencies[0], &own);
  assert_ptr_equal(env2.dependencies[1], plan.deps[0]);
  beam_environment_restore(saved, n_saved);
  assert_string_equal(env1.urn, "beam:env:default:v1");
  assert_int_equal(env1.n_dependencies, 0);
  assert_null(env1.dependencies);
  assert_int_equal(env2.n_dependencies, 1);
  assert_ptr_equal(env2.dependencies, own_deps);
  beam_arena_free(&a);
  beam_stage_plan_free(&plan);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(which_environments_stage_the_worker),
      cmocka_unit_test(the_worker_artifact),
      cmocka_unit_test(every_environment_gets_the_worker_and_gives_it_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
