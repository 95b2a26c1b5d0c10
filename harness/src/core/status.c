#include "beam/status.h"

#include <stdio.h>
#include <string.h>

const char *beam_status_name(beam_status s) {
  switch (s) {
    case BEAM_OK: return "ok";
    case BEAM_ERR_TRUNCATED: return "truncated";
    case BEAM_ERR_MALFORMED: return "malformed";
    case BEAM_ERR_NOMEM: return "out of memory";
    case BEAM_ERR_UNSUPPORTED: return "unsupported";
    case BEAM_ERR_INVALID_ARG: return "invalid argument";
    case BEAM_ERR_IO: return "i/o error";
    case BEAM_ERR_NOT_FOUND: return "not found";
    case BEAM_ERR_USER: return "user error";
    case BEAM_ERR_CANCELLED: return "cancelled";
    case BEAM_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

beam_status beam_error_vset(beam_error *err, beam_status code, const char *fmt, va_list ap) {
  if (err) {
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
  }
  return code;
}

beam_status beam_error_set(beam_error *err, beam_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  beam_error_vset(err, code, fmt, ap);
  va_end(ap);
  return code;
}

beam_status beam_error_prefix(beam_error *err, const char *fmt, ...) {
  /* Callers `return beam_error_prefix(err, ...)` on failure paths: without an error to read
   * the code from, still a failure, never BEAM_OK. */
  if (!err) return BEAM_ERR_INTERNAL;
  char prefix[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  /* Shift the old message right by the prefix length, truncating its tail if needed. */
  size_t cap = sizeof err->message;
  size_t plen = strlen(prefix);
  if (plen >= cap) plen = cap - 1;
  size_t olen = strnlen(err->message, cap - 1);
  if (plen + olen >= cap) olen = cap - 1 - plen;
  memmove(err->message + plen, err->message, olen);
  memcpy(err->message, prefix, plen);
  err->message[plen + olen] = '\0';
  return err->code;
}

void beam_error_clear(beam_error *err) {
  if (err) {
    err->code = BEAM_OK;
    err->message[0] = '\0';
  }
}
