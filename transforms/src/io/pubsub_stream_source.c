/* The Pub/Sub stream source of the local runner (beam/transforms/pubsub_stream_source.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "beam/pipeline.h"
#include "beam/stream_source.h"
#include "beam/urns.h"
#include "beam/transforms/etl_time.h"
#include "beam/transforms/pubsub_message.h"
#include "beam/transforms/pubsub_stream_source.h"
#include "beam/transforms/pubsub_subscriber.h"
#include "pubsub_stream_progress.h"

typedef struct pubsub_source {
  beam_arena arena; /* the read's spec */
  beam_pubsub_read_spec spec;
  beam_pubsub_subscriber *sub;
  beam_pubsub_stream_progress progress;
} pubsub_source;

/* What one pull handed out: the subscriber's batches (a pull may take several), the elements
 * and the bytes they point at. */
typedef struct pull_token {
  beam_pubsub_messages *parts;
  size_t n_parts;
  beam_stream_element *items;
  size_t n;
  const char **ack_ids;
  beam_buf encoded;
  size_t *offsets; /* each encoded element's start in encoded (its buffer moves as it grows) */
} pull_token;

static void token_free(pull_token *t) {
  if (!t) return;
  for (size_t i = 0; i < t->n_parts; i++) beam_pubsub_messages_free(&t->parts[i]);
  free(t->parts);
  free(t->items);
  free(t->ack_ids);
  free(t->offsets);
  beam_buf_free(&t->encoded);
  free(t);
}

static int64_t int_option(const json_t *options, const char *name, int64_t def) {
  const json_t *v = json_object_get(options, name);
  return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : def;
}

static beam_status source_open(const uint8_t *payload, size_t len, const json_t *options, void **out,
                               beam_error *err) {
  *out = NULL;
  pubsub_source *src = calloc(1, sizeof *src);
  if (!src) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = beam_pubsub_read_payload_decode(payload, len, &src->arena, &src->spec, err);
  if (s == BEAM_OK && !src->spec.subscription)
    s = beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                       "the local runner reads Pub/Sub subscriptions, not topics (%s): create a subscription and "
                       "read it",
                       src->spec.topic);
  /* Two bundles per thread may be leased at once, so no thread waits on flow control. */
  int64_t bundle = int_option(options, "bundle_max_records", 1000), threads = int_option(options, "parallelism", 1);
  int64_t enough = 2 * bundle * threads;
  beam_pubsub_subscriber_options o = {0};
  o.max_outstanding_messages = int_option(
      options, "pubsub_max_outstanding_messages",
      enough > BEAM_PUBSUB_DEFAULT_MAX_OUTSTANDING_MESSAGES ? enough : BEAM_PUBSUB_DEFAULT_MAX_OUTSTANDING_MESSAGES);
  o.max_outstanding_bytes = int_option(options, "pubsub_max_outstanding_bytes", 0);
  o.stream_ack_deadline_seconds = (int)int_option(options, "pubsub_ack_deadline_s", 0);
  o.retry_budget_ms = (int)int_option(options, "pubsub_retry_budget_ms", 0);
  if (s == BEAM_OK) s = beam_pubsub_subscriber_open(src->spec.subscription, &o, &src->sub, err);
  if (s != BEAM_OK) {
    beam_arena_free(&src->arena);
    free(src);
    return s;
  }
  beam_pubsub_stream_progress_init(&src->progress, src->spec.subscription,
                                   json_string_value(json_object_get(options, "progress")));
  *out = src;
  return BEAM_OK;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The element's event time: the timestamp attribute when it reads as milliseconds since the
 * epoch or an RFC 3339 time, else the publish time. */
static int64_t event_time_ms(const pubsub_source *src, const beam_pubsub_message *m) {
  const char *v = src->spec.timestamp_attribute ? beam_pubsub_message_attribute(m, src->spec.timestamp_attribute) : NULL;
  if (v && *v) {
    char *end;
    long long ms = strtoll(v, &end, 10);
    if (!*end) return ms;
    int64_t us;
    if (beam_etl_parse_timestamp(v, strlen(v), &us) == BEAM_OK) return us / 1000;
  }
  return m->publish_time_us / 1000;
}

/* Appends one subscriber batch to the token (its elements encoded later, once the buffer
 * stops moving). */
static beam_status add_part(pull_token *t, beam_pubsub_messages *part, beam_error *err) {
  beam_pubsub_messages *parts = realloc(t->parts, (t->n_parts + 1) * sizeof *parts);
  if (!parts) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  t->parts = parts;
  t->parts[t->n_parts++] = *part;
  memset(part, 0, sizeof *part);
  return BEAM_OK;
}

static beam_status make_elements(const pubsub_source *src, pull_token *t, beam_error *err) {
  size_t n = 0;
  for (size_t p = 0; p < t->n_parts; p++) n += t->parts[p].n;
  t->items = calloc(n ? n : 1, sizeof *t->items);
  t->ack_ids = calloc(n ? n : 1, sizeof *t->ack_ids);
  t->offsets = calloc(n ? n : 1, sizeof *t->offsets);
  if (!t->items || !t->ack_ids || !t->offsets) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t p = 0; p < t->n_parts; p++)
    for (size_t i = 0; i < t->parts[p].n; i++) {
      const beam_pubsub_message *m = &t->parts[p].items[i];
      beam_stream_element *e = &t->items[t->n];
      t->ack_ids[t->n] = m->ack_id;
      t->offsets[t->n] = t->encoded.len;
      e->timestamp_ms = event_time_ms(src, m);
      if (src->spec.with_attributes) {
        size_t before = t->encoded.len;
        beam_status s = beam_pubsub_message_encode(m, &t->encoded, err);
        if (s != BEAM_OK) return s;
        e->len = t->encoded.len - before;
      } else {
        e->data = m->data;
        e->len = m->data_len;
      }
      t->n++;
    }
  if (src->spec.with_attributes)
    for (size_t i = 0; i < t->n; i++) t->items[i].data = t->encoded.data + t->offsets[i];
  return BEAM_OK;
}

static beam_status source_pull(void *state, size_t max_elements, size_t max_bytes, int wait_ms,
                               beam_stream_batch *batch, beam_error *err) {
  pubsub_source *src = state;
  memset(batch, 0, sizeof *batch);
  pull_token *t = calloc(1, sizeof *t);
  if (!t) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  int64_t deadline = now_ms() + wait_ms;
  size_t got = 0, bytes = 0;
  beam_status s = BEAM_OK;
  /* Gather until the bundle is full or its time is up: a bundle closes by size or by time. */
  while (s == BEAM_OK && got < max_elements && bytes < max_bytes) {
    int64_t left = deadline - now_ms();
    if (left <= 0) break;
    beam_pubsub_messages part = {0};
    s = beam_pubsub_subscriber_pull(src->sub, max_elements - got, (int)left, &part, err);
    if (s == BEAM_OK && !part.n) break; /* the time is up */
    for (size_t i = 0; s == BEAM_OK && i < part.n; i++) bytes += part.items[i].size;
    got += part.n;
    if (s == BEAM_OK) s = add_part(t, &part, err);
    beam_pubsub_messages_free(&part);
  }
  if (s == BEAM_OK) s = make_elements(src, t, err);
  if (s != BEAM_OK) {
    /* give back what was taken: redelivered at once rather than after its lease */
    beam_error ignored = {0};
    for (size_t p = 0; p < t->n_parts; p++)
      for (size_t i = 0; i < t->parts[p].n; i++)
        beam_pubsub_subscriber_nack(src->sub, &t->parts[p].items[i].ack_id, 1, &ignored);
    token_free(t);
    return s;
  }
  batch->items = t->items;
  batch->n = t->n;
  batch->token = t;
  if (!t->n) beam_pubsub_stream_progress_tick(&src->progress, src->sub);
  return BEAM_OK;
}

static beam_status source_ack(void *state, beam_stream_batch *batch, beam_error *err) {
  pubsub_source *src = state;
  pull_token *t = batch->token;
  beam_status s = t && t->n ? beam_pubsub_subscriber_ack(src->sub, t->ack_ids, t->n, err) : BEAM_OK;
  if (s == BEAM_OK && t) beam_pubsub_stream_progress_acked(&src->progress, t->parts, t->n_parts, src->sub);
  token_free(t);
  memset(batch, 0, sizeof *batch);
  return s;
}

static void source_nack(void *state, beam_stream_batch *batch) {
  pubsub_source *src = state;
  pull_token *t = batch->token;
  beam_error ignored = {0};
  if (t && t->n) beam_pubsub_subscriber_nack(src->sub, t->ack_ids, t->n, &ignored);
  token_free(t);
  memset(batch, 0, sizeof *batch);
}

static void source_close(void *state) {
  pubsub_source *src = state;
  if (!src) return;
  beam_pubsub_stream_progress_finish(&src->progress);
  beam_pubsub_subscriber_close(src->sub);
  beam_arena_free(&src->arena);
  free(src);
}

static const beam_stream_source_ops pubsub_source_ops = {BEAM_URN_PUBSUB_READ, source_open, source_pull,
                                                         source_ack,           source_nack, source_close};

beam_status beam_pubsub_stream_source_register(beam_error *err) {
  return beam_stream_source_register(&pubsub_source_ops, err);
}
