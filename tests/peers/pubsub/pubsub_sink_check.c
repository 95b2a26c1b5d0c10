/* The pubsub sink's bundle semantics against the Pub/Sub emulator (pubsub_peer), through the
 * public sink API. What the subscription must then hold is checked by check_messages.py
 * --sinkcheck: this program only checks what the API itself reports.
 *   bundle-r    committed, then begun again on the same sink (recognised as a duplicate,
 *               nothing sent), then again on a new sink (published again with the same
 *               beam_c_row_id values: a retry in another worker)
 *   bundle-a    aborted: nothing published
 *   bundle-big  a row too large for a message is refused with the reason, the other published
 *   bundle-early  past spill_bytes: published in parts, row ids continuing
 *   bundle-tls  over TLS with a bearer token from the token provider (?endpoint=)
 *   a wrong token fails the commit with the server's UNAUTHENTICATED; no provider fails open
 * Usage: pubsub_sink_check TOPIC TLS_HOST:PORT   (PUBSUB_EMULATOR_HOST and
 *        GRPC_DEFAULT_SSL_ROOTS_FILE_PATH set by the caller) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/sink.h"
#include "beam/transforms/sink_pubsub.h"

static beam_etl_field fields[] = {{"id", BEAM_ETL_STRING, BEAM_ETL_REQUIRED}, {"payload", BEAM_ETL_STRING, BEAM_ETL_NULLABLE}};
static const beam_etl_schema schema = {fields, 2};
static int failures;

#define CHECK(cond, ...)                            \
  do {                                              \
    if (!(cond)) {                                  \
      fprintf(stderr, "pubsub_sink_check: FAIL: "); \
      fprintf(stderr, __VA_ARGS__);                 \
      fprintf(stderr, "\n");                        \
      failures++;                                   \
    }                                               \
  } while (0)

static const char *token_provider(void *ctx, beam_error *err) {
  (void)err;
  return ctx;
}

static beam_sink *open_sink_with(const char *uri, const beam_sink_options *opts) {
  beam_sink *s = NULL;
  beam_error err = {0};
  if (beam_sink_open(uri, opts, &s, &err) != BEAM_OK ||
      beam_sink_ensure_table(s, "t", &schema, &err) != BEAM_OK) {
    fprintf(stderr, "pubsub_sink_check: FAIL: opening %s: %s\n", uri, err.message);
    beam_sink_free(s);
    exit(1);
  }
  return s;
}

static beam_sink *open_sink(const char *uri) { return open_sink_with(uri, NULL); }

/* Writes n rows (payload of payload_len bytes for row 0) in bundle id; returns refusals. */
static beam_status write_bundle(beam_sink *s, const char *id, size_t n, size_t payload_len,
                                beam_sink_row_errors *rejected, beam_error *err) {
  char *big = calloc(1, payload_len + 1);
  memset(big, 'p', payload_len);
  beam_value values[8][2];
  beam_etl_row rows[8];
  static const char *ids[] = {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"};
  for (size_t i = 0; i < n && i < 8; i++) {
    values[i][0] = beam_value_string(ids[i], 2);
    values[i][1] = i == 0 ? beam_value_string(big, payload_len) : beam_value_string("small", 5);
    memset(&rows[i], 0, sizeof rows[i]);
    rows[i].schema = &schema;
    rows[i].values = values[i];
  }
  beam_status st = beam_sink_begin(s, id, err);
  if (st == BEAM_OK) st = beam_sink_write_rows(s, "t", rows, n, rejected, err);
  if (st == BEAM_OK) st = beam_sink_commit(s, err);
  else beam_sink_abort(s);
  free(big);
  return st;
}

static void check_retries(const char *uri) {
  beam_error err = {0};
  beam_sink_row_errors rejected = BEAM_SINK_ROW_ERRORS_INIT;
  beam_sink *a = open_sink(uri);
  CHECK(write_bundle(a, "bundle-r", 3, 4, &rejected, &err) == BEAM_OK, "bundle-r: %s", err.message);
  CHECK(!beam_sink_last_bundle_was_duplicate(a), "bundle-r: first commit taken for a duplicate");
  CHECK(write_bundle(a, "bundle-r", 3, 4, &rejected, &err) == BEAM_OK, "bundle-r again: %s", err.message);
  CHECK(beam_sink_last_bundle_was_duplicate(a), "bundle-r again on the same sink: not recognised");
  beam_sink *b = open_sink(uri);
  CHECK(write_bundle(b, "bundle-r", 3, 4, &rejected, &err) == BEAM_OK, "bundle-r on a new sink: %s", err.message);
  /* Aborted: begin and write, no commit. */
  beam_value v[2] = {beam_value_string("r0", 2), beam_value_null()};
  beam_etl_row row = {0};
  row.schema = &schema;
  row.values = v;
  CHECK(beam_sink_begin(b, "bundle-a", &err) == BEAM_OK && beam_sink_write_rows(b, "t", &row, 1, NULL, &err) == BEAM_OK,
        "bundle-a: %s", err.message);
  beam_sink_abort(b);
  beam_sink_stats stats;
  beam_sink_get_stats(b, &stats);
  CHECK(stats.rows_written == 3 && stats.bundles_aborted == 1, "sink b: %llu rows, %llu aborted",
        (unsigned long long)stats.rows_written, (unsigned long long)stats.bundles_aborted);
  beam_sink_free(a);
  beam_sink_free(b);
  beam_sink_row_errors_free(&rejected);
}

static void check_big_row(const char *uri) {
  beam_error err = {0};
  beam_sink_row_errors rejected = BEAM_SINK_ROW_ERRORS_INIT;
  beam_sink *s = open_sink(uri);
  CHECK(write_bundle(s, "bundle-big", 2, 6u * 1000 * 1000, &rejected, &err) == BEAM_OK, "bundle-big: %s", err.message);
  CHECK(rejected.len == 1 && rejected.items[0].index == 0, "bundle-big: %zu rows refused, want row 0", rejected.len);
  if (rejected.len) {
    printf("pubsub_sink_check: refused as expected: %s\n", rejected.items[0].reason);
    CHECK(strstr(rejected.items[0].reason, "limit") != NULL, "bundle-big: reason %s", rejected.items[0].reason);
  }
  beam_sink_free(s);
  beam_sink_row_errors_free(&rejected);
}

/* A bundle past spill_bytes publishes early: its row ids continue across the early part. */
static void check_early_publish(const char *uri) {
  beam_sink_options o = {0};
  o.spill_bytes = 100;
  beam_sink *s = open_sink_with(uri, &o);
  beam_error err = {0};
  beam_sink_row_errors rejected = BEAM_SINK_ROW_ERRORS_INIT;
  beam_value v[2] = {beam_value_string("r0", 2), beam_value_string("small-row-payload", 17)};
  beam_etl_row rows[3];
  for (int i = 0; i < 3; i++) rows[i] = (beam_etl_row){.schema = &schema, .values = v};
  bool ok = beam_sink_begin(s, "bundle-early", &err) == BEAM_OK;
  for (int call = 0; ok && call < 2; call++) /* 3 rows (~120 bytes) per call: each call publishes */
    ok = beam_sink_write_rows(s, "t", rows, 3, &rejected, &err) == BEAM_OK;
  ok = ok && beam_sink_write_rows(s, "t", rows, 1, &rejected, &err) == BEAM_OK; /* held until commit */
  ok = ok && beam_sink_commit(s, &err) == BEAM_OK;
  CHECK(ok, "bundle-early: %s", err.message);
  beam_sink_free(s);
  beam_sink_row_errors_free(&rejected);
}

static void check_tls(const char *topic, const char *endpoint) {
  char uri[512];
  snprintf(uri, sizeof uri, "pubsub:%s?endpoint=%s", topic, endpoint);
  beam_error err = {0};
  beam_sink_row_errors rejected = BEAM_SINK_ROW_ERRORS_INIT;
  /* No provider: Application Default Credentials; a key file that is not there fails the
   * open clearly. (This check runs first, before anything creates the shared credentials.) */
  beam_sink_pubsub_set_token_provider(NULL, NULL);
  setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/pubsub-check-key.json", 1);
  beam_sink *none = NULL;
  CHECK(beam_sink_open(uri, NULL, &none, &err) != BEAM_OK && strstr(err.message, "credentials"),
        "no token provider: open did not fail clearly (%s)", err.message);
  unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  printf("pubsub_sink_check: without credentials, as expected: %s\n", err.message);
  beam_sink_free(none);

  beam_sink_pubsub_set_token_provider(token_provider, "test-token");
  beam_sink *s = open_sink(uri);
  CHECK(write_bundle(s, "bundle-tls", 2, 4, &rejected, &err) == BEAM_OK, "bundle-tls: %s", err.message);
  beam_sink_free(s);

  beam_sink_pubsub_set_token_provider(token_provider, "wrong-token");
  s = open_sink(uri);
  CHECK(write_bundle(s, "bundle-tls-bad", 1, 4, &rejected, &err) != BEAM_OK && strstr(err.message, "status 16"),
        "a wrong token did not fail with UNAUTHENTICATED (%s)", err.message);
  printf("pubsub_sink_check: wrong token, as expected: %s\n", err.message);
  beam_sink_free(s);
  beam_sink_pubsub_set_token_provider(NULL, NULL);
  beam_sink_row_errors_free(&rejected);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s projects/P/topics/T TLS_HOST:PORT\n", argv[0]);
    return 2;
  }
  char uri[512];
  snprintf(uri, sizeof uri, "pubsub:%s", argv[1]);
  check_retries(uri);
  check_big_row(uri);
  check_early_publish(uri);
  check_tls(argv[1], argv[2]);
  printf("pubsub_sink_check: %s\n", failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
