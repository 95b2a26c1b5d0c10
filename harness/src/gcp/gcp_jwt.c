/* RS256 JWT signing with OpenSSL's EVP API, for the jwt-bearer token grant. */
#include "gcp_jwt.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "beam/gcp_auth.h"

beam_status beam_base64url_append(beam_buf *b, const void *data, size_t len) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const uint8_t *p = data;
  beam_status s = beam_buf_reserve(b, (len + 2) / 3 * 4);
  for (size_t i = 0; s == BEAM_OK && i < len; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16;
    size_t n = len - i < 3 ? len - i : 3;
    if (n > 1) v |= (uint32_t)p[i + 1] << 8;
    if (n > 2) v |= p[i + 2];
    char out[4] = {alphabet[(v >> 18) & 63], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63],
                   alphabet[v & 63]};
    s = beam_buf_append(b, out, n + 1);
  }
  return s;
}

static beam_status append_json_segment(beam_buf *out, json_t *obj) {
  char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
  json_decref(obj);
  if (!text) return BEAM_ERR_NOMEM;
  beam_status s = beam_base64url_append(out, text, strlen(text));
  free(text);
  return s;
}

static beam_status sign_rs256(const char *key_pem, const void *data, size_t len, beam_buf *out,
                              beam_error *err) {
  BIO *bio = BIO_new_mem_buf(key_pem, -1);
  EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
  BIO_free(bio);
  if (!key)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "service account key: private_key is not a PEM private key");
  beam_status s = BEAM_OK;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  size_t sig_len = 0;
  unsigned char *sig = NULL;
  if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
      EVP_DigestSignUpdate(md, data, len) != 1 || EVP_DigestSignFinal(md, NULL, &sig_len) != 1 ||
      !(sig = OPENSSL_malloc(sig_len)) || EVP_DigestSignFinal(md, sig, &sig_len) != 1)
    s = beam_error_set(err, BEAM_ERR_INVALID_ARG,
                       "service account key: RS256 signing failed (not an RSA key?)");
  if (s == BEAM_OK && beam_base64url_append(out, sig, sig_len) != BEAM_OK)
    s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  OPENSSL_free(sig);
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(key);
  return s;
}

beam_status beam_gcp_jwt_sign(const char *key_pem, const char *kid, const char *iss,
                              const char *scope, const char *aud, int64_t iat, int64_t exp,
                              beam_buf *out, beam_error *err) {
  json_t *header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
  if (header && kid && *kid) json_object_set_new(header, "kid", json_string(kid));
  json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", iss, "scope", scope, "aud", aud,
                             "iat", (json_int_t)iat, "exp", (json_int_t)exp);
  size_t start = out->len;
  beam_status s = append_json_segment(out, header);
  if (s == BEAM_OK) s = beam_buf_append_byte(out, '.');
  if (s == BEAM_OK) s = append_json_segment(out, claims);
  else json_decref(claims);
  if (s != BEAM_OK) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t signed_len = out->len - start;
  /* Sign a copy: appending the signature may move out->data. */
  char *input = malloc(signed_len);
  if (!input) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  memcpy(input, out->data + start, signed_len);
  s = beam_buf_append_byte(out, '.');
  if (s == BEAM_OK) s = sign_rs256(key_pem, input, signed_len, out, err);
  else beam_error_set(err, s, "out of memory");
  free(input);
  return s;
}
