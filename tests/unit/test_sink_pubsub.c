/* The pubsub sink without a server: its URI, clear errors at open, per-row refusals, and
 * the bundle bookkeeping that needs no network (publishing is tested against the emulator
 * in tests/peers/pubsub). The emulator address points at a closed port: nothing here may
 * try to send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/sink.h"
#include "beam/transforms/sink_pubsub.h"
#include "pubsub_internal.h"

static beam_etl_field fields[] = {{"id", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},
                                  {"user", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
                                  {"n", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},
                                  {"amount", BEAM_ETL_FLOAT64, BEAM_ETL_NULLABLE}};
static const beam_etl_schema schema = {fields, 4};

static void test_target_parse(void **state) {
  (void)state;
  beam_pubsub_target t;
  beam_error err = {0};
  assert_int_equal(beam_pubsub_target_parse("projects/my-proj/topics/events.v1", &t, &err), BEAM_OK);
  assert_string_equal(t.topic, "projects/my-proj/topics/events.v1");
  assert_null(t.ordering_field);
  assert_null(t.endpoint);
  beam_pubsub_target_free(&t);
  assert_int_equal(beam_pubsub_target_parse("projects/p/topics/abc?ordering_key=user_id&endpoint=h:443", &t, &err),
                   BEAM_OK);
  assert_string_equal(t.topic, "projects/p/topics/abc");
  assert_string_equal(t.ordering_field, "user_id");
  assert_string_equal(t.endpoint, "h:443");
  beam_pubsub_target_free(&t);
  const char *bad[] = {"topics/abc",     "projects//topics/abc", "projects/p/topic/abc", "projects/p/topics/ab",
                       "projects/p/topics/1abc", "projects/p/topics/googthing", "projects/p/topics/a b c",
                       "projects/P/topics/abc", "projects/p/topics/abc?bogus=1", "projects/p/topics/abc?ordering_key"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    memset(&err, 0, sizeof err);
    if (beam_pubsub_target_parse(bad[i], &t, &err) == BEAM_OK) fail_msg("accepted %s", bad[i]);
    assert_int_equal(err.code, BEAM_ERR_INVALID_ARG);
  }
}

static void test_open_needs_credentials(void **state) {
  (void)state;
  unsetenv("PUBSUB_EMULATOR_HOST");
  /* Without a provider the sink uses Application Default Credentials: a key file that is
   * not there fails the open, naming it and the emulator variable. */
  setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/beam-c-test-key.json", 1);
  beam_sink_pubsub_set_token_provider(NULL, NULL);
  beam_sink *s = NULL;
  beam_error err = {0};
  assert_int_not_equal(beam_sink_open("pubsub:projects/p/topics/abc", NULL, &s, &err), BEAM_OK);
  assert_null(s);
  assert_non_null(strstr(err.message, "PUBSUB_EMULATOR_HOST"));
  assert_non_null(strstr(err.message, "beam-c-test-key.json"));
  unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  memset(&err, 0, sizeof err);
  assert_int_not_equal(beam_sink_open("pubsub:projects/p/topics/go", NULL, &s, &err), BEAM_OK);
  assert_non_null(strstr(err.message, "topic id"));
}

static beam_sink *open_offline(const char *uri) {
  setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:1", 1);
  beam_sink *s = NULL;
  beam_error err = {0};
  if (beam_sink_open(uri, NULL, &s, &err) != BEAM_OK) fail_msg("open %s: %s", uri, err.message);
  return s;
}

static void test_refusals_and_offline_bundles(void **state) {
  (void)state;
  beam_sink *s = open_offline("pubsub:projects/p/topics/abc?ordering_key=user");
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "events", &schema, &err), BEAM_OK);
  char *huge = malloc(6000000);
  memset(huge, 'x', 6000000);
  char long_key[1100];
  memset(long_key, 'k', sizeof long_key);
  beam_value v[4][4] = {
      {beam_value_string("a", 1), beam_value_string(long_key, sizeof long_key), beam_value_null(), beam_value_null()},
      {beam_value_string("b", 1), beam_value_string("\xff\xfe", 2), beam_value_null(), beam_value_null()},
      {beam_value_string(huge, 6000000), beam_value_null(), beam_value_null(), beam_value_null()},
      {beam_value_null(), beam_value_null(), beam_value_null(), beam_value_null()},
  };
  beam_etl_row rows[4];
  for (int i = 0; i < 4; i++) rows[i] = (beam_etl_row){.schema = &schema, .values = v[i]};
  beam_sink_row_errors rejected = BEAM_SINK_ROW_ERRORS_INIT;
  assert_int_equal(beam_sink_begin(s, "bundle-1", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "events", rows, 4, &rejected, &err), BEAM_OK);
  assert_int_equal(rejected.len, 4);
  assert_non_null(strstr(rejected.items[0].reason, "1100 bytes"));
  assert_non_null(strstr(rejected.items[1].reason, "UTF-8"));
  assert_non_null(strstr(rejected.items[2].reason, "limit"));
  assert_non_null(strstr(rejected.items[3].reason, "REQUIRED"));
  /* Nothing to publish: the commit needs no server, and the id is remembered. */
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  assert_int_equal(beam_sink_begin(s, "bundle-1", &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  /* An aborted bundle's rows are dropped unsent. */
  beam_value ok[4] = {beam_value_string("c", 1), beam_value_string("u1", 2), beam_value_int64(3), beam_value_double(1.5)};
  beam_etl_row good = {.schema = &schema, .values = ok};
  assert_int_equal(beam_sink_begin(s, "bundle-2", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "events", &good, 1, &rejected, &err), BEAM_OK);
  assert_int_equal(rejected.len, 0);
  beam_sink_abort(s);
  /* A table not ensured is an error; a float ordering field is refused at ensure. */
  assert_int_equal(beam_sink_begin(s, "bundle-3", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "other", &good, 1, &rejected, &err), BEAM_ERR_NOT_FOUND);
  beam_sink_abort(s);
  beam_sink_row_errors_free(&rejected);
  free(huge);
  assert_int_equal(beam_sink_close(s, &err), BEAM_OK);
  beam_sink_free(s);

  s = open_offline("pubsub:projects/p/topics/abc?ordering_key=amount");
  assert_int_equal(beam_sink_ensure_table(s, "events", &schema, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "amount"));
  beam_sink_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_target_parse),
      cmocka_unit_test(test_open_needs_credentials),
      cmocka_unit_test(test_refusals_and_offline_bundles),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
