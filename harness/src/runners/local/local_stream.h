/* The local runner's streaming mode (beam/stream_source.h): the plan of a pipeline read from
 * an unbounded source, and the control of its bundles (pull, acknowledge, retry, stop). */
#ifndef BEAM_LOCAL_STREAM_H
#define BEAM_LOCAL_STREAM_H

#include <stdbool.h>

#include "beam/stream_source.h"
#include "exec.h"
#include "local_stages.h"

typedef struct beam_local_stream beam_local_stream;

/* The leaf among leaves that reads an unbounded source (beam:transform:pubsub_read:v1, or a
 * URN with a registered stream source), or NULL: a batch pipeline. */
const char *beam_local_stream_read(const PIPE(Components) *c, const char *const *leaves, size_t n);

/* The plan of a streaming pipeline: every leaf but the read in one stage fed by the read's
 * output. Only element-wise transforms run (ParDo without side inputs, Flatten, WindowInto):
 * anything that needs a complete input (GroupByKey, a side input) is refused, naming it. */
beam_status beam_local_stream_plan(const PIPE(Components) *c, const char *const *leaves, size_t n, const char *read,
                                   beam_local_plan *out, beam_error *err);

/* Opens the read's registered source, with the options bundle_max_records, bundle_max_ms and
 * max_idle_s, and starts catching SIGINT/SIGTERM (a request to stop). */
beam_status beam_local_stream_open(const PIPE(Components) *c, const char *read, const json_t *options,
                                   beam_local_stream **out, beam_error *err);

/* The next batch for a bundle; *more false (and no batch) once the run is to stop: a signal,
 * or max_idle_s without an element. Waits for elements otherwise. */
beam_status beam_local_stream_next(beam_local_stream *s, beam_stream_batch *batch, bool *more, beam_error *err);

/* After a bundle failed for good: gives its batch back when still held, and stops the run
 * (every thread's next returns *more false). */
void beam_local_stream_fail(beam_local_stream *s, beam_stream_batch *batch);

/* After the batch's bundle finished: acknowledges it (the batch is released either way). */
beam_status beam_local_stream_ack(beam_local_stream *s, beam_stream_batch *batch, beam_error *err);

/* After a failed attempt of the batch's bundle: true when it should be tried again (after a
 * backoff that grows with attempt, cut short by a stop); false once the run is stopping,
 * the batch then given back (nacked). The failure is logged. */
bool beam_local_stream_retry(beam_local_stream *s, beam_stream_batch *batch, int attempt, const beam_error *failure);

/* Emits the batch's elements, decoded with coder, into out (in the global window, at their
 * timestamps); decoded values live in arena. */
beam_status beam_local_stream_feed(const beam_stream_batch *batch, const beam_coder *coder, beam_arena *arena,
                                   beam_exec_output *out, beam_error *err);

/* Stops catching signals and closes the source. NULL ok. */
void beam_local_stream_close(beam_local_stream *s);

#endif
