/* The ETL on a stream: a Pub/Sub subscription as its input (`pubsub:projects/P/subscriptions/S`).
 *
 * Each message is one record (message_record.h); its identity is its message id (with its
 * publish time), and the unit a destination commits and records in its ledger is the
 * message, keyed "pubsub:<subscription>@<publish us>#<message id>" (Pub/Sub names hold no
 * '@' or '#'). A redelivered message
 * whose key a destination's ledger holds is not written to it again. */
#ifndef BEAM_TRANSFORMS_ETL_STREAM_H
#define BEAM_TRANSFORMS_ETL_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "beam/status.h"
#include "beam/transforms/etl_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BEAM_ETL_PUBSUB_INPUT_PREFIX "pubsub:"

/* The largest message data ReadMessages parses; bigger is dead-lettered. Pub/Sub's own limit
 * for a message (10 MB), so only another source's elements or a smaller configured limit
 * (config max_message_bytes) meet it. */
#define BEAM_ETL_MESSAGE_MAX_BYTES ((size_t)10 * 1000 * 1000)

/* True when input names a subscription ("pubsub:..."), not a file. */
bool beam_etl_input_is_pubsub(const char *input);

/* The subscription of a pubsub: input (what follows the prefix). */
const char *beam_etl_input_subscription(const char *input);

/* Checks a run's inputs: a pubsub: input must be the only one, and name a subscription
 * ("projects/P/subscriptions/S"). *stream says whether the run reads a stream. */
beam_status beam_etl_inputs_check_stream(const char *const *inputs, size_t n, bool *stream, beam_error *err);

/* What a spec may not ask of a stream: dedupe_on (business-key dedupe on a stream needs state
 * and timers; redeliveries are handled by the message-id ledger), validate.mode hard and the
 * guard rails max_bad_records / max_bad_ratio (they judge a whole file; a stream has no end).
 * The error names the spec and the key. */
beam_status beam_etl_spec_check_stream(const beam_etl_spec *spec, beam_error *err);

/* What a spec may not ask of files: message fields (_attributes.NAME, _publish_time) in route,
 * filter or a field's "source". The error names the spec and the first such key. */
beam_status beam_etl_spec_check_files(const beam_etl_spec *spec, beam_error *err);

/* A message's unit, "pubsub:<subscription>@<publish time, microseconds>#<message id>", into
 * buf; false when it does not fit in cap. A redelivery carries the same id and publish time;
 * the publish time is there because emulators number message ids afresh when they restart
 * (pstest: m0, m1, ...), and a new message must not pass for one committed before. */
bool beam_etl_message_unit_key(const char *subscription, int64_t publish_us, const char *message_id, char *buf,
                               size_t cap);

/* A stream writer's counter of a publish-to-commit latency bucket (beam/latency.h): each
 * committed message counts once in BEAM_ETL_COMMIT_LATENCY_COUNTER "<bucket index>", so the
 * run's summed counters give its p50/p99. */
#define BEAM_ETL_COMMIT_LATENCY_COUNTER "commit_latency_ms_bucket."

/* The message id of a message's unit key, or NULL when unit is not one (a file's identity). */
const char *beam_etl_unit_message_id(const char *unit);

#ifdef __cplusplus
}
#endif
#endif
