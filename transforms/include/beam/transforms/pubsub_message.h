/* A Pub/Sub message as bytes: a serialized google.pubsub.v1.PubsubMessage (data, attributes,
 * message_id, publish_time, ordering_key), the element Beam's Pub/Sub read hands its DoFns
 * when it reads with attributes (PubSubReadPayload.with_attributes; Dataflow's native read
 * does the same), so the DoFns after the read see the same bytes on every runner. */
#ifndef BEAM_TRANSFORMS_PUBSUB_MESSAGE_H
#define BEAM_TRANSFORMS_PUBSUB_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "beam/arena.h"
#include "beam/buf.h"
#include "beam/status.h"
#include "beam/transforms/pubsub_subscriber.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Appends m as a serialized PubsubMessage to out (ack_id and delivery_attempt are not part
 * of it). */
beam_status beam_pubsub_message_encode(const beam_pubsub_message *m, beam_buf *out, beam_error *err);

/* Reads a serialized PubsubMessage into *out, its strings and data copied into arena (data
 * NUL-terminated beyond data_len; ack_id and ordering_key "" when absent, publish_time_us 0
 * when unset). BEAM_ERR_MALFORMED when the bytes are not one. */
beam_status beam_pubsub_message_decode(const uint8_t *data, size_t len, beam_arena *arena, beam_pubsub_message *out,
                                       beam_error *err);

/* The value of attribute key, or NULL when m has none by that name. */
const char *beam_pubsub_message_attribute(const beam_pubsub_message *m, const char *key);

#ifdef __cplusplus
}
#endif
#endif
