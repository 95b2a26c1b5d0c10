/* GCS JSON API client: setup, metadata, listing, deletion, streamed downloads.
 * Uploads live in gcs_upload.c. See beam/gcs.h. */
#include "beam/gcs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gcs_internal.h"

#define GCS_DEFAULT_ENDPOINT "https://storage.googleapis.com"
#define CHUNK_GRANULE ((size_t)256 << 10)

beam_status beam_gcs_new(const beam_gcs_options *opts, beam_gcs **out, beam_error *err) {
  *out = NULL;
  beam_gcs *g = calloc(1, sizeof *g);
  if (!g) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  const char *emu = getenv("STORAGE_EMULATOR_HOST");
  const char *ep = emu && *emu ? emu : opts && opts->endpoint ? opts->endpoint : GCS_DEFAULT_ENDPOINT;
  bool has_scheme = strstr(ep, "://") != NULL;
  size_t len = strlen(ep) + 8;
  g->endpoint = malloc(len);
  if (g->endpoint) {
    snprintf(g->endpoint, len, "%s%s", has_scheme ? "" : "http://", ep);
    size_t n = strlen(g->endpoint);
    while (n && g->endpoint[n - 1] == '/') g->endpoint[--n] = '\0';
  }
  size_t chunk = opts && opts->chunk_size ? opts->chunk_size : (size_t)8 << 20;
  g->list_page_size = opts ? opts->list_page_size : 0;
  g->chunk_size = (chunk + CHUNK_GRANULE - 1) / CHUNK_GRANULE * CHUNK_GRANULE;
  beam_status s = g->endpoint ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (s == BEAM_OK) s = beam_http_new(opts ? opts->http : NULL, &g->http, err);
  if (s == BEAM_OK && opts && opts->auth) g->auth = opts->auth;
  else if (s == BEAM_OK && emu && *emu) {
    s = beam_gcp_auth_new_anonymous(&g->auth, err);
    g->owns_auth = s == BEAM_OK;
  } else if (s == BEAM_OK) {
    s = beam_gcp_auth_shared_default(&g->auth, err); /* one token for every client */
  }
  if (s != BEAM_OK) {
    beam_gcs_free(g);
    return s;
  }
  *out = g;
  return BEAM_OK;
}

void beam_gcs_free(beam_gcs *g) {
  if (!g) return;
  beam_http_free(g->http);
  if (g->owns_auth) beam_gcp_auth_free(g->auth);
  free(g->endpoint);
  free(g);
}

const char *beam_gcs_endpoint(const beam_gcs *g) { return g->endpoint; }

beam_status beam_gcs_parse_uri(const char *uri, char **bucket, char **object, beam_error *err) {
  *bucket = *object = NULL;
  if (strncmp(uri, "gs://", 5) != 0 || !uri[5] || uri[5] == '/')
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: not a gs://BUCKET[/OBJECT] URI", uri);
  const char *b = uri + 5;
  const char *slash = strchr(b, '/');
  *bucket = slash ? strndup(b, (size_t)(slash - b)) : strdup(b);
  *object = strdup(slash ? slash + 1 : "");
  if (!*bucket || !*object) {
    free(*bucket), free(*object);
    *bucket = *object = NULL;
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  return BEAM_OK;
}

beam_status beam_gcs_object_url(const beam_gcs *g, beam_buf *url, const char *api,
                                const char *bucket, const char *object) {
  beam_status s = beam_buf_append_str(url, g->endpoint);
  if (s == BEAM_OK) s = beam_buf_append_str(url, api);
  if (s == BEAM_OK) s = beam_buf_append_str(url, "/b/");
  if (s == BEAM_OK) s = beam_http_append_escaped(url, bucket);
  if (s == BEAM_OK) s = beam_buf_append_str(url, "/o");
  if (s == BEAM_OK && object) {
    s = beam_buf_append_byte(url, '/');
    if (s == BEAM_OK) s = beam_http_append_escaped(url, object);
  }
  return s;
}

beam_status beam_gcs_send(beam_gcs *g, beam_http_request *rq, beam_http_response *rs,
                          beam_error *err) {
  return beam_gcp_auth_send(g->auth, g->http, rq, rs, err);
}

/* int64 fields of the JSON API come as decimal strings. */
static int64_t json_int64(const json_t *v) {
  if (json_is_integer(v)) return json_integer_value(v);
  const char *s = json_string_value(v);
  return s ? strtoll(s, NULL, 10) : -1;
}

/* One call on an object's metadata URL (GET, DELETE), the answer in rs. */
static beam_status object_call(beam_gcs *g, const char *method, const char *bucket, const char *object,
                               beam_http_response *rs, beam_error *err) {
  beam_buf url = BEAM_BUF_INIT;
  beam_status s = beam_gcs_object_url(g, &url, "/storage/v1", bucket, object);
  if (s == BEAM_OK) s = beam_buf_terminate(&url);
  if (s != BEAM_OK) {
    beam_buf_free(&url);
    return beam_error_set(err, s, "out of memory");
  }
  beam_http_request rq = {.method = method, .url = (const char *)url.data};
  s = beam_gcs_send(g, &rq, rs, err);
  beam_buf_free(&url);
  return s;
}

beam_status beam_gcs_stat(beam_gcs *g, const char *bucket, const char *object,
                          beam_gcs_object_info *out, beam_error *err) {
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  beam_status s = object_call(g, "GET", bucket, object, &rs, err);
  if (s == BEAM_OK) {
    json_t *root = json_loadb((const char *)rs.body.data, rs.body.len, 0, NULL);
    out->size = json_int64(json_object_get(root, "size"));
    out->generation = json_int64(json_object_get(root, "generation"));
    const char *crc = json_string_value(json_object_get(root, "crc32c"));
    snprintf(out->crc32c, sizeof out->crc32c, "%s", crc && strlen(crc) < sizeof out->crc32c ? crc : "");
    if (!root || out->size < 0)
      s = beam_error_set(err, BEAM_ERR_MALFORMED, "gs://%s/%s: object metadata without size",
                         bucket, object);
    json_decref(root);
  }
  beam_http_response_free(&rs);
  return s;
}

beam_status beam_gcs_delete(beam_gcs *g, const char *bucket, const char *object,
                            beam_error *err) {
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  beam_status s = object_call(g, "DELETE", bucket, object, &rs, err);
  beam_http_response_free(&rs);
  return s;
}

/* ---- Listing ----------------------------------------------------------------------- */

/* Appends "&name=value" (value escaped) when value is not NULL. */
static beam_status append_query(beam_buf *url, const char *name, const char *value) {
  if (!value) return BEAM_OK;
  beam_status s = beam_buf_append_byte(url, '&');
  if (s == BEAM_OK) s = beam_buf_append_str(url, name);
  if (s == BEAM_OK) s = beam_buf_append_byte(url, '=');
  return s == BEAM_OK ? beam_http_append_escaped(url, value) : s;
}

typedef struct list_range {
  const char *prefix, *start, *end;
} list_range;

static beam_status list_page(beam_gcs *g, const char *bucket, const list_range *r, char **token,
                             beam_gcs_list_fn each, void *ctx, beam_error *err) {
  const char *prefix = r->prefix;
  beam_buf url = BEAM_BUF_INIT;
  beam_status s = beam_gcs_object_url(g, &url, "/storage/v1", bucket, NULL);
  if (s == BEAM_OK) s = beam_buf_append_str(&url, "?prefix=");
  if (s == BEAM_OK) s = beam_http_append_escaped(&url, prefix);
  if (s == BEAM_OK) s = append_query(&url, "startOffset", r->start);
  if (s == BEAM_OK) s = append_query(&url, "endOffset", r->end);
  if (s == BEAM_OK && g->list_page_size > 0) {
    char page[48];
    snprintf(page, sizeof page, "&maxResults=%d", g->list_page_size);
    s = beam_buf_append_str(&url, page);
  }
  if (s == BEAM_OK && *token) {
    s = beam_buf_append_str(&url, "&pageToken=");
    if (s == BEAM_OK) s = beam_http_append_escaped(&url, *token);
  }
  if (s == BEAM_OK) s = beam_buf_terminate(&url);
  free(*token);
  *token = NULL;
  if (s != BEAM_OK) {
    beam_buf_free(&url);
    return beam_error_set(err, s, "out of memory");
  }
  beam_http_request rq = {.method = "GET", .url = (const char *)url.data};
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  s = beam_gcs_send(g, &rq, &rs, err);
  json_t *root = s == BEAM_OK ? json_loadb((const char *)rs.body.data, rs.body.len, 0, NULL) : NULL;
  if (s == BEAM_OK && !root)
    s = beam_error_set(err, BEAM_ERR_MALFORMED, "listing gs://%s/%s: response is not JSON", bucket, prefix);
  const json_t *items = json_object_get(root, "items");
  for (size_t i = 0; s == BEAM_OK && i < json_array_size(items); i++) {
    const json_t *it = json_array_get(items, i);
    const char *name = json_string_value(json_object_get(it, "name"));
    if (name) s = each(ctx, name, json_int64(json_object_get(it, "size")), err);
  }
  const char *next = json_string_value(json_object_get(root, "nextPageToken"));
  if (s == BEAM_OK && next && *next && !(*token = strdup(next)))
    s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  json_decref(root);
  beam_http_response_free(&rs);
  beam_buf_free(&url);
  return s;
}

beam_status beam_gcs_list_range(beam_gcs *g, const char *bucket, const char *prefix, const char *start_offset,
                                const char *end_offset, beam_gcs_list_fn each, void *ctx, beam_error *err) {
  list_range r = {prefix ? prefix : "", start_offset, end_offset};
  char *token = NULL;
  beam_status s;
  do {
    s = list_page(g, bucket, &r, &token, each, ctx, err);
  } while (s == BEAM_OK && token);
  free(token);
  return s;
}

beam_status beam_gcs_list(beam_gcs *g, const char *bucket, const char *prefix,
                          beam_gcs_list_fn each, void *ctx, beam_error *err) {
  return beam_gcs_list_range(g, bucket, prefix, NULL, NULL, each, ctx, err);
}

/* ---- Downloads --------------------------------------------------------------------- */

typedef struct download_ctx {
  beam_http_write_fn on_data;
  void *ctx;
  uint64_t delivered;
  bool failed; /* the caller's callback failed: never resumed */
} download_ctx;

static beam_status count_data(void *ctx, const void *data, size_t len, beam_error *err) {
  download_ctx *d = ctx;
  beam_status s = d->on_data(d->ctx, data, len, err);
  if (s == BEAM_OK) d->delivered += len;
  else d->failed = true;
  return s;
}

beam_status beam_gcs_download(beam_gcs *g, const char *bucket, const char *object,
                              int64_t generation, uint64_t offset, int64_t length,
                              beam_http_write_fn on_data, void *ctx, beam_error *err) {
  beam_buf url = BEAM_BUF_INIT;
  beam_status s = beam_gcs_object_url(g, &url, "/storage/v1", bucket, object);
  char extra[64];
  snprintf(extra, sizeof extra, "?alt=media");
  if (generation > 0) snprintf(extra, sizeof extra, "?alt=media&generation=%" PRId64, generation);
  if (s == BEAM_OK) s = beam_buf_append_str(&url, extra);
  if (s == BEAM_OK) s = beam_buf_terminate(&url);
  if (s != BEAM_OK) {
    beam_buf_free(&url);
    return beam_error_set(err, s, "out of memory");
  }
  download_ctx d = {on_data, ctx, 0, false};
  int max = beam_http_max_attempts(g->http);
  for (int attempt = 0;; attempt++) {
    char range[96];
    uint64_t from = offset + d.delivered;
    if (length >= 0)
      snprintf(range, sizeof range, "Range: bytes=%" PRIu64 "-%" PRIu64, from,
               offset + (uint64_t)length - 1);
    else
      snprintf(range, sizeof range, "Range: bytes=%" PRIu64 "-", from);
    /* The stored bytes even of a Content-Encoding: gzip object (no decompressive
     * transcoding, which would make ranges and the size disagree with the bytes). */
    const char *headers[] = {range, "Accept-Encoding: gzip", NULL};
    beam_http_request rq = {.method = "GET", .url = (const char *)url.data, .headers = headers,
                            .on_data = count_data, .on_data_ctx = &d};
    beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
    uint64_t before = d.delivered;
    s = beam_gcs_send(g, &rq, &rs, err);
    bool resumable = s == BEAM_ERR_IO && !d.failed && beam_http_status_retryable(rs.status) &&
                     d.delivered > before && attempt + 1 < max;
    beam_http_response_free(&rs);
    if (!resumable) break;
    beam_http_backoff(g->http, 0); /* progress was made: a short pause, then resume */
  }
  if (s != BEAM_OK && s != BEAM_ERR_NOMEM) beam_error_prefix(err, "gs://%s/%s: ", bucket, object);
  beam_buf_free(&url);
  return s;
}
