/* The object-file sink on a local directory (file:DIR): hour paths from the partition
 * field, ingestion-hour parts, per-row rejection, abort, and exactly-once retries - a
 * committed bundle retried, and a bundle whose earlier attempt died mid-commit - and a
 * stream's message ledger: units found by later sinks of the process and after a restart,
 * a stream commit that died rolled back, two bundles claiming one message. The same code
 * writes to GCS (gcs:), tested against fake-gcs-server in tests/gcp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>

#include "object_ledger.h"
#include "object_ledger_segment.h"
#include "sink_test_util.h"

static char *dir;
static char uri[600];

static int setup(void **state) {
  (void)state;
  dir = sink_test_tmpdir();
  snprintf(uri, sizeof uri, "file:%s/out", dir);
  return dir ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  sink_test_rmdir(dir);
  dir = NULL;
  return 0;
}

static beam_sink *open_sink_spilling(const char *partition_field, size_t spill_bytes) {
  beam_sink_options o = {.partition_field = partition_field, .no_sync = true, .spill_bytes = spill_bytes};
  beam_sink *s;
  beam_error err;
  assert_int_equal(beam_sink_open(uri, &o, &s, &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(s, "events", &sink_test_schema, &err), BEAM_OK);
  return s;
}

static beam_sink *open_sink(const char *partition_field) { return open_sink_spilling(partition_field, 0); }

static void bundle_hash(const char *id, char out[33]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len;
  EVP_Digest(id, strlen(id), md, &len, EVP_sha256(), NULL);
  for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static long file_size(const char *rel) {
  char p[1200];
  snprintf(p, sizeof p, "%s/out/%s", dir, rel);
  struct stat sb;
  return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

static int count_lines(const char *rel) {
  char p[1200];
  snprintf(p, sizeof p, "%s/out/%s", dir, rel);
  FILE *f = fopen(p, "r");
  if (!f) return -1;
  int n = 0;
  for (int c; (c = fgetc(f)) != EOF;) n += c == '\n';
  fclose(f);
  return n;
}

static void unlink_rel(const char *rel) {
  char path[1200];
  snprintf(path, sizeof path, "%s/out/%s", dir, rel);
  assert_int_equal(unlink(path), 0);
}

static void write_file(const char *rel, const char *text) {
  char p[1200];
  snprintf(p, sizeof p, "%s/out/%s", dir, rel);
  for (char *q = p + strlen(dir) + 1; *q; q++)
    if (*q == '/') *q = '\0', mkdir(p, 0755), *q = '/';
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* Three rows at 2024-01-02T03, one at 2024-01-02T05, one without ts (ingestion hour). */
static void write_sample(beam_sink *s, beam_sink_row_errors *rej) {
  beam_value v[5][8];
  beam_etl_row rows[5];
  for (int i = 0; i < 5; i++) {
    sink_test_full_values(v[i], "row", i);
    rows[i] = sink_test_row(v[i]);
  }
  v[3][5] = beam_value_int64(SINK_TEST_TS + 2 * 3600000000LL);
  v[4][5] = beam_value_null();
  beam_error err;
  assert_int_equal(beam_sink_write_rows(s, "events", rows, 5, rej, &err), BEAM_OK);
}

/* The path of the ingestion-hour part (gmtime, not the library's own calendar code). */
static void ingest_name(const char *hash, int64_t hour, char *buf, size_t cap) {
  time_t t = (time_t)(hour * 3600);
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(buf, cap, "events/%04d/%02d/%02d/%02d/part-%s-ingest.jsonl", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, hash);
}

static void rows_go_to_hour_paths(void **state) {
  (void)state;
  beam_sink *s = open_sink("ts");
  beam_error err;
  assert_int_equal(beam_sink_begin(s, "bundle-1", &err), BEAM_OK);
  write_sample(s, NULL);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  char h[33], rel[300];
  bundle_hash("bundle-1", h);
  snprintf(rel, sizeof rel, "events/2024/01/02/03/part-%s.jsonl", h);
  assert_int_equal(count_lines(rel), 3);
  snprintf(rel, sizeof rel, "events/2024/01/02/05/part-%s.jsonl", h);
  assert_int_equal(count_lines(rel), 1);
  snprintf(rel, sizeof rel, ".bundles/%s.committed", h);
  assert_true(file_size(rel) > 0);
  snprintf(rel, sizeof rel, ".bundles/%s.pending", h);
  assert_int_equal(file_size(rel), -1);
  beam_sink_stats st;
  beam_sink_get_stats(s, &st);
  assert_int_equal(st.rows_written, 5);
  beam_sink_free(s);

  /* The same bundle again, from a new sink (a retried bundle on another worker). */
  s = open_sink("ts");
  assert_int_equal(beam_sink_begin(s, "bundle-1", &err), BEAM_OK);
  write_sample(s, NULL);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  snprintf(rel, sizeof rel, "events/2024/01/02/03/part-%s.jsonl", h);
  assert_int_equal(count_lines(rel), 3);
  beam_sink_free(s);
}

static void spilled_parts_are_whole(void **state) {
  (void)state;
  beam_sink *s = open_sink_spilling("ts", 100); /* every row or two goes to a spill file */
  beam_error err;
  assert_int_equal(beam_sink_begin(s, "bundle-5", &err), BEAM_OK);
  for (int k = 0; k < 40; k++) write_sample(s, NULL);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  char h[33], rel[300];
  bundle_hash("bundle-5", h);
  snprintf(rel, sizeof rel, "events/2024/01/02/03/part-%s.jsonl", h);
  assert_int_equal(count_lines(rel), 120);
  snprintf(rel, sizeof rel, "events/2024/01/02/05/part-%s.jsonl", h);
  assert_int_equal(count_lines(rel), 40);
  beam_sink_free(s);
}

static void a_retry_completes_an_interrupted_commit(void **state) {
  (void)state;
  char h[33], rel[300], pending[300];
  bundle_hash("bundle-2", h);
  /* An earlier attempt recorded its ingestion hour and wrote one part, then died. */
  int64_t hour = 475000; /* 2024-03-10T16 */
  snprintf(pending, sizeof pending, ".bundles/%s.pending", h);
  char text[200];
  snprintf(text, sizeof text, "{\"bundle\":\"bundle-2\",\"ingest_hour\":%lld}", (long long)hour);
  write_file(pending, text);
  snprintf(rel, sizeof rel, "events/2024/01/02/03/part-%s.jsonl", h);
  write_file(rel, "{\"from\":\"attempt 1\"}\n{}\n{}\n");
  beam_sink *s = open_sink("ts");
  beam_error err;
  assert_int_equal(beam_sink_begin(s, "bundle-2", &err), BEAM_OK);
  write_sample(s, NULL);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  assert_int_equal(count_lines(rel), 3); /* not rewritten: the name existed */
  snprintf(rel, sizeof rel, "events/2024/01/02/05/part-%s.jsonl", h);
  assert_int_equal(count_lines(rel), 1);
  ingest_name(h, hour, rel, sizeof rel); /* the earlier attempt's ingestion hour, not now */
  assert_int_equal(count_lines(rel), 1);
  assert_int_equal(file_size(pending), -1);
  beam_sink_free(s);
}

static void refused_rows_and_aborts(void **state) {
  (void)state;
  beam_sink *s = open_sink(NULL);
  beam_error err;
  assert_int_equal(beam_sink_begin(s, "bundle-3", &err), BEAM_OK);
  beam_value v[2][8];
  sink_test_full_values(v[0], "ok", 1);
  sink_test_null_values(v[1], "x");
  v[1][0] = beam_value_null(); /* s is REQUIRED */
  beam_etl_row rows[2] = {sink_test_row(v[0]), sink_test_row(v[1])};
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  assert_int_equal(beam_sink_write_rows(s, "events", rows, 2, &rej, &err), BEAM_OK);
  assert_int_equal(rej.len, 1);
  assert_int_equal(rej.items[0].index, 1);
  beam_sink_abort(s); /* nothing of bundle-3 is written */
  char h[33], rel[300];
  bundle_hash("bundle-3", h);
  snprintf(rel, sizeof rel, ".bundles/%s.committed", h);
  assert_int_equal(file_size(rel), -1);
  assert_int_equal(beam_sink_begin(s, "bundle-3", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(s, "events", rows, 1, &rej, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_OK);
  assert_true(file_size(rel) > 0);
  beam_sink_row_errors_free(&rej);
  beam_sink_free(s);
}

/* ---- A stream's message ledger ------------------------------------------------------ */

static beam_sink *open_stream_sink(void) {
  beam_sink_options o = {.partition_field = "ts", .no_sync = true, .stream_ledger = true};
  beam_sink *s;
  beam_error err;
  assert_int_equal(beam_sink_open(uri, &o, &s, &err), BEAM_OK);
  assert_true(beam_sink_keeps_ledger(s));
  assert_int_equal(beam_sink_ensure_table(s, "events", &sink_test_schema, &err), BEAM_OK);
  return s;
}

/* A bundle of the sample rows recording the units; its commit's status. */
static beam_status stream_bundle(beam_sink *s, const char *id, const char *const *units, size_t n, beam_error *err) {
  assert_int_equal(beam_sink_begin(s, id, err), BEAM_OK);
  write_sample(s, NULL);
  for (size_t i = 0; i < n; i++) assert_int_equal(beam_sink_ledger_record(s, units[i], "sub", false, err), BEAM_OK);
  return beam_sink_commit(s, err);
}

static void found(beam_sink *s, const char *const *keys, size_t n, const bool *want) {
  bool got[8];
  beam_error err;
  assert_int_equal(beam_sink_ledger_find_many(s, keys, n, got, &err), BEAM_OK);
  for (size_t i = 0; i < n; i++) assert_int_equal(got[i], want[i]);
}

/* Markers in .bundles/ whose name starts with prefix and ends with suffix. */
static int count_markers(const char *prefix, const char *suffix) {
  char p[1200];
  snprintf(p, sizeof p, "%s/out/.bundles", dir);
  DIR *d = opendir(p);
  if (!d) return 0;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name), sl = strlen(suffix);
    n += strncmp(e->d_name, prefix, strlen(prefix)) == 0 && len > sl && strcmp(e->d_name + len - sl, suffix) == 0;
  }
  closedir(d);
  return n;
}

static void a_stream_ledger_holds_committed_messages(void **state) {
  (void)state;
  const char *units[] = {"pubsub:projects/p/subscriptions/s@1#a", "pubsub:projects/p/subscriptions/s@2#b",
                         "pubsub:projects/p/subscriptions/s@3#c"};
  beam_sink *a = open_stream_sink(), *b = open_stream_sink();
  beam_error err;
  bool any = true;
  assert_int_equal(beam_sink_ledger_any(a, &any, &err), BEAM_OK);
  assert_false(any);
  assert_int_equal(stream_bundle(a, "run1-b1", units, 2, &err), BEAM_OK);
  found(b, units, 3, (bool[]){true, true, false}); /* another sink of the process sees the commit */
  /* The committed marker ("s<instant><hash>": a stream bundle's) lists the units: a restart
   * reads them. */
  assert_int_equal(count_markers("s", ".committed"), 1);
  assert_int_equal(count_markers("s", ".pending"), 0);
  beam_sink_free(a);
  beam_sink_free(b);
  a = open_stream_sink();
  found(a, units, 3, (bool[]){true, true, false});
  assert_int_equal(beam_sink_ledger_any(a, &any, &err), BEAM_OK);
  assert_true(any);
  /* Inside a bundle, its own units count. */
  assert_int_equal(beam_sink_begin(a, "run2-b1", &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_record(a, units[2], "sub", false, &err), BEAM_OK);
  found(a, units + 2, 1, (bool[]){true});
  beam_sink_abort(a);
  found(a, units + 2, 1, (bool[]){false});
  beam_sink_free(a);
  /* A file ETL's sink on the same directory keeps no ledger. */
  beam_sink *f = open_sink("ts");
  assert_false(beam_sink_keeps_ledger(f));
  beam_sink_free(f);
}

static void a_stream_commit_that_died_is_rolled_back(void **state) {
  (void)state;
  /* A stream bundle's commit put its pending marker and one of its two parts, then died; a
   * file bundle's commit died too (no units: its retry takes its hour, it stays). */
  write_file(".bundles/s0000000000000001aaaaaaaaaaaaaaa.pending", "{\"bundle\":\"run0-b7\",\"ingest_hour\":475000,"
             "\"parts\":[\"events/2024/01/02/03/part-s0000000000000001aaaaaaaaaaaaaaa.jsonl\",\"events/2024/01/02/05/part-s0000000000000001aaaaaaaaaaaaaaa.jsonl\"],"
             "\"units\":[\"pubsub:s@1#x\"]}");
  write_file("events/2024/01/02/03/part-s0000000000000001aaaaaaaaaaaaaaa.jsonl", "{}\n");
  write_file(".bundles/bbbb.pending", "{\"bundle\":\"file-b\",\"ingest_hour\":475000}");
  /* A stream bundle that died after its committed marker, before tidying its pending one. */
  write_file(".bundles/s0000000000000001ccccccccccccccc.pending", "{\"bundle\":\"run0-b8\",\"ingest_hour\":475000,"
             "\"parts\":[\"events/2024/01/02/03/part-s0000000000000001ccccccccccccccc.jsonl\"],\"units\":[\"pubsub:s@2#y\"]}");
  write_file("events/2024/01/02/03/part-s0000000000000001ccccccccccccccc.jsonl", "{}\n");
  write_file(".bundles/s0000000000000001ccccccccccccccc.committed", "{\"bundle\":\"run0-b8\",\"units\":[\"pubsub:s@2#y\"]}");
  beam_sink *s = open_stream_sink();
  assert_int_equal(file_size("events/2024/01/02/03/part-s0000000000000001aaaaaaaaaaaaaaa.jsonl"), -1);
  assert_int_equal(file_size(".bundles/s0000000000000001aaaaaaaaaaaaaaa.pending"), -1);
  assert_true(file_size(".bundles/bbbb.pending") > 0);
  assert_true(file_size("events/2024/01/02/03/part-s0000000000000001ccccccccccccccc.jsonl") > 0);
  const char *keys[] = {"pubsub:s@1#x", "pubsub:s@2#y"};
  found(s, keys, 2, (bool[]){false, true});
  beam_sink_free(s);
}

/* A pending stream marker is rolled back only when its commit cannot complete: a live
 * process's (this one) stays; a dead process's on this machine goes; another machine's goes
 * once it is 10 minutes old. */
static void a_live_writers_commit_is_not_rolled_back(void **state) {
  (void)state;
  char text[1024], boot[64];
  const char *me = beam_object_ledger_owner();
  if (!me[0]) skip(); /* no /proc */
  snprintf(boot, sizeof boot, "%.*s", (int)(strchr(me, ':') - me), me);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  long long now_us = (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000;
  const char *owners[] = {me, NULL, "other-machine:12:34", "other-machine:12:34"};
  char dead[128];
  snprintf(dead, sizeof dead, "%s:%d:%d", boot, 4194304, 1); /* past pid_max: gone */
  owners[1] = dead;
  const long long ages[] = {0, 0, 60LL * 1000000, 11LL * 60 * 1000000};
  const bool stays[] = {true, false, true, false};
  for (int i = 0; i < 4; i++) {
    char marker[64], part[96];
    snprintf(marker, sizeof marker, ".bundles/s%016llx%015d.pending", now_us - ages[i], i);
    snprintf(part, sizeof part, "events/2024/01/02/03/part-s%016llx%015d.jsonl", now_us - ages[i], i);
    snprintf(text, sizeof text,
             "{\"bundle\":\"r-%d\",\"ingest_hour\":475000,\"parts\":[\"%s\"],\"units\":[\"pubsub:s@%d#u\"],"
             "\"owner\":\"%s\",\"pending_us\":%lld}",
             i, part, i, owners[i], now_us - ages[i]);
    write_file(marker, text);
    write_file(part, "{}\n");
  }
  beam_sink *s = open_stream_sink();
  for (int i = 0; i < 4; i++) {
    char part[96];
    snprintf(part, sizeof part, "events/2024/01/02/03/part-s%016llx%015d.jsonl", now_us - ages[i], i);
    if ((file_size(part) > 0) != stays[i]) fail_msg("pending marker %d (owner %s): stays %d", i, owners[i], stays[i]);
  }
  beam_sink_free(s);
}

static void two_bundles_claiming_one_message(void **state) {
  (void)state;
  const char *units[] = {"pubsub:s@1#m", "pubsub:s@2#n"};
  beam_sink *a = open_stream_sink(), *b = open_stream_sink();
  beam_error err;
  /* b's bundle holds m (redelivered to it while a held it) and n */
  assert_int_equal(beam_sink_begin(b, "run1-b2", &err), BEAM_OK);
  write_sample(b, NULL);
  assert_int_equal(beam_sink_ledger_record(b, units[0], "sub", false, &err), BEAM_OK);
  assert_int_equal(beam_sink_ledger_record(b, units[1], "sub", false, &err), BEAM_OK);
  assert_int_equal(stream_bundle(a, "run1-b1", units, 1, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(b, &err), BEAM_ERR_IO); /* m is a's: b writes nothing */
  assert_non_null(strstr(err.message, "committed by another bundle"));
  char h[33], rel[300];
  bundle_hash("run1-b2", h);
  snprintf(rel, sizeof rel, ".bundles/%s.committed", h);
  assert_int_equal(file_size(rel), -1);
  found(a, units, 2, (bool[]){true, false}); /* b's claim on n went with its failure */
  /* Its retry without m commits n; a bundle of m alone again is a duplicate. */
  assert_int_equal(stream_bundle(b, "run1-b3", units + 1, 1, &err), BEAM_OK);
  assert_false(beam_sink_last_bundle_was_duplicate(b));
  assert_int_equal(stream_bundle(b, "run1-b4", units, 1, &err), BEAM_OK);
  assert_true(beam_sink_last_bundle_was_duplicate(b));
  found(a, units, 2, (bool[]){true, true});
  beam_sink_free(a);
  beam_sink_free(b);
}

/* Units of committed markers stamped more than message_ledger_days ago are not loaded. */
static void old_message_units_expire(void **state) {
  (void)state;
  /* Named by their instants: the first in 1970 (not even read), the second now. */
  write_file(".bundles/s0000000000000001eeeeeeeeeeeeeee.committed",
             "{\"bundle\":\"r0-b1\",\"units\":[\"pubsub:s@1#old\"],\"committed_us\":1000000}");
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  char recent[96];
  snprintf(recent, sizeof recent, ".bundles/s%016llxfffffffffffffff.committed",
           (unsigned long long)now.tv_sec * 1000000);
  write_file(recent, "{\"bundle\":\"r0-b2\",\"units\":[\"pubsub:s@2#unstamped\"]}");
  /* Neither an expired segment nor a file bundle's marker is listed: not JSON, they would
   * fail a read. */
  write_file(".bundles/k0000000000000002eeeeeeeeeeeeeee.segment", "not JSON");
  write_file(".bundles/0123456789abcdef0123456789abcdef.committed", "not JSON");
  beam_sink_options o = {.no_sync = true, .stream_ledger = true, .message_ledger_days = 7};
  beam_sink *s;
  beam_error err;
  assert_int_equal(beam_sink_open(uri, &o, &s, &err), BEAM_OK);
  assert_int_equal(beam_sink_ensure_table(s, "events", &sink_test_schema, &err), BEAM_OK);
  const char *units[] = {"pubsub:s@3#new"};
  assert_int_equal(stream_bundle(s, "r1-b1", units, 1, &err), BEAM_OK);
  const char *keys[] = {"pubsub:s@1#old", "pubsub:s@2#unstamped", "pubsub:s@3#new"};
  found(s, keys, 3, (bool[]){false, true, true});
  beam_sink_free(s);
  unlink_rel(".bundles/k0000000000000002eeeeeeeeeeeeeee.segment");
  s = open_stream_sink(); /* keeps every unit: the ledger read again */
  found(s, keys, 3, (bool[]){true, true, true});
  beam_sink_free(s);
}

/* Replaces every committed stream marker's content with text that is not JSON: a read that
 * GETs one fails. */
static void spoil_committed_markers(void) {
  char p[1200];
  snprintf(p, sizeof p, "%s/out/.bundles", dir);
  DIR *d = opendir(p);
  assert_non_null(d);
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    if (e->d_name[0] != 's' || len < 10 || strcmp(e->d_name + len - 10, ".committed") != 0) continue;
    char path[1500];
    snprintf(path, sizeof path, "%s/%s", p, e->d_name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("spoilt", f);
    fclose(f);
  }
  closedir(d);
}

/* The ledger's segments (object_ledger_segment.h): a first read that found 40 markers puts
 * them in one segment, and a later first read takes their units from it without reading
 * them; the markers a run commits go into segments as it commits (every 1024). */
static void ledger_segments_spare_the_markers(void **state) {
  (void)state;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  long long now_us = (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000;
  for (int i = 0; i < 40; i++) {
    char name[96], text[256];
    snprintf(name, sizeof name, ".bundles/s%016llx%015d.committed", now_us - 1000 + i, i);
    snprintf(text, sizeof text, "{\"bundle\":\"r0-b%d\",\"units\":[\"pubsub:s@%d#m\"],\"committed_us\":%lld}", i, i,
             now_us - 1000 + i);
    write_file(name, text);
  }
  beam_sink *s = open_stream_sink();
  beam_sink_free(s);
  assert_int_equal(count_markers("k", ".segment"), 1);
  spoil_committed_markers();
  s = open_stream_sink(); /* would fail on a spoilt marker */
  const char *keys[] = {"pubsub:s@0#m", "pubsub:s@39#m", "pubsub:s@40#m"};
  found(s, keys, 3, (bool[]){true, true, false});
  /* 1024 commits of this run make a segment of their own. */
  beam_error err;
  for (int i = 0; i < 1024; i++) {
    char unit[64], id[32];
    snprintf(unit, sizeof unit, "pubsub:s@%d#run", i);
    snprintf(id, sizeof id, "r1-b%d", i);
    const char *units[] = {unit};
    assert_int_equal(stream_bundle(s, id, units, 1, &err), BEAM_OK);
  }
  beam_sink_free(s);
  assert_int_equal(count_markers("k", ".segment"), 2);
  spoil_committed_markers();
  s = open_stream_sink();
  const char *later[] = {"pubsub:s@0#run", "pubsub:s@1023#run", "pubsub:s@20#m", "pubsub:s@1024#run"};
  found(s, later, 4, (bool[]){true, true, true, false});
  beam_sink_free(s);
}

/* A segment is cut at about 4 MiB (a GCS get reads up to 64 MiB), and a segment that cannot
 * be read is passed over: its markers are read instead. */
static void big_and_bad_ledger_segments(void **state) {
  (void)state;
  beam_ledger_marker m[3];
  for (int k = 0; k < 3; k++) {
    char name[96];
    snprintf(name, sizeof name, ".bundles/s%016llx%015d.committed", 1700000000000000LL + k, k);
    m[k] = (beam_ledger_marker){strdup(name), 1700000000000000LL + k, json_array()};
    for (int i = 0; i < 30000; i++) {
      char unit[96];
      snprintf(unit, sizeof unit, "pubsub:projects/p/subscriptions/s@%d#%d-%040d", k, i, 0);
      json_array_append_new(m[k].units, json_string(unit));
    }
    json_t *marker = json_pack("{s:s,s:O,s:I}", "bundle", name, "units", m[k].units, "committed_us",
                               (json_int_t)m[k].committed_us);
    char *text = json_dumps(marker, JSON_COMPACT);
    json_decref(marker);
    write_file(name, text);
    free(text);
  }
  beam_error err;
  beam_object_store *store = NULL;
  char root[1100];
  snprintf(root, sizeof root, "%s/out", dir);
  assert_int_equal(beam_object_store_dir_open(root, true, &store, &err), BEAM_OK);
  assert_int_equal(beam_ledger_segment_put(store, m, 3, &err), BEAM_OK);
  assert_int_equal(count_markers("k", ".segment"), 3); /* 2.2 MB each: one a segment */
  beam_ledger_markers_clear(m, 3);
  store->ops->free(store);
  write_file(".bundles/k0000000000000001aaaaaaaaaaaaaaa.segment", "not JSON");
  beam_sink *s = open_stream_sink();
  const char *keys[] = {"pubsub:projects/p/subscriptions/s@2#29999-0000000000000000000000000000000000000000",
                        "pubsub:s@2#nothing"};
  found(s, keys, 2, (bool[]){true, false});
  beam_sink_free(s);
}

static void bad_locations(void **state) {
  (void)state;
  beam_sink *s;
  beam_error err;
  assert_int_equal(beam_sink_open("file:", NULL, &s, &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(beam_sink_open("gcs:s3://x/y", NULL, &s, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "gs://BUCKET"));
  char buf[200];
  beam_sink_known_schemes(buf, sizeof buf);
  assert_non_null(strstr(buf, "file"));
  assert_non_null(strstr(buf, "gcs"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(rows_go_to_hour_paths, setup, teardown),
      cmocka_unit_test_setup_teardown(spilled_parts_are_whole, setup, teardown),
      cmocka_unit_test_setup_teardown(a_retry_completes_an_interrupted_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(refused_rows_and_aborts, setup, teardown),
      cmocka_unit_test_setup_teardown(a_stream_ledger_holds_committed_messages, setup, teardown),
      cmocka_unit_test_setup_teardown(a_stream_commit_that_died_is_rolled_back, setup, teardown),
      cmocka_unit_test_setup_teardown(a_live_writers_commit_is_not_rolled_back, setup, teardown),
      cmocka_unit_test_setup_teardown(two_bundles_claiming_one_message, setup, teardown),
      cmocka_unit_test_setup_teardown(old_message_units_expire, setup, teardown),
      cmocka_unit_test_setup_teardown(ledger_segments_spare_the_markers, setup, teardown),
      cmocka_unit_test_setup_teardown(big_and_bad_ledger_segments, setup, teardown),
      cmocka_unit_test(bad_locations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
