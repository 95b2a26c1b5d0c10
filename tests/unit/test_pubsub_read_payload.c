/* beam_pubsub_read_payload_decode: what beam_pubsub_read encodes comes back whole (the
 * stream source opens the subscription named in it), and bad payloads are clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/pipeline.h"
#include "beam/urns.h"
#include "proto_lookup.h"
#include "proto_names.h"

/* Encodes a pipeline reading spec and decodes the read's payload back into *out. */
static beam_status round_trip(const beam_pubsub_read_spec *spec, beam_arena *arena, beam_pubsub_read_spec *out,
                              beam_error *err) {
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *pc = beam_pubsub_read(p, "Read", spec);
  assert_non_null(pc);
  beam_buf buf = BEAM_BUF_INIT;
  assert_int_equal(beam_pipeline_encode(p, &buf, err), BEAM_OK);
  PIPE(Pipeline) *proto = PIPE_FN(pipeline__unpack)(NULL, buf.len, buf.data);
  assert_non_null(proto);
  const PIPE(PTransform) *t = beam_proto_find_transform(proto->components, "Read");
  assert_non_null(t);
  assert_string_equal(t->spec->urn, BEAM_URN_PUBSUB_READ);
  beam_status s = beam_pubsub_read_payload_decode(t->spec->payload.data, t->spec->payload.len, arena, out, err);
  PIPE_FN(pipeline__free_unpacked)(proto, NULL);
  beam_buf_free(&buf);
  beam_pipeline_free(p);
  return s;
}

static void decodes_what_the_read_encodes(void **state) {
  (void)state;
  beam_arena arena = {0};
  beam_error err = {0};
  beam_pubsub_read_spec out;
  beam_pubsub_read_spec full = {.subscription = "projects/p/subscriptions/s", .timestamp_attribute = "ts",
                                .id_attribute = "uid", .with_attributes = true};
  assert_int_equal(round_trip(&full, &arena, &out, &err), BEAM_OK);
  assert_string_equal(out.subscription, "projects/p/subscriptions/s");
  assert_null(out.topic);
  assert_string_equal(out.timestamp_attribute, "ts");
  assert_string_equal(out.id_attribute, "uid");
  assert_true(out.with_attributes);
  beam_pubsub_read_spec topic = {.topic = "projects/p/topics/t"};
  assert_int_equal(round_trip(&topic, &arena, &out, &err), BEAM_OK);
  assert_null(out.subscription);
  assert_string_equal(out.topic, "projects/p/topics/t");
  assert_null(out.timestamp_attribute);
  assert_null(out.id_attribute);
  assert_false(out.with_attributes);
  beam_arena_free(&arena);
}

static void refuses_bad_payloads(void **state) {
  (void)state;
  beam_arena arena = {0};
  beam_error err = {0};
  beam_pubsub_read_spec out;
  static const uint8_t garbage[] = {0xff, 0xff, 0xff};
  assert_int_equal(beam_pubsub_read_payload_decode(garbage, sizeof garbage, &arena, &out, &err), BEAM_ERR_MALFORMED);
  assert_non_null(strstr(err.message, "PubSubReadPayload"));
  /* An empty payload decodes (proto3 defaults) but names nothing to read. */
  assert_int_equal(beam_pubsub_read_payload_decode(NULL, 0, &arena, &out, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "neither a subscription nor a topic"));
  beam_arena_free(&arena);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(decodes_what_the_read_encodes),
      cmocka_unit_test(refuses_bad_payloads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
