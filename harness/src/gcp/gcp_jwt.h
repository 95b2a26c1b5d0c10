/* The service-account JWT assertion (RFC 7523) signed with RS256 (internal to gcp_auth). */
#ifndef BEAM_GCP_JWT_H
#define BEAM_GCP_JWT_H

#include <stdint.h>

#include "beam/buf.h"
#include "beam/status.h"

/* Appends header.claims.signature to out. key_pem: the key file's private_key (PKCS#8 PEM);
 * kid may be NULL. The error never quotes the key. */
beam_status beam_gcp_jwt_sign(const char *key_pem, const char *kid, const char *iss,
                              const char *scope, const char *aud, int64_t iat, int64_t exp,
                              beam_buf *out, beam_error *err);

#endif
