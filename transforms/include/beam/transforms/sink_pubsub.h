/* Pub/Sub sink: routed rows published to a Google Cloud Pub/Sub topic over gRPC.
 *
 *   pubsub:projects/PROJECT/topics/TOPIC[?ordering_key=FIELD][&endpoint=HOST:PORT]
 *
 * Each accepted row becomes one message: data = the row as a JSON object (the same text the
 * jsonl sink writes, see json_row_writer.h), attributes
 *   table          the routed table name ("events_click", "_dead_letter", "_files", ...)
 *   beam_c_row_id  "rec:<32 hex>" for a row read from a file: the record's identity
 *                  (beam_sink_record_id: file identity, byte offset), the same on every retry
 *                  of its bundle, whatever bundle id a runner gives the retry, and at a
 *                  relaunch of the same input. Otherwise
 *                  "<bundle id>#<n>": the n-th accepted row of the sink bundle, the same
 *                  again when the bundle is retried under the same bundle id with the same
 *                  rows. Subscribers deduplicate on it.
 * and, with ?ordering_key=FIELD, ordering_key = that field's value (STRING, NUMERIC, BYTES
 * as text; INT64 in decimal). Tables without the field, and rows where it is null, publish
 * without a key; a key over 1024 bytes or not UTF-8 refuses the row (with the reason). Every request carries messages of one ordering key (a Pub/Sub rule) and
 * requests of one key go out one after the other, so a key's rows keep their order.
 *
 * Where: PUBSUB_EMULATOR_HOST=host:port selects the emulator (plaintext, no credentials).
 * Otherwise, and always with ?endpoint=HOST:PORT (e.g. a regional endpoint such as
 * us-east1-pubsub.googleapis.com:443), TLS to pubsub.googleapis.com:443 or that endpoint with
 * "authorization: Bearer <token>" on every call, from the token provider installed with
 * beam_sink_pubsub_set_token_provider or else Application Default Credentials
 * (beam/gcp_auth.h: key file, gcloud, metadata server); credentials that cannot be found
 * fail the open with a clear message.
 *
 * What the sink contract's "atomic bundle" means here. Pub/Sub publishing is at-least-once
 * and has no transactions, so:
 *  - Rows are buffered until commit; an aborted bundle publishes nothing. (A bundle whose
 *    buffered messages pass BEAM_PUBSUB_EARLY_PUBLISH_BYTES, or the sink option spill_bytes,
 *    publishes them early to bound memory; those messages are visible even if the bundle
 *    later aborts, and its retry publishes them again under the same row ids.)
 *  - commit returns BEAM_OK only when the server acknowledged every message of the bundle.
 *    A failed commit may have published part of the bundle; the runner's retry publishes it
 *    all again with the same beam_c_row_id values, so a subscriber that deduplicates on that
 *    attribute sees each row once. A commit the server executed but whose answer was lost is
 *    retried too, with the same effect.
 *  - A bundle id committed earlier on the same sink instance is recognised and skipped
 *    (beam_sink_last_bundle_was_duplicate); across processes only the row ids deduplicate.
 * Retries: UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN and
 * unreachable servers are retried with exponential backoff and jitter (at most 8 attempts
 * and 120 s per request, 60 s per attempt);
 * NOT_FOUND (the topic does not exist), PERMISSION_DENIED, UNAUTHENTICATED, INVALID_ARGUMENT
 * fail the commit at once with the server's message. A row whose message cannot fit in one
 * request is refused per row (dead-lettered by the caller) with the sizes in the reason.
 *
 * Limits per request: at most BEAM_PUBSUB_DEFAULT_MAX_MESSAGES messages (or the sink
 * option batch_rows, clamped to that) and BEAM_PUBSUB_DEFAULT_MAX_REQUEST_BYTES encoded
 * bytes, well under Pub/Sub's 1000 messages and 10 MB. */
#ifndef BEAM_TRANSFORMS_SINK_PUBSUB_H
#define BEAM_TRANSFORMS_SINK_PUBSUB_H

#include "beam/status.h"
#include "beam/transforms/pubsub.h"
#include "beam/transforms/sink.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BEAM_PUBSUB_DEFAULT_MAX_MESSAGES 500
#define BEAM_PUBSUB_DEFAULT_MAX_REQUEST_BYTES ((size_t)5 * 1000 * 1000)
#define BEAM_PUBSUB_EARLY_PUBLISH_BYTES ((size_t)64 << 20)

/* beam_pubsub_set_token_provider (pubsub.h), under the sink's name: publishers and
 * subscribers share one provider. */
void beam_sink_pubsub_set_token_provider(beam_pubsub_token_fn fn, void *ctx);

/* The "pubsub" scheme's factory: location is "projects/P/topics/T[?options]". Opening
 * checks the name and creates the channel; nothing is sent until the first commit. */
beam_status beam_sink_pubsub_open(const char *location, const beam_sink_options *opts,
                                  beam_sink **out, beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
