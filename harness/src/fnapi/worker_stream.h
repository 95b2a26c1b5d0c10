/* One Fn API bidirectional stream of the worker (control, data, state, logging): a channel of
 * its own to the runner's endpoint, the stream, and the thread that reads (or feeds) it. The
 * data, state and logging channels open and end their streams alike; this is that plumbing,
 * while each keeps its own protocol and its own way of waking the callers it serves. */
#ifndef BEAM_WORKER_STREAM_H
#define BEAM_WORKER_STREAM_H

#include <pthread.h>
#include <stdbool.h>

#include "beam/grpc_client.h"
#include "beam/status.h"

typedef struct beam_worker_stream {
  beam_grpc_channel *channel;
  beam_grpc_stream *call;
  pthread_t thread;
  bool thread_started;
} beam_worker_stream;

/* Opens a channel to endpoint (with the worker_id metadata runners require) and the
 * bidirectional stream of method ("/package.Service/Method") on it. On failure nothing stays
 * open and s is left zeroed, so beam_worker_stream_close is still safe. */
beam_status beam_worker_stream_open(beam_worker_stream *s, const char *endpoint, const char *worker_id,
                                    const char *method, beam_error *err);
/* Starts the stream's thread, thread_main(arg); what names it in the error ("data receiver"). */
beam_status beam_worker_stream_start_thread(beam_worker_stream *s, void *(*thread_main)(void *), void *arg,
                                            const char *what, beam_error *err);
/* Aborts the call from any thread: a send or recv in progress fails promptly. */
void beam_worker_stream_cancel(beam_worker_stream *s);
/* Tells the runner no more messages come (ignoring a failure: the stream is ending anyway). */
void beam_worker_stream_half_close(beam_worker_stream *s);
/* Half-closes, then cancels: the runner sees a clean end and a thread blocked in recv wakes. */
void beam_worker_stream_end(beam_worker_stream *s);
/* Waits for the thread to end, if it was started (once: later calls return at once). */
void beam_worker_stream_join(beam_worker_stream *s);
/* Waits for the thread, then frees the stream and closes the channel. The thread must be
 * about to end (the stream ended, or its owner told it to stop). */
void beam_worker_stream_close(beam_worker_stream *s);

#endif
