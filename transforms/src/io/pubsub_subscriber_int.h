/* The subscriber's state (beam/transforms/pubsub_subscriber.h), shared by its files: the API
 * (pubsub_subscriber.c), the stream's receiver thread (pubsub_sub_stream.c), the lease keeper
 * thread and the ack/modack calls (pubsub_sub_lease.c), and the copy of a received message
 * (pubsub_received.c). */
#ifndef BEAM_IO_PUBSUB_SUBSCRIBER_INT_H
#define BEAM_IO_PUBSUB_SUBSCRIBER_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "beam/grpc_client.h"
#include "beam/transforms/pubsub_subscriber.h"
#include "google/pubsub/v1/pubsub.pb-c.h"
#include "pubsub_conn.h"
#include "pubsub_leases.h"

#define BEAM_PUBSUB_STREAMING_PULL "/google.pubsub.v1.Subscriber/StreamingPull"
#define BEAM_PUBSUB_ACKNOWLEDGE "/google.pubsub.v1.Subscriber/Acknowledge"
#define BEAM_PUBSUB_MODIFY_ACK_DEADLINE "/google.pubsub.v1.Subscriber/ModifyAckDeadline"
#define BEAM_PUBSUB_GET_SUBSCRIPTION "/google.pubsub.v1.Subscriber/GetSubscription"

#define BEAM_PUBSUB_STREAM_START_MS 10000

/* One received message in its own block: the struct handed out, then its bytes. */
typedef struct beam_pubsub_received {
  beam_pubsub_message msg;
  struct beam_pubsub_received *next; /* in the buffer */
} beam_pubsub_received;

/* Copies a ReceivedMessage into one malloc'ed block (NULL: out of memory). */
beam_pubsub_received *beam_pubsub_received_copy(const Google__Pubsub__V1__ReceivedMessage *rm);

struct beam_pubsub_subscriber {
  char *subscription;
  beam_pubsub_conn conn;
  beam_pubsub_subscriber_options opts; /* defaults filled in */
  char client_id[48];                  /* the same on every stream: the service's flow control */

  pthread_mutex_t mu; /* guards everything below */
  pthread_cond_t arrived; /* pull's wait: a message was buffered, or the subscriber failed */
  pthread_cond_t wake;    /* the threads' sleeps: close */
  bool closing;
  beam_status failed; /* BEAM_OK while working; then failure says why */
  beam_error failure;
  beam_pubsub_leases leases;                /* buffered and handed out */
  beam_pubsub_received *buf_head, *buf_tail; /* received, not yet pulled (oldest first) */
  beam_grpc_stream *stream;                 /* the receiver's, for close to cancel */
  /* When the receiver began sending a stream's first request (0: not now). gRPC can leave a
   * call opened as a connection breaks waiting for a transport forever (seen with gRPC 1.51
   * when a stream is reopened just as the server goes away); the keeper cancels a first
   * request still unsent after BEAM_PUBSUB_STREAM_START_MS, so the receiver reconnects. */
  int64_t stream_starting_ms;
  beam_pubsub_subscriber_stats stats;

  pthread_t receiver, keeper;
  bool receiver_started, keeper_started;
};

/* The threads' bodies. */
void *beam_pubsub_sub_receive_main(void *sub);
void *beam_pubsub_sub_keep_leases_main(void *sub);

/* Sends ack ids in Acknowledge (deadline_s < 0) or ModifyAckDeadline (deadline_s >= 0)
 * calls of at most 2500 ids, retrying retryable codes for up to budget_ms. */
beam_status beam_pubsub_sub_send_ack_ids(beam_pubsub_subscriber *sub, const char *const *ack_ids, size_t n,
                                         int deadline_s, int budget_ms, beam_error *err);

/* Waits on sub->wake for ms or until close (sub->mu held); true when closing. */
bool beam_pubsub_sub_sleep_locked(beam_pubsub_subscriber *sub, long ms);

/* Records the subscriber's failure (the first one wins) and wakes pull (sub->mu held). */
void beam_pubsub_sub_fail_locked(beam_pubsub_subscriber *sub, const beam_error *why);

#endif
