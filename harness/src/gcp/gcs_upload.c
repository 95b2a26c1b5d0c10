/* GCS resumable uploads: the object appears only when its final chunk is accepted.
 *
 * POST .../upload/storage/v1/b/B/o?uploadType=resumable&name=N[&ifGenerationMatch=0] opens a
 * session (its URL comes back in Location). Each chunk is a PUT to the session with
 * "Content-Range: bytes FIRST-LAST/TOTAL" (TOTAL "*" until the last chunk is known);
 * 308 means "more please" and its Range header says what the session persisted (the rest of the
 * chunk is sent again); 200/201 means the object exists now.
 * A chunk is sent once per session: after a dropped connection, a 429 or a 5xx the session is
 * cancelled (DELETE) and the upload restarts from the first byte in a new session (the
 * source is rewound), with backoff, at most max_attempts times. An abandoned session never
 * becomes an object, so nothing partial is ever visible. (Asking the session what it
 * persisted - "Content-Range: bytes * /TOTAL" - would save resending, but fake-gcs-server
 * finalizes the object on such a query, so that path could not be tested for real.) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "beam/gcs.h"
#include "gcs_internal.h"

typedef struct upload {
  beam_gcs *g;
  const char *bucket;
  const char *object;
  char session[4096];
  uint8_t *buf;      /* chunk_size bytes */
  size_t len;        /* bytes in buf */
  uint64_t start;    /* object offset of buf[0] */
  bool last;         /* buf holds the end of the data: total is known */
  uint64_t persisted; /* bytes the session has */
  bool done;         /* the object was created (or found existing) */
  bool exists;
  beam_gcs_object_info info;
} upload;

static beam_status start_session(upload *u, const beam_gcs_upload_options *o, beam_error *err) {
  const char *ct = o && o->content_type ? o->content_type : "application/octet-stream";
  beam_buf url = BEAM_BUF_INIT;
  beam_status s = beam_gcs_object_url(u->g, &url, "/upload/storage/v1", u->bucket, NULL);
  if (s == BEAM_OK) s = beam_buf_append_str(&url, "?uploadType=resumable&name=");
  if (s == BEAM_OK) s = beam_http_append_escaped(&url, u->object);
  if (s == BEAM_OK && o && o->only_if_absent) s = beam_buf_append_str(&url, "&ifGenerationMatch=0");
  if (s == BEAM_OK) s = beam_buf_terminate(&url);
  json_t *meta = json_pack("{s:s, s:s}", "name", u->object, "contentType", ct);
  char *body = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
  json_decref(meta);
  if (s != BEAM_OK || !body) {
    free(body);
    beam_buf_free(&url);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  char ct_header[256];
  snprintf(ct_header, sizeof ct_header, "X-Upload-Content-Type: %s", ct);
  const char *headers[] = {ct_header, NULL};
  beam_http_request rq = {.method = "POST", .url = (const char *)url.data, .headers = headers,
                          .content_type = "application/json; charset=UTF-8", .body = body,
                          .body_len = strlen(body)};
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  s = beam_gcs_send(u->g, &rq, &rs, err);
  if (s != BEAM_OK && rs.status == 412) {
    u->done = u->exists = true;
    s = BEAM_OK;
  } else if (s == BEAM_OK &&
             !beam_http_response_header(&rs, "location", u->session, sizeof u->session)) {
    s = beam_error_set(err, BEAM_ERR_MALFORMED, "resumable upload: no session Location returned");
  }
  beam_http_response_free(&rs);
  beam_buf_free(&url);
  free(body);
  return s;
}

/* Reads the session's answer: 308 + Range (progress), 200/201 (created), 412 (exists). */
static beam_status take_answer(upload *u, const beam_http_response *rs, beam_error *err) {
  if (rs->status == 308) {
    char range[128];
    u->persisted = 0;
    if (beam_http_response_header(rs, "range", range, sizeof range)) {
      const char *dash = strchr(range, '-');
      if (dash) u->persisted = strtoull(dash + 1, NULL, 10) + 1;
    }
    return BEAM_OK;
  }
  if (rs->status == 200 || rs->status == 201) {
    json_t *root = json_loadb((const char *)rs->body.data, rs->body.len, 0, NULL);
    const char *size = json_string_value(json_object_get(root, "size"));
    const char *gen = json_string_value(json_object_get(root, "generation"));
    u->info.size = size ? strtoll(size, NULL, 10) : (int64_t)(u->start + u->len);
    u->info.generation = gen ? strtoll(gen, NULL, 10) : 0;
    json_decref(root);
    u->done = true;
    return BEAM_OK;
  }
  return beam_error_set(err, BEAM_ERR_IO, "resumable upload: unexpected HTTP %ld", rs->status);
}

static void total_text(const upload *u, char *buf, size_t cap) {
  if (u->last) snprintf(buf, cap, "%" PRIu64, u->start + u->len);
  else snprintf(buf, cap, "*");
}

/* Sends what the session lacks of buf. A transient failure (5xx, 429, a dropped connection)
 * is returned as such: the caller restarts the whole upload in a new session. */
static beam_status send_chunk(upload *u, const char *ct, bool *transient, beam_error *err) {
  *transient = false;
  int stalls = 0;
  while (!u->done) {
    if (u->persisted < u->start)
      return beam_error_set(err, BEAM_ERR_IO, "resumable upload: session lost bytes already sent");
    size_t from = (size_t)(u->persisted - u->start);
    if (from >= u->len && !(u->last && u->len == from)) break; /* chunk persisted */
    char total[32], range[128];
    total_text(u, total, sizeof total);
    if (u->len == from)
      snprintf(range, sizeof range, "Content-Range: bytes */%s", total);
    else
      snprintf(range, sizeof range, "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%s",
               u->persisted, u->start + u->len - 1, total);
    const char *headers[] = {range, NULL};
    /* One attempt: resending a chunk into the same session could store it twice. */
    beam_http_request rq = {.method = "PUT", .url = u->session, .headers = headers,
                            .content_type = ct, .no_retry = true};
    if (u->len > from) rq.body = u->buf + from, rq.body_len = u->len - from;
    beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
    uint64_t before = u->persisted;
    beam_status s = beam_gcs_send(u->g, &rq, &rs, err);
    if (s == BEAM_OK) s = take_answer(u, &rs, err);
    else if (rs.status == 412) u->done = u->exists = true, s = BEAM_OK;
    else if (s == BEAM_ERR_IO && beam_http_status_retryable(rs.status)) *transient = true;
    beam_http_response_free(&rs);
    if (s != BEAM_OK) return s;
    if (!u->done && u->persisted <= before && ++stalls >= 3)
      return beam_error_set(err, BEAM_ERR_IO, "resumable upload: the session makes no progress");
  }
  return BEAM_OK;
}

/* Fills buf from read(); a one-byte lookahead tells whether the data ends with it. */
static beam_status fill(upload *u, beam_http_read_fn read, void *ctx, uint8_t *carry,
                        bool *have_carry, beam_error *err) {
  u->start += u->len;
  u->len = 0;
  if (*have_carry) u->buf[u->len++] = *carry, *have_carry = false;
  for (;;) {
    size_t n = 0;
    uint8_t *dst = u->len < u->g->chunk_size ? u->buf + u->len : carry;
    size_t cap = u->len < u->g->chunk_size ? u->g->chunk_size - u->len : 1;
    beam_status s = read(ctx, dst, cap, &n, err);
    if (s != BEAM_OK) return s;
    if (n == 0) {
      u->last = true;
      return BEAM_OK;
    }
    if (dst == carry) {
      *have_carry = true;
      return BEAM_OK;
    }
    u->len += n;
  }
}

static void cancel_session(upload *u) {
  if (!u->session[0] || u->done) return;
  beam_http_request rq = {.method = "DELETE", .url = u->session, .no_retry = true};
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  beam_error ignored;
  beam_gcs_send(u->g, &rq, &rs, &ignored); /* best effort: unfinished sessions expire anyway */
  beam_http_response_free(&rs);
}

/* One whole upload in one session. */
static beam_status upload_once(upload *u, const beam_gcs_upload_options *o, beam_http_read_fn read,
                               void *ctx, bool *transient, beam_error *err) {
  const char *ct = o && o->content_type ? o->content_type : "application/octet-stream";
  *transient = false;
  beam_status s = start_session(u, o, err);
  if (s != BEAM_OK) {
    *transient = s == BEAM_ERR_IO; /* the HTTP layer already retried what it could */
    return s;
  }
  uint8_t carry;
  bool have_carry = false;
  while (s == BEAM_OK && !u->done) {
    s = fill(u, read, ctx, &carry, &have_carry, err);
    if (s == BEAM_OK) s = send_chunk(u, ct, transient, err);
    if (s == BEAM_OK && u->last && !u->done)
      s = beam_error_set(err, BEAM_ERR_IO, "resumable upload: the final chunk did not finish the object");
  }
  if (s != BEAM_OK) cancel_session(u);
  return s;
}

beam_status beam_gcs_upload(beam_gcs *g, const char *bucket, const char *object,
                            const beam_gcs_upload_options *o, beam_http_read_fn read,
                            beam_http_rewind_fn rewind, void *ctx, bool *created,
                            beam_gcs_object_info *info, beam_error *err) {
  if (created) *created = false;
  uint8_t *buf = malloc(g->chunk_size);
  if (!buf) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  int max = beam_http_max_attempts(g->http);
  beam_status s = BEAM_OK;
  upload u;
  for (int attempt = 0;; attempt++) {
    u = (upload){.g = g, .bucket = bucket, .object = object, .buf = buf};
    bool transient = false;
    if (attempt > 0 && (s = rewind(ctx, err)) != BEAM_OK) break;
    s = upload_once(&u, o, read, ctx, &transient, err);
    if (s == BEAM_OK || !transient || !rewind || attempt + 1 >= max) break;
    /* A new session from the first byte: the abandoned one never becomes an object. */
    beam_http_backoff(g->http, attempt);
  }
  if (s != BEAM_OK) {
    if (s != BEAM_ERR_NOMEM) beam_error_prefix(err, "uploading gs://%s/%s: ", bucket, object);
  } else {
    if (created) *created = !u.exists;
    if (info) *info = u.info;
  }
  free(buf);
  return s;
}

typedef struct memory_reader {
  const uint8_t *data;
  size_t len;
  size_t pos;
} memory_reader;

static beam_status read_memory(void *ctx, void *buf, size_t cap, size_t *n, beam_error *err) {
  (void)err;
  memory_reader *m = ctx;
  size_t take = m->len - m->pos < cap ? m->len - m->pos : cap;
  if (take) memcpy(buf, m->data + m->pos, take);
  m->pos += take;
  *n = take;
  return BEAM_OK;
}

static beam_status rewind_memory(void *ctx, beam_error *err) {
  (void)err;
  ((memory_reader *)ctx)->pos = 0;
  return BEAM_OK;
}

beam_status beam_gcs_upload_bytes(beam_gcs *g, const char *bucket, const char *object,
                                  const beam_gcs_upload_options *o, const void *data, size_t len,
                                  bool *created, beam_error *err) {
  memory_reader m = {data, len, 0};
  return beam_gcs_upload(g, bucket, object, o, read_memory, rewind_memory, &m, created, NULL, err);
}
