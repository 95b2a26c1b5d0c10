/* The HTTP layer against a scripted loopback server (tests/gcp/http_test_server.py):
 * retries on 5xx / 429 / dropped connections with Retry-After honoured, none on 4xx, the
 * API's message in errors, streamed request bodies rewound for a retry, streamed downloads,
 * connection reuse, and a stalled server cut off by the timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "beam/http.h"
#include "peer_process.h"
#include "sink_test_util.h"

static char *dir;
static peer_process server;
static char base[64];

static int setup(void **state) {
  (void)state;
  dir = sink_test_tmpdir();
  char port_file[600], script[600];
  snprintf(port_file, sizeof port_file, "%s/port", dir);
  snprintf(script, sizeof script, "%s/tests/gcp/http_test_server.py", getenv("BEAM_SOURCE_DIR"));
  char *argv[] = {"python3", script, "--port-file", port_file, "--lifetime", "90", NULL};
  server.pid = peer_spawn(argv);
  server.port = peer_wait_port_file(server.pid, port_file, 15000);
  snprintf(base, sizeof base, "http://127.0.0.1:%d", server.port);
  return server.port ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  peer_stop(&server);
  sink_test_rmdir(dir);
  return 0;
}

static beam_http *client(int attempts, long timeout_ms) {
  beam_http_options o;
  beam_http_options_init(&o);
  o.max_attempts = attempts;
  o.initial_backoff_ms = 20;
  o.max_backoff_ms = 100;
  if (timeout_ms) o.timeout_ms = timeout_ms;
  beam_http *h;
  beam_error err;
  assert_int_equal(beam_http_new(&o, &h, &err), BEAM_OK);
  return h;
}

static beam_status get(beam_http *h, const char *path, beam_http_response *rs, beam_error *err) {
  char url[256];
  snprintf(url, sizeof url, "%s%s", base, path);
  beam_http_request rq = {.method = "GET", .url = url};
  return beam_http_send(h, &rq, rs, err);
}

static void retries_5xx_then_succeeds(void **state) {
  (void)state;
  beam_http *h = client(6, 0);
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  beam_error err;
  assert_int_equal(get(h, "/flaky/a/3/503", &rs, &err), BEAM_OK);
  assert_int_equal(rs.status, 200);
  assert_int_equal(rs.attempts, 4);
  /* Dropped connections too. (curl itself re-sends once when a reused connection dies
   * before answering, so the server, not rs.attempts, counts the tries.) */
  assert_int_equal(get(h, "/drop/b/2", &rs, &err), BEAM_OK);
  assert_int_equal(get(h, "/count/b", &rs, &err), BEAM_OK);
  assert_non_null(strstr((const char *)rs.body.data, "\"n\": 3"));
  /* Bounded: 3 attempts against 5 failures is an error carrying the API's message. */
  beam_http *h3 = client(3, 0);
  assert_int_equal(get(h3, "/flaky/c/5/500", &rs, &err), BEAM_ERR_IO);
  assert_int_equal(rs.status, 500);
  assert_int_equal(rs.attempts, 3);
  assert_non_null(strstr(err.message, "HTTP 500 (flaky c)"));
  assert_non_null(strstr(err.message, "GET http://127.0.0.1:"));
  beam_http_response_free(&rs);
  beam_http_free(h3);
  beam_http_free(h);
}

static void no_retry_on_4xx(void **state) {
  (void)state;
  beam_http *h = client(6, 0);
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  beam_error err;
  assert_int_equal(get(h, "/bad", &rs, &err), BEAM_ERR_IO);
  assert_int_equal(rs.attempts, 1);
  assert_int_equal(rs.status, 400);
  assert_non_null(strstr(err.message, "HTTP 400 (Invalid bucket name: 'x y')"));
  assert_int_equal(get(h, "/flaky/d/1/404", &rs, &err), BEAM_ERR_NOT_FOUND);
  assert_int_equal(rs.attempts, 1);
  beam_http_response_free(&rs);
  beam_http_free(h);
}

static void honours_retry_after(void **state) {
  (void)state;
  beam_http *h = client(3, 0);
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  beam_error err;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  assert_int_equal(get(h, "/retry-after/e", &rs, &err), BEAM_OK);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double waited = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  assert_true(waited >= 0.95); /* the server said 1 s; our own backoff is at most 0.1 s */
  assert_int_equal(rs.attempts, 2);
  beam_http_response_free(&rs);
  beam_http_free(h);
}

typedef struct gen {
  size_t n, pos;
  int rewinds;
} gen;

static beam_status gen_read(void *ctx, void *buf, size_t cap, size_t *got, beam_error *err) {
  (void)err;
  gen *g = ctx;
  size_t take = g->n - g->pos < cap ? g->n - g->pos : cap;
  for (size_t i = 0; i < take; i++) ((uint8_t *)buf)[i] = (uint8_t)((g->pos + i) % 13);
  g->pos += take;
  *got = take;
  return BEAM_OK;
}

static beam_status gen_rewind(void *ctx, beam_error *err) {
  (void)err;
  gen *g = ctx;
  g->pos = 0;
  g->rewinds++;
  return BEAM_OK;
}

static void streamed_body_is_rewound_for_a_retry(void **state) {
  (void)state;
  beam_http *h = client(4, 0);
  gen g = {.n = 3 << 20};
  char url[128];
  snprintf(url, sizeof url, "%s/echo/f/2", base);
  beam_http_request rq = {.method = "PUT", .url = url, .read = gen_read, .rewind = gen_rewind,
                          .read_ctx = &g, .body_size = (int64_t)g.n,
                          .content_type = "application/octet-stream"};
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  beam_error err;
  assert_int_equal(beam_http_send(h, &rq, &rs, &err), BEAM_OK);
  assert_int_equal(g.rewinds, 2);
  /* The server saw the whole body, once, intact. */
  uint8_t *expect = malloc(g.n);
  for (size_t i = 0; i < g.n; i++) expect[i] = (uint8_t)(i % 13);
  unsigned char md[32];
  unsigned int mdlen;
  EVP_Digest(expect, g.n, md, &mdlen, EVP_sha256(), NULL);
  char hex[65];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  json_t *root = json_loads((const char *)rs.body.data, 0, NULL);
  assert_int_equal(json_integer_value(json_object_get(root, "len")), (json_int_t)g.n);
  assert_string_equal(json_string_value(json_object_get(root, "sha256")), hex);
  json_decref(root);
  free(expect);
  beam_http_response_free(&rs);
  beam_http_free(h);
}

typedef struct sink_ctx {
  size_t n;
  size_t bad;
} sink_ctx;

static beam_status take(void *ctx, const void *data, size_t len, beam_error *err) {
  (void)err;
  sink_ctx *s = ctx;
  for (size_t i = 0; i < len; i++)
    if (((const uint8_t *)data)[i] != (uint8_t)(((s->n + i) * 7) % 251)) s->bad++;
  s->n += len;
  return BEAM_OK;
}

static void streamed_download_and_connection_reuse(void **state) {
  (void)state;
  beam_http *h = client(3, 0);
  char url[128];
  snprintf(url, sizeof url, "%s/stream/5000000", base);
  sink_ctx s = {0};
  beam_http_request rq = {.method = "GET", .url = url, .on_data = take, .on_data_ctx = &s};
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  beam_error err;
  assert_int_equal(beam_http_send(h, &rq, &rs, &err), BEAM_OK);
  assert_int_equal(s.n, 5000000);
  assert_int_equal(s.bad, 0);
  assert_int_equal(rs.body.len, 0); /* nothing held in memory */
  /* Three requests on one client, one connection. */
  json_t *root = NULL;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(get(h, "/ports", &rs, &err), BEAM_OK);
    json_decref(root);
    root = json_loads((const char *)rs.body.data, 0, NULL);
  }
  json_t *ports = json_object_get(root, "ports");
  size_t n = json_array_size(ports);
  assert_true(n >= 3);
  assert_int_equal(json_integer_value(json_array_get(ports, n - 1)), json_integer_value(json_array_get(ports, n - 3)));
  json_decref(root);
  beam_http_response_free(&rs);
  beam_http_free(h);
}

static void stalled_server_times_out(void **state) {
  (void)state;
  beam_http *h = client(2, 700);
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  beam_error err;
  assert_int_equal(get(h, "/stall", &rs, &err), BEAM_ERR_IO);
  assert_int_equal(rs.attempts, 2); /* a timeout is retried, within bounds */
  assert_non_null(strstr(err.message, "after 2 attempts"));
  beam_http_response_free(&rs);
  beam_http_free(h);
}

static void helpers(void **state) {
  (void)state;
  beam_buf b = BEAM_BUF_INIT;
  assert_int_equal(beam_http_append_escaped(&b, "a/b c~é"), BEAM_OK);
  beam_buf_terminate(&b);
  assert_string_equal((char *)b.data, "a%2Fb%20c~%C3%A9");
  beam_buf_free(&b);
  char m[128];
  const char *oauth = "{\"error\":\"invalid_grant\",\"error_description\":\"Bad Request\"}";
  assert_string_equal(beam_http_error_message(oauth, strlen(oauth), m, sizeof m), "invalid_grant: Bad Request");
  assert_string_equal(beam_http_error_message("plain\ntext", 10, m, sizeof m), "plain text");
  assert_true(beam_http_status_retryable(503));
  assert_true(beam_http_status_retryable(429));
  assert_false(beam_http_status_retryable(412));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(helpers),
      cmocka_unit_test(retries_5xx_then_succeeds),
      cmocka_unit_test(no_retry_on_4xx),
      cmocka_unit_test(honours_retry_after),
      cmocka_unit_test(streamed_body_is_rewound_for_a_retry),
      cmocka_unit_test(streamed_download_and_connection_reuse),
      cmocka_unit_test(stalled_server_times_out),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
