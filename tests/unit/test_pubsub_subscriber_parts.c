/* The Pub/Sub subscriber's parts that need no server: the leased ack ids (counts, bytes,
 * oldest-first order, removal from anywhere, growth past many buckets), the copy of a
 * received message (every field, publish time in microseconds, the size flow control
 * counts) and the checks open makes before it connects (names, option ranges). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pubsub_subscriber_int.h"

static void leases_count_order_and_remove(void **state) {
  (void)state;
  beam_pubsub_leases t = {0};
  char id[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(id, sizeof id, "ack-%d", i);
    assert_int_equal(beam_pubsub_leases_add(&t, id, (size_t)i % 7, 1000 - i, i), BEAM_OK);
  }
  assert_int_equal(beam_pubsub_leases_add(&t, "ack-3", 100, 5, 0), BEAM_OK); /* already there: unchanged */
  assert_int_equal(t.count, 5000);
  int64_t bytes = 0;
  for (int i = 0; i < 5000; i++) bytes += i % 7;
  assert_int_equal(t.bytes, bytes);
  for (int i = 0; i < 5000; i += 2) {
    snprintf(id, sizeof id, "ack-%d", i);
    assert_true(beam_pubsub_leases_remove(&t, id));
  }
  assert_false(beam_pubsub_leases_remove(&t, "ack-0"));
  assert_false(beam_pubsub_leases_remove(&t, "nothing"));
  assert_int_equal(t.count, 2500);
  int expect = 1;
  for (beam_pubsub_lease *l = t.head; l; l = l->next, expect += 2) {
    snprintf(id, sizeof id, "ack-%d", expect);
    assert_string_equal(l->ack_id, id);
  }
  assert_int_equal(expect, 5001);
  assert_string_equal(t.tail->ack_id, "ack-4999");
  /* published at 1000 - i: the oldest left is ack-4999's (ack-4998 went) */
  assert_int_equal(beam_pubsub_leases_oldest_publish_us(&t), 1000 - 4999);
  beam_pubsub_leases_free(&t);
  assert_int_equal(beam_pubsub_leases_oldest_publish_us(&t), 0);
  assert_false(beam_pubsub_leases_remove(&t, "ack-1"));
}

static void received_copy_keeps_every_field(void **state) {
  (void)state;
  Google__Pubsub__V1__PubsubMessage__AttributesEntry a[2] = {GOOGLE__PUBSUB__V1__PUBSUB_MESSAGE__ATTRIBUTES_ENTRY__INIT,
                                                            GOOGLE__PUBSUB__V1__PUBSUB_MESSAGE__ATTRIBUTES_ENTRY__INIT};
  Google__Pubsub__V1__PubsubMessage__AttributesEntry *ap[2] = {&a[0], &a[1]};
  a[0].key = "eventType";
  a[0].value = "OBJECT_FINALIZE";
  a[1].key = "bucketId";
  a[1].value = "b";
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = 1764979200;
  ts.nanos = 123456789;
  Google__Pubsub__V1__PubsubMessage m = GOOGLE__PUBSUB__V1__PUBSUB_MESSAGE__INIT;
  static const uint8_t data[] = {'{', 0, 0xff, '}'};
  m.data.data = (uint8_t *)data;
  m.data.len = sizeof data;
  m.attributes = ap;
  m.n_attributes = 2;
  m.message_id = "42";
  m.publish_time = &ts;
  m.ordering_key = "k1";
  Google__Pubsub__V1__ReceivedMessage rm = GOOGLE__PUBSUB__V1__RECEIVED_MESSAGE__INIT;
  rm.ack_id = "42:1";
  rm.message = &m;
  rm.delivery_attempt = 3;
  beam_pubsub_received *r = beam_pubsub_received_copy(&rm);
  assert_non_null(r);
  assert_int_equal(r->msg.data_len, 4);
  assert_memory_equal(r->msg.data, data, 4);
  assert_int_equal(r->msg.n_attributes, 2);
  assert_string_equal(r->msg.attributes[0].key, "eventType");
  assert_string_equal(r->msg.attributes[1].value, "b");
  assert_string_equal(r->msg.message_id, "42");
  assert_string_equal(r->msg.ordering_key, "k1");
  assert_string_equal(r->msg.ack_id, "42:1");
  assert_int_equal(r->msg.delivery_attempt, 3);
  assert_int_equal(r->msg.publish_time_us, 1764979200123456LL);
  assert_int_equal(r->msg.size, google__pubsub__v1__pubsub_message__get_packed_size(&m));
  free(r);
  rm.message = NULL; /* a server could send none: empty fields, not a crash */
  r = beam_pubsub_received_copy(&rm);
  assert_non_null(r);
  assert_int_equal(r->msg.data_len, 0);
  assert_string_equal(r->msg.message_id, "");
  free(r);
}

static const char *fixed_token(void *ctx, beam_error *err) {
  (void)ctx;
  (void)err;
  return "token";
}

static void open_refuses_bad_names_and_options(void **state) {
  (void)state;
  setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:1", 1); /* never reached: the checks come first */
  static const struct {
    const char *name;
    int deadline;
    const char *needle;
  } cases[] = {
      {"subscriptions/s", 0, "expected projects/PROJECT/subscriptions/SUBSCRIPTION"},
      {"projects/P/subscriptions/sub", 0, "bad project"},
      {"projects/p/topics/sub", 0, "expected projects/PROJECT/subscriptions/SUBSCRIPTION"},
      {"projects/p/subscriptions/goog-sub", 0, "not with \"goog\""},
      {"projects/p/subscriptions/a b c", 0, "must be 3-255"},
      {"projects/p/subscriptions/sub", 601, "stream_ack_deadline_seconds 601"},
      {"projects/p/subscriptions/sub", -1, "stream_ack_deadline_seconds -1"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    beam_pubsub_subscriber_options o = {.stream_ack_deadline_seconds = cases[i].deadline};
    beam_pubsub_subscriber *s = NULL;
    beam_error err = {0};
    assert_int_equal(beam_pubsub_subscriber_open(cases[i].name, &o, &s, &err), BEAM_ERR_INVALID_ARG);
    assert_null(s);
    if (!strstr(err.message, cases[i].needle)) fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].name, err.message, cases[i].needle);
  }
  /* Without the emulator the service's range applies (10 to 600): 5 s is refused before
   * anything is sent (a token provider stands in for credentials; gRPC dials lazily). */
  unsetenv("PUBSUB_EMULATOR_HOST");
  beam_pubsub_set_token_provider(fixed_token, NULL);
  beam_pubsub_subscriber_options o = {.stream_ack_deadline_seconds = 5};
  beam_pubsub_subscriber *s = NULL;
  beam_error err = {0};
  assert_int_equal(beam_pubsub_subscriber_open("projects/p/subscriptions/sub", &o, &s, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "must be 10 to 600"));
  beam_pubsub_set_token_provider(NULL, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(leases_count_order_and_remove),
      cmocka_unit_test(received_copy_keeps_every_field),
      cmocka_unit_test(open_refuses_bad_names_and_options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
