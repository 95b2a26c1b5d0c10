/* A PubsubMessage to bytes and back (pubsub_message.h): what the stream source encodes is
 * what ReadMessages decodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/pubsub_message.h"

static void round_trips(void **state) {
  (void)state;
  beam_pubsub_attribute attrs[] = {{"kind", "order"}, {"ts", "1700000000123"}};
  static const uint8_t data[] = {'{', '}', 0, 0xff};
  beam_pubsub_message m = {.data = data, .data_len = sizeof data, .attributes = attrs, .n_attributes = 2,
                           .message_id = "42", .publish_time_us = 1700000000123456, .ordering_key = "k",
                           .ack_id = "not encoded"};
  beam_buf buf = BEAM_BUF_INIT;
  beam_error err = {0};
  assert_int_equal(beam_pubsub_message_encode(&m, &buf, &err), BEAM_OK);
  beam_arena arena = {0};
  beam_pubsub_message out;
  assert_int_equal(beam_pubsub_message_decode(buf.data, buf.len, &arena, &out, &err), BEAM_OK);
  assert_int_equal(out.data_len, sizeof data);
  assert_memory_equal(out.data, data, sizeof data);
  assert_string_equal(out.message_id, "42");
  assert_int_equal(out.publish_time_us, 1700000000123456);
  assert_string_equal(out.ordering_key, "k");
  assert_string_equal(out.ack_id, "");
  assert_int_equal(out.n_attributes, 2);
  assert_string_equal(beam_pubsub_message_attribute(&out, "kind"), "order");
  assert_string_equal(beam_pubsub_message_attribute(&out, "ts"), "1700000000123");
  assert_null(beam_pubsub_message_attribute(&out, "missing"));
  /* Before 1970: nanos stay non-negative and the time comes back. */
  m.publish_time_us = -1500000;
  beam_buf_reset(&buf);
  assert_int_equal(beam_pubsub_message_encode(&m, &buf, &err), BEAM_OK);
  assert_int_equal(beam_pubsub_message_decode(buf.data, buf.len, &arena, &out, &err), BEAM_OK);
  assert_int_equal(out.publish_time_us, -1500000);
  beam_buf_free(&buf);
  beam_arena_free(&arena);
}

static void refuses_garbage(void **state) {
  (void)state;
  static const uint8_t garbage[] = {0x0a, 0x7f};
  beam_arena arena = {0};
  beam_pubsub_message out;
  beam_error err = {0};
  assert_int_equal(beam_pubsub_message_decode(garbage, sizeof garbage, &arena, &out, &err), BEAM_ERR_MALFORMED);
  assert_non_null(strstr(err.message, "PubsubMessage"));
  beam_arena_free(&arena);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(round_trips), cmocka_unit_test(refuses_garbage)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
