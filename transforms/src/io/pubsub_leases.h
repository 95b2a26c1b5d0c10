/* The subscriber's leased messages by ack id (pubsub_subscriber_int.h): what the lease
 * keeper extends and flow control counts. A hash of chained entries, also linked oldest
 * first, so extension sweeps and lookups by ack id both stay cheap at thousands of messages.
 * Not locked: the subscriber's mutex guards it. */
#ifndef BEAM_IO_PUBSUB_LEASES_H
#define BEAM_IO_PUBSUB_LEASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/status.h"

typedef struct beam_pubsub_lease {
  char *ack_id;
  size_t bytes;
  int64_t received_ms; /* when it arrived: leases end max_lease_seconds after */
  int64_t publish_us;  /* its publish time: the age of the oldest unacked message */
  struct beam_pubsub_lease *hnext, *prev, *next;
} beam_pubsub_lease;

typedef struct beam_pubsub_leases {
  beam_pubsub_lease **buckets;
  size_t n_buckets;
  beam_pubsub_lease *head, *tail; /* oldest first */
  int64_t count, bytes;
} beam_pubsub_leases;

/* Adds a lease (an ack id already there is left as it is). */
beam_status beam_pubsub_leases_add(beam_pubsub_leases *t, const char *ack_id, size_t bytes, int64_t publish_us,
                                   int64_t now_ms);
/* The earliest publish time of the leased messages, or 0 when none is leased. */
int64_t beam_pubsub_leases_oldest_publish_us(const beam_pubsub_leases *t);
/* Ends a lease; false when the ack id held none. */
bool beam_pubsub_leases_remove(beam_pubsub_leases *t, const char *ack_id);
void beam_pubsub_leases_free(beam_pubsub_leases *t);

#endif
