/* SHA-256 through OpenSSL's EVP interface (the SHA256_* calls are deprecated in OpenSSL 3). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "beam/sha256.h"

beam_status beam_sha256_begin(beam_sha256 *h, beam_error *err) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(ctx);
    h->ctx = NULL;
    return beam_error_set(err, BEAM_ERR_INTERNAL, "cannot start a SHA-256 digest (OpenSSL)");
  }
  h->ctx = ctx;
  return BEAM_OK;
}

void beam_sha256_update(beam_sha256 *h, const void *data, size_t len) {
  if (h->ctx && len) EVP_DigestUpdate(h->ctx, data, len);
}

void beam_sha256_end_hex(beam_sha256 *h, char hex[BEAM_SHA256_HEX_LEN + 1]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  hex[0] = '\0';
  if (h->ctx && EVP_DigestFinal_ex(h->ctx, md, &n) == 1 && n * 2 <= BEAM_SHA256_HEX_LEN)
    for (unsigned int i = 0; i < n; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  beam_sha256_abort(h);
}

void beam_sha256_abort(beam_sha256 *h) {
  EVP_MD_CTX_free(h->ctx);
  h->ctx = NULL;
}

beam_status beam_sha256_file(const char *path, char hex[BEAM_SHA256_HEX_LEN + 1], beam_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return beam_error_set(err, BEAM_ERR_IO, "%s: cannot open for its sha256: %s", path, strerror(errno));
  beam_sha256 h;
  beam_status s = beam_sha256_begin(&h, err);
  unsigned char block[1 << 16];
  size_t n;
  while (s == BEAM_OK && (n = fread(block, 1, sizeof block, f)) > 0) beam_sha256_update(&h, block, n);
  if (s == BEAM_OK && ferror(f)) {
    s = beam_error_set(err, BEAM_ERR_IO, "%s: read error computing its sha256", path);
    beam_sha256_abort(&h);
  }
  if (s == BEAM_OK) beam_sha256_end_hex(&h, hex);
  fclose(f);
  return s;
}
