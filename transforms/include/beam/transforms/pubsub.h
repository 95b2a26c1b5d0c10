/* What the Pub/Sub publisher (the pubsub sink, sink_pubsub.h) and the subscriber
 * (pubsub_subscriber.h) share: where they connect and how they authenticate.
 *
 * Where: PUBSUB_EMULATOR_HOST=host:port selects the emulator (plaintext, no credentials)
 * unless an explicit endpoint is given. Otherwise TLS to BEAM_PUBSUB_DEFAULT_ENDPOINT (or
 * the endpoint, e.g. a regional "us-east1-pubsub.googleapis.com:443") with
 * "authorization: Bearer <token>" on every call, the token from the provider installed here
 * or else Application Default Credentials (beam/gcp_auth.h). */
#ifndef BEAM_TRANSFORMS_PUBSUB_H
#define BEAM_TRANSFORMS_PUBSUB_H

#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BEAM_PUBSUB_DEFAULT_ENDPOINT "pubsub.googleapis.com:443"

/* Returns an OAuth2 access token for Pub/Sub (scope cloud-platform or pubsub), or NULL with
 * err set. The string is owned by the provider and must stay valid until the next call
 * with the same ctx. Called before every request (and every stream), so it should cache the
 * token and refresh it before it expires (as Application Default Credentials do). Must be
 * callable from any thread that uses a publisher or subscriber. */
typedef const char *(*beam_pubsub_token_fn)(void *ctx, beam_error *err);

/* Installs the token provider every publisher and subscriber opened later against the real
 * service uses (NULL: Application Default Credentials again). Thread-safe; connections
 * already open keep the provider they got. */
void beam_pubsub_set_token_provider(beam_pubsub_token_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
