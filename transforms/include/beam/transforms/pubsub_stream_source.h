/* The local runner's source for beam:transform:pubsub_read:v1 (beam/stream_source.h), backed
 * by the StreamingPull subscriber (pubsub_subscriber.h).
 *
 * open decodes the read's PubSubReadPayload (beam_pubsub_read_payload_decode) and opens its
 * subscription: a missing one or no permission fails the run before any bundle. A read of a
 * topic (no subscription) is refused: locally a subscription of one's own must be named.
 * Each pull gathers up to the runner's bundle_max_records messages for up to bundle_max_ms
 * (so a bundle closes by size or by time). Elements are the message data, or with
 * with_attributes a serialized PubsubMessage (pubsub_message.h), as Dataflow's native read
 * gives them; the element's timestamp is the publish time, or the timestamp_attribute's
 * value (milliseconds since the epoch, or RFC 3339; a message without a readable one keeps
 * its publish time). A batch is acked once its bundle committed and nacked when the run
 * stops before; the subscriber's leases keep it from redelivery meanwhile.
 *
 * Pipeline options it reads besides the runner's: "pubsub_max_outstanding_messages",
 * "pubsub_max_outstanding_bytes" (flow control; default the larger of the subscriber's
 * default and two bundles per thread), "pubsub_ack_deadline_s" (the stream's ack deadline,
 * default 10: how soon a crashed consumer's messages come back), "pubsub_retry_budget_ms" (how
 * long the subscriber may find no working stream, or fail to ack, before the run fails;
 * default 60000), "progress" ("auto": a progress line on stderr when it is a terminal, "on",
 * "off"; default off): messages/s, in flight, the oldest unacked message's age and publish-to-
 * commit p50/p99 (pubsub_stream_progress.h). */
#ifndef BEAM_TRANSFORMS_PUBSUB_STREAM_SOURCE_H
#define BEAM_TRANSFORMS_PUBSUB_STREAM_SOURCE_H

#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Registers the source for beam:transform:pubsub_read:v1 with the local runner (idempotent;
 * beam_etl_register_fns calls it). */
beam_status beam_pubsub_stream_source_register(beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
