/* A Pub/Sub subscriber: messages of one subscription over StreamingPull
 * (google.pubsub.v1.Subscriber/StreamingPull), held under a lease until the caller acks or
 * nacks them. It is what a streaming source builds on: pull a batch, process and commit it,
 * then ack it, so a message is acked only after its rows are committed (at-least-once; the
 * caller deduplicates redeliveries by message id).
 *
 * Where it connects: see pubsub.h (PUBSUB_EMULATOR_HOST in plaintext, else TLS with a bearer
 * token from the installed provider or Application Default Credentials).
 *
 * What it does for the caller, as Google's client libraries do:
 *  - open checks that the subscription exists and may be read (GetSubscription): a missing
 *    subscription is BEAM_ERR_NOT_FOUND naming it, no permission BEAM_ERR_IO saying so.
 *  - Leases. Every message received and neither acked nor nacked (handed out by pull or still
 *    buffered) is leased: a background thread extends its ack deadline
 *    (ModifyAckDeadline to stream_ack_deadline_seconds) every half deadline, so a message
 *    held by a long bundle is not redelivered to another subscriber, for at most
 *    max_lease_seconds; after that it is let go (and will be redelivered). When the process
 *    dies, the extensions stop and the server redelivers its messages once the deadline
 *    (10 s by default) passes.
 *  - Flow control. At most max_outstanding_messages / max_outstanding_bytes messages are
 *    leased at once (buffered + handed out). The limits go to the server in the stream's
 *    first request (the service then stops sending); a message beyond them that arrives
 *    anyway (servers may overshoot; the emulator ignores the limits) is nacked at once, so it
 *    goes back to the subscription instead of waiting unleased.
 *  - Reconnects. A stream that ends (the service closes streams now and then), or fails
 *    with a retryable code (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED,
 *    INTERNAL, UNKNOWN, CANCELLED; also NOT_FOUND once a stream has worked, which an emulator
 *    restarting answers for a moment), is reopened with exponential backoff and jitter. When
 *    no stream has worked for retry_budget_ms, or on any other code (PERMISSION_DENIED,
 *    INVALID_ARGUMENT, ...), the subscriber fails: pull returns the error from then on.
 *    Messages held across a reconnect keep their leases (ack ids stay valid on the service).
 *    A reopened stream whose first request is not taken within 10 s is cancelled and
 *    reopened (gRPC can leave a call opened just as the server goes away waiting forever).
 *  - Acks and nacks go out as unary Acknowledge / ModifyAckDeadline calls (at most 2500 ack
 *    ids each), retried on retryable codes within retry_budget_ms.
 *
 * Threading: one subscriber may be used from several threads (pull, ack, nack are
 * thread-safe); it runs two threads of its own (the stream's receiver and the lease keeper).
 * close must be called once, by one thread, after every other call returned. */
#ifndef BEAM_TRANSFORMS_PUBSUB_SUBSCRIBER_H
#define BEAM_TRANSFORMS_PUBSUB_SUBSCRIBER_H

#include <stddef.h>
#include <stdint.h>

#include "beam/status.h"
#include "beam/transforms/pubsub.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BEAM_PUBSUB_DEFAULT_MAX_OUTSTANDING_MESSAGES 1000
#define BEAM_PUBSUB_DEFAULT_MAX_OUTSTANDING_BYTES ((int64_t)100 << 20)
#define BEAM_PUBSUB_DEFAULT_STREAM_ACK_DEADLINE_S 10
#define BEAM_PUBSUB_DEFAULT_MAX_LEASE_S 3600
#define BEAM_PUBSUB_DEFAULT_RETRY_BUDGET_MS 60000

/* Zero-initialise and set what differs; 0 (NULL) means the default. */
typedef struct beam_pubsub_subscriber_options {
  int64_t max_outstanding_messages; /* default 1000 */
  int64_t max_outstanding_bytes;    /* default 100 MiB (encoded PubsubMessage sizes) */
  /* The ack deadline of every message delivered on the stream, and each lease extension:
   * 10 to 600 on the service (default 10). The emulator also takes 1 to 9 (short tests). */
  int stream_ack_deadline_seconds;
  int max_lease_seconds; /* default 3600: a message held longer is let go */
  int retry_budget_ms;   /* default 60000: how long reconnects and ack retries may fail */
  const char *endpoint;  /* "host:port" over TLS (a regional endpoint); NULL: see pubsub.h */
} beam_pubsub_subscriber_options;

typedef struct beam_pubsub_attribute {
  const char *key;
  const char *value;
} beam_pubsub_attribute;

/* One received message. Every pointer stays valid until its batch is freed. */
typedef struct beam_pubsub_message {
  const uint8_t *data; /* not NUL-terminated (may hold anything) */
  size_t data_len;
  const beam_pubsub_attribute *attributes; /* in the order the server sent them */
  size_t n_attributes;
  const char *message_id;
  int64_t publish_time_us; /* microseconds since the Unix epoch (UTC) */
  const char *ordering_key; /* "" when none */
  const char *ack_id;       /* what ack / nack take */
  int delivery_attempt;     /* 0 unless the subscription has a dead-letter policy */
  size_t size;              /* the encoded PubsubMessage: what counts toward max_outstanding_bytes */
} beam_pubsub_message;

/* What one pull returned. Free with beam_pubsub_messages_free (acking does not free it). */
typedef struct beam_pubsub_messages {
  beam_pubsub_message *items;
  size_t n;
  void **blocks_; /* internal: the memory behind each item */
} beam_pubsub_messages;

typedef struct beam_pubsub_subscriber beam_pubsub_subscriber;

/* Opens a subscriber on subscription ("projects/P/subscriptions/S"; checked against
 * Pub/Sub's naming rules), checks it exists and may be read, and starts pulling. opts may be
 * NULL (defaults). Errors: BEAM_ERR_INVALID_ARG (a bad name or option, naming it),
 * BEAM_ERR_NOT_FOUND (no such subscription), BEAM_ERR_IO (no permission, no credentials, the
 * service unreachable for retry_budget_ms). */
beam_status beam_pubsub_subscriber_open(const char *subscription, const beam_pubsub_subscriber_options *opts,
                                        beam_pubsub_subscriber **out, beam_error *err);

/* Only the checks of open (the name, the subscription exists and may be read), starting
 * nothing: what a program does before it creates anything. Same errors as open. */
beam_status beam_pubsub_subscription_check(const char *subscription, const beam_pubsub_subscriber_options *opts,
                                           beam_error *err);

/* Takes up to max_messages received messages (oldest first) into *batch (which it
 * overwrites: free the previous batch first). Waits up to timeout_ms (0: do not wait; < 0:
 * wait until a message comes or the subscriber fails) for the first one, then returns what
 * is there. A timeout returns BEAM_OK with batch->n == 0. Fails when the subscriber has
 * failed (see the header comment); the error says why. The messages stay leased until
 * acked or nacked. */
beam_status beam_pubsub_subscriber_pull(beam_pubsub_subscriber *sub, size_t max_messages, int timeout_ms,
                                        beam_pubsub_messages *batch, beam_error *err);

/* Acknowledges messages by ack id: they end their lease, free their flow-control share and
 * are not delivered again. Call it once their effects are committed. Unknown ack ids
 * (acked already, let go) are sent anyway and ignored by the server. Fails when the server
 * refuses or stays unreachable for retry_budget_ms; the messages may then be redelivered. */
beam_status beam_pubsub_subscriber_ack(beam_pubsub_subscriber *sub, const char *const *ack_ids, size_t n,
                                       beam_error *err);

/* Gives messages back (ModifyAckDeadline 0): the server redelivers them at once, to this
 * or another subscriber. */
beam_status beam_pubsub_subscriber_nack(beam_pubsub_subscriber *sub, const char *const *ack_ids, size_t n,
                                        beam_error *err);

/* Counts since open, for logs and tests. */
typedef struct beam_pubsub_subscriber_stats {
  uint64_t received;        /* messages that arrived on the stream */
  uint64_t overflow_nacked; /* of those, nacked at once for being beyond the limits */
  uint64_t acked, nacked;   /* ack ids sent by ack / nack (and close) */
  uint64_t lease_extensions; /* ack ids whose deadline was extended */
  uint64_t reconnects;      /* streams opened after the first */
  uint64_t stuck_starts;    /* streams cancelled for not taking their first request in 10 s */
  int64_t outstanding_messages, outstanding_bytes; /* leased now */
  int64_t oldest_publish_us; /* the earliest publish time of those (0: none): the stream's lag */
} beam_pubsub_subscriber_stats;

void beam_pubsub_subscriber_stats_get(beam_pubsub_subscriber *sub, beam_pubsub_subscriber_stats *out);

/* Stops the stream and the lease keeper, nacks every message still leased (best effort, a
 * few seconds at most: what cannot be nacked comes back when its deadline passes), joins the
 * threads and frees the subscriber. NULL is fine. Batches stay valid. */
void beam_pubsub_subscriber_close(beam_pubsub_subscriber *sub);

/* Frees a batch's messages (not acked: ack first what was processed). */
void beam_pubsub_messages_free(beam_pubsub_messages *batch);

#ifdef __cplusplus
}
#endif

#endif
