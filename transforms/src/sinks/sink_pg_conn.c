/* PostgreSQL connections for the sink: see sink_pg_conn.h. */
#include "sink_pg_conn.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECONNECT_BUDGET_MS 20000
#define RECONNECT_FIRST_MS 100
#define RECONNECT_MAX_MS 2000

/* NOTICEs ("relation already exists, skipping") are chatter, not errors: keep them out of
 * the output and the workers' logs. */
static void ignore_notice(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

beam_status beam_sink_pg_connect(const char *conninfo, bool no_sync, PGconn **out, beam_error *err) {
  /* Our defaults first; "dbname" last with expand_dbname set, so every key the user's
   * CONNINFO (key=value or postgresql:// URI) names replaces ours. */
  static const char *const keys[] = {"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
                                     "keepalives_count", "tcp_user_timeout", "application_name",
                                     "client_encoding", "options", "dbname", NULL};
#define SESSION_OPTIONS "-c statement_timeout=300000 -c idle_in_transaction_session_timeout=600000"
  const char *values[] = {"10", "1", "30", "10", "3", "60000", "beam-c", "UTF8",
                          no_sync ? SESSION_OPTIONS " -c synchronous_commit=off" : SESSION_OPTIONS, conninfo, NULL};
  *out = NULL;
  PGconn *conn = PQconnectdbParams(keys, values, 1);
  if (!conn) return beam_error_set(err, BEAM_ERR_NOMEM, "postgres: out of memory connecting");
  PQsetNoticeProcessor(conn, ignore_notice, NULL);
  if (PQstatus(conn) != CONNECTION_OK) {
    char msg[400];
    beam_sink_pg_message(conn, NULL, msg, sizeof msg);
    PQfinish(conn);
    return beam_error_set(err, BEAM_ERR_IO, "postgres: cannot connect: %s", msg);
  }
  *out = conn;
  return BEAM_OK;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Half to all of delay_ms, so workers that lost the same server do not return in step. */
static void sleep_with_jitter(int64_t delay_ms) {
  static _Thread_local uint32_t seed;
  if (!seed) seed = (uint32_t)now_ms() ^ ((uint32_t)getpid() << 16) ^ (uint32_t)(uintptr_t)&seed;
  seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
  int64_t ms = delay_ms / 2 + (int64_t)(seed % (uint32_t)(delay_ms / 2 + 1));
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

beam_status beam_sink_pg_reconnect(PGconn *conn, const char *who, beam_error *err) {
  int64_t deadline = now_ms() + RECONNECT_BUDGET_MS;
  int64_t delay = RECONNECT_FIRST_MS;
  for (int attempt = 1;; attempt++) {
    PQreset(conn);
    if (PQstatus(conn) == CONNECTION_OK) return BEAM_OK;
    if (now_ms() + delay > deadline) {
      char msg[400];
      return beam_error_set(err, BEAM_ERR_IO, "%s: connection lost and %d reconnects failed: %s", who, attempt,
                            beam_sink_pg_message(conn, NULL, msg, sizeof msg));
    }
    sleep_with_jitter(delay);
    delay = delay * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : delay * 2;
  }
}

static const char *sqlstate(const PGresult *res) {
  const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  return s ? s : "";
}

bool beam_sink_pg_sqlstate_is(const PGresult *res, const char *code) { return strcmp(sqlstate(res), code) == 0; }

bool beam_sink_pg_connection_lost(PGconn *conn, const PGresult *res) {
  if (PQstatus(conn) != CONNECTION_OK) return true;
  const char *s = sqlstate(res);
  /* 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now. */
  return strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 ||
         strcmp(s, "57P03") == 0;
}

bool beam_sink_pg_row_level(const PGresult *res) {
  const char *s = sqlstate(res);
  return strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0;
}

const char *beam_sink_pg_message(PGconn *conn, const PGresult *res, char *buf, size_t cap) {
  const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
  if (primary && detail) snprintf(buf, cap, "%s (%s)", primary, detail);
  else if (primary) snprintf(buf, cap, "%s", primary);
  else snprintf(buf, cap, "%s", conn ? PQerrorMessage(conn) : "no connection");
  /* libpq's own messages span lines ("server closed the connection unexpectedly\n\tThis
   * probably means..."): one line reads better in a log and in a dead letter. */
  size_t n = 0;
  for (const char *c = buf; *c; c++) {
    bool space = *c == '\n' || *c == '\t' || *c == ' ';
    if (space && (n == 0 || buf[n - 1] == ' ')) continue;
    buf[n++] = space ? ' ' : *c;
  }
  while (n > 0 && buf[n - 1] == ' ') n--;
  buf[n] = '\0';
  if (n == 0) snprintf(buf, cap, "unknown error");
  return buf;
}

beam_status beam_sink_pg_status(PGconn *conn, const PGresult *res) {
  if (beam_sink_pg_connection_lost(conn, res)) return BEAM_ERR_IO;
  const char *s = sqlstate(res);
  /* 42: syntax or access rule (a missing privilege, an undefined column); 22/23: data. */
  if (strncmp(s, "42", 2) == 0 || strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0) return BEAM_ERR_INVALID_ARG;
  return BEAM_ERR_IO; /* disk full (53), timeouts and cancels (57014), deadlocks (40), ... */
}

bool beam_sink_pg_exec(PGconn *conn, const char *sql, ExecStatusType want, PGresult **failed) {
  PGresult *res = PQexec(conn, sql);
  if (res && PQresultStatus(res) == want) {
    PQclear(res);
    return true;
  }
  if (failed) *failed = res;
  else PQclear(res);
  return false;
}
