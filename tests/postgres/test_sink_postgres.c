/* The PostgreSQL sink against a real server: run under with_postgres.sh, which sets
 * BEAM_PG_CONNINFO and BEAM_PG_RESTART (see that script). Checks go through a second
 * libpq connection, as any reader of the database would see the rows. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "beam/transforms/sink.h"
#include "beam/value.h"
#include "../unit/sink_test_util.h"
#include "../unit/sink_test_ranges.h"

static void restart_server(void);

static const char *conninfo(void) {
  const char *c = getenv("BEAM_PG_CONNINFO");
  if (!c) fail_msg("BEAM_PG_CONNINFO is not set: run under tests/postgres/with_postgres.sh");
  return c;
}

static PGconn *reader(void) {
  PGconn *c = PQconnectdb(conninfo());
  if (PQstatus(c) != CONNECTION_OK) fail_msg("reader connection: %s", PQerrorMessage(c));
  PQclear(PQexec(c, "SET client_min_messages = warning"));
  return c;
}

static void sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sql(const char *fmt, ...) {
  char q[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(q, sizeof q, fmt, ap);
  va_end(ap);
  PGconn *c = reader();
  PGresult *r = PQexec(c, q);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail_msg("%s: %s", q, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
}

/* The first column of the first row of a query, as text ("" for NULL). */
static char *query1(const char *q) {
  PGconn *c = reader();
  PGresult *r = PQexec(c, "SET extra_float_digits = 3; SET TIME ZONE 'UTC'");
  PQclear(r);
  r = PQexec(c, q);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s: %s", q, PQerrorMessage(c));
  char *out = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "(no rows)");
  PQclear(r);
  PQfinish(c);
  return out;
}

static long count_rows(const char *table) {
  char q[256];
  snprintf(q, sizeof q, "SELECT count(*) FROM \"%s\"", table);
  char *v = query1(q);
  long n = atol(v);
  free(v);
  return n;
}

static beam_sink *open_sink(void) {
  beam_sink *s = NULL;
  beam_error err = {0};
  char uri[512];
  snprintf(uri, sizeof uri, "postgres:%s", conninfo());
  if (beam_sink_open(uri, NULL, &s, &err) != BEAM_OK) fail_msg("open: %s", err.message);
  return s;
}

static void ensure(beam_sink *s, const char *table, const beam_etl_schema *schema) {
  beam_error err = {0};
  if (beam_sink_ensure_table(s, table, schema, &err) != BEAM_OK) fail_msg("ensure %s: %s", table, err.message);
}

/* Writes n rows "<prefix>-k" (k = 0..n-1) of the all-types schema; asserts no rejection. */
static void write_n(beam_sink *s, const char *table, const char *prefix, int n) {
  beam_value v[8];
  char name[64];
  beam_error err = {0};
  for (int k = 0; k < n; k++) {
    snprintf(name, sizeof name, "%s-%d", prefix, k);
    sink_test_full_values(v, name, k);
    beam_etl_row row = sink_test_row(v);
    beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
    if (beam_sink_write_rows(s, table, &row, 1, &rej, &err) != BEAM_OK) fail_msg("write: %s", err.message);
    assert_int_equal(rej.len, 0);
    beam_sink_row_errors_free(&rej);
  }
}

static void commit(beam_sink *s) {
  beam_error err = {0};
  if (beam_sink_commit(s, &err) != BEAM_OK) fail_msg("commit: %s", err.message);
}

static void begin(beam_sink *s, const char *id) {
  beam_error err = {0};
  if (beam_sink_begin(s, id, &err) != BEAM_OK) fail_msg("begin %s: %s", id, err.message);
}

/* A bundle id of its own per run: the database outlives a test. */
static const char *fresh_id(const char *tag) {
  static char id[128];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(id, sizeof id, "%s-%lld.%09ld", tag, (long long)ts.tv_sec, ts.tv_nsec);
  return id;
}

static void test_bad_conninfo_fails_fast(void **state) {
  (void)state;
  beam_sink *s = NULL;
  beam_error err = {0};
  /* Port 1 on loopback: refused at once, never a hang. */
  assert_int_equal(beam_sink_open("postgres:host=127.0.0.1 port=1 connect_timeout=2", NULL, &s, &err), BEAM_ERR_IO);
  assert_null(s);
  assert_non_null(strstr(err.message, "cannot connect"));
  char known[256];
  assert_non_null(strstr(beam_sink_known_schemes(known, sizeof known), "postgres"));
}

/* An error no retry can fix fails at once with the server's own message. */
static void test_permission_denied_fails_loudly(void **state) {
  (void)state;
  sql("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'beam_limited') THEN "
      "CREATE ROLE beam_limited LOGIN; END IF; END$$");
  sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
  char uri[512];
  snprintf(uri, sizeof uri, "postgres:%s user=beam_limited", conninfo());
  beam_sink *s = NULL;
  beam_error err = {0};
  time_t t0 = time(NULL);
  beam_status st = beam_sink_open(uri, NULL, &s, &err);
  assert_true(time(NULL) - t0 < 5);
  if (st == BEAM_OK) { /* _beam_bundles already existed: then creating a table fails */
    st = beam_sink_ensure_table(s, "pg_denied", &sink_test_schema, &err);
    beam_sink_free(s);
  }
  assert_int_equal(st, BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "permission denied"));
  assert_non_null(strstr(err.message, "beam_test@127.0.0.1"));
}

static void test_create_check_and_cache(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_create\", \"pg_other\"");
  beam_sink *s = open_sink();
  ensure(s, "pg_create", &sink_test_schema);
  ensure(s, "pg_create", &sink_test_schema); /* cached */
  char *types = query1("SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || "
                       "CASE WHEN attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY attnum) "
                       "FROM pg_attribute WHERE attrelid = '\"pg_create\"'::regclass AND attnum > 0");
  assert_string_equal(types, "s text not null, i bigint, f double precision, n numeric, b boolean, "
                             "ts timestamp with time zone, d date, by bytea");
  free(types);
  /* A table that exists with other columns is an error naming each difference. */
  sql("CREATE TABLE \"pg_other\" (s text, i integer, extra text)");
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "pg_other", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "column i is integer, the schema wants bigint"));
  assert_non_null(strstr(err.message, "missing column f double precision"));
  assert_non_null(strstr(err.message, "extra column extra text"));
  /* Reserved and invalid names. */
  assert_int_equal(beam_sink_ensure_table(s, "_beam_bundles", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(beam_sink_ensure_table(s, "x; DROP TABLE y", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  beam_sink_free(s);
}

static void test_types_round_trip(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_types\"");
  beam_sink *s = open_sink();
  ensure(s, "pg_types", &sink_test_schema);
  begin(s, fresh_id("types"));
  static const char tricky[] = "tab\there \"quoted\" back\\slash\nnew line, caf\xc3\xa9 \xe2\x82\xac";
  static const char *numerics[] = {"0", "-12.5", "12345678901234567890123456789.123456789", "0.0001", "10000",
                                   "-0.000000001", ".5", "unused: row 7 is all nulls"};
  static const char *numerics_back[] = {"0", "-12.5", "12345678901234567890123456789.123456789", "0.0001", "10000",
                                        "-0.000000001", "0.5"};
  enum { N = 8 };
  beam_value v[N][8];
  beam_etl_row rows[N];
  char names[N][16];
  for (int k = 0; k < N; k++) {
    snprintf(names[k], sizeof names[k], "r%d", k);
    sink_test_full_values(v[k], k == 0 ? tricky : names[k], k);
    v[k][3] = beam_value_string(numerics[k], strlen(numerics[k]));
    rows[k] = sink_test_row(v[k]);
  }
  v[1][1] = beam_value_int64(INT64_MIN);
  v[2][1] = beam_value_int64(INT64_MAX);
  v[1][2] = beam_value_double(-0.1);
  v[2][2] = beam_value_double(1e308);
  v[3][2] = beam_value_double(5e-324);
  v[1][4] = beam_value_bool(false);
  v[1][5] = beam_value_int64(-1);               /* 1969-12-31T23:59:59.999999Z */
  v[2][5] = beam_value_int64(-62135596800000000LL); /* 0001-01-01 */
  v[1][6] = beam_value_int64(-1);               /* 1969-12-31 */
  v[1][7] = beam_value_bytes("", 0);
  sink_test_null_values(v[7], "nulls");
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  beam_error err = {0};
  if (beam_sink_write_rows(s, "pg_types", rows, N, &rej, &err) != BEAM_OK) fail_msg("write: %s", err.message);
  assert_int_equal(rej.len, 0);
  commit(s);
  char *got = query1("SELECT s FROM pg_types WHERE i = 0");
  assert_string_equal(got, tricky);
  free(got);
  /* Sorted by s: "nulls", r1 .. r6, then the tricky one (row 0). */
  got = query1("SELECT string_agg(coalesce(n::text, '-'), ',' ORDER BY s COLLATE \"C\") FROM pg_types");
  char want[512] = "-";
  for (int k = 1; k <= N - 1; k++) {
    strcat(want, ",");
    strcat(want, numerics_back[k % (N - 1)]);
  }
  assert_string_equal(got, want);
  free(got);
  got = query1("SELECT concat_ws('|', i, f, b, ts, d, encode(\"by\", 'hex')) FROM pg_types WHERE s = 'r1'");
  assert_string_equal(got, "-9223372036854775808|-0.1|f|1969-12-31 23:59:59.999999+00|1969-12-31|");
  free(got);
  got = query1("SELECT concat_ws('|', i, f, ts) FROM pg_types WHERE s = 'r2'");
  assert_string_equal(got, "9223372036854775807|1e+308|0001-01-01 00:00:00+00");
  free(got);
  got = query1("SELECT concat_ws('|', f, b, ts, d, encode(\"by\", 'hex')) FROM pg_types WHERE s = 'r3'");
  assert_string_equal(got, "5e-324|t|2024-01-02 03:04:05.123456+00|2024-01-02|00ff10");
  free(got);
  got = query1("SELECT concat_ws('|', s, i IS NULL, f IS NULL, n IS NULL, b IS NULL, ts IS NULL, d IS NULL, "
               "\"by\" IS NULL) FROM pg_types WHERE s = 'nulls'");
  assert_string_equal(got, "nulls|t|t|t|t|t|t|t");
  free(got);
  beam_sink_row_errors_free(&rej);
  beam_sink_free(s);
}

static void test_abort_leaves_nothing(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_abort\"");
  beam_sink *s = open_sink();
  begin(s, fresh_id("abort"));
  ensure(s, "pg_abort", &sink_test_schema);
  write_n(s, "pg_abort", "a", 50);
  assert_int_equal(count_rows("pg_abort"), 0); /* not visible before commit */
  beam_sink_abort(s);
  assert_int_equal(count_rows("pg_abort"), 0);
  /* Closing with a bundle open discards it too. */
  begin(s, fresh_id("abort-close"));
  write_n(s, "pg_abort", "b", 5);
  beam_error err = {0};
  assert_int_equal(beam_sink_close(s, &err), BEAM_OK);
  beam_sink_free(s);
  assert_int_equal(count_rows("pg_abort"), 0);
}

static void test_retried_bundle_writes_once(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_retry\"");
  beam_sink *s = open_sink();
  ensure(s, "pg_retry", &sink_test_schema);
  char id[128];
  snprintf(id, sizeof id, "%s", fresh_id("retry"));
  begin(s, id);
  write_n(s, "pg_retry", "r", 10);
  commit(s);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  /* The runner retries the same bundle, on this sink and on another worker's. */
  begin(s, id);
  write_n(s, "pg_retry", "r", 10);
  commit(s);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  beam_sink *other = open_sink();
  ensure(other, "pg_retry", &sink_test_schema);
  begin(other, id);
  write_n(other, "pg_retry", "r", 10);
  commit(other);
  assert_true(beam_sink_last_bundle_was_duplicate(other));
  assert_int_equal(count_rows("pg_retry"), 10);
  beam_sink_stats st;
  beam_sink_get_stats(s, &st);
  assert_int_equal(st.rows_written, 10);
  assert_int_equal(st.bundles_committed, 1);
  assert_int_equal(st.bundles_duplicate, 1);
  /* An aborted attempt does not count as committed: the next attempt writes. */
  char id2[128];
  snprintf(id2, sizeof id2, "%s", fresh_id("retry2"));
  begin(s, id2);
  write_n(s, "pg_retry", "x", 3);
  beam_sink_abort(s);
  begin(s, id2);
  write_n(s, "pg_retry", "x", 3);
  commit(s);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  assert_int_equal(count_rows("pg_retry"), 13);
  beam_sink_free(other);
  beam_sink_free(s);
}

typedef struct racer {
  const char *id;
  bool duplicate;
  char error[512];
} racer;

/* A runner retries a bundle under a new instruction id: the same records (file identity,
 * offset) make the same content key, claimed in _beam_bundles, so the retry writes nothing. */
static void test_retry_under_a_new_bundle_id_writes_once(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_rekey\"");
  char run[128], uri[512];
  snprintf(run, sizeof run, "%s", fresh_id("run")); /* the database outlives a test run: a file of its own */
  snprintf(uri, sizeof uri, "postgres:%s", conninfo());
  beam_sink_options o = {0};
  const char *bundles[] = {"worker-a/instruction-4", "worker-b/instruction-17"};
  for (int k = 0; k < 2; k++) {
    beam_sink *s = NULL;
    beam_error err = {0};
    if (beam_sink_open(uri, &o, &s, &err) != BEAM_OK) fail_msg("open: %s", err.message);
    ensure(s, "pg_rekey", &sink_test_schema);
    char id[160];
    snprintf(id, sizeof id, "%s/%s", run, bundles[k]);
    begin(s, id);
    beam_etl_row rows[6];
    beam_value vals[6][8];
    char names[6][16];
    for (int i = 0; i < 6; i++) {
      snprintf(names[i], sizeof names[i], "rec-%d", i);
      sink_test_full_values(vals[i], names[i], i);
      rows[i] = sink_test_row(vals[i]);
      rows[i].origin = (beam_etl_origin){.source = "in/a.csv", .line = i + 1, .offset = 10 * i, .file_id = run};
    }
    beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
    if (beam_sink_write_rows(s, "pg_rekey", rows, 6, &rej, &err) != BEAM_OK) fail_msg("write: %s", err.message);
    beam_sink_row_errors_free(&rej);
    commit(s);
    assert_int_equal(beam_sink_last_bundle_was_duplicate(s), k == 1);
    beam_sink_free(s);
  }
  assert_int_equal(count_rows("pg_rekey"), 6);
}

static void *race_same_bundle(void *arg) {
  racer *r = arg;
  beam_sink *s = NULL;
  beam_error err = {0};
  char uri[512];
  snprintf(uri, sizeof uri, "postgres:%s", conninfo());
  beam_status st = beam_sink_open(uri, NULL, &s, &err);
  if (st == BEAM_OK) st = beam_sink_ensure_table(s, "pg_race", &sink_test_schema, &err);
  if (st == BEAM_OK) st = beam_sink_begin(s, r->id, &err); /* waits for the other worker */
  beam_value v[8];
  sink_test_full_values(v, "race", 1);
  beam_etl_row row = sink_test_row(v);
  if (st == BEAM_OK) st = beam_sink_write_rows(s, "pg_race", &row, 1, NULL, &err);
  if (st == BEAM_OK) st = beam_sink_commit(s, &err);
  if (st != BEAM_OK) snprintf(r->error, sizeof r->error, "%s", err.message);
  r->duplicate = beam_sink_last_bundle_was_duplicate(s);
  beam_sink_free(s);
  return NULL;
}

static void test_concurrent_same_bundle(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_race\"");
  beam_sink *s = open_sink();
  ensure(s, "pg_race", &sink_test_schema);
  racer r = {0};
  char id[128];
  snprintf(id, sizeof id, "%s", fresh_id("race"));
  r.id = id;
  begin(s, id);
  write_n(s, "pg_race", "race", 1);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, race_same_bundle, &r), 0);
  struct timespec pause = {0, 300000000L}; /* the other worker is now waiting on the bundle id */
  nanosleep(&pause, NULL);
  commit(s);
  pthread_join(t, NULL);
  assert_string_equal(r.error, "");
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  assert_true(r.duplicate);
  assert_int_equal(count_rows("pg_race"), 1);
  beam_sink_free(s);
}

static void test_constraint_rejects_only_bad_rows(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_reject\"");
  beam_sink *s = open_sink();
  ensure(s, "pg_reject", &sink_test_schema);
  sql("ALTER TABLE \"pg_reject\" ADD CONSTRAINT i_below_100 CHECK (i < 100)");
  enum { N = 40 };
  beam_value v[N][8];
  beam_etl_row rows[N];
  char names[N][16];
  for (int k = 0; k < N; k++) {
    snprintf(names[k], sizeof names[k], "row%d", k);
    sink_test_full_values(v[k], names[k], k);
    rows[k] = sink_test_row(v[k]);
  }
  v[3][1] = beam_value_int64(500);                    /* the server's CHECK refuses */
  v[17][1] = beam_value_int64(100);                   /* and this one */
  v[5][0] = beam_value_null();                        /* NULL in REQUIRED: refused before sending */
  v[9][3] = beam_value_string("1e5", 3);              /* NUMERIC not a plain decimal */
  v[22][0] = beam_value_string("bad \xff utf8", 10);  /* the server refuses the encoding */
  v[30][2] = beam_value_string("text", 4);            /* wrong kind for FLOAT64 */
  begin(s, fresh_id("reject"));
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  beam_error err = {0};
  if (beam_sink_write_rows(s, "pg_reject", rows, N, &rej, &err) != BEAM_OK) fail_msg("write: %s", err.message);
  size_t want[] = {3, 5, 9, 17, 22, 30};
  assert_int_equal(rej.len, 6);
  for (size_t k = 0; k < 6; k++) assert_int_equal(rej.items[k].index, want[k]);
  assert_non_null(strstr(rej.items[0].reason, "i_below_100"));
  assert_non_null(strstr(rej.items[1].reason, "REQUIRED"));
  assert_non_null(strstr(rej.items[2].reason, "NUMERIC"));
  assert_non_null(strstr(rej.items[3].reason, "i_below_100"));
  assert_non_null(strstr(rej.items[4].reason, "UTF8"));
  /* The server restarts: the replay after the reconnect leaves the refused rows out. A
   * second write in the same bundle, all good, and the bundle commits the rest. */
  restart_server();
  write_n(s, "pg_reject", "more", 4);
  commit(s);
  assert_int_equal(count_rows("pg_reject"), N - 6 + 4);
  beam_sink_stats st;
  beam_sink_get_stats(s, &st);
  assert_int_equal(st.rows_rejected, 6);
  /* Without a rejection list, a refused row fails the call and poisons the bundle. */
  begin(s, fresh_id("reject-null"));
  assert_int_equal(beam_sink_write_rows(s, "pg_reject", &rows[3], 1, NULL, &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_ERR_INVALID_ARG);
  beam_sink_abort(s);
  assert_int_equal(count_rows("pg_reject"), N - 6 + 4);
  beam_sink_row_errors_free(&rej);
  beam_sink_free(s);
}

static void test_quoted_identifiers(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"Mixed_Case\"");
  beam_etl_field fields[] = {{"select", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},
                             {"we\"ird col", BEAM_ETL_INT64, BEAM_ETL_NULLABLE}};
  beam_etl_schema schema = {fields, 2};
  beam_sink *s = open_sink();
  ensure(s, "Mixed_Case", &schema);
  begin(s, fresh_id("quoted"));
  beam_value v[2] = {beam_value_string("x", 1), beam_value_int64(7)};
  beam_etl_row row = {&schema, v, {0}};
  beam_error err = {0};
  if (beam_sink_write_rows(s, "Mixed_Case", &row, 1, NULL, &err) != BEAM_OK) fail_msg("write: %s", err.message);
  commit(s);
  char *got = query1("SELECT \"select\" || ':' || \"we\"\"ird col\" FROM \"Mixed_Case\"");
  assert_string_equal(got, "x:7");
  free(got);
  beam_sink_free(s);
}

static void *ensure_migrate_race(void *arg) {
  char *error = arg;
  beam_sink *s = NULL;
  beam_error err = {0};
  char uri[512];
  snprintf(uri, sizeof uri, "postgres:%s", conninfo());
  beam_status st = beam_sink_open(uri, NULL, &s, &err);
  if (st == BEAM_OK) st = beam_sink_ensure_table(s, "pg_migrate_race", &sink_test_schema, &err);
  if (st != BEAM_OK) snprintf(error, 256, "%.200s", err.message);
  beam_sink_free(s);
  return NULL;
}

/* A table the previous release wrote (fewer columns, the new ones NULLABLE, in another
 * order) gains the missing columns, here from inside a bundle (a side transaction): old
 * rows read NULL there, new rows carry values. Workers migrating at once all succeed. */
static void test_existing_table_gains_nullable_columns(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_migrate\", \"pg_migrate_race\"");
  sql("CREATE TABLE \"pg_migrate\" (i bigint, s text NOT NULL); "
      "INSERT INTO \"pg_migrate\" (i, s) VALUES (1, 'old-1'), (2, 'old-2')");
  beam_sink *s = open_sink();
  begin(s, fresh_id("migrate"));
  ensure(s, "pg_migrate", &sink_test_schema);
  write_n(s, "pg_migrate", "new", 3);
  commit(s);
  beam_sink_free(s);
  assert_int_equal(count_rows("pg_migrate"), 5);
  char *got = query1("SELECT count(*) FROM pg_migrate WHERE s LIKE 'old-%' AND f IS NULL AND n IS NULL AND b IS NULL "
                     "AND ts IS NULL AND d IS NULL AND \"by\" IS NULL");
  assert_string_equal(got, "2");
  free(got);
  got = query1("SELECT string_agg(concat_ws('|', s, i, f, b, ts, d, encode(\"by\", 'hex')), ',' ORDER BY s) "
               "FROM pg_migrate WHERE s LIKE 'new-%'");
  assert_string_equal(got, "new-0|0|12.5|t|2024-01-02 03:04:05.123456+00|2024-01-02|00ff10,"
                           "new-1|1|12.5|t|2024-01-02 03:04:05.123456+00|2024-01-02|00ff10,"
                           "new-2|2|12.5|t|2024-01-02 03:04:05.123456+00|2024-01-02|00ff10");
  free(got);
  got = query1("SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN "
               "' not null' ELSE '' END, ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = "
               "'\"pg_migrate\"'::regclass AND attnum > 0");
  assert_string_equal(got, "i bigint, s text not null, f double precision, n numeric, b boolean, "
                           "ts timestamp with time zone, d date, by bytea");
  free(got);
  /* Four workers find the same old table at once: each adds or finds the columns. */
  sql("CREATE TABLE \"pg_migrate_race\" (s text NOT NULL)");
  enum { W = 4 };
  pthread_t t[W];
  char errors[W][256] = {{0}};
  for (int k = 0; k < W; k++) assert_int_equal(pthread_create(&t[k], NULL, ensure_migrate_race, errors[k]), 0);
  for (int k = 0; k < W; k++) pthread_join(t[k], NULL);
  for (int k = 0; k < W; k++) assert_string_equal(errors[k], "");
  got = query1("SELECT count(*) FROM pg_attribute WHERE attrelid = '\"pg_migrate_race\"'::regclass AND attnum > 0");
  assert_string_equal(got, "8");
  free(got);
}

/* Only missing NULLABLE columns are added: another type or a missing REQUIRED column is an
 * error naming the column, and the table stays as it was. */
static void test_existing_table_other_type_or_required_is_an_error(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_mig_type\", \"pg_mig_req\"");
  sql("CREATE TABLE \"pg_mig_type\" (s text NOT NULL, i integer)");
  sql("CREATE TABLE \"pg_mig_req\" (i bigint)");
  beam_sink *s = open_sink();
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "pg_mig_type", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "table pg_mig_type exists with different columns"));
  assert_non_null(strstr(err.message, "column i is integer, the schema wants bigint"));
  assert_int_equal(beam_sink_ensure_table(s, "pg_mig_req", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "missing REQUIRED column s text"));
  beam_sink_free(s);
  char *got = query1("SELECT count(*) FROM pg_attribute WHERE attrelid = '\"pg_mig_type\"'::regclass AND attnum > 0");
  assert_string_equal(got, "2");
  free(got);
}

static void server_cmd(const char *name) {
  const char *cmd = getenv(name);
  if (!cmd) fail_msg("%s is not set: run under tests/postgres/with_postgres.sh", name);
  if (system(cmd) != 0) fail_msg("%s failed: %s", name, cmd);
}

static void restart_server(void) { server_cmd("BEAM_PG_RESTART"); }

static void write_one(beam_sink *s, const char *table, const char *name) {
  beam_value v[8];
  sink_test_full_values(v, name, 99);
  beam_etl_row row = sink_test_row(v);
  beam_error err = {0};
  if (beam_sink_write_rows(s, table, &row, 1, NULL, &err) != BEAM_OK) fail_msg("write %s: %s", name, err.message);
}

static void test_reconnect_after_restart(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_restart\"");
  beam_sink *s = open_sink();
  ensure(s, "pg_restart", &sink_test_schema);
  begin(s, fresh_id("before"));
  write_n(s, "pg_restart", "before", 5);
  commit(s);
  /* Between bundles: the next begin reconnects, nothing is lost. */
  restart_server();
  begin(s, fresh_id("after"));
  write_n(s, "pg_restart", "after", 5);
  commit(s);
  assert_int_equal(count_rows("pg_restart"), 10);
  /* Inside a bundle, before a write: the sink reconnects, claims the bundle again and
   * replays its 5 rows, then writes the 6th. */
  begin(s, fresh_id("during"));
  write_n(s, "pg_restart", "during", 5);
  restart_server();
  write_one(s, "pg_restart", "during-late");
  commit(s);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  assert_int_equal(count_rows("pg_restart"), 16);
  /* Before ensuring a new table inside the bundle: replayed there. */
  sql("DROP TABLE IF EXISTS \"pg_restart3\"");
  begin(s, fresh_id("ensure"));
  write_n(s, "pg_restart", "ensure", 2);
  restart_server();
  ensure(s, "pg_restart3", &sink_test_schema);
  write_n(s, "pg_restart3", "ensure", 1);
  commit(s);
  assert_int_equal(count_rows("pg_restart"), 18);
  assert_int_equal(count_rows("pg_restart3"), 1);
  /* Before the commit: replayed at commit. */
  begin(s, fresh_id("commit"));
  write_n(s, "pg_restart", "commit", 3);
  restart_server();
  commit(s);
  assert_int_equal(count_rows("pg_restart"), 21);
  /* The table cache survives reconnects; ensure_table after a restart reconnects too. */
  restart_server();
  ensure(s, "pg_restart", &sink_test_schema);
  sql("DROP TABLE IF EXISTS \"pg_restart2\"");
  restart_server();
  ensure(s, "pg_restart2", &sink_test_schema);
  beam_sink_free(s);
}

static void test_lost_connection_unrecoverable(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_big\"");
  beam_sink *s = open_sink();
  ensure(s, "pg_big", &sink_test_schema);
  /* A bundle bigger than the replay log (16 MB): a lost connection fails it loudly. */
  enum { BIG = 64 * 1024, N = 300 };
  char *blob = malloc(BIG);
  memset(blob, 'x', BIG);
  begin(s, fresh_id("big"));
  beam_value v[8];
  beam_etl_row row = sink_test_row(v);
  beam_error err = {0};
  for (int k = 0; k < N; k++) {
    sink_test_full_values(v, "big", k);
    v[7] = beam_value_bytes(blob, BIG);
    if (beam_sink_write_rows(s, "pg_big", &row, 1, NULL, &err) != BEAM_OK) fail_msg("write: %s", err.message);
  }
  restart_server();
  assert_int_equal(beam_sink_write_rows(s, "pg_big", &row, 1, NULL, &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "too big to replay"));
  beam_sink_abort(s);
  assert_int_equal(count_rows("pg_big"), 0);
  /* The retry of the bundle (from the start) goes through. */
  begin(s, fresh_id("big-retry"));
  write_one(s, "pg_big", "small");
  commit(s);
  assert_int_equal(count_rows("pg_big"), 1);
  free(blob);
  /* A server that stays away: the sink gives up after its reconnect budget (~20 s), with
   * libpq's reason, and works again once the server is back. */
  server_cmd("BEAM_PG_STOP");
  time_t t0 = time(NULL);
  beam_status st = beam_sink_begin(s, fresh_id("down"), &err);
  time_t waited = time(NULL) - t0;
  server_cmd("BEAM_PG_START");
  assert_int_equal(st, BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "reconnects failed"));
  assert_true(waited >= 10 && waited <= 60);
  begin(s, fresh_id("back"));
  write_one(s, "pg_big", "back");
  commit(s);
  assert_int_equal(count_rows("pg_big"), 2);
  beam_sink_free(s);
}

/* ---- Units and the ledger ------------------------------------------------------------ */

static long count_like(const char *table, const char *prefix) {
  char q[256];
  snprintf(q, sizeof q, "SELECT count(*) FROM \"%s\" WHERE s LIKE '%s-%%'", table, prefix);
  char *v = query1(q);
  long n = atol(v);
  free(v);
  return n;
}

static void unit_begin(beam_sink *s) {
  beam_error err = {0};
  if (beam_sink_unit_begin(s, &err) != BEAM_OK) fail_msg("unit_begin: %s", err.message);
}

static void unit_rollback(beam_sink *s) {
  beam_error err = {0};
  if (beam_sink_unit_rollback(s, &err) != BEAM_OK) fail_msg("unit_rollback: %s", err.message);
}

static void record(beam_sink *s, const char *key, const char *file, bool replace) {
  beam_error err = {0};
  if (beam_sink_ledger_record(s, key, file, replace, &err) != BEAM_OK) fail_msg("ledger_record %s: %s", key, err.message);
}

static beam_sink_ledger_hit find(beam_sink *s, const char *key) {
  beam_sink_ledger_hit hit;
  beam_error err = {0};
  if (beam_sink_ledger_find(s, key, &hit, &err) != BEAM_OK) fail_msg("ledger_find %s: %s", key, err.message);
  return hit;
}

static bool ledger_any(beam_sink *s) {
  bool any = true;
  beam_error err = {0};
  if (beam_sink_ledger_any(s, &any, &err) != BEAM_OK) fail_msg("ledger_any: %s", err.message);
  return any;
}

/* A unit rollback drops the rows (and ledger entries) written since unit_begin, in every
 * table, keeps the bundle's earlier rows, and leaves the bundle open and healthy. */
static void test_unit_rollback_keeps_earlier_rows(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_unit_a\", \"pg_unit_b\", \"pg_unit_c\"");
  beam_sink *s = open_sink();
  assert_true(beam_sink_has_savepoints(s));
  ensure(s, "pg_unit_a", &sink_test_schema);
  ensure(s, "pg_unit_b", &sink_test_schema);
  sql("ALTER TABLE \"pg_unit_b\" ADD CONSTRAINT unit_i_below_100 CHECK (i < 100)");
  char k1[128], k2[128];
  snprintf(k1, sizeof k1, "%s", fresh_id("unit-k1"));
  snprintf(k2, sizeof k2, "%s", fresh_id("unit-k2"));
  begin(s, fresh_id("unit"));
  write_n(s, "pg_unit_a", "pre", 3); /* before any unit */
  write_n(s, "pg_unit_b", "pre", 2);
  unit_begin(s); /* unit 1: kept */
  write_n(s, "pg_unit_a", "u1", 2);
  write_n(s, "pg_unit_b", "u1", 1);
  record(s, k1, "in/u1.csv", false);
  unit_begin(s); /* unit 2: rolled back, a table created inside it included */
  write_n(s, "pg_unit_a", "u2", 4);
  ensure(s, "pg_unit_c", &sink_test_schema);
  write_n(s, "pg_unit_c", "u2", 2);
  /* A row the server refuses inside the unit: the per-COPY savepoint nests in the unit's. */
  beam_value v[2][8];
  sink_test_full_values(v[0], "u2-good", 1);
  sink_test_full_values(v[1], "u2-bad", 500);
  beam_etl_row rows[2] = {sink_test_row(v[0]), sink_test_row(v[1])};
  beam_sink_row_errors rej = BEAM_SINK_ROW_ERRORS_INIT;
  beam_error err = {0};
  if (beam_sink_write_rows(s, "pg_unit_b", rows, 2, &rej, &err) != BEAM_OK) fail_msg("write: %s", err.message);
  assert_int_equal(rej.len, 1);
  record(s, k2, "in/u2.csv", false);
  assert_true(find(s, k2).found);
  unit_rollback(s);
  assert_false(find(s, k2).found);
  assert_true(find(s, k1).found);
  write_n(s, "pg_unit_a", "after", 1); /* the bundle goes on after the rollback */
  unit_begin(s); /* unit 3: rolled back twice, then one row kept */
  write_n(s, "pg_unit_b", "u3", 2);
  unit_rollback(s);
  write_n(s, "pg_unit_b", "u3x", 1);
  unit_rollback(s);
  write_n(s, "pg_unit_b", "u3y", 1);
  commit(s);
  assert_int_equal(count_rows("pg_unit_a"), 3 + 2 + 1);
  assert_int_equal(count_like("pg_unit_a", "u2"), 0);
  assert_int_equal(count_rows("pg_unit_b"), 2 + 1 + 1);
  assert_int_equal(count_like("pg_unit_b", "u3y"), 1);
  assert_int_equal(count_rows("pg_unit_c"), 0); /* created in its own transaction: stays, empty */
  beam_sink_stats st;
  beam_sink_get_stats(s, &st);
  assert_int_equal(st.rows_written, 10);
  assert_int_equal(st.rows_rejected, 0);
  assert_true(find(s, k1).found);
  assert_false(find(s, k2).found);
  /* The next bundle starts without a mark, and the cached table c takes rows. */
  begin(s, fresh_id("unit-next"));
  assert_int_equal(beam_sink_unit_rollback(s, &err), BEAM_ERR_INVALID_ARG);
  write_n(s, "pg_unit_c", "next", 1);
  commit(s);
  assert_int_equal(count_rows("pg_unit_c"), 1);
  beam_sink_row_errors_free(&rej);
  beam_sink_free(s);
}

/* A lost connection after a unit rollback replays exactly the rows and ledger entries kept,
 * and the unit savepoint itself: the bundle can roll back to it again. Lost at the
 * rollback or at unit_begin, the sink reconnects there. */
static void test_unit_rollback_survives_reconnect(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_unit_r\"");
  beam_sink *s = open_sink();
  ensure(s, "pg_unit_r", &sink_test_schema);
  char kept[128], dropped[128];
  snprintf(kept, sizeof kept, "%s", fresh_id("unit-kept"));
  snprintf(dropped, sizeof dropped, "%s", fresh_id("unit-dropped"));
  /* Lost after the rollback: replayed at the next write, without the unit rolled back. */
  begin(s, fresh_id("unit-restart"));
  write_n(s, "pg_unit_r", "a", 3);
  unit_begin(s);
  write_n(s, "pg_unit_r", "b", 2);
  record(s, kept, "in/b.csv", false);
  unit_begin(s);
  write_n(s, "pg_unit_r", "c", 2);
  record(s, dropped, "in/c.csv", false);
  unit_rollback(s);
  restart_server();
  write_n(s, "pg_unit_r", "d", 1);
  commit(s);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  assert_int_equal(count_rows("pg_unit_r"), 3 + 2 + 1);
  assert_int_equal(count_like("pg_unit_r", "c"), 0);
  assert_true(find(s, kept).found);
  assert_false(find(s, dropped).found);
  /* The replay sets the unit savepoint again: the bundle can still roll back to it. */
  sql("TRUNCATE \"pg_unit_r\"");
  begin(s, fresh_id("unit-restart-again"));
  write_n(s, "pg_unit_r", "a", 2);
  unit_begin(s);
  write_n(s, "pg_unit_r", "b", 1);
  restart_server();
  write_n(s, "pg_unit_r", "c", 1);
  unit_rollback(s);
  write_n(s, "pg_unit_r", "d", 1);
  commit(s);
  assert_int_equal(count_rows("pg_unit_r"), 2 + 1);
  assert_int_equal(count_like("pg_unit_r", "b") + count_like("pg_unit_r", "c"), 0);
  /* Lost before the rollback: the rollback reconnects and replays up to the savepoint. */
  sql("TRUNCATE \"pg_unit_r\"");
  begin(s, fresh_id("unit-restart-rollback"));
  write_n(s, "pg_unit_r", "a", 2);
  unit_begin(s);
  write_n(s, "pg_unit_r", "b", 3);
  restart_server();
  unit_rollback(s);
  write_n(s, "pg_unit_r", "c", 1);
  unit_rollback(s);
  write_n(s, "pg_unit_r", "d", 1);
  commit(s);
  assert_int_equal(count_rows("pg_unit_r"), 2 + 1);
  assert_int_equal(count_like("pg_unit_r", "d"), 1);
  /* Lost before unit_begin: it reconnects, replays, then sets the savepoint. */
  sql("TRUNCATE \"pg_unit_r\"");
  begin(s, fresh_id("unit-restart-begin"));
  write_n(s, "pg_unit_r", "a", 2);
  restart_server();
  unit_begin(s);
  write_n(s, "pg_unit_r", "b", 2);
  unit_rollback(s);
  commit(s);
  assert_int_equal(count_rows("pg_unit_r"), 2);
  assert_int_equal(count_like("pg_unit_r", "a"), 2);
  beam_sink_free(s);
}

/* Entries are visible with the bundle (and to the bundle itself before it commits), not at
 * all when it aborts; replace keeps or replaces an entry; any tells an empty ledger. */
/* Two writers load units of the same key at once (two files of one content, two runs): the
 * one that commits second learns it at commit, before anything of it is visible: a bundle of
 * only such units is a duplicate; one holding another unit too fails and writes nothing. */
static void test_unit_committed_by_another_writer_meanwhile(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_taken\"");
  beam_sink *first = open_sink(), *second = open_sink();
  ensure(first, "pg_taken", &sink_test_schema);
  ensure(second, "pg_taken", &sink_test_schema);
  char key[128], other_key[128];
  snprintf(key, sizeof key, "%s", fresh_id("taken"));
  snprintf(other_key, sizeof other_key, "%s", fresh_id("taken-other"));
  begin(second, fresh_id("taken-second"));
  assert_false(find(second, key).found); /* looked up before the first writer commits */
  write_n(second, "pg_taken", "second", 3);
  begin(first, fresh_id("taken-first"));
  write_n(first, "pg_taken", "first", 2);
  record(first, key, "in/a.csv", false);
  commit(first);
  record(second, key, "in/copy-of-a.csv", false);
  commit(second);
  assert_true(beam_sink_last_bundle_was_duplicate(second));
  assert_int_equal(count_rows("pg_taken"), 2);
  /* With a unit of its own beside it: the commit fails, nothing is written. */
  begin(second, fresh_id("taken-mixed"));
  write_n(second, "pg_taken", "mixed", 3);
  record(second, other_key, "in/b.csv", false);
  record(second, key, "in/copy-of-a.csv", false);
  beam_error err = {0};
  assert_int_equal(beam_sink_commit(second, &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "1 of the bundle's 2 units"));
  assert_int_equal(count_rows("pg_taken"), 2);
  assert_false(find(first, other_key).found);
  /* A unit rolled back does not count. */
  begin(second, fresh_id("taken-rolled-back"));
  unit_begin(second);
  record(second, key, "in/copy-of-a.csv", false);
  unit_rollback(second);
  unit_begin(second);
  write_n(second, "pg_taken", "kept", 1);
  record(second, other_key, "in/b.csv", false);
  commit(second);
  assert_false(beam_sink_last_bundle_was_duplicate(second));
  assert_int_equal(count_rows("pg_taken"), 3);
  beam_sink_free(first);
  beam_sink_free(second);
}

static void test_ledger_record_find_any(void **state) {
  (void)state;
  sql("DELETE FROM \"_beam_ledger\"");
  beam_sink *s = open_sink();
  beam_sink *other = open_sink();
  assert_true(beam_sink_keeps_ledger(s));
  beam_error err = {0};
  assert_int_equal(beam_sink_ensure_table(s, "_beam_ledger", &sink_test_schema, &err), BEAM_ERR_INVALID_ARG);
  assert_false(ledger_any(s));
  char key[128];
  snprintf(key, sizeof key, "%s", fresh_id("ledger"));
  assert_false(find(s, key).found);
  /* Recorded inside a bundle: the bundle sees it, another connection not until commit. */
  begin(s, fresh_id("ledger-1"));
  record(s, key, "in/a.csv", false);
  beam_sink_ledger_hit hit = find(s, key);
  assert_true(hit.found);
  assert_string_equal(hit.file, "in/a.csv");
  assert_true(ledger_any(s));
  assert_false(find(other, key).found);
  assert_false(ledger_any(other));
  commit(s);
  hit = find(other, key);
  assert_true(hit.found);
  assert_string_equal(hit.file, "in/a.csv");
  assert_true(ledger_any(other));
  /* committed_at: ISO 8601 UTC with milliseconds, the stored time. */
  assert_int_equal(strlen(hit.committed_at), 24);
  assert_int_equal(hit.committed_at[10], 'T');
  assert_int_equal(hit.committed_at[19], '.');
  assert_int_equal(hit.committed_at[23], 'Z');
  char q[512];
  snprintf(q, sizeof q,
           "SELECT to_char(committed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM _beam_ledger "
           "WHERE unit = '%s'",
           key);
  char *stored = query1(q);
  assert_string_equal(hit.committed_at, stored);
  free(stored);
  /* Not replacing: the first entry stays, file and time. */
  struct timespec pause = {0, 20000000L};
  nanosleep(&pause, NULL);
  begin(s, fresh_id("ledger-keep"));
  record(s, key, "in/b.csv", false);
  assert_string_equal(find(s, key).file, "in/a.csv");
  commit(s);
  beam_sink_ledger_hit kept = find(s, key);
  assert_string_equal(kept.file, "in/a.csv");
  assert_string_equal(kept.committed_at, hit.committed_at);
  /* Replacing (a reload): the new file, a later time. */
  begin(s, fresh_id("ledger-replace"));
  record(s, key, "in/c.csv", true);
  assert_string_equal(find(s, key).file, "in/c.csv");
  commit(s);
  beam_sink_ledger_hit replaced = find(other, key);
  assert_string_equal(replaced.file, "in/c.csv");
  assert_true(strcmp(replaced.committed_at, hit.committed_at) > 0);
  /* An aborted bundle's entries are nowhere, nor those of a bundle closed while open. */
  char aborted[128], closed[128];
  snprintf(aborted, sizeof aborted, "%s", fresh_id("ledger-aborted"));
  snprintf(closed, sizeof closed, "%s", fresh_id("ledger-closed"));
  begin(s, fresh_id("ledger-abort"));
  record(s, aborted, "in/d.csv", false);
  record(s, key, "in/d.csv", true);
  assert_true(find(s, aborted).found);
  beam_sink_abort(s);
  assert_false(find(s, aborted).found);
  assert_false(find(other, aborted).found);
  assert_string_equal(find(s, key).file, "in/c.csv");
  begin(other, fresh_id("ledger-close"));
  record(other, closed, "in/e.csv", false);
  assert_int_equal(beam_sink_close(other, &err), BEAM_OK);
  beam_sink_free(other);
  assert_false(find(s, closed).found);
  /* A retried bundle (a duplicate) records nothing. */
  char dup_key[128], bundle[128];
  snprintf(dup_key, sizeof dup_key, "%s", fresh_id("ledger-dup"));
  snprintf(bundle, sizeof bundle, "%s", fresh_id("ledger-dup-bundle"));
  begin(s, bundle);
  commit(s);
  begin(s, bundle);
  record(s, dup_key, "in/f.csv", false);
  commit(s);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  assert_false(find(s, dup_key).found);
  /* A long file name is cut to fit, at a character boundary. */
  char long_key[128], long_file[2048];
  snprintf(long_key, sizeof long_key, "%s", fresh_id("ledger-long"));
  memset(long_file, 'x', sizeof long_file);
  memcpy(long_file + 1021, "\xe2\x82\xac", 3); /* a 3-byte character across the cut */
  long_file[sizeof long_file - 1] = '\0';
  begin(s, fresh_id("ledger-long-bundle"));
  record(s, long_key, long_file, false);
  commit(s);
  hit = find(s, long_key);
  assert_true(hit.found);
  assert_int_equal(strlen(hit.file), 1021);
  beam_sink_free(s);
}

/* A ledger entry is part of the bundle: a reconnect inside the bundle replays it. */
static void test_ledger_entry_replayed_after_reconnect(void **state) {
  (void)state;
  beam_sink *s = open_sink();
  char key[128], late[128];
  snprintf(key, sizeof key, "%s", fresh_id("ledger-replay"));
  snprintf(late, sizeof late, "%s", fresh_id("ledger-replay-late"));
  begin(s, fresh_id("ledger-replay-bundle"));
  record(s, key, "in/r.csv", false);
  restart_server();
  beam_sink_ledger_hit hit = find(s, key); /* reconnects and replays, then finds it */
  assert_true(hit.found);
  assert_string_equal(hit.file, "in/r.csv");
  restart_server();
  record(s, late, "in/s.csv", false);
  restart_server();
  commit(s);
  assert_false(beam_sink_last_bundle_was_duplicate(s));
  assert_true(find(s, key).found);
  assert_true(find(s, late).found);
  /* Outside a bundle, find and any reconnect by themselves. */
  restart_server();
  assert_true(ledger_any(s));
  restart_server();
  assert_true(find(s, key).found);
  beam_sink_free(s);
}

/* A ledger query that fails inside a bundle aborts its transaction on the server: the
 * bundle is failed (only abort is accepted), as after a failed write. */
static void test_ledger_find_failure_fails_the_bundle(void **state) {
  (void)state;
  beam_sink *s = open_sink();
  begin(s, fresh_id("ledger-fail"));
  sql("ALTER TABLE \"_beam_ledger\" RENAME TO \"_beam_ledger_away\"");
  beam_sink_ledger_hit hit;
  beam_error err = {0};
  beam_status st = beam_sink_ledger_find(s, "some-unit", &hit, &err);
  sql("ALTER TABLE \"_beam_ledger_away\" RENAME TO \"_beam_ledger\"");
  assert_int_equal(st, BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "_beam_ledger"));
  assert_false(hit.found);
  assert_int_equal(beam_sink_commit(s, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "bundle failed"));
  beam_sink_abort(s);
  assert_false(find(s, "some-unit").found);
  beam_sink_free(s);
}

/* A database the previous release wrote has _beam_bundles but no _beam_ledger: opening the
 * sink adds it, and committed bundles stay duplicates. */
static void test_old_database_gains_ledger(void **state) {
  (void)state;
  beam_sink *s = open_sink();
  char bundle[128];
  snprintf(bundle, sizeof bundle, "%s", fresh_id("old-release"));
  begin(s, bundle);
  commit(s);
  beam_sink_free(s);
  sql("DROP TABLE \"_beam_ledger\"");
  char *got = query1("SELECT pg_catalog.to_regclass('_beam_ledger') IS NULL");
  assert_string_equal(got, "t");
  free(got);
  s = open_sink();
  got = query1("SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN "
               "' not null' ELSE '' END, ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = "
               "'\"_beam_ledger\"'::regclass AND attnum > 0");
  assert_string_equal(got, "unit text not null, file text, committed_at timestamp with time zone not null, xids text");
  free(got);
  got = query1("SELECT count(*) FROM pg_index WHERE indrelid = '\"_beam_ledger\"'::regclass AND indisprimary");
  assert_string_equal(got, "1");
  free(got);
  assert_false(ledger_any(s));
  begin(s, bundle);
  assert_true(beam_sink_last_bundle_was_duplicate(s));
  commit(s);
  char key[128];
  snprintf(key, sizeof key, "%s", fresh_id("old-release-key"));
  begin(s, fresh_id("old-release-new"));
  record(s, key, "in/new.csv", false);
  commit(s);
  assert_true(find(s, key).found);
  beam_sink_free(s);
}

/* A file's committed byte ranges, whatever the boundaries (sink_test_ranges.h): the bundle's
 * own entries in its transaction, other connections' once committed. */
static void test_ledger_ranges_of_a_file(void **state) {
  (void)state;
  beam_sink *s = open_sink(), *other = open_sink();
  sink_test_ledger_ranges(s, other, "sha256:pg_ranges");
  beam_sink_free(other);
  beam_sink_free(s);
}

/* Many keys in one query (sink_test_ranges.h): quoting inside the text[] literal too. */
static void test_ledger_find_many(void **state) {
  (void)state;
  beam_sink *s = open_sink(), *other = open_sink();
  sink_test_ledger_find_many(s, other, "pubsub:pg");
  beam_sink_free(other);
  beam_sink_free(s);
}

static beam_status retract_in_bundle(beam_sink *s, const char *file_id, beam_error *err) {
  begin(s, fresh_id("retract"));
  beam_status st = beam_sink_retract_units(s, file_id, err);
  if (st != BEAM_OK) fail_msg("retract_units: %s", err->message);
  return beam_sink_commit(s, err);
}

static int64_t retracted_from(beam_sink *s, const char *table) {
  const beam_sink_table_rows *rows = NULL;
  size_t n = beam_sink_retracted_rows(s, &rows);
  for (size_t i = 0; i < n; i++)
    if (strcmp(rows[i].table, table) == 0) return rows[i].rows;
  return 0;
}

/* A split file's ranges commit as units among other units; retracting the file removes
 * exactly their rows in every table (by the transaction ids their COPYs recorded, also the
 * new ones a reconnect's replay took) and their ledger entries, and nothing else. A table
 * made again since the ranges committed makes the retraction fail, deleting nothing. */
static void test_retract_ranges_of_a_file(void **state) {
  (void)state;
  sql("DROP TABLE IF EXISTS \"pg_ret_a\", \"pg_ret_b\"");
  beam_sink *s = open_sink();
  assert_true(beam_sink_can_retract(s));
  ensure(s, "pg_ret_a", &sink_test_schema);
  ensure(s, "pg_ret_b", &sink_test_schema);
  char file[128], other[128], unit[160];
  snprintf(file, sizeof file, "%s", fresh_id("retF"));
  snprintf(other, sizeof other, "%s", fresh_id("retG"));
  begin(s, fresh_id("ret-1"));
  unit_begin(s);
  write_n(s, "pg_ret_a", "r1", 3);
  write_n(s, "pg_ret_b", "r1", 2);
  snprintf(unit, sizeof unit, "%s@0-10", file);
  record(s, unit, "in/f.csv", false);
  unit_begin(s);
  write_n(s, "pg_ret_a", "g", 4);
  snprintf(unit, sizeof unit, "%s@0-10", other); /* another file's range: stays */
  record(s, unit, "in/g.csv", false);
  commit(s);
  begin(s, fresh_id("ret-2"));
  unit_begin(s);
  write_n(s, "pg_ret_a", "r2", 5);
  restart_server(); /* the record reconnects and replays the COPYs: new transaction ids */
  snprintf(unit, sizeof unit, "%s@10-20", file);
  record(s, unit, "in/f.csv", false);
  commit(s);
  assert_int_equal(count_like("pg_ret_a", "r2"), 5);
  beam_error err = {0};
  assert_int_equal(retract_in_bundle(s, file, &err), BEAM_OK);
  assert_int_equal(count_like("pg_ret_a", "r1") + count_like("pg_ret_a", "r2") + count_like("pg_ret_b", "r1"), 0);
  assert_int_equal(count_like("pg_ret_a", "g"), 4);
  assert_int_equal(retracted_from(s, "pg_ret_a"), 8);
  assert_int_equal(retracted_from(s, "pg_ret_b"), 2);
  assert_false(find(s, unit).found);
  snprintf(unit, sizeof unit, "%s@0-10", other);
  assert_true(find(s, unit).found);
  assert_int_equal(retract_in_bundle(s, file, &err), BEAM_OK); /* nothing left: nothing happens */
  assert_int_equal(retracted_from(s, "pg_ret_a"), 0);

  /* The table made again: its OID differs, the ids could name other rows now. */
  begin(s, fresh_id("ret-3"));
  unit_begin(s);
  write_n(s, "pg_ret_b", "r3", 2);
  snprintf(unit, sizeof unit, "%s@20-30", file);
  record(s, unit, "in/f.csv", false);
  commit(s);
  beam_sink_free(s);
  sql("DROP TABLE \"pg_ret_b\"");
  s = open_sink();
  ensure(s, "pg_ret_b", &sink_test_schema);
  begin(s, fresh_id("ret-3b"));
  write_n(s, "pg_ret_b", "new", 2);
  commit(s);
  assert_int_not_equal(retract_in_bundle(s, file, &err), BEAM_OK);
  assert_non_null(strstr(err.message, "made again"));
  assert_int_equal(count_like("pg_ret_b", "new"), 2);
  assert_true(find(s, unit).found);
  beam_sink_free(s);
}

/* A stream's sink (stream_ledger) deletes message units committed more than
 * message_ledger_days ago when its first bundle begins; a file's units and newer messages stay. */
static void test_old_message_units_expire(void **state) {
  (void)state;
  char old_key[160], new_key[160], file_key[160];
  snprintf(old_key, sizeof old_key, "pubsub:s@1#%s", fresh_id("old"));
  snprintf(new_key, sizeof new_key, "pubsub:s@2#%s", fresh_id("new"));
  snprintf(file_key, sizeof file_key, "%s", fresh_id("file-old"));
  beam_sink *s = open_sink();
  begin(s, fresh_id("expire"));
  record(s, old_key, "sub", false);
  record(s, new_key, "sub", false);
  record(s, file_key, "in.csv", false);
  commit(s);
  beam_sink_free(s);
  sql("UPDATE \"_beam_ledger\" SET committed_at = now() - interval '30 days' WHERE unit IN ('%s', '%s')", old_key,
      file_key);
  char uri[512];
  snprintf(uri, sizeof uri, "postgres:%s", conninfo());
  beam_sink_options o = {.stream_ledger = true, .message_ledger_days = 7};
  beam_error err = {0};
  if (beam_sink_open(uri, &o, &s, &err) != BEAM_OK) fail_msg("open: %s", err.message);
  assert_true(find(s, old_key).found); /* forgotten when its first bundle begins */
  begin(s, fresh_id("expire-2"));
  commit(s);
  assert_false(find(s, old_key).found);
  assert_true(find(s, new_key).found);
  assert_true(find(s, file_key).found);
  beam_sink_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_conninfo_fails_fast),
      cmocka_unit_test(test_permission_denied_fails_loudly),
      cmocka_unit_test(test_create_check_and_cache),
      cmocka_unit_test(test_types_round_trip),
      cmocka_unit_test(test_abort_leaves_nothing),
      cmocka_unit_test(test_retried_bundle_writes_once),
      cmocka_unit_test(test_retry_under_a_new_bundle_id_writes_once),
      cmocka_unit_test(test_concurrent_same_bundle),
      cmocka_unit_test(test_constraint_rejects_only_bad_rows),
      cmocka_unit_test(test_quoted_identifiers),
      cmocka_unit_test(test_existing_table_gains_nullable_columns),
      cmocka_unit_test(test_existing_table_other_type_or_required_is_an_error),
      cmocka_unit_test(test_reconnect_after_restart),
      cmocka_unit_test(test_lost_connection_unrecoverable),
      cmocka_unit_test(test_unit_rollback_keeps_earlier_rows),
      cmocka_unit_test(test_unit_rollback_survives_reconnect),
      cmocka_unit_test(test_ledger_record_find_any),
      cmocka_unit_test(test_unit_committed_by_another_writer_meanwhile),
      cmocka_unit_test(test_ledger_entry_replayed_after_reconnect),
      cmocka_unit_test(test_ledger_find_failure_fails_the_bundle),
      cmocka_unit_test(test_old_database_gains_ledger),
      cmocka_unit_test(test_ledger_ranges_of_a_file),
      cmocka_unit_test(test_ledger_find_many),
      cmocka_unit_test(test_retract_ranges_of_a_file),
      cmocka_unit_test(test_old_message_units_expire),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
