/* Google Application Default Credentials: OAuth2 access tokens for Google APIs.
 *
 * Where credentials come from, in Google's order (the first that exists wins):
 *   1. GOOGLE_APPLICATION_CREDENTIALS names a JSON key file:
 *      - "type": "service_account": a JWT (RS256, signed here with OpenSSL with the key's
 *        private_key; claims iss=client_email, scope, aud=token_uri, iat, exp=iat+1h) is
 *        exchanged at token_uri (grant urn:ietf:params:oauth:grant-type:jwt-bearer);
 *      - "type": "authorized_user": as below.
 *   2. gcloud's file, $CLOUDSDK_CONFIG/application_default_credentials.json (default
 *      ~/.config/gcloud/), written by `gcloud auth application-default login`: an
 *      authorized user whose refresh_token is exchanged at token_uri (default
 *      https://oauth2.googleapis.com/token; a "token_uri" key in the file overrides it).
 *   3. The metadata server (GCE, GKE, Dataflow workers):
 *      GET http://$GCE_METADATA_HOST/computeMetadata/v1/instance/service-accounts/default/token
 *      with "Metadata-Flavor: Google" (host default metadata.google.internal).
 *
 * Tokens are cached and refreshed refresh_margin_s before they expire; beam_gcp_auth_token is
 * thread-safe (one refresh at a time, others wait for it). Tokens and keys are never logged
 * nor put in error messages.
 *
 * Emulators take no credentials: beam_gcp_auth_new_for_emulator("STORAGE_EMULATOR_HOST", ...)
 * returns an anonymous source (empty token) when that variable is set, ADC otherwise. */
#ifndef BEAM_GCP_AUTH_H
#define BEAM_GCP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "beam/http.h"
#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_gcp_auth beam_gcp_auth;

typedef enum beam_gcp_auth_kind {
  BEAM_GCP_AUTH_ANONYMOUS = 0,  /* emulator: no Authorization header */
  BEAM_GCP_AUTH_SERVICE_ACCOUNT,
  BEAM_GCP_AUTH_AUTHORIZED_USER,
  BEAM_GCP_AUTH_METADATA
} beam_gcp_auth_kind;

typedef struct beam_gcp_auth_options {
  const char *scope;           /* default "https://www.googleapis.com/auth/cloud-platform" */
  int refresh_margin_s;        /* refresh this long before expiry; default 300 (0 = default) */
  const beam_http_options *http; /* for token requests; NULL = beam_http_options_init */
} beam_gcp_auth_options;

/* Finds credentials in the order above. Reading and checking a key file happens here (a bad
 * file is an error naming it and the field); the network is first used by the first token
 * request. opts may be NULL. */
beam_status beam_gcp_auth_new_default(const beam_gcp_auth_options *opts, beam_gcp_auth **out,
                                      beam_error *err);
/* Credentials from a given key file (service_account or authorized_user JSON). */
beam_status beam_gcp_auth_new_from_file(const char *path, const beam_gcp_auth_options *opts,
                                        beam_gcp_auth **out, beam_error *err);
beam_status beam_gcp_auth_new_anonymous(beam_gcp_auth **out, beam_error *err);
/* Anonymous when the environment variable emulator_env is set and non-empty, else ADC. */
beam_status beam_gcp_auth_new_for_emulator(const char *emulator_env,
                                           const beam_gcp_auth_options *opts,
                                           beam_gcp_auth **out, beam_error *err);
void beam_gcp_auth_free(beam_gcp_auth *a);

/* The process-wide ADC credentials (created at the first call, never freed), so every
 * client - one per input object, one per sink - shares one cached token instead of fetching
 * its own. Thread-safe. Do not free the result. */
beam_status beam_gcp_auth_shared_default(beam_gcp_auth **out, beam_error *err);

/* Which kind of credentials a uses, and that kind's name for messages. */
beam_gcp_auth_kind beam_gcp_auth_get_kind(const beam_gcp_auth *a);
const char *beam_gcp_auth_kind_name(beam_gcp_auth_kind k);

/* Copies a valid access token into buf (cap >= 4096 is plenty; "" for anonymous), fetching
 * or refreshing it when needed. Thread-safe. */
beam_status beam_gcp_auth_token(beam_gcp_auth *a, char *buf, size_t cap, beam_error *err);

/* Forgets the cached token (after an API answered 401 with it); the next call fetches anew. */
void beam_gcp_auth_invalidate(beam_gcp_auth *a);

/* Sends rq on h with a's bearer token (none when anonymous). A 401 gets one more attempt
 * with a fresh token (the cached one was revoked or expired early), unless the body is
 * streamed (rq->read) and so cannot be sent again. The token is wiped from memory after. */
beam_status beam_gcp_auth_send(beam_gcp_auth *a, beam_http *h, beam_http_request *rq, beam_http_response *rs,
                               beam_error *err);

/* RFC 4648 base64url without padding, appended to b (JWT segments). */
beam_status beam_base64url_append(beam_buf *b, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
