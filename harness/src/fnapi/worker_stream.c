/* The worker's Fn API streams (see worker_stream.h). */
#include <string.h>

#include "worker_stream.h"

beam_status beam_worker_stream_open(beam_worker_stream *s, const char *endpoint, const char *worker_id,
                                    const char *method, beam_error *err) {
  memset(s, 0, sizeof *s);
  beam_status st = beam_grpc_channel_open(endpoint, worker_id, &s->channel, err);
  if (st == BEAM_OK) st = beam_grpc_stream_open(s->channel, method, &s->call, err);
  if (st != BEAM_OK) beam_worker_stream_close(s);
  return st;
}

beam_status beam_worker_stream_start_thread(beam_worker_stream *s, void *(*thread_main)(void *), void *arg,
                                            const char *what, beam_error *err) {
  if (pthread_create(&s->thread, NULL, thread_main, arg) != 0)
    return beam_error_set(err, BEAM_ERR_INTERNAL, "cannot start the %s thread", what);
  s->thread_started = true;
  return BEAM_OK;
}

void beam_worker_stream_cancel(beam_worker_stream *s) { beam_grpc_stream_cancel(s->call); }

void beam_worker_stream_half_close(beam_worker_stream *s) {
  if (!s->call) return;
  beam_error ignored = {0};
  beam_grpc_stream_close_send(s->call, &ignored);
}

void beam_worker_stream_end(beam_worker_stream *s) {
  if (!s->call) return;
  beam_worker_stream_half_close(s);
  beam_worker_stream_cancel(s);
}

void beam_worker_stream_join(beam_worker_stream *s) {
  if (s->thread_started) pthread_join(s->thread, NULL);
  s->thread_started = false;
}

void beam_worker_stream_close(beam_worker_stream *s) {
  beam_worker_stream_join(s);
  beam_grpc_stream_free(s->call);
  beam_grpc_channel_close(s->channel);
  memset(s, 0, sizeof *s);
}
