/* SHA-256 (OpenSSL libcrypto) as the lowercase hex Beam artifacts carry in their payloads. */
#ifndef BEAM_SHA256_H
#define BEAM_SHA256_H

#include <stddef.h>

#include "beam/status.h"

#define BEAM_SHA256_HEX_LEN 64

typedef struct beam_sha256 {
  void *ctx; /* EVP_MD_CTX */
} beam_sha256;

/* Starts a digest (BEAM_ERR_NOMEM when OpenSSL cannot). */
beam_status beam_sha256_begin(beam_sha256 *h, beam_error *err);
/* Adds len bytes at data. */
void beam_sha256_update(beam_sha256 *h, const void *data, size_t len);
/* Writes the digest as 64 hex digits and a NUL, and frees the context. */
void beam_sha256_end_hex(beam_sha256 *h, char hex[BEAM_SHA256_HEX_LEN + 1]);
/* Frees the context without a digest (a failed read). No-op when never begun. */
void beam_sha256_abort(beam_sha256 *h);

/* The digest of a whole file. */
beam_status beam_sha256_file(const char *path, char hex[BEAM_SHA256_HEX_LEN + 1], beam_error *err);

#endif
