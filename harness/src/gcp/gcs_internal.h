/* Shared by the GCS client's files (gcs.c, gcs_upload.c). */
#ifndef BEAM_GCS_INTERNAL_H
#define BEAM_GCS_INTERNAL_H

#include "beam/buf.h"
#include "beam/gcs.h"

struct beam_gcs {
  beam_http *http;
  beam_gcp_auth *auth;
  bool owns_auth;
  char *endpoint;     /* no trailing slash */
  size_t chunk_size;
  int list_page_size;
};

/* Sends rq with the client's credentials; a 401 refreshes the token and tries once more. */
beam_status beam_gcs_send(beam_gcs *g, beam_http_request *rq, beam_http_response *rs,
                          beam_error *err);

/* Appends "<endpoint><api>/b/<bucket>/o[/<object>]" (escaped) to url; object may be NULL. */
beam_status beam_gcs_object_url(const beam_gcs *g, beam_buf *url, const char *api,
                                const char *bucket, const char *object);

#endif
