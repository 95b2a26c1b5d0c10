/* Unbounded sources the local runner reads (streaming mode).
 *
 * A pipeline whose root is an unbounded read (beam_pubsub_read: beam:transform:pubsub_read:v1)
 * runs on the local runner in streaming mode: its downstream transforms form one stage, run on
 * --parallelism threads; each thread pulls a batch from the source (up to bundle_max_records
 * elements, waiting at most bundle_max_ms), runs it as one bundle, and acknowledges the batch
 * only after the bundle finished (its sinks committed). A failed bundle is retried in place
 * with backoff (the graph rebuilt, nothing acknowledged) until it succeeds or the run is
 * stopped. The run ends on SIGINT/SIGTERM (in-flight bundles finish and are acknowledged) or
 * after max_idle_s seconds without an element.
 *
 * The runner executes no Pub/Sub itself: a library registers the source for the read's URN
 * (the transforms library's Pub/Sub subscriber does), keeping libbeam-c free of it.
 *
 * Pipeline options (JSON) the streaming mode reads: "bundle_max_records" (default 1000),
 * "bundle_max_ms" (default 1000), "max_idle_s" (default 0: run until stopped). */
#ifndef BEAM_STREAM_SOURCE_H
#define BEAM_STREAM_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One element as the read's output coder encodes it (Pub/Sub: the message data, or a
 * serialized PubsubMessage with attributes) and its event time. */
typedef struct beam_stream_element {
  const uint8_t *data;
  size_t len;
  int64_t timestamp_ms;
} beam_stream_element;

/* What one pull handed out. The source owns items and token until it acks or nacks the batch. */
typedef struct beam_stream_batch {
  beam_stream_element *items;
  size_t n;
  void *token; /* the source's own (ack ids) */
} beam_stream_batch;

typedef struct beam_stream_source_ops {
  const char *urn; /* the read transform's URN this source executes */
  /* Opens the source for a read transform's payload (PubSubReadPayload) and the pipeline
   * options. A source that cannot exist (no such subscription, no permission) fails here,
   * before any bundle runs. */
  beam_status (*open)(const uint8_t *payload, size_t len, const json_t *options, void **src, beam_error *err);
  /* Fills *batch with up to max_elements elements (about max_bytes at most), waiting up to
   * wait_ms for them; n 0 when none arrived (the runner gives an empty batch back with nack
   * too). Called from several threads at once. */
  beam_status (*pull)(void *src, size_t max_elements, size_t max_bytes, int wait_ms, beam_stream_batch *batch,
                      beam_error *err);
  /* The batch's bundle committed: acknowledge its elements (never to be delivered again). */
  beam_status (*ack)(void *src, beam_stream_batch *batch, beam_error *err);
  /* The batch will not be committed (the run stops): give its elements back for redelivery. */
  void (*nack)(void *src, beam_stream_batch *batch);
  /* Releases the source (what is not acknowledged comes back to other consumers). */
  void (*close)(void *src);
} beam_stream_source_ops;

/* Registers (or replaces) the source for ops->urn; ops must outlive the process's runs.
 * Thread-safe. */
beam_status beam_stream_source_register(const beam_stream_source_ops *ops, beam_error *err);

/* The source registered for urn, or NULL. */
const beam_stream_source_ops *beam_stream_source_find(const char *urn);

#ifdef __cplusplus
}
#endif
#endif
