/* Google Cloud Storage through its JSON API (https://storage.googleapis.com/storage/v1/...),
 * on the shared HTTP layer and credentials.
 *
 * Endpoint: STORAGE_EMULATOR_HOST ("host:port" or "http://host:port") when set - then no
 * credentials are sent - else options.endpoint, else https://storage.googleapis.com.
 *
 * Uploads are resumable uploads: the object becomes visible only when the final chunk is
 * accepted, so a failed or abandoned upload never leaves a partial object. Chunks are sent
 * from a buffer of chunk_size bytes (memory use is bounded whatever the object size); after
 * a dropped connection, a 429 or a 5xx the session is abandoned and the upload restarts from
 * the rewound source in a new session (bounded attempts, backoff).
 * only_if_absent adds ifGenerationMatch=0: an existing object is never overwritten, and
 * the call reports it (created = false) instead.
 *
 * Downloads stream through a callback (nothing held in memory) and may name a byte range;
 * a download broken by the network resumes at the first byte not yet delivered.
 *
 * A client is NOT thread-safe (one HTTP connection); credentials may be shared. */
#ifndef BEAM_GCS_H
#define BEAM_GCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/gcp_auth.h"
#include "beam/http.h"
#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_gcs beam_gcs;

typedef struct beam_gcs_options {
  const char *endpoint;          /* NULL: emulator variable or the real service */
  beam_gcp_auth *auth;           /* borrowed; NULL: the shared ADC (anonymous under the emulator) */
  const beam_http_options *http; /* NULL: defaults */
  size_t chunk_size;             /* upload chunk; rounded up to 256 KiB; default 8 MiB */
  int list_page_size;            /* objects per list page; 0 = the service's default (1000) */
} beam_gcs_options;

typedef struct beam_gcs_object_info {
  int64_t size;
  int64_t generation;
  char crc32c[16]; /* the content's CRC32C as GCS gives it (base64 of 4 bytes); "" when absent */
} beam_gcs_object_info;

/* A GCS client (endpoint and credentials from opts; STORAGE_EMULATOR_HOST honoured), and its release. */
beam_status beam_gcs_new(const beam_gcs_options *opts, beam_gcs **out, beam_error *err);
void beam_gcs_free(beam_gcs *g);
/* The endpoint in use ("http://127.0.0.1:4443"), for messages. */
const char *beam_gcs_endpoint(const beam_gcs *g);

/* Splits "gs://bucket/some/object" into malloc'd bucket and object ("" when only a bucket
 * or "gs://bucket/" is named). */
beam_status beam_gcs_parse_uri(const char *uri, char **bucket, char **object, beam_error *err);

/* Metadata of one object; BEAM_ERR_NOT_FOUND when it does not exist. */
beam_status beam_gcs_stat(beam_gcs *g, const char *bucket, const char *object,
                          beam_gcs_object_info *out, beam_error *err);

/* Streams bytes [offset, offset+length) (length -1: to the end) of the object into on_data.
 * generation 0 = the live one; a generation pins the bytes read across calls. */
beam_status beam_gcs_download(beam_gcs *g, const char *bucket, const char *object,
                              int64_t generation, uint64_t offset, int64_t length,
                              beam_http_write_fn on_data, void *ctx, beam_error *err);

typedef struct beam_gcs_upload_options {
  const char *content_type;  /* default application/octet-stream */
  bool only_if_absent;       /* ifGenerationMatch=0 */
} beam_gcs_upload_options;

/* Uploads the bytes read() yields (until it returns 0) as one object; rewind (may be NULL:
 * then a transient failure is not retried) restarts the source for a new attempt. created (may be NULL)
 * is false when only_if_absent found the object already there (BEAM_OK then). info (may be
 * NULL) receives the new object's size and generation. */
beam_status beam_gcs_upload(beam_gcs *g, const char *bucket, const char *object,
                            const beam_gcs_upload_options *o, beam_http_read_fn read,
                            beam_http_rewind_fn rewind, void *ctx, bool *created,
                            beam_gcs_object_info *info, beam_error *err);
/* The same from memory. */
beam_status beam_gcs_upload_bytes(beam_gcs *g, const char *bucket, const char *object,
                                  const beam_gcs_upload_options *o, const void *data, size_t len,
                                  bool *created, beam_error *err);

/* Calls each(ctx, name, size) for every object whose name starts with prefix, in name
 * order, page by page. A non-OK return from each stops the listing and is returned. */
typedef beam_status (*beam_gcs_list_fn)(void *ctx, const char *name, int64_t size,
                                        beam_error *err);
beam_status beam_gcs_list(beam_gcs *g, const char *bucket, const char *prefix,
                          beam_gcs_list_fn each, void *ctx, beam_error *err);
/* The same for the names from start_offset (included) to end_offset (excluded) only, either
 * NULL for no bound: GCS's startOffset/endOffset, so the names outside are never sent. */
beam_status beam_gcs_list_range(beam_gcs *g, const char *bucket, const char *prefix, const char *start_offset,
                                const char *end_offset, beam_gcs_list_fn each, void *ctx, beam_error *err);

/* Deletes an object; BEAM_ERR_NOT_FOUND when it does not exist. */
beam_status beam_gcs_delete(beam_gcs *g, const char *bucket, const char *object,
                            beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
