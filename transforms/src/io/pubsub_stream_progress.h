/* The progress line of a Pub/Sub stream (the local runner's stream source,
 * pubsub_stream_source.c), on a terminal only, like the file progress line (beam/progress.h):
 *   projects/P/subscriptions/S: 12000 messages, 850/s, 120 in flight, oldest 1.2 s,
 *   commit p50 0.40 s p99 0.79 s
 * messages: committed and acked by this run; /s: their recent rate; in flight: what the
 * subscriber holds leased and not acked (buffered or in a bundle); oldest: the age since
 * publishing of the oldest of those (the stream's lag); commit p50/p99: publish to ack, which
 * follows the commit, over the last 10 to 20 s.
 *
 * Thread-safe: the runner's threads report their acks at once; one lock per acked batch, taken
 * only when the line is on. */
#ifndef BEAM_IO_PUBSUB_STREAM_PROGRESS_H
#define BEAM_IO_PUBSUB_STREAM_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "beam/latency.h"
#include "beam/progress.h"
#include "beam/transforms/pubsub_subscriber.h"

typedef struct beam_pubsub_stream_progress {
  bool on; /* set at init, never changed: read without the lock */
  pthread_mutex_t mu; /* guards everything below */
  beam_progress line;
  uint64_t committed;
  uint64_t committed_at_draw; /* for the rate */
  double drawn_at, rate;
  beam_latency_histogram window[2]; /* the current 10 s and the one before */
  double window_at;
} beam_pubsub_stream_progress;

/* mode: "auto" (a terminal only), "on", "off"; NULL: off (a library's caller asks for it). */
void beam_pubsub_stream_progress_init(beam_pubsub_stream_progress *p, const char *subscription, const char *mode);

/* A batch was committed and acked: its messages' publish times (microseconds), now. Redraws
 * when due. */
void beam_pubsub_stream_progress_acked(beam_pubsub_stream_progress *p, const beam_pubsub_messages *parts,
                                       size_t n_parts, beam_pubsub_subscriber *sub);

/* Redraws when due (an idle pull: the rate falls, the lag shows). */
void beam_pubsub_stream_progress_tick(beam_pubsub_stream_progress *p, beam_pubsub_subscriber *sub);

/* Ends the line and frees the lock. */
void beam_pubsub_stream_progress_finish(beam_pubsub_stream_progress *p);

#endif
