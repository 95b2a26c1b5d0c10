/* Error reporting shared by every beam-c library function.
 *
 * Library code never exits or aborts on bad input: it returns a beam_status and,
 * when the caller passes a beam_error, a message naming what failed and where. */
#ifndef BEAM_STATUS_H
#define BEAM_STATUS_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum beam_status {
  BEAM_OK = 0,
  BEAM_ERR_TRUNCATED,    /* input ended inside an encoded value */
  BEAM_ERR_MALFORMED,    /* input bytes violate the encoding */
  BEAM_ERR_NOMEM,        /* allocation failed */
  BEAM_ERR_UNSUPPORTED,  /* a URN, type or feature this build does not implement */
  BEAM_ERR_INVALID_ARG,  /* the caller passed something that cannot work */
  BEAM_ERR_IO,           /* file, socket or API failure */
  BEAM_ERR_NOT_FOUND,    /* a named thing (function, coder, table) does not exist */
  BEAM_ERR_USER,         /* a user DoFn reported failure */
  BEAM_ERR_CANCELLED,
  BEAM_ERR_INTERNAL
} beam_status;

/* A caller-owned error slot. Functions fill it only on failure. */
typedef struct beam_error {
  beam_status code;
  char message[512];
} beam_error;

const char *beam_status_name(beam_status s);

/* Records code and a printf-style message in err (if not NULL) and returns code,
 * so a failure path reads: return beam_error_set(err, BEAM_ERR_MALFORMED, "...", ...); */
beam_status beam_error_set(beam_error *err, beam_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
beam_status beam_error_vset(beam_error *err, beam_status code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Prefixes an existing message with context ("file.csv:12: " + message); returns err->code
 * (BEAM_ERR_INTERNAL when err is NULL: it is only called on a failure path). */
beam_status beam_error_prefix(beam_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void beam_error_clear(beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
