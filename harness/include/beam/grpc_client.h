/* A small blocking client over the gRPC C core: unary calls and bidirectional streams that
 * carry serialized protos, with the `worker_id` metadata Beam runners require on every call.
 *
 * Threading: a stream may have one thread in recv and one (or more, serialized by a mutex)
 * in send at the same time; cancel may be called from any thread and wakes both. */
#ifndef BEAM_GRPC_CLIENT_H
#define BEAM_GRPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "beam/buf.h"
#include "beam/status.h"

typedef struct beam_grpc_channel beam_grpc_channel;
typedef struct beam_grpc_stream beam_grpc_stream;

/* Opens an insecure (loopback, runner-local) channel. target: "host:port" (or any gRPC target
 * URI). worker_id, sent as `worker_id` metadata on every call, may be NULL (no metadata). */
beam_status beam_grpc_channel_open(const char *target, const char *worker_id, beam_grpc_channel **out,
                                   beam_error *err);
/* A TLS channel verified against gRPC's default root certificates (the file named by
 * $GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, else the roots installed with gRPC): for Google APIs such
 * as "pubsub.googleapis.com:443". Credentials go per call (beam_grpc_unary_ex metadata). */
beam_status beam_grpc_channel_open_tls(const char *target, beam_grpc_channel **out, beam_error *err);
/* A channel's settings beyond its target. Zero-initialise and set what differs. */
typedef struct beam_grpc_channel_options {
  bool tls; /* verified against gRPC's default roots (as beam_grpc_channel_open_tls), else insecure */
  /* > 0: an HTTP/2 ping this often while calls are open, so a long stream that idles (a
   * subscription without messages) keeps its connection through proxies and load balancers
   * that drop quiet ones, and a dead connection is noticed instead of waited on. Servers
   * refuse pings more frequent than they permit (gRPC's default: 5 minutes; Google APIs take
   * 30 s), so set it for servers known to allow it. */
  int keepalive_time_ms;
  int keepalive_timeout_ms; /* a ping unanswered this long closes the connection (default 20000) */
} beam_grpc_channel_options;

/* Opens a channel with those settings (worker_id metadata: none). */
beam_status beam_grpc_channel_open_with(const char *target, const beam_grpc_channel_options *opts,
                                        beam_grpc_channel **out, beam_error *err);
/* Closes the channel (its streams must be freed first). NULL is fine. */
void beam_grpc_channel_close(beam_grpc_channel *ch);
/* The target the channel was opened with, for messages. */
const char *beam_grpc_channel_target(const beam_grpc_channel *ch);

/* method: "/package.Service/Method". The response replaces resp's contents. A non-OK gRPC
 * status is BEAM_ERR_IO with the status code and details; a deadline is BEAM_ERR_IO too. */
beam_status beam_grpc_unary(beam_grpc_channel *ch, const char *method, const void *req, size_t len,
                            int timeout_ms, beam_buf *resp, beam_error *err);

/* Extra metadata for one call (keys lowercase, e.g. "authorization"). */
typedef struct beam_grpc_metadata {
  const char *key;
  const char *value;
} beam_grpc_metadata;

enum { BEAM_GRPC_MAX_CALL_METADATA = 8 };

/* beam_grpc_unary with up to BEAM_GRPC_MAX_CALL_METADATA extra metadata entries, reporting
 * the call's gRPC status code in *code (may be NULL): 0 (OK) on success, the server's code
 * (or the transport's: UNAVAILABLE when unreachable, DEADLINE_EXCEEDED on timeout) on
 * failure, -1 when the call could not be made at all. Callers use it to tell a retryable
 * failure from one that cannot succeed. */
beam_status beam_grpc_unary_ex(beam_grpc_channel *ch, const char *method, const void *req, size_t len,
                               const beam_grpc_metadata *md, size_t n_md, int timeout_ms, beam_buf *resp,
                               int *code, beam_error *err);

beam_status beam_grpc_stream_open(beam_grpc_channel *ch, const char *method, beam_grpc_stream **out,
                                  beam_error *err);
/* The same with a deadline for the whole call (timeout_ms <= 0: none): a transfer that must
 * not hang, such as a worker's artifact download. */
beam_status beam_grpc_stream_open_timeout(beam_grpc_channel *ch, const char *method, int timeout_ms,
                                          beam_grpc_stream **out, beam_error *err);
/* The same with up to BEAM_GRPC_MAX_CALL_METADATA extra metadata entries on the call (e.g.
 * "authorization" for a Google API's streaming method). */
beam_status beam_grpc_stream_open_ex(beam_grpc_channel *ch, const char *method, const beam_grpc_metadata *md,
                                     size_t n_md, int timeout_ms, beam_grpc_stream **out, beam_error *err);
/* The gRPC status code the call ended with, once send or recv reported its end: 0 (OK) or the
 * server's (or transport's) code; -1 while the call has not ended. Callers use it to tell a
 * stream worth reopening (UNAVAILABLE) from one that cannot succeed (NOT_FOUND). */
int beam_grpc_stream_status_code(beam_grpc_stream *s);
/* Sends one message; blocks until the transport took it. */
beam_status beam_grpc_stream_send(beam_grpc_stream *s, const void *msg, size_t len, beam_error *err);
/* Receives one message into msg; *eof is set (and BEAM_OK returned) when the server ended
 * the stream cleanly, otherwise its status comes back as an error. */
beam_status beam_grpc_stream_recv(beam_grpc_stream *s, beam_buf *msg, bool *eof, beam_error *err);
/* Half-closes: tells the server no more messages will come. */
beam_status beam_grpc_stream_close_send(beam_grpc_stream *s, beam_error *err);
/* Aborts the call: pending and later send/recv fail promptly. */
void beam_grpc_stream_cancel(beam_grpc_stream *s);
/* Cancels if still running, waits for the call to end and frees it. */
void beam_grpc_stream_free(beam_grpc_stream *s);

#endif
