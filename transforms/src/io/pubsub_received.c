/* A received message copied out of its StreamingPullResponse into one block
 * (pubsub_subscriber_int.h): the response is freed at once, the message lives until the
 * caller frees the batch it was pulled in. */
#include <stdlib.h>
#include <string.h>

#include "pubsub_subscriber_int.h"

static size_t str_len(const char *s) { return s ? strlen(s) : 0; }

/* Appends s (NUL-terminated) at *cursor. */
static const char *put_str(char **cursor, const char *s) {
  size_t n = str_len(s);
  char *at = *cursor;
  if (n) memcpy(at, s, n);
  at[n] = '\0';
  *cursor += n + 1;
  return at;
}

beam_pubsub_received *beam_pubsub_received_copy(const Google__Pubsub__V1__ReceivedMessage *rm) {
  const Google__Pubsub__V1__PubsubMessage *m = rm->message;
  size_t n_attr = m ? m->n_attributes : 0;
  size_t need = sizeof(beam_pubsub_received) + n_attr * sizeof(beam_pubsub_attribute);
  need += str_len(rm->ack_id) + 1;
  if (m) {
    need += m->data.len + 1 + str_len(m->message_id) + 1 + str_len(m->ordering_key) + 1;
    for (size_t i = 0; i < n_attr; i++) need += str_len(m->attributes[i]->key) + str_len(m->attributes[i]->value) + 2;
  } else {
    need += 3;
  }
  beam_pubsub_received *r = malloc(need);
  if (!r) return NULL;
  memset(r, 0, sizeof *r);
  beam_pubsub_attribute *attrs = (beam_pubsub_attribute *)(r + 1);
  char *cursor = (char *)(attrs + n_attr);
  beam_pubsub_message *out = &r->msg;
  out->ack_id = put_str(&cursor, rm->ack_id);
  out->delivery_attempt = rm->delivery_attempt;
  out->attributes = attrs;
  out->n_attributes = n_attr;
  if (!m) {
    out->data = (const uint8_t *)put_str(&cursor, "");
    out->message_id = put_str(&cursor, "");
    out->ordering_key = put_str(&cursor, "");
    return r;
  }
  if (m->data.len) memcpy(cursor, m->data.data, m->data.len);
  cursor[m->data.len] = '\0'; /* not counted: a convenience for text data */
  out->data = (const uint8_t *)cursor;
  out->data_len = m->data.len;
  cursor += m->data.len + 1;
  out->message_id = put_str(&cursor, m->message_id);
  out->ordering_key = put_str(&cursor, m->ordering_key);
  for (size_t i = 0; i < n_attr; i++) {
    attrs[i].key = put_str(&cursor, m->attributes[i]->key);
    attrs[i].value = put_str(&cursor, m->attributes[i]->value);
  }
  if (m->publish_time)
    out->publish_time_us = (int64_t)m->publish_time->seconds * 1000000 + m->publish_time->nanos / 1000;
  out->size = protobuf_c_message_get_packed_size(&m->base);
  return r;
}
