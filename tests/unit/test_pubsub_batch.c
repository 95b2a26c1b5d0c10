/* The Pub/Sub sink's request planning: message sizes agree with protobuf-c's encoding, and
 * every planned request keeps within the limits (and Pub/Sub's: 1000 messages, 10 MB), holds
 * one ordering key, and together the requests carry every message once, in bundle order
 * within a key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "google/pubsub/v1/pubsub.pb-c.h"
#include "pubsub_internal.h"

#define TOPIC "projects/beam-c-test/topics/rows"
#define TABLE "events_order"
#define ROW_ID "local-123-456-0/Write#123456"

/* Packs one message the way the sink does (two attributes, optional key). */
static size_t packed_message_size(size_t data_len, const char *key) {
  uint8_t *data = calloc(1, data_len ? data_len : 1);
  Google__Pubsub__V1__PubsubMessage m = GOOGLE__PUBSUB__V1__PUBSUB_MESSAGE__INIT;
  Google__Pubsub__V1__PubsubMessage__AttributesEntry a[2] = {GOOGLE__PUBSUB__V1__PUBSUB_MESSAGE__ATTRIBUTES_ENTRY__INIT,
                                                            GOOGLE__PUBSUB__V1__PUBSUB_MESSAGE__ATTRIBUTES_ENTRY__INIT};
  Google__Pubsub__V1__PubsubMessage__AttributesEntry *ap[2] = {&a[0], &a[1]};
  a[0].key = BEAM_PUBSUB_ATTR_TABLE;
  a[0].value = TABLE;
  a[1].key = BEAM_PUBSUB_ATTR_ROW_ID;
  a[1].value = ROW_ID;
  m.data.data = data;
  m.data.len = data_len;
  m.n_attributes = 2;
  m.attributes = ap;
  if (key) m.ordering_key = (char *)key;
  size_t size = google__pubsub__v1__pubsub_message__get_packed_size(&m);
  free(data);
  return size;
}

static void test_message_size_matches_protobuf(void **state) {
  (void)state;
  const size_t lens[] = {0, 1, 100, 127, 128, 200, 16383, 16384, 70000, 2097151, 2097152};
  const char *keys[] = {NULL, "u1", "a-longer-ordering-key-of-some-size"};
  for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
    for (size_t k = 0; k < 3; k++) {
      size_t want = packed_message_size(lens[i], keys[k]);
      size_t got = beam_pubsub_message_size(lens[i], strlen(TABLE), strlen(ROW_ID), keys[k] ? strlen(keys[k]) : 0);
      if (got != want) fail_msg("data %zu key %s: computed %zu, protobuf-c %zu", lens[i], keys[k], got, want);
    }
}

/* A batch of n messages; sizes from size_of(i), keys from key_of(i) (NULL: none). */
static void fill_batch(beam_pubsub_batch *b, size_t n, size_t (*size_of)(size_t), const char *(*key_of)(size_t)) {
  for (size_t i = 0; i < n; i++) {
    size_t off = b->bytes.len, len = size_of(i);
    assert_int_equal(beam_buf_reserve(&b->bytes, len), BEAM_OK);
    memset(b->bytes.data + off, 'x', len);
    b->bytes.len += len;
    const char *key = key_of(i);
    size_t key_len = key ? strlen(key) : 0;
    size_t encoded = beam_pubsub_message_size(len, strlen(TABLE), strlen(ROW_ID), key_len);
    assert_int_equal(beam_pubsub_batch_add(b, off, key, key_len, 0, encoded), BEAM_OK);
  }
}

/* Encodes order[start..end) as a PublishRequest and returns its size. */
static size_t packed_request_size(const beam_pubsub_batch *b, const size_t *order, size_t start, size_t end) {
  size_t k = end - start;
  Google__Pubsub__V1__PubsubMessage *msgs = calloc(k, sizeof *msgs);
  Google__Pubsub__V1__PubsubMessage **ptrs = calloc(k, sizeof *ptrs);
  Google__Pubsub__V1__PubsubMessage__AttributesEntry *attrs = calloc(2 * k, sizeof *attrs);
  Google__Pubsub__V1__PubsubMessage__AttributesEntry **aptrs = calloc(2 * k, sizeof *aptrs);
  for (size_t i = 0; i < k; i++) {
    const beam_pubsub_msg *m = &b->msgs[order[start + i]];
    google__pubsub__v1__pubsub_message__init(&msgs[i]);
    msgs[i].data.data = b->bytes.data + m->data_off;
    msgs[i].data.len = m->data_len;
    for (int j = 0; j < 2; j++) {
      google__pubsub__v1__pubsub_message__attributes_entry__init(&attrs[2 * i + j]);
      attrs[2 * i + j].key = j ? BEAM_PUBSUB_ATTR_ROW_ID : BEAM_PUBSUB_ATTR_TABLE;
      attrs[2 * i + j].value = j ? ROW_ID : TABLE;
      aptrs[2 * i + j] = &attrs[2 * i + j];
    }
    msgs[i].n_attributes = 2;
    msgs[i].attributes = &aptrs[2 * i];
    if (m->key_len) msgs[i].ordering_key = (char *)b->bytes.data + m->key_off;
    ptrs[i] = &msgs[i];
  }
  Google__Pubsub__V1__PublishRequest req = GOOGLE__PUBSUB__V1__PUBLISH_REQUEST__INIT;
  req.topic = TOPIC;
  req.n_messages = k;
  req.messages = ptrs;
  size_t size = google__pubsub__v1__publish_request__get_packed_size(&req);
  free(msgs), free(ptrs), free(attrs), free(aptrs);
  return size;
}

static bool same_key(const beam_pubsub_batch *b, size_t x, size_t y) {
  const beam_pubsub_msg *a = &b->msgs[x], *c = &b->msgs[y];
  return a->key_len == c->key_len && memcmp(b->bytes.data + a->key_off, b->bytes.data + c->key_off, a->key_len) == 0;
}

/* Plans the batch's requests and checks each; returns the number of requests. */
static size_t plan_and_check(const beam_pubsub_batch *b, const beam_pubsub_limits *l) {
  size_t *order;
  assert_int_equal(beam_pubsub_batch_order(b, &order), BEAM_OK);
  bool *seen = calloc(b->n ? b->n : 1, sizeof *seen);
  size_t requests = 0;
  for (size_t start = 0; start < b->n;) {
    size_t end = beam_pubsub_batch_request_end(b, order, b->n, start, l, strlen(TOPIC));
    assert_true(end > start);
    assert_true(end - start <= l->max_messages);
    assert_true(end - start <= 1000);
    size_t size = packed_request_size(b, order, start, end);
    assert_true(size <= l->max_request_bytes);
    assert_true(size <= 10u * 1000 * 1000);
    /* A full request could not have taken the next message of the same key. */
    if (end < b->n && same_key(b, order[start], order[end]) && end - start < l->max_messages)
      assert_true(size + beam_pubsub_message_cost(b->msgs[order[end]].encoded) > l->max_request_bytes);
    for (size_t i = start; i < end; i++) {
      assert_true(same_key(b, order[start], order[i]));
      assert_false(seen[order[i]]);
      seen[order[i]] = true;
      if (i > start) assert_true(b->msgs[order[i]].seq > b->msgs[order[i - 1]].seq);
    }
    requests++;
    start = end;
  }
  for (size_t i = 0; i < b->n; i++) assert_true(seen[i]);
  free(seen);
  free(order);
  return requests;
}

static size_t small(size_t i) { return 100 + i % 50; }
static size_t mixed(size_t i) { return i % 7 == 0 ? 900000 + i : 300 + i % 1000; }
static size_t big(size_t i) { return 2400000 + i; }
static const char *no_key(size_t i) { (void)i; return NULL; }
static const char *five_keys(size_t i) {
  static const char *keys[] = {"u1", "u2", NULL, "user-three", "u4"};
  return keys[(i * 7919) % 5];
}

static const beam_pubsub_limits defaults = {BEAM_PUBSUB_DEFAULT_MAX_MESSAGES, BEAM_PUBSUB_DEFAULT_MAX_REQUEST_BYTES};

static void test_message_count_limit(void **state) {
  (void)state;
  beam_pubsub_batch b = BEAM_PUBSUB_BATCH_INIT;
  fill_batch(&b, 2501, small, no_key);
  assert_int_equal(plan_and_check(&b, &defaults), 6); /* 500 x 5 + 1 */
  beam_pubsub_limits sixty_four = {64, BEAM_PUBSUB_DEFAULT_MAX_REQUEST_BYTES};
  assert_int_equal(plan_and_check(&b, &sixty_four), (2501 + 63) / 64);
  beam_pubsub_batch_free(&b);
}

static void test_byte_limit(void **state) {
  (void)state;
  beam_pubsub_batch b = BEAM_PUBSUB_BATCH_INIT;
  fill_batch(&b, 9, big, no_key); /* 2.4 MB each: two per 5 MB request */
  assert_int_equal(plan_and_check(&b, &defaults), 5);
  beam_pubsub_batch_clear(&b, true);
  fill_batch(&b, 1500, mixed, no_key);
  size_t n = plan_and_check(&b, &defaults);
  assert_true(n >= 1500 / 500);
  beam_pubsub_batch_free(&b);
}

static void test_one_ordering_key_per_request(void **state) {
  (void)state;
  beam_pubsub_batch b = BEAM_PUBSUB_BATCH_INIT;
  fill_batch(&b, 3000, small, five_keys);
  size_t n = plan_and_check(&b, &defaults);
  assert_true(n >= 5 && n <= 10); /* 600 messages per key: two requests each */
  beam_pubsub_batch_clear(&b, true);
  fill_batch(&b, 400, mixed, five_keys);
  plan_and_check(&b, &defaults);
  beam_pubsub_batch_free(&b);
}

static void test_fits(void **state) {
  (void)state;
  size_t topic = strlen(TOPIC);
  size_t limit = BEAM_PUBSUB_DEFAULT_MAX_REQUEST_BYTES;
  size_t largest = limit - beam_pubsub_request_overhead(topic) - 1 - 4; /* tag, 4-byte length */
  assert_true(beam_pubsub_message_fits(&defaults, topic, largest));
  assert_false(beam_pubsub_message_fits(&defaults, topic, largest + 1));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_message_size_matches_protobuf),
      cmocka_unit_test(test_message_count_limit),
      cmocka_unit_test(test_byte_limit),
      cmocka_unit_test(test_one_ordering_key_per_request),
      cmocka_unit_test(test_fits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
