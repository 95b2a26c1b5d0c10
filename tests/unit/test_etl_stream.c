/* The streaming ETL without an emulator: a scripted source for pubsub_read hands the local
 * runner bundles of serialized PubsubMessages, some of them again (a redelivery after a lost
 * ack), and the rows land in SQLite exactly once; plus the stream helpers (inputs, unit keys,
 * what a spec may not ask, the bundle header). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <sqlite3.h>

#include "beam/runner.h"
#include "beam/stream_source.h"
#include "beam/urns.h"
#include "beam/transforms/etl_pipeline.h"
#include "beam/transforms/etl_stream.h"
#include "beam/transforms/pubsub_message.h"
#include "etl_input_test_util.h"
#include "etl_stream_header.h"

#define SUB "projects/p/subscriptions/s"

static const char *const SPEC =
    "{\"format\": \"auto\", \"schema\": [{\"name\": \"id\", \"type\": \"STRING\", \"mode\": \"REQUIRED\"},"
    " {\"name\": \"kind\", \"type\": \"STRING\"}, {\"name\": \"n\", \"type\": \"INT64\"}],"
    " \"filter\": \"n >= 0\", \"route\": {\"table\": \"t_{kind}\", \"default\": \"t_other\"}}";

/* ---- a scripted source: each pull hands the next bundle of message numbers ------------- */

static const int *const *script; /* bundles of message numbers, each ended by -1; NULL ends */
static size_t next_bundle;
static int acked_bundles, nacked_bundles;

/* Message i's data: a JSON object, a CSV line, or bad ones (by i % 5). */
static void message_data(int i, char *out, size_t cap) {
  if (i >= 100) return; /* message_of */
  switch (i % 5) {
    case 0: snprintf(out, cap, "{\"id\": \"m%d\", \"kind\": \"a\", \"n\": %d}", i, i); break;
    case 1: snprintf(out, cap, "m%d,b,%d", i, i); break;
    case 2: snprintf(out, cap, "{\"id\": \"m%d\", \"n\": \"x\"}", i); break; /* bad type */
    case 3: snprintf(out, cap, "not json, nor three fields"); break;
    default: snprintf(out, cap, "{\"id\": \"m%d\", \"kind\": \"a\", \"n\": -1}", i); break; /* filtered */
  }
}

/* Messages 100..: attributes, bad data and event times for FIELDS_SPEC; data and attributes
 * into *data, *attrs. */
static void message_of(int i, beam_buf *data, beam_pubsub_attribute *attrs, size_t *n_attrs) {
  static const char *const fixed[] = {
      "{\"id\": \"a\", \"ts\": \"2026-11-01T05:30:00Z\"}", /* 100: t_x, hour of ts */
      "{\"id\": \"b\"}",                                   /* 101: t_x without ts: no event time */
      NULL,                                                /* 102: over the size limit */
      "{\"id\": \"c\xff\"}",                               /* 103: not UTF-8 at offset 9 */
      "",                                                  /* 104: no data */
      "{\"id\": \"e\"}",                                   /* 105: no kind attribute to route by */
      "{\"id\": \"f\"}",                                   /* 106: t_y, hour of its publish time */
  };
  *n_attrs = 0;
  if (i < 100) {
    char text[128];
    message_data(i, text, sizeof text);
    beam_buf_append(data, text, strlen(text));
    return;
  }
  if (i == 102) {
    for (size_t k = 0; k <= BEAM_ETL_MESSAGE_MAX_BYTES; k++) beam_buf_append_byte(data, 'a');
  } else {
    beam_buf_append(data, fixed[i - 100], strlen(fixed[i - 100]));
  }
  if (i != 105) attrs[(*n_attrs)++] = (beam_pubsub_attribute){"kind", i == 100 || i == 101 || i == 102 ? "x" : "y"};
}

typedef struct token {
  beam_stream_element items[64];
  beam_buf bufs[64];
} token;

static beam_status s_open(const uint8_t *payload, size_t len, const json_t *options, void **src, beam_error *err) {
  beam_arena a = {0};
  beam_pubsub_read_spec spec;
  beam_status s = beam_pubsub_read_payload_decode(payload, len, &a, &spec, err);
  if (s == BEAM_OK && (!spec.with_attributes || strcmp(spec.subscription, SUB) != 0))
    s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "the ETL must read " SUB " with attributes");
  beam_arena_free(&a);
  (void)options;
  *src = NULL;
  return s;
}

static beam_status s_pull(void *src, size_t max, size_t max_bytes, int wait_ms, beam_stream_batch *b, beam_error *err) {
  (void)src, (void)max, (void)max_bytes, (void)wait_ms, (void)err;
  memset(b, 0, sizeof *b);
  if (!script[next_bundle]) return BEAM_OK; /* nothing more: the run ends at max_idle_s */
  const int *ids = script[next_bundle++];
  token *t = calloc(1, sizeof *t);
  b->token = t;
  b->items = t->items;
  for (; ids[b->n] >= 0; b->n++) {
    char id[16];
    beam_buf data = BEAM_BUF_INIT;
    beam_pubsub_attribute attrs[2];
    size_t n_attrs;
    message_of(ids[b->n], &data, attrs, &n_attrs);
    snprintf(id, sizeof id, "%d", ids[b->n]);
    beam_pubsub_message m = {.data = data.data ? data.data : (const uint8_t *)"", .data_len = data.len,
                             .attributes = attrs, .n_attributes = n_attrs, .message_id = id,
                             .publish_time_us = 1700000000000000LL + ids[b->n]};
    assert_int_equal(beam_pubsub_message_encode(&m, &t->bufs[b->n], err), BEAM_OK);
    beam_buf_free(&data);
    t->items[b->n] = (beam_stream_element){t->bufs[b->n].data, t->bufs[b->n].len, m.publish_time_us / 1000};
  }
  return BEAM_OK;
}

static void free_token(beam_stream_batch *b) {
  token *t = b->token;
  for (size_t i = 0; t && i < 64; i++) beam_buf_free(&t->bufs[i]);
  free(t);
}

static beam_status s_ack(void *src, beam_stream_batch *b, beam_error *err) {
  (void)src, (void)err;
  acked_bundles++;
  free_token(b);
  return BEAM_OK;
}

static void s_nack(void *src, beam_stream_batch *b) {
  (void)src;
  if (b->n) nacked_bundles++;
  free_token(b);
}

static void s_close(void *src) { (void)src; }

static const beam_stream_source_ops scripted = {BEAM_URN_PUBSUB_READ, s_open, s_pull, s_ack, s_nack, s_close};

typedef struct fixture {
  char dir[512], db[600], sink[620];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  test_tmpdir(f->dir, sizeof f->dir);
  snprintf(f->db, sizeof f->db, "%s/out.db", f->dir);
  snprintf(f->sink, sizeof f->sink, "sqlite:%s", f->db);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  test_tmpdir_remove(f->dir);
  free(f);
  return 0;
}

static int64_t query_int(fixture *f, const char *sql) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  sqlite3_stmt *st;
  int64_t v = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return v;
}

/* Runs the stream ETL of spec over the script into f's database; the run's counters into *r. */
static void run_spec(fixture *f, const char *spec, const int *const *bundles, beam_run_result *r) {
  script = bundles;
  next_bundle = 0;
  acked_bundles = nacked_bundles = 0;
  const char *inputs[] = {"pubsub:" SUB};
  beam_etl_file_pipeline_config cfg = {inputs, 1, spec, "test-spec", f->sink, "local", "off", true, false, 0, 1,
                                       NULL, 0, 7};
  beam_pipeline *p = beam_pipeline_new();
  beam_error err = {0};
  beam_status s = beam_etl_file_pipeline_build(p, &cfg, &err);
  if (s != BEAM_OK) fail_msg("build: %s", err.message);
  /* after the build, which registers the subscriber's source */
  assert_int_equal(beam_stream_source_register(&scripted, &err), BEAM_OK);
  json_t *opts = json_pack("{s:i,s:i,s:i}", "max_idle_s", 1, "parallelism", 1, "bundle_max_ms", 20);
  s = beam_pipeline_run_local(p, opts, r, &err);
  json_decref(opts);
  beam_pipeline_free(p);
  if (s != BEAM_OK) fail_msg("run: %s", err.message);
}

static void run_stream(fixture *f, const int *const *bundles, beam_run_result *r) { run_spec(f, SPEC, bundles, r); }

static const int b1[] = {0, 1, 2, 3, 4, 5, 6, -1};
static const int b2[] = {4, 5, 6, 7, 8, 9, 10, 11, -1}; /* 4, 5, 6 again: their ack was lost */
static const int b3[] = {10, 11, -1};                    /* all committed before */

static void redelivered_messages_are_written_once(void **state) {
  fixture *f = *state;
  const int *const bundles[] = {b1, b2, b3, NULL};
  beam_run_result r = {0};
  run_stream(f, bundles, &r);
  assert_int_equal(acked_bundles, 3);
  assert_int_equal(beam_run_result_counter(&r, "ReadMessages", "messages"), 7 + 8 + 2);
  assert_int_equal(beam_run_result_counter(&r, "Write", "messages_already_loaded"), 3 + 2);
  assert_int_equal(beam_run_result_counter(&r, "Write", "stream_messages"), 12);
  beam_run_result_free(&r);
  /* messages 0..11: rows of 0,1,5,6,10,11; dead letters of 2,3,7,8; 4 and 9 filtered */
  assert_int_equal(query_int(f, "SELECT count(*) FROM t_a"), 3);
  assert_int_equal(query_int(f, "SELECT count(*) FROM t_b"), 3);
  assert_int_equal(query_int(f, "SELECT count(DISTINCT id) FROM (SELECT id FROM t_a UNION ALL SELECT id FROM t_b)"), 6);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _dead_letter"), 4);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _dead_letter WHERE source = '" SUB "' AND message_id IN "
                                "('2', '3', '7', '8') AND offset IS NULL AND stage = 'parse'"),
                   4);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _stream_bundles"), 2); /* b3 committed nothing */
  assert_int_equal(query_int(f, "SELECT sum(messages) FROM _stream_bundles"), 12);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _stream_bundles WHERE messages != written + dead_lettered + "
                                "filtered"),
                   0);
  assert_int_equal(query_int(f, "SELECT messages * 1000 + written * 100 + dead_lettered * 10 + filtered FROM "
                                "_stream_bundles ORDER BY committed_at LIMIT 1 OFFSET 1"),
                   5000 + 200 + 20 + 1); /* b2's new: 7, 8, 9, 10, 11 */
  assert_int_equal(query_int(f, "SELECT count(*) FROM _beam_ledger WHERE unit LIKE 'pubsub:" SUB "@%#%'"), 12);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _stream_bundles WHERE julianday(first_publish_time) <= "
                                "julianday(last_publish_time)"),
                   2);
  /* A later run given the same messages again writes nothing. */
  const int *const again[] = {b1, NULL};
  run_stream(f, again, &r);
  assert_int_equal(beam_run_result_counter(&r, "Write", "messages_already_loaded"), 7);
  beam_run_result_free(&r);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _stream_bundles"), 2);
  assert_int_equal(query_int(f, "SELECT count(*) FROM t_a"), 3);
}

/* Pub/Sub may deliver a message twice into one pull (at least once, also while leased): the
 * copies after the first are held, as if committed before. */
static void a_message_twice_in_one_bundle_is_written_once(void **state) {
  fixture *f = *state;
  static const int twice[] = {0, 1, 0, 2, 1, -1};
  const int *const bundles[] = {twice, NULL};
  beam_run_result r = {0};
  run_stream(f, bundles, &r);
  assert_int_equal(acked_bundles, 1);
  assert_int_equal(beam_run_result_counter(&r, "ReadMessages", "messages"), 5);
  assert_int_equal(beam_run_result_counter(&r, "Write", "messages_already_loaded"), 2);
  assert_int_equal(beam_run_result_counter(&r, "Write", "stream_messages"), 3);
  beam_run_result_free(&r);
  assert_int_equal(query_int(f, "SELECT count(*) FROM (SELECT id FROM t_a UNION ALL SELECT id FROM t_b)"), 2);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _dead_letter"), 1);
  assert_int_equal(query_int(f, "SELECT messages * 100 + written * 10 + dead_lettered FROM _stream_bundles"), 321);
}

/* Whether directory path holds a part-*.jsonl object. */
static bool dir_has_part(const char *path) {
  DIR *d = opendir(path);
  if (!d) return false;
  bool found = false;
  for (struct dirent *e; !found && (e = readdir(d));)
    found = strncmp(e->d_name, "part-", 5) == 0 && strstr(e->d_name, ".jsonl");
  closedir(d);
  return found;
}

/* Message fields, bad messages and event times: each bad message dead-lettered once with its
 * reason; rows in the hour folder of their table's partition field, else their publish time. */
static void message_fields_bad_messages_and_event_times(void **state) {
  fixture *f = *state;
  char spec[2048], objects[700], path[900];
  snprintf(objects, sizeof objects, "%s/objects", f->dir);
  snprintf(spec, sizeof spec,
           "{\"schema\": [{\"name\": \"id\", \"type\": \"STRING\", \"mode\": \"REQUIRED\"},"
           " {\"name\": \"kind\", \"type\": \"STRING\", \"source\": \"_attributes.kind\"},"
           " {\"name\": \"ts\", \"type\": \"TIMESTAMP\"}],"
           " \"tables\": {\"t_x\": {\"schema\": [{\"name\": \"id\", \"type\": \"STRING\"}, {\"name\": \"kind\", "
           "\"type\": \"STRING\"}, {\"name\": \"ts\", \"type\": \"TIMESTAMP\"}], \"partition_field\": \"ts\"}},"
           " \"route\": {\"table\": \"t_{kind}\"}, \"outputs\": [{\"sink\": \"file:%s\"}]}",
           objects);
  static const int fields[] = {100, 101, 102, 103, 104, 105, 106, -1};
  const int *const bundles[] = {fields, NULL};
  beam_run_result r = {0};
  run_spec(f, spec, bundles, &r);
  assert_int_equal(acked_bundles, 1);
  beam_run_result_free(&r);
  assert_int_equal(query_int(f, "SELECT count(*) FROM t_x WHERE id = 'a' AND kind = 'x'"), 1);
  assert_int_equal(query_int(f, "SELECT count(*) FROM t_y WHERE id = 'f' AND kind = 'y'"), 1);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _dead_letter"), 5);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _dead_letter WHERE message_id = '101' AND stage = 'event_time' "
                                "AND error LIKE '%field \"ts\"%partition_field%is null%'"),
                   1);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _dead_letter WHERE message_id = '102' AND stage = 'parse' AND "
                                "error LIKE '%10000001 bytes, over the limit of 10000000%' AND length(raw) = 1024"),
                   1);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _dead_letter WHERE message_id = '103' AND stage = 'parse' AND "
                                "error LIKE '%not valid UTF-8 (byte 0xFF at offset 9)%'"),
                   1);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _dead_letter WHERE message_id = '104' AND stage = 'parse' AND "
                                "error LIKE '%no data%'"),
                   1);
  assert_int_equal(query_int(f, "SELECT count(*) FROM _dead_letter WHERE message_id = '105' AND stage = 'route' AND "
                                "error LIKE '%no attribute \"kind\"%'"),
                   1);
  assert_int_equal(query_int(f, "SELECT messages * 10 + dead_lettered FROM _stream_bundles"), 75);
  /* the object destination: t_x by ts (05h), t_y by the publish time 1700000000.000106 (22h) */
  snprintf(path, sizeof path, "%s/t_x/2026/11/01/05", objects);
  assert_true(dir_has_part(path));
  snprintf(path, sizeof path, "%s/t_y/2023/11/14/22", objects);
  assert_true(dir_has_part(path));
  snprintf(path, sizeof path, "%s/_dead_letter/2023/11/14/22", objects);
  assert_true(dir_has_part(path));
}

static void inputs_and_keys(void **state) {
  (void)state;
  beam_error err = {0};
  bool stream = true;
  const char *files[] = {"a.csv", "b.csv"};
  assert_int_equal(beam_etl_inputs_check_stream(files, 2, &stream, &err), BEAM_OK);
  assert_false(stream);
  const char *one[] = {"pubsub:" SUB};
  assert_int_equal(beam_etl_inputs_check_stream(one, 1, &stream, &err), BEAM_OK);
  assert_true(stream);
  const char *mixed[] = {"pubsub:" SUB, "a.csv"};
  assert_int_equal(beam_etl_inputs_check_stream(mixed, 2, &stream, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "must be the only --input"));
  const char *bad[] = {"pubsub:projects/p/topics/t", "pubsub:projects//subscriptions/s",
                       "pubsub:projects/p/subscriptions/", "pubsub:projects/p/subscriptions/s#1"};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(beam_etl_inputs_check_stream(&bad[i], 1, &stream, &err), BEAM_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "pubsub:projects/PROJECT/subscriptions/SUBSCRIPTION"));
  }
  char key[128];
  assert_true(beam_etl_message_unit_key(SUB, 1733000000123456, "123", key, sizeof key));
  assert_string_equal(key, "pubsub:" SUB "@1733000000123456#123");
  assert_string_equal(beam_etl_unit_message_id(key), "123");
  assert_null(beam_etl_unit_message_id("xxh3:abc@0-10"));
  assert_null(beam_etl_unit_message_id(NULL));
  assert_false(beam_etl_message_unit_key(SUB, 0, "123", key, 10));
  /* An emulator restarted numbers its ids afresh: the same id published later is another unit. */
  char later[128];
  assert_true(beam_etl_message_unit_key(SUB, 1733000000123457, "123", later, sizeof later));
  assert_string_not_equal(key, later);
}

static void specs_a_stream_refuses(void **state) {
  (void)state;
  static const char *const bad[][2] = {
      {"\"clean\": {\"dedupe_on\": \"id\"}", "clean.dedupe_on is not supported"},
      {"\"validate\": {\"mode\": \"hard\"}", "validate.mode \"hard\" is not supported"},
      {"\"validate\": {\"max_bad_records\": 3}", "validate.max_bad_records judges a whole file"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, "{\"schema\": [{\"name\": \"id\", \"type\": \"STRING\"}], "
                                "\"route\": {\"table\": \"t\"}, %s}", bad[i][0]);
    beam_etl_spec *spec = NULL;
    beam_error err = {0};
    if (beam_etl_spec_parse(text, strlen(text), "s.json", &spec, &err) != BEAM_OK) fail_msg("%s", err.message);
    assert_int_equal(beam_etl_spec_check_stream(spec, &err), BEAM_ERR_INVALID_ARG);
    if (!strstr(err.message, bad[i][1]) || strncmp(err.message, "s.json: ", 8) != 0)
      fail_msg("got \"%s\", want \"%s\"", err.message, bad[i][1]);
    beam_etl_spec_free(spec);
  }
}

static void header_round_trip(void **state) {
  (void)state;
  beam_buf list = BEAM_BUF_INIT;
  assert_int_equal(beam_etl_stream_header_add(&list, BEAM_ETL_MESSAGE_ROW, 17, "a1"), BEAM_OK);
  assert_int_equal(beam_etl_stream_header_add(&list, BEAM_ETL_MESSAGE_FILTERED, -5, "b 2"), BEAM_OK);
  beam_arena a = {0};
  beam_etl_stream_message *m;
  size_t n;
  beam_error err = {0};
  assert_int_equal(beam_etl_stream_header_parse((beam_bytes){list.data, list.len}, &a, &m, &n, &err), BEAM_OK);
  assert_int_equal(n, 2);
  assert_int_equal(m[0].outcome, 'r');
  assert_int_equal(m[0].publish_us, 17);
  assert_string_equal(m[0].id, "a1");
  assert_int_equal(m[1].publish_us, -5);
  assert_string_equal(m[1].id, "b 2");
  static const char bad[] = "x12 id\n";
  assert_int_equal(beam_etl_stream_header_parse((beam_bytes){(const uint8_t *)bad, sizeof bad - 1}, &a, &m, &n, &err),
                   BEAM_ERR_MALFORMED);
  beam_arena_free(&a);
  beam_buf_free(&list);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(redelivered_messages_are_written_once, setup, teardown),
      cmocka_unit_test_setup_teardown(a_message_twice_in_one_bundle_is_written_once, setup, teardown),
      cmocka_unit_test_setup_teardown(message_fields_bad_messages_and_event_times, setup, teardown),
      cmocka_unit_test(inputs_and_keys),
      cmocka_unit_test(specs_a_stream_refuses),
      cmocka_unit_test(header_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
