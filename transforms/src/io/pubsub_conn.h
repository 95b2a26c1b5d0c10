/* A connection to Pub/Sub shared by the publisher (sinks/pubsub_publisher.c) and the
 * subscriber (pubsub_subscriber.c): the channel (the emulator in plaintext, else TLS), the
 * bearer token of each call, which gRPC codes are worth retrying, and the backoff between
 * attempts. See beam/transforms/pubsub.h for where it connects. */
#ifndef BEAM_IO_PUBSUB_CONN_H
#define BEAM_IO_PUBSUB_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/grpc_client.h"
#include "beam/status.h"
#include "beam/transforms/pubsub.h"

/* How often a channel to the service pings while calls are open (pubsub_conn.c). */
#define BEAM_PUBSUB_KEEPALIVE_MS 30000

typedef struct beam_pubsub_conn {
  beam_grpc_channel *ch;
  bool emulator; /* plaintext, no credentials */
  beam_pubsub_token_fn token;
  void *token_ctx;
} beam_pubsub_conn;

/* Opens the channel (gRPC dials lazily, at the first call). what ("topic projects/P/topics/T")
 * names the resource in errors. Without the emulator, finds the credentials now so a machine
 * without any fails here, not at the first call. */
beam_status beam_pubsub_conn_open(beam_pubsub_conn *c, const char *what, const char *endpoint, beam_error *err);
void beam_pubsub_conn_close(beam_pubsub_conn *c);

/* The call's metadata: none for the emulator, else "authorization: Bearer <token>" in md[0]
 * with its value in *auth (malloc'ed, free after the call). A provider's failure keeps its
 * error code (BEAM_ERR_IO when it set none), prefixed with what. */
beam_status beam_pubsub_conn_auth(beam_pubsub_conn *c, const char *what, beam_grpc_metadata *md, size_t *n_md,
                                  char **auth, beam_error *err);

/* Whether a call that ended with this gRPC code (-1: never reached a server) may succeed when
 * repeated: what Google's client libraries retry (UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN, CANCELLED). */
bool beam_pubsub_retryable_code(int code);

/* Exponential backoff with "equal jitter" (a delay drawn from [d/2, d]) so many clients
 * retrying at once spread out. */
typedef struct beam_pubsub_backoff {
  int initial_ms, max_ms;
  uint64_t rng;
} beam_pubsub_backoff;

void beam_pubsub_backoff_init(beam_pubsub_backoff *b, int initial_ms, int max_ms);
/* The delay before retry number attempt (1 = the first retry), at most budget_ms. */
long beam_pubsub_backoff_ms(beam_pubsub_backoff *b, int attempt, int64_t budget_ms);

/* Pub/Sub's resource-name rules: a topic or subscription id is 3-255 of
 * [A-Za-z0-9-_.~+%], starts with a letter and not with "goog"; a project id is lowercase
 * letters, digits and hyphens (domain-scoped ones, "example.com:proj", add '.' and ':'). */
bool beam_pubsub_resource_id_valid(const char *id, size_t len);
bool beam_pubsub_project_valid(const char *project, size_t len);

/* How one call is retried. */
typedef struct beam_pubsub_retry {
  int max_attempts;     /* first try included */
  int initial_delay_ms; /* before the first retry; doubles each time */
  int max_delay_ms;
  int call_timeout_ms;  /* per attempt */
  int total_timeout_ms; /* all attempts and their waits together */
} beam_pubsub_retry;

/* One unary call with the connection's credentials, repeated after a retryable code (with
 * b's backoff) while retry allows. *code gets the last attempt's gRPC code (-1: no call was
 * made: no token, no memory; those are not retried), *attempts how many were made. The
 * error is the last attempt's; callers add what the call was for. */
beam_status beam_pubsub_conn_call(beam_pubsub_conn *c, const char *what, const char *method, const void *req,
                                  size_t len, const beam_pubsub_retry *retry, beam_pubsub_backoff *b, beam_buf *resp,
                                  int *code, int *attempts, beam_error *err);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t beam_pubsub_now_ms(void);

#endif
