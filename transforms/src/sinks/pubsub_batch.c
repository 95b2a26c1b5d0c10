/* A bundle's Pub/Sub messages and their split into PublishRequests (pubsub_internal.h).
 * Sizes are computed from the protobuf wire format rather than by packing, so a row is
 * measured once, when it is buffered; tests compare them with protobuf-c's packed sizes. */
#include <stdlib.h>
#include <string.h>

#include "pubsub_internal.h"

static size_t varint_size(size_t n) {
  size_t s = 1;
  while (n >= 0x80) {
    n >>= 7;
    s++;
  }
  return s;
}

/* A length-delimited field with a one-byte tag (field numbers below 16). */
static size_t field_size(size_t len) { return 1 + varint_size(len) + len; }

static size_t attribute_size(size_t key_len, size_t value_len) {
  return field_size(field_size(key_len) + field_size(value_len));
}

size_t beam_pubsub_message_size(size_t data_len, size_t table_len, size_t row_id_len, size_t key_len) {
  /* proto3 leaves empty fields out; attribute keys and values here are never empty. */
  size_t size = data_len ? field_size(data_len) : 0;
  size += attribute_size(strlen(BEAM_PUBSUB_ATTR_TABLE), table_len);
  size += attribute_size(strlen(BEAM_PUBSUB_ATTR_ROW_ID), row_id_len);
  if (key_len) size += field_size(key_len);
  return size;
}

size_t beam_pubsub_request_overhead(size_t topic_len) { return field_size(topic_len); }

size_t beam_pubsub_message_cost(size_t message_size) { return field_size(message_size); }

bool beam_pubsub_message_fits(const beam_pubsub_limits *l, size_t topic_len, size_t message_size) {
  return beam_pubsub_request_overhead(topic_len) + beam_pubsub_message_cost(message_size) <= l->max_request_bytes;
}

beam_status beam_pubsub_batch_add(beam_pubsub_batch *b, size_t data_off, const void *key, size_t key_len,
                                  uint32_t table, size_t encoded) {
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    beam_pubsub_msg *msgs = realloc(b->msgs, cap * sizeof *msgs);
    if (!msgs) return BEAM_ERR_NOMEM;
    b->msgs = msgs;
    b->cap = cap;
  }
  beam_pubsub_msg *m = &b->msgs[b->n];
  m->data_off = data_off;
  m->data_len = b->bytes.len - data_off;
  m->key_off = b->bytes.len;
  m->key_len = key_len;
  if (key_len) {
    beam_status st = beam_buf_append(&b->bytes, key, key_len);
    if (st == BEAM_OK) st = beam_buf_append_byte(&b->bytes, '\0');
    if (st != BEAM_OK) return st;
  }
  m->table = table;
  m->seq = b->next_seq++;
  m->record_id[0] = '\0';
  m->encoded = encoded;
  b->n++;
  return BEAM_OK;
}

void beam_pubsub_batch_clear(beam_pubsub_batch *b, bool reset_seq) {
  beam_buf_reset(&b->bytes);
  /* One huge bundle should not pin its memory for the life of the sink. */
  if (b->bytes.cap > ((size_t)128 << 20)) beam_buf_free(&b->bytes);
  b->n = 0;
  if (reset_seq) b->next_seq = 0;
}

void beam_pubsub_batch_free(beam_pubsub_batch *b) {
  beam_buf_free(&b->bytes);
  free(b->msgs);
  memset(b, 0, sizeof *b);
}

static int key_compare(const beam_pubsub_batch *b, size_t x, size_t y) {
  const beam_pubsub_msg *mx = &b->msgs[x], *my = &b->msgs[y];
  size_t n = mx->key_len < my->key_len ? mx->key_len : my->key_len;
  int c = n ? memcmp(b->bytes.data + mx->key_off, b->bytes.data + my->key_off, n) : 0;
  if (c) return c;
  return mx->key_len < my->key_len ? -1 : mx->key_len > my->key_len;
}

static int order_compare(const void *x, const void *y, void *ctx) {
  size_t a = *(const size_t *)x, c = *(const size_t *)y;
  int k = key_compare(ctx, a, c);
  if (k) return k;
  return a < c ? -1 : a > c; /* bundle order within a key */
}

beam_status beam_pubsub_batch_order(const beam_pubsub_batch *b, size_t **order) {
  *order = malloc((b->n ? b->n : 1) * sizeof **order);
  if (!*order) return BEAM_ERR_NOMEM;
  bool keyed = false;
  for (size_t i = 0; i < b->n; i++) {
    (*order)[i] = i;
    keyed |= b->msgs[i].key_len > 0;
  }
  if (keyed) qsort_r(*order, b->n, sizeof **order, order_compare, (void *)b);
  return BEAM_OK;
}

size_t beam_pubsub_batch_request_end(const beam_pubsub_batch *b, const size_t *order, size_t n, size_t start,
                                     const beam_pubsub_limits *l, size_t topic_len) {
  size_t bytes = beam_pubsub_request_overhead(topic_len) + beam_pubsub_message_cost(b->msgs[order[start]].encoded);
  size_t end = start + 1;
  while (end < n && end - start < l->max_messages && key_compare(b, order[start], order[end]) == 0) {
    size_t cost = beam_pubsub_message_cost(b->msgs[order[end]].encoded);
    if (bytes + cost > l->max_request_bytes) break;
    bytes += cost;
    end++;
  }
  return end;
}
