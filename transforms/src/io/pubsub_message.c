/* PubsubMessage <-> bytes (beam/transforms/pubsub_message.h). */
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/pubsub_message.h"
#include "google/pubsub/v1/pubsub.pb-c.h"

beam_status beam_pubsub_message_encode(const beam_pubsub_message *m, beam_buf *out, beam_error *err) {
  Google__Pubsub__V1__PubsubMessage pm = GOOGLE__PUBSUB__V1__PUBSUB_MESSAGE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  pm.data.data = (uint8_t *)m->data;
  pm.data.len = m->data_len;
  pm.message_id = (char *)(m->message_id ? m->message_id : "");
  pm.ordering_key = (char *)(m->ordering_key ? m->ordering_key : "");
  if (m->publish_time_us) {
    /* floor division: a time before 1970 keeps nanos in [0, 1e9) as the Timestamp wants */
    int64_t s = m->publish_time_us / 1000000, us = m->publish_time_us % 1000000;
    if (us < 0) s--, us += 1000000;
    ts.seconds = s;
    ts.nanos = (int32_t)(us * 1000);
    pm.publish_time = &ts;
  }
  Google__Pubsub__V1__PubsubMessage__AttributesEntry *entries =
      m->n_attributes ? calloc(m->n_attributes, sizeof *entries) : NULL;
  Google__Pubsub__V1__PubsubMessage__AttributesEntry **ptrs =
      m->n_attributes ? calloc(m->n_attributes, sizeof *ptrs) : NULL;
  if (m->n_attributes && (!entries || !ptrs)) {
    free(entries), free(ptrs);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < m->n_attributes; i++) {
    google__pubsub__v1__pubsub_message__attributes_entry__init(&entries[i]);
    entries[i].key = (char *)m->attributes[i].key;
    entries[i].value = (char *)m->attributes[i].value;
    ptrs[i] = &entries[i];
  }
  pm.n_attributes = m->n_attributes;
  pm.attributes = ptrs;
  size_t len = google__pubsub__v1__pubsub_message__get_packed_size(&pm);
  beam_status s = beam_buf_reserve(out, len);
  if (s == BEAM_OK) out->len += google__pubsub__v1__pubsub_message__pack(&pm, out->data + out->len);
  free(entries);
  free(ptrs);
  return s == BEAM_OK ? BEAM_OK : beam_error_set(err, s, "out of memory");
}

static const char *copy(beam_arena *arena, const char *s, bool *nomem) {
  char *c = beam_arena_strdup(arena, s ? s : "");
  if (!c) *nomem = true;
  return c;
}

beam_status beam_pubsub_message_decode(const uint8_t *data, size_t len, beam_arena *arena, beam_pubsub_message *out,
                                       beam_error *err) {
  memset(out, 0, sizeof *out);
  Google__Pubsub__V1__PubsubMessage *pm = google__pubsub__v1__pubsub_message__unpack(NULL, len, data);
  if (!pm) return beam_error_set(err, BEAM_ERR_MALFORMED, "not a serialized PubsubMessage (%zu bytes)", len);
  bool nomem = false;
  uint8_t *bytes = beam_arena_alloc(arena, pm->data.len + 1);
  beam_pubsub_attribute *attrs = pm->n_attributes ? beam_arena_alloc(arena, pm->n_attributes * sizeof *attrs) : NULL;
  if (!bytes || (pm->n_attributes && !attrs)) nomem = true;
  if (bytes) {
    if (pm->data.len) memcpy(bytes, pm->data.data, pm->data.len);
    bytes[pm->data.len] = '\0';
  }
  out->data = bytes;
  out->data_len = pm->data.len;
  for (size_t i = 0; attrs && i < pm->n_attributes; i++) {
    attrs[i].key = copy(arena, pm->attributes[i]->key, &nomem);
    attrs[i].value = copy(arena, pm->attributes[i]->value, &nomem);
  }
  out->attributes = attrs;
  out->n_attributes = attrs ? pm->n_attributes : 0;
  out->message_id = copy(arena, pm->message_id, &nomem);
  out->ordering_key = copy(arena, pm->ordering_key, &nomem);
  out->ack_id = "";
  out->size = len;
  if (pm->publish_time)
    out->publish_time_us = (int64_t)pm->publish_time->seconds * 1000000 + pm->publish_time->nanos / 1000;
  google__pubsub__v1__pubsub_message__free_unpacked(pm, NULL);
  return nomem ? beam_error_set(err, BEAM_ERR_NOMEM, "out of memory") : BEAM_OK;
}

const char *beam_pubsub_message_attribute(const beam_pubsub_message *m, const char *key) {
  for (size_t i = 0; i < m->n_attributes; i++)
    if (strcmp(m->attributes[i].key, key) == 0) return m->attributes[i].value;
  return NULL;
}
