/* The HTTP client on libcurl: see beam/http.h for the contract (retries, timeouts, errors). */
#include "beam/http.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

struct beam_http {
  CURL *curl;
  beam_http_options opts;
  uint64_t rng; /* xorshift state for backoff jitter */
  char user_agent[64];
};

/* The state of one attempt, shared with curl's callbacks. */
typedef struct attempt {
  const beam_http_request *rq;
  beam_http_response *rs;
  size_t body_pos;       /* memory body: bytes handed to curl */
  long status;           /* from the last status line */
  uint64_t delivered;    /* bytes given to on_data */
  beam_status cb_status; /* a callback's failure, reported instead of curl's abort code */
  beam_error *cb_err;
} attempt;

void beam_http_options_init(beam_http_options *o) {
  memset(o, 0, sizeof *o);
  o->connect_timeout_ms = 10000;
  o->timeout_ms = 300000;
  o->low_speed_bytes = 1;
  o->low_speed_seconds = 60;
  o->max_attempts = 6;
  o->initial_backoff_ms = 200;
  o->max_backoff_ms = 30000;
  o->max_retry_after_ms = 60000;
}


/* curl_global_init is not thread-safe on every libcurl build: once per process. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code = CURLE_OK;
static void curl_init_once(void) { curl_init_code = curl_global_init(CURL_GLOBAL_DEFAULT); }

beam_status beam_http_new(const beam_http_options *opts, beam_http **out, beam_error *err) {
  *out = NULL;
  pthread_once(&curl_once, curl_init_once);
  if (curl_init_code != CURLE_OK)
    return beam_error_set(err, BEAM_ERR_INTERNAL, "http: curl_global_init: %s",
                          curl_easy_strerror(curl_init_code));
  beam_http *h = calloc(1, sizeof *h);
  if (!h) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (opts) h->opts = *opts;
  else beam_http_options_init(&h->opts);
  if (h->opts.max_attempts < 1) h->opts.max_attempts = 1;
  snprintf(h->user_agent, sizeof h->user_agent, "%s",
           h->opts.user_agent ? h->opts.user_agent : "beam-c/0.1");
  h->opts.user_agent = h->user_agent;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  h->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)h;
  if (!h->rng) h->rng = 88172645463325252ULL;
  h->curl = curl_easy_init();
  if (!h->curl) {
    free(h);
    return beam_error_set(err, BEAM_ERR_NOMEM, "http: curl_easy_init failed");
  }
  *out = h;
  return BEAM_OK;
}

void beam_http_free(beam_http *h) {
  if (!h) return;
  curl_easy_cleanup(h->curl);
  free(h);
}

void beam_http_response_free(beam_http_response *rs) {
  beam_buf_free(&rs->body);
  beam_buf_free(&rs->headers);
  rs->status = 0;
}

bool beam_http_status_retryable(long status) {
  return status == 0 || status == 408 || status == 429 || (status >= 500 && status <= 599);
}

/* ---- curl callbacks ---------------------------------------------------------------- */

static size_t on_header(char *data, size_t size, size_t n, void *ctx) {
  attempt *a = ctx;
  size_t len = size * n;
  /* A new status line (after 100 Continue or a redirect) starts a new header block. */
  if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
    beam_buf_reset(&a->rs->headers);
    const char *sp = memchr(data, ' ', len);
    a->status = sp ? strtol(sp + 1, NULL, 10) : 0;
  }
  if (beam_buf_append(&a->rs->headers, data, len) != BEAM_OK) return 0;
  return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx) {
  attempt *a = ctx;
  size_t len = size * n;
  if (a->rq->on_data && a->status >= 200 && a->status < 300) {
    beam_status s = a->rq->on_data(a->rq->on_data_ctx, data, len, a->cb_err);
    if (s != BEAM_OK) {
      a->cb_status = s;
      return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    a->delivered += len;
    return len;
  }
  /* Error bodies are kept (bounded) for the message. */
  if (a->rq->on_data && a->rs->body.len > 65536) return len;
  if (beam_buf_append(&a->rs->body, data, len) != BEAM_OK) return 0;
  return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ctx) {
  attempt *a = ctx;
  size_t cap = size * n;
  if (a->rq->read) {
    size_t got = 0;
    beam_status s = a->rq->read(a->rq->read_ctx, buf, cap, &got, a->cb_err);
    if (s != BEAM_OK) {
      a->cb_status = s;
      return CURL_READFUNC_ABORT;
    }
    return got;
  }
  size_t left = a->rq->body_len - a->body_pos;
  size_t take = left < cap ? left : cap;
  memcpy(buf, (const uint8_t *)a->rq->body + a->body_pos, take);
  a->body_pos += take;
  return take;
}

/* curl rewinds the body itself when a reused keep-alive connection turns out dead after
 * sending began (it resends on a new connection); without this it fails the attempt with
 * CURLE_SEND_FAIL_REWIND. Memory bodies seek anywhere, streamed ones only back to 0. */
static int on_seek(void *ctx, curl_off_t offset, int origin) {
  attempt *a = ctx;
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  if (a->rq->read) {
    if (offset != 0 || !a->rq->rewind) return CURL_SEEKFUNC_CANTSEEK;
    return a->rq->rewind(a->rq->read_ctx, a->cb_err) == BEAM_OK ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
  }
  if (offset < 0 || (uint64_t)offset > a->rq->body_len) return CURL_SEEKFUNC_FAIL;
  a->body_pos = (size_t)offset;
  return CURL_SEEKFUNC_OK;
}

/* ---- Messages ---------------------------------------------------------------------- */

const char *beam_http_error_message(const char *body, size_t len, char *buf, size_t cap) {
  if (!cap) return buf;
  buf[0] = '\0';
  if (!body || !len) return buf;
  json_t *root = json_loadb(body, len, 0, NULL);
  const json_t *e = root ? json_object_get(root, "error") : NULL;
  const char *msg = NULL;
  if (json_is_object(e)) msg = json_string_value(json_object_get(e, "message"));
  else if (json_is_string(e)) {
    const char *desc = json_string_value(json_object_get(root, "error_description"));
    snprintf(buf, cap, "%s%s%s", json_string_value(e), desc ? ": " : "", desc ? desc : "");
    json_decref(root);
    return buf;
  }
  if (msg) snprintf(buf, cap, "%s", msg);
  else {
    size_t take = len < 200 ? len : 200;
    size_t j = 0;
    for (size_t i = 0; i < take && j + 1 < cap; i++)
      buf[j++] = (body[i] == '\n' || body[i] == '\r') ? ' ' : body[i];
    buf[j] = '\0';
  }
  json_decref(root);
  return buf;
}

const char *beam_http_response_header(const beam_http_response *rs, const char *name, char *buf,
                                      size_t cap) {
  size_t nlen = strlen(name);
  const char *p = (const char *)rs->headers.data;
  const char *end = p ? p + rs->headers.len : NULL;
  while (p && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    if ((size_t)(eol - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
      const char *v = p + nlen + 1;
      const char *ve = eol;
      while (v < ve && isspace((unsigned char)*v)) v++;
      while (ve > v && isspace((unsigned char)ve[-1])) ve--;
      size_t len = (size_t)(ve - v);
      if (cap == 0) return buf;
      if (len >= cap) len = cap - 1;
      memcpy(buf, v, len);
      buf[len] = '\0';
      return buf;
    }
    p = eol + 1;
  }
  return NULL;
}

beam_status beam_http_append_escaped(beam_buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    beam_status st;
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') st = beam_buf_append_byte(b, c);
    else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      st = beam_buf_append(b, e, 3);
    }
    if (st != BEAM_OK) return st;
  }
  return BEAM_OK;
}

/* "METHOD url-without-query". */
static void describe(const beam_http_request *rq, char *buf, size_t cap) {
  const char *q = strchr(rq->url, '?');
  int ulen = q ? (int)(q - rq->url) : (int)strlen(rq->url);
  snprintf(buf, cap, "%s %.*s", rq->method, ulen, rq->url);
}

/* ---- Sending ----------------------------------------------------------------------- */

static beam_status build_headers(const beam_http_request *rq, struct curl_slist **out) {
  struct curl_slist *list = NULL, *next;
  char line[8192];
  /* curl would otherwise wait for "100 Continue" before big bodies: a needless round trip. */
  if (!(next = curl_slist_append(list, "Expect:"))) goto fail;
  list = next;
  if (rq->content_type) {
    snprintf(line, sizeof line, "Content-Type: %s", rq->content_type);
    if (!(next = curl_slist_append(list, line))) goto fail;
    list = next;
  }
  if (rq->bearer_token && *rq->bearer_token) {
    if (strlen(rq->bearer_token) > sizeof line - 32) goto fail;
    snprintf(line, sizeof line, "Authorization: Bearer %s", rq->bearer_token);
    next = curl_slist_append(list, line);
    memset(line, 0, sizeof line); /* the token does not linger on the stack */
    if (!next) goto fail;
    list = next;
  }
  for (const char *const *hp = rq->headers; hp && *hp; hp++) {
    if (!(next = curl_slist_append(list, *hp))) goto fail;
    list = next;
  }
  *out = list;
  return BEAM_OK;
fail:
  curl_slist_free_all(list);
  return BEAM_ERR_NOMEM;
}

static void setup_attempt(beam_http *h, const beam_http_request *rq, attempt *a,
                          struct curl_slist *headers) {
  CURL *c = h->curl;
  curl_easy_reset(c); /* keeps live connections: reuse is the point */
  curl_easy_setopt(c, CURLOPT_URL, rq->url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, h->opts.user_agent);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms);
  if (h->opts.timeout_ms > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->opts.timeout_ms);
  if (h->opts.low_speed_seconds > 0) {
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, h->opts.low_speed_bytes);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->opts.low_speed_seconds);
  }
  /* No CURLOPT_ACCEPT_ENCODING: bodies arrive as the server stored them, so byte ranges
   * mean stored bytes (a gzip object stays gzip; the readers detect it by its magic). */
  bool has_body = rq->body || rq->read;
  if (strcmp(rq->method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  else if (has_body) {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, a);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, a);
    int64_t size = rq->read ? rq->body_size : (int64_t)rq->body_len;
    if (size >= 0) curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
  } else if (strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PUT") == 0) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
  }
  if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0)
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
}

static bool curl_code_retryable(CURLcode rc) {
  switch (rc) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
    return true;
  default:
    return false;
  }
}

static uint64_t next_random(beam_http *h) {
  h->rng ^= h->rng << 13;
  h->rng ^= h->rng >> 7;
  h->rng ^= h->rng << 17;
  return h->rng;
}

static void sleep_ms(long ms) {
  if (ms <= 0) return;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* Full jitter, or the server's Retry-After when it names one. */
static long backoff_ms(beam_http *h, int attempt_no, const beam_http_response *rs) {
  char v[64];
  if (rs->status && beam_http_response_header(rs, "retry-after", v, sizeof v)) {
    char *end;
    long secs = strtol(v, &end, 10);
    if (end != v && *end == '\0' && secs >= 0) {
      long ms = secs * 1000;
      return ms > h->opts.max_retry_after_ms ? h->opts.max_retry_after_ms : ms;
    }
  }
  long cap = h->opts.initial_backoff_ms;
  for (int i = 0; i < attempt_no && cap < h->opts.max_backoff_ms; i++) cap *= 2;
  if (cap > h->opts.max_backoff_ms) cap = h->opts.max_backoff_ms;
  if (cap <= 0) return 0;
  return (long)(next_random(h) % (uint64_t)(cap + 1));
}

static beam_status fail_status(const beam_http_request *rq, const beam_http_response *rs,
                               beam_error *err) {
  char what[256], msg[320];
  describe(rq, what, sizeof what);
  beam_http_error_message((const char *)rs->body.data, rs->body.len, msg, sizeof msg);
  return beam_error_set(err, rs->status == 404 ? BEAM_ERR_NOT_FOUND : BEAM_ERR_IO,
                        "%s: HTTP %ld%s%s%s", what, rs->status, *msg ? " (" : "", msg,
                        *msg ? ")" : "");
}

beam_status beam_http_send(beam_http *h, const beam_http_request *rq, beam_http_response *rs,
                           beam_error *err) {
  if (!rq->method || !rq->url)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "http: request without method or url");
  struct curl_slist *headers = NULL;
  if (build_headers(rq, &headers) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "http: building headers failed");
  beam_status result = BEAM_OK;
  int max = rq->no_retry ? 1 : h->opts.max_attempts;
  rs->attempts = 0;
  for (int n = 0;; n++) {
    beam_buf_reset(&rs->body);
    beam_buf_reset(&rs->headers);
    rs->status = 0;
    attempt a = {.rq = rq, .rs = rs, .cb_status = BEAM_OK, .cb_err = err};
    if (n > 0 && rq->read) {
      if ((result = rq->rewind(rq->read_ctx, err)) != BEAM_OK) break;
    }
    setup_attempt(h, rq, &a, headers);
    CURLcode rc = curl_easy_perform(h->curl);
    rs->attempts = n + 1;
    if (a.cb_status != BEAM_OK) {
      result = a.cb_status; /* the callback's message is already in err */
      break;
    }
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    rs->status = status;
    bool retry = rc == CURLE_OK ? beam_http_status_retryable(status) : curl_code_retryable(rc);
    bool can_retry = n + 1 < max && (!rq->read || rq->rewind) && a.delivered == 0;
    if (retry && can_retry) {
      sleep_ms(backoff_ms(h, n, rs));
      continue;
    }
    if (rc != CURLE_OK) {
      char what[256];
      describe(rq, what, sizeof what);
      result = beam_error_set(err, BEAM_ERR_IO, "%s: %s (after %d attempt%s)", what,
                              curl_easy_strerror(rc), n + 1, n ? "s" : "");
    } else if (status >= 400) {
      result = fail_status(rq, rs, err);
    }
    break;
  }
  curl_slist_free_all(headers);
  if (rs->body.data || result == BEAM_OK) {
    if (beam_buf_terminate(&rs->body) != BEAM_OK && result == BEAM_OK)
      result = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  return result;
}

void beam_http_backoff(beam_http *h, int attempt_no) {
  beam_http_response none = BEAM_HTTP_RESPONSE_INIT;
  sleep_ms(backoff_ms(h, attempt_no, &none));
}

int beam_http_max_attempts(const beam_http *h) { return h->opts.max_attempts; }
