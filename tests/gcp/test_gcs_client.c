/* The GCS client against fake-gcs-server (run under tests/gcp/with_fake_gcs.sh, which sets
 * STORAGE_EMULATOR_HOST and creates the bucket "beam-test"). Optional argv[1]: a second
 * emulator address (the fault-injecting proxy) for the fault cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/gcs.h"
#include "beam/transforms/byte_ranges.h"
#include "beam/transforms/input.h"
#include "beam/transforms/sink.h"

#define BUCKET "beam-test"

static uint8_t pattern_byte(uint64_t i) { return (uint8_t)((i * 2654435761u) >> 13); }

/* A generated source of n bytes that can fail after fail_at bytes. */
typedef struct gen_source {
  uint64_t n, pos, fail_at;
} gen_source;

static beam_status gen_read(void *ctx, void *buf, size_t cap, size_t *got, beam_error *err) {
  gen_source *g = ctx;
  if (g->pos >= g->fail_at) return beam_error_set(err, BEAM_ERR_IO, "source broke on purpose");
  size_t take = g->n - g->pos < cap ? (size_t)(g->n - g->pos) : cap;
  if (take > 100000) take = 100000;
  for (size_t i = 0; i < take; i++) ((uint8_t *)buf)[i] = pattern_byte(g->pos + i);
  g->pos += take;
  *got = take;
  return BEAM_OK;
}

static beam_status gen_rewind(void *ctx, beam_error *err) {
  (void)err;
  ((gen_source *)ctx)->pos = 0;
  return BEAM_OK;
}

typedef struct check_sink {
  uint64_t pos;
  uint64_t bad;
} check_sink;

static beam_status check_data(void *ctx, const void *data, size_t len, beam_error *err) {
  (void)err;
  check_sink *c = ctx;
  for (size_t i = 0; i < len; i++)
    if (((const uint8_t *)data)[i] != pattern_byte(c->pos + i)) c->bad++;
  c->pos += len;
  return BEAM_OK;
}

static beam_gcs *client(void) {
  beam_gcs_options o = {.chunk_size = 256 << 10, .list_page_size = 2};
  beam_gcs *g;
  beam_error err;
  assert_int_equal(beam_gcs_new(&o, &g, &err), BEAM_OK);
  return g;
}

static void multi_chunk_upload_and_ranged_download(void **state) {
  (void)state;
  beam_gcs *g = client();
  beam_error err;
  gen_source src = {.n = 1000000, .fail_at = UINT64_MAX};
  bool created = false;
  beam_gcs_object_info info;
  beam_gcs_upload_options uo = {.content_type = "application/x-ndjson", .only_if_absent = true};
  assert_int_equal(beam_gcs_upload(g, BUCKET, "dir/big object.bin", &uo, gen_read, gen_rewind, &src,
                                   &created, &info, &err), BEAM_OK);
  assert_true(created);
  assert_int_equal(info.size, 1000000);
  beam_gcs_object_info st;
  assert_int_equal(beam_gcs_stat(g, BUCKET, "dir/big object.bin", &st, &err), BEAM_OK);
  assert_int_equal(st.size, 1000000);
  check_sink c = {0};
  assert_int_equal(beam_gcs_download(g, BUCKET, "dir/big object.bin", st.generation, 0, -1, check_data, &c, &err), BEAM_OK);
  assert_int_equal(c.pos, 1000000);
  assert_int_equal(c.bad, 0);
  c = (check_sink){.pos = 300000};
  assert_int_equal(beam_gcs_download(g, BUCKET, "dir/big object.bin", 0, 300000, 1000, check_data, &c, &err), BEAM_OK);
  assert_int_equal(c.pos, 301000);
  assert_int_equal(c.bad, 0);
  /* Exactly one chunk, and an empty object. */
  src = (gen_source){.n = 256 << 10, .fail_at = UINT64_MAX};
  assert_int_equal(beam_gcs_upload(g, BUCKET, "dir/one-chunk", &uo, gen_read, gen_rewind, &src, &created, &info, &err), BEAM_OK);
  assert_int_equal(info.size, 256 << 10);
  assert_int_equal(beam_gcs_upload_bytes(g, BUCKET, "dir/empty", &uo, "", 0, &created, &err), BEAM_OK);
  assert_int_equal(beam_gcs_stat(g, BUCKET, "dir/empty", &st, &err), BEAM_OK);
  assert_int_equal(st.size, 0);
  beam_gcs_free(g);
}

static void only_if_absent_never_overwrites(void **state) {
  (void)state;
  beam_gcs *g = client();
  beam_error err;
  beam_gcs_upload_options uo = {.only_if_absent = true};
  bool created = false;
  assert_int_equal(beam_gcs_upload_bytes(g, BUCKET, "once.txt", &uo, "first", 5, &created, &err), BEAM_OK);
  assert_true(created);
  assert_int_equal(beam_gcs_upload_bytes(g, BUCKET, "once.txt", &uo, "second!", 7, &created, &err), BEAM_OK);
  assert_false(created);
  beam_gcs_object_info st;
  assert_int_equal(beam_gcs_stat(g, BUCKET, "once.txt", &st, &err), BEAM_OK);
  assert_int_equal(st.size, 5);
  beam_gcs_free(g);
}

static void failed_upload_leaves_nothing(void **state) {
  (void)state;
  beam_gcs *g = client();
  beam_error err;
  gen_source src = {.n = 1000000, .fail_at = 600000};
  beam_gcs_upload_options uo = {.only_if_absent = true};
  assert_int_equal(beam_gcs_upload(g, BUCKET, "broken.bin", &uo, gen_read, gen_rewind, &src, NULL, NULL, &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "source broke on purpose"));
  assert_non_null(strstr(err.message, "gs://beam-test/broken.bin"));
  beam_gcs_object_info st;
  assert_int_equal(beam_gcs_stat(g, BUCKET, "broken.bin", &st, &err), BEAM_ERR_NOT_FOUND);
  beam_gcs_free(g);
}

typedef struct names {
  char list[16][64];
  int n;
} names;

static beam_status collect(void *ctx, const char *name, int64_t size, beam_error *err) {
  (void)size;
  (void)err;
  names *n = ctx;
  if (n->n < 16) snprintf(n->list[n->n++], 64, "%s", name);
  return BEAM_OK;
}

static void list_pages_and_delete(void **state) {
  (void)state;
  beam_gcs *g = client();
  beam_error err;
  const char *objs[] = {"list/a", "list/b", "list/c", "list/d", "list/e", "other/x"};
  for (int i = 0; i < 6; i++)
    assert_int_equal(beam_gcs_upload_bytes(g, BUCKET, objs[i], NULL, "x", 1, NULL, &err), BEAM_OK);
  names n = {0};
  assert_int_equal(beam_gcs_list(g, BUCKET, "list/", collect, &n, &err), BEAM_OK); /* 3 pages of 2 */
  assert_int_equal(n.n, 5);
  assert_string_equal(n.list[0], "list/a");
  assert_string_equal(n.list[4], "list/e");
  assert_int_equal(beam_gcs_delete(g, BUCKET, "list/c", &err), BEAM_OK);
  assert_int_equal(beam_gcs_delete(g, BUCKET, "list/c", &err), BEAM_ERR_NOT_FOUND);
  n.n = 0;
  assert_int_equal(beam_gcs_list(g, BUCKET, "list/", collect, &n, &err), BEAM_OK);
  assert_int_equal(n.n, 4);
  /* A name range: from list/b (included) to list/e (excluded), over pages; open ends. */
  n.n = 0;
  assert_int_equal(beam_gcs_list_range(g, BUCKET, "list/", "list/b", "list/e", collect, &n, &err), BEAM_OK);
  assert_int_equal(n.n, 2);
  assert_string_equal(n.list[0], "list/b");
  assert_string_equal(n.list[1], "list/d");
  n.n = 0;
  assert_int_equal(beam_gcs_list_range(g, BUCKET, "list/", "list/c", NULL, collect, &n, &err), BEAM_OK);
  assert_int_equal(n.n, 2); /* d, e */
  n.n = 0;
  assert_int_equal(beam_gcs_list_range(g, BUCKET, "list/", NULL, "list/b", collect, &n, &err), BEAM_OK);
  assert_int_equal(n.n, 1); /* a */
  assert_int_equal(beam_gcs_stat(g, "no-such-bucket", "x", &(beam_gcs_object_info){0}, &err), BEAM_ERR_NOT_FOUND);
  beam_gcs_free(g);
}

/* An in-memory upload body. */
typedef struct mem_body {
  const char *data;
  size_t len, pos;
} mem_body;

static beam_status mem_read(void *ctx, void *buf, size_t cap, size_t *got, beam_error *err) {
  (void)err;
  mem_body *m = ctx;
  size_t take = m->len - m->pos < cap ? m->len - m->pos : cap;
  memcpy(buf, m->data + m->pos, take);
  m->pos += take;
  *got = take;
  return BEAM_OK;
}

static beam_status mem_rewind(void *ctx, beam_error *err) {
  (void)err;
  ((mem_body *)ctx)->pos = 0;
  return BEAM_OK;
}

/* Reads [start, end) of uri: the record count and a checksum of offsets and raw text. */
static void read_gcs_range(const char *uri, int64_t start, int64_t end, long long *n, uint64_t *sum) {
  beam_input_options o;
  beam_input_options_init(&o);
  o.range_start = start;
  o.range_end = end;
  beam_input *in;
  beam_error err;
  if (beam_input_open(uri, &o, NULL, &in, &err) != BEAM_OK) fail_msg("%s", err.message);
  beam_arena arena = BEAM_ARENA_INIT;
  for (;;) {
    beam_etl_record rec;
    beam_read_result res;
    beam_etl_parse_error perr;
    if (beam_input_next(in, &arena, &rec, &res, &perr, &err) != BEAM_OK) fail_msg("%s", err.message);
    if (res == BEAM_READ_EOF) break;
    ++*n;
    *sum = *sum * 1000003u + (uint64_t)rec.origin.offset;
    for (size_t i = 0; i < rec.origin.raw.len; i++) *sum = *sum * 31u + rec.origin.raw.data[i];
    beam_arena_reset(&arena);
  }
  beam_arena_free(&arena);
  beam_input_close(in);
}

/* A gs:// CSV bigger than the source's 4 MiB window, read by byte ranges (seeks inside and
 * outside the window): the ranges together return what the whole read does. */
static void input_by_byte_ranges(void **state) {
  (void)state;
  size_t cap = 6u << 20, len = 0;
  char *data = malloc(cap);
  assert_non_null(data);
  len += (size_t)snprintf(data, cap, "id,name\n");
  for (int i = 0; len < (5u << 20); i++) len += (size_t)snprintf(data + len, cap - len, "%d,name %d\n", i, i * 7);
  beam_gcs *g = client();
  beam_error err;
  mem_body body = {data, len, 0};
  bool created = false;
  beam_gcs_object_info info;
  beam_gcs_upload_options uo = {.content_type = "text/csv"};
  assert_int_equal(beam_gcs_upload(g, BUCKET, "ranges/in.csv", &uo, mem_read, mem_rewind, &body, &created, &info, &err),
                   BEAM_OK);
  beam_gcs_free(g);
  const char *uri = "gs://" BUCKET "/ranges/in.csv";
  long long whole_n = 0;
  uint64_t whole_sum = 0;
  read_gcs_range(uri, 0, 0, &whole_n, &whole_sum);
  assert_true(whole_n > 200000);
  for (int64_t split = 1000003; split <= (int64_t)len; split *= 3) {
    long long n = 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < beam_byte_ranges_count((int64_t)len, split); i++) {
      beam_byte_range r = beam_byte_ranges_at((int64_t)len, split, i);
      read_gcs_range(uri, r.start, r.end, &n, &sum);
    }
    assert_int_equal(n, whole_n);
    assert_true(sum == whole_sum);
  }
  beam_input_split_info si;
  assert_int_equal(beam_input_splittable(uri, NULL, &si, &err), BEAM_OK);
  assert_int_equal(si.kind, BEAM_INPUT_SPLIT_BYTES);
  assert_int_equal(si.size, (int64_t)len);
  free(data);
}

/* A stream's message ledger on a gcs: sink (object_ledger.c through the GCS store's listing):
 * a committed bundle's units are found by a sink opened after every earlier one is gone
 * (the markers read back), and a stream commit that died is rolled back. */
static beam_etl_field stream_fields[] = {{"s", BEAM_ETL_STRING, BEAM_ETL_REQUIRED}};
static const beam_etl_schema stream_schema = {stream_fields, 1};

static beam_sink *stream_sink(const char *uri) {
  beam_sink_options o = {.stream_ledger = true};
  beam_sink *s;
  beam_error err;
  assert_int_equal(beam_sink_open(uri, &o, &s, &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(s, "events", &stream_schema, &err), BEAM_OK);
  return s;
}

static void a_stream_ledger_on_gcs(void **state) {
  (void)state;
  const char *uri = "gcs:gs://" BUCKET "/stream-ledger";
  beam_gcs *g = client();
  beam_error err;
  /* A dead commit (a stream bundle's name, no owner): its pending marker and one part. */
  const char *pending = "{\"bundle\":\"r0-b1\",\"ingest_hour\":475000,\"parts\":[\"events/2024/03/10/16/part-s0000000000000001ddddddddddddddd.jsonl\"],"
                        "\"units\":[\"pubsub:s@9#z\"]}";
  assert_int_equal(beam_gcs_upload_bytes(g, BUCKET, "stream-ledger/.bundles/s0000000000000001ddddddddddddddd.pending", NULL, pending, strlen(pending),
                                         NULL, &err), BEAM_OK);
  assert_int_equal(beam_gcs_upload_bytes(g, BUCKET, "stream-ledger/events/2024/03/10/16/part-s0000000000000001ddddddddddddddd.jsonl", NULL, "{}\n", 3,
                                         NULL, &err), BEAM_OK);
  beam_sink *s = stream_sink(uri);
  beam_gcs_object_info info;
  assert_int_equal(beam_gcs_stat(g, BUCKET, "stream-ledger/events/2024/03/10/16/part-s0000000000000001ddddddddddddddd.jsonl", &info, &err),
                   BEAM_ERR_NOT_FOUND);
  assert_int_equal(beam_gcs_stat(g, BUCKET, "stream-ledger/.bundles/s0000000000000001ddddddddddddddd.pending", &info, &err), BEAM_ERR_NOT_FOUND);
  const char *units[] = {"pubsub:s@1#a", "pubsub:s@2#b", "pubsub:s@9#z"};
  beam_value v = beam_value_string("x", 1);
  beam_etl_row row = {0};
  row.schema = &stream_schema;
  row.values = &v;
  assert_int_equal(beam_sink_begin(s, "r1-b1", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "events", &row, 1, NULL, &err), BEAM_OK);
  for (int i = 0; i < 2; i++) assert_int_equal(beam_sink_ledger_record(s, units[i], "s", false, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  beam_sink_free(s);
  s = stream_sink(uri); /* the only sink on the destination: its ledger is read from the markers */
  bool found[3];
  assert_int_equal(beam_sink_ledger_find_many(s, units, 3, found, &err), BEAM_OK);
  assert_true(found[0]);
  assert_true(found[1]);
  assert_false(found[2]);
  beam_sink_free(s);
  /* 40 committed markers: the next start reads them one by one and puts them in a segment;
   * the start after it reads the segment, not the markers (spoilt now: a GET would fail). */
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < 40; i++) {
      char name[128], text[160];
      snprintf(name, sizeof name, "stream-ledger/.bundles/s%016llx%015d.committed", 1700000000000000LL + i, i);
      int n = pass ? snprintf(text, sizeof text, "spoilt")
                   : snprintf(text, sizeof text, "{\"bundle\":\"r2-b%d\",\"units\":[\"pubsub:s@%d#seg\"],"
                              "\"committed_us\":%lld}", i, i, 1700000000000000LL + i);
      if (pass) assert_int_equal(beam_gcs_delete(g, BUCKET, name, &err), BEAM_OK);
      assert_int_equal(beam_gcs_upload_bytes(g, BUCKET, name, NULL, text, (size_t)n, NULL, &err), BEAM_OK);
    }
    s = stream_sink(uri);
    const char *seg[] = {"pubsub:s@0#seg", "pubsub:s@39#seg", "pubsub:s@1#a"};
    assert_int_equal(beam_sink_ledger_find_many(s, seg, 3, found, &err), BEAM_OK);
    assert_true(found[0] && found[1] && found[2]);
    beam_sink_free(s);
  }
  beam_gcs_free(g);
}

static void parse_uris(void **state) {
  (void)state;
  char *b, *o;
  beam_error err;
  assert_int_equal(beam_gcs_parse_uri("gs://bkt/a/b.csv", &b, &o, &err), BEAM_OK);
  assert_string_equal(b, "bkt");
  assert_string_equal(o, "a/b.csv");
  free(b), free(o);
  assert_int_equal(beam_gcs_parse_uri("gs://bkt", &b, &o, &err), BEAM_OK);
  assert_string_equal(o, "");
  free(b), free(o);
  assert_int_equal(beam_gcs_parse_uri("s3://bkt/x", &b, &o, &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(beam_gcs_parse_uri("gs:///x", &b, &o, &err), BEAM_ERR_INVALID_ARG);
}

int main(void) {
  if (!getenv("STORAGE_EMULATOR_HOST")) {
    fprintf(stderr, "test_gcs_client: run under tests/gcp/with_fake_gcs.sh\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse_uris),
      cmocka_unit_test(multi_chunk_upload_and_ranged_download),
      cmocka_unit_test(only_if_absent_never_overwrites),
      cmocka_unit_test(failed_upload_leaves_nothing),
      cmocka_unit_test(list_pages_and_delete),
      cmocka_unit_test(input_by_byte_ranges),
      cmocka_unit_test(a_stream_ledger_on_gcs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
