/* The pieces of the Pub/Sub sink (sink_pubsub.h), separated so each can be tested alone:
 * the sink URI (pubsub_target.c), the bundle's message buffer and its split into requests
 * (pubsub_batch.c), and the gRPC publisher with retries (pubsub_publisher.c). */
#ifndef BEAM_PUBSUB_INTERNAL_H
#define BEAM_PUBSUB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/buf.h"
#include "beam/status.h"
#include "pubsub_conn.h"
#include "sink_int.h"
#include "beam/transforms/sink_pubsub.h"

/* ---- The sink URI ------------------------------------------------------------------ */

typedef struct beam_pubsub_target {
  char *topic;          /* "projects/P/topics/T" */
  char *ordering_field; /* ?ordering_key=FIELD, or NULL */
  char *endpoint;       /* ?endpoint=HOST:PORT, or NULL (the default or the emulator) */
} beam_pubsub_target;

/* Parses "projects/P/topics/T[?ordering_key=F][&endpoint=H:P]" and checks the names
 * against Pub/Sub's rules (topic id: 3-255 of [A-Za-z0-9-_.~+%], a letter first, not
 * "goog..."). Errors name the offending part. */
beam_status beam_pubsub_target_parse(const char *location, beam_pubsub_target *out, beam_error *err);
void beam_pubsub_target_free(beam_pubsub_target *t);

/* ---- Message sizes and request limits ---------------------------------------------- */

typedef struct beam_pubsub_limits {
  size_t max_messages;      /* per PublishRequest */
  size_t max_request_bytes; /* encoded PublishRequest */
} beam_pubsub_limits;

#define BEAM_PUBSUB_ATTR_TABLE "table"
#define BEAM_PUBSUB_ATTR_ROW_ID "beam_c_row_id"

/* Encoded size of a PubsubMessage with data, the two attributes (table, row id) and an
 * ordering key (none when key_len is 0). */
size_t beam_pubsub_message_size(size_t data_len, size_t table_len, size_t row_id_len, size_t key_len);
/* Encoded size of a PublishRequest holding messages of the given encoded sizes: the topic
 * field plus, per message, its tag, length and body. */
size_t beam_pubsub_request_overhead(size_t topic_len);
size_t beam_pubsub_message_cost(size_t message_size);

/* ---- The bundle's messages --------------------------------------------------------- */

typedef struct beam_pubsub_msg {
  size_t data_off, data_len; /* the row's JSON in the batch's bytes */
  size_t key_off, key_len;   /* ordering key (NUL-terminated in bytes); key_len 0: none */
  uint32_t table;            /* the sink's table index */
  uint64_t seq;              /* the row's position in the bundle: the row id's suffix */
  /* The record's id within the run (beam_sink_record_id), "" when the row has none: the
   * row id then, so a runner's retry under a new bundle id repeats it. */
  char record_id[BEAM_SINK_RECORD_ID_LEN + 1];
  size_t encoded;            /* beam_pubsub_message_size of this message */
} beam_pubsub_msg;

typedef struct beam_pubsub_batch {
  beam_buf bytes;
  beam_pubsub_msg *msgs;
  size_t n, cap;
  uint64_t next_seq; /* rows of the bundle so far (survives an early publish) */
} beam_pubsub_batch;

#define BEAM_PUBSUB_BATCH_INIT {BEAM_BUF_INIT, NULL, 0, 0, 0}

/* Appends a message whose data the caller has already appended to b->bytes at data_off;
 * copies the key (NUL-terminated) after it. */
beam_status beam_pubsub_batch_add(beam_pubsub_batch *b, size_t data_off, const void *key, size_t key_len,
                                  uint32_t table, size_t encoded);
/* Forgets the messages (keeps next_seq unless reset_seq). */
void beam_pubsub_batch_clear(beam_pubsub_batch *b, bool reset_seq);
void beam_pubsub_batch_free(beam_pubsub_batch *b);

/* The publishing order: message indices grouped by ordering key (groups sorted by key),
 * bundle order kept within a key. *order is malloc'ed, b->n entries. */
beam_status beam_pubsub_batch_order(const beam_pubsub_batch *b, size_t **order);

/* The end (exclusive) of the request starting at order[start]: the longest run of messages
 * with start's ordering key that keeps within the limits. Always takes at least one message
 * (callers refuse messages that cannot fit alone, see beam_pubsub_message_fits). */
size_t beam_pubsub_batch_request_end(const beam_pubsub_batch *b, const size_t *order, size_t n, size_t start,
                                     const beam_pubsub_limits *l, size_t topic_len);

/* Whether a message of this encoded size fits in a request on its own. */
bool beam_pubsub_message_fits(const beam_pubsub_limits *l, size_t topic_len, size_t message_size);

/* ---- The publisher ----------------------------------------------------------------- */


typedef struct beam_pubsub_publisher beam_pubsub_publisher;

/* Connects (lazily: gRPC dials on the first call) to PUBSUB_EMULATOR_HOST in plaintext, or
 * with TLS to endpoint (NULL: BEAM_PUBSUB_DEFAULT_ENDPOINT) using the installed token
 * provider. retry may be NULL (defaults). */
beam_status beam_pubsub_publisher_open(const char *topic, const char *endpoint, const beam_pubsub_retry *retry,
                                       beam_pubsub_publisher **out, beam_error *err);
void beam_pubsub_publisher_free(beam_pubsub_publisher *p);

/* Sends one encoded PublishRequest of n_messages messages, retrying what can succeed.
 * Returns BEAM_OK only when the server returned one message id per message. A missing
 * topic is BEAM_ERR_NOT_FOUND naming it; other refusals BEAM_ERR_IO with the server's words. */
beam_status beam_pubsub_publisher_send(beam_pubsub_publisher *p, const void *req, size_t len, size_t n_messages,
                                       beam_error *err);

/* Requests sent and attempts retried since open (for tests and logs). */
void beam_pubsub_publisher_counts(const beam_pubsub_publisher *p, uint64_t *requests, uint64_t *retries);

#endif
