/* Retracting a split file's committed ranges from PostgreSQL (see sink_pg_retract.h). */
#include "sink_pg_retract.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/buf.h"
#include "sink_pg_conn.h"
#include "sink_sql.h"

#define LEDGER "\"_beam_ledger\""
/* Ids this many transactions old or more may have been taken again (xids are 32 bits). */
#define XID_HORIZON ((uint64_t)1 << 31)

static bool parse_u64(const char *text, uint64_t *out) {
  char *end = NULL;
  if (!text || !*text) return false;
  unsigned long long v = strtoull(text, &end, 10);
  if (*end) return false;
  *out = v;
  return true;
}

uint64_t beam_sink_pg_probe_xid(const PGresult *res) {
  uint64_t sub = 0, top = 0;
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) != 2) return 0;
  if (!parse_u64(PQgetvalue(res, 0, 0), &sub) || !parse_u64(PQgetvalue(res, 0, 1), &top) || sub > UINT32_MAX)
    return 0;
  /* A subtransaction's id is assigned after its top-level one: same epoch, or the next when
   * the 32-bit counter wrapped in between. */
  uint64_t full = (top & ~(uint64_t)UINT32_MAX) | sub;
  if (sub < (top & UINT32_MAX)) full += (uint64_t)1 << 32;
  return full;
}

beam_status beam_sink_pg_xids_add(beam_sink_pg_xids *x, const char *table, uint32_t oid, uint64_t xid) {
  if (x->len == x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 16;
    beam_sink_pg_xid *grown = realloc(x->items, cap * sizeof *grown);
    if (!grown) return BEAM_ERR_NOMEM;
    x->items = grown;
    x->cap = cap;
  }
  x->items[x->len++] = (beam_sink_pg_xid){table, oid, xid};
  return BEAM_OK;
}

char *beam_sink_pg_xids_text(const beam_sink_pg_xids *x) {
  beam_buf b = BEAM_BUF_INIT;
  beam_status st = BEAM_OK;
  /* One line per table, in the order of each table's first COPY; a table's ids follow it. */
  for (size_t i = x->at_mark; st == BEAM_OK && i < x->len; i++) {
    bool seen = false;
    for (size_t j = x->at_mark; !seen && j < i; j++) seen = strcmp(x->items[j].table, x->items[i].table) == 0;
    if (seen) continue;
    char head[200];
    snprintf(head, sizeof head, "%s %" PRIu32, x->items[i].table, x->items[i].oid);
    st = beam_buf_append_str(&b, head);
    uint64_t last = 0;
    for (size_t j = i; st == BEAM_OK && j < x->len; j++) {
      if (strcmp(x->items[j].table, x->items[i].table) != 0 || x->items[j].xid == last) continue;
      last = x->items[j].xid;
      char id[32];
      snprintf(id, sizeof id, " %" PRIu64, last);
      st = beam_buf_append_str(&b, id);
    }
    if (st == BEAM_OK) st = beam_buf_append_byte(&b, '\n');
  }
  if (st == BEAM_OK) st = beam_buf_terminate(&b);
  if (st != BEAM_OK) {
    beam_buf_free(&b);
    return NULL;
  }
  return b.data ? (char *)b.data : strdup("");
}

void beam_sink_pg_xids_free(beam_sink_pg_xids *x) {
  free(x->items);
  *x = (beam_sink_pg_xids){0};
}

/* ---- The retraction ----------------------------------------------------------------- */

typedef struct retraction {
  beam_sink *s;
  PGconn *conn;
  const char *who, *file_id;
  uint64_t now; /* the bundle's own 64-bit id: every id recorded before is older */
  beam_buf sql;
} retraction;

static beam_status server_fail(retraction *r, PGresult *res, const char *what, beam_error *err) {
  char msg[400];
  beam_sink_pg_message(r->conn, res, msg, sizeof msg);
  beam_status st = beam_sink_pg_status(r->conn, res);
  PQclear(res);
  return beam_error_set(err, st, "%s: retracting the ranges of %s: %s: %s", r->who, r->file_id, what, msg);
}

static beam_status untrusted(retraction *r, const char *unit, const char *table, const char *why, beam_error *err) {
  return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                        "%s: cannot retract the rows of %s from table %s: %s; nothing is retracted (delete that "
                        "file's rows by hand, or load with --reload)",
                        r->who, unit, table, why);
}

/* PGresult with one text value, or NULL on failure (*failed then holds the result). */
static PGresult *query1(retraction *r, const char *sql, const char *param, PGresult **failed) {
  PGresult *res = PQexecParams(r->conn, sql, param ? 1 : 0, NULL, param ? &param : NULL, NULL, NULL, 0);
  if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) return res;
  *failed = res;
  return NULL;
}

/* The table's OID now, 0 when it is gone. */
static beam_status table_oid(retraction *r, const char *table, uint32_t *oid, beam_error *err) {
  beam_buf_reset(&r->sql);
  beam_status st = beam_sink_sql_append_ident(&r->sql, table);
  if (st == BEAM_OK) st = beam_buf_terminate(&r->sql);
  if (st != BEAM_OK) return beam_error_set(err, st, "out of memory");
  PGresult *failed = NULL, *res = query1(r, "SELECT pg_catalog.to_regclass($1)::oid::text", (const char *)r->sql.data,
                                         &failed);
  if (!res) return server_fail(r, failed, "looking a table up", err);
  uint64_t v = 0;
  *oid = !PQgetisnull(res, 0, 0) && parse_u64(PQgetvalue(res, 0, 0), &v) ? (uint32_t)v : 0;
  PQclear(res);
  return BEAM_OK;
}

/* One "table oid xid xid ..." line of unit's entry: checks the ids still name what the
 * unit's COPYs inserted, then deletes those rows. */
static beam_status retract_line(retraction *r, const char *unit, char *line, beam_error *err) {
  char *save = NULL;
  const char *table = strtok_r(line, " ", &save), *oid_text = strtok_r(NULL, " ", &save);
  uint64_t recorded_oid = 0;
  if (!table || !oid_text || !beam_sink_table_name_valid(table) || !parse_u64(oid_text, &recorded_oid))
    return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: the ledger entry of %s holds a bad line in xids", r->who, unit);
  uint32_t oid = 0;
  beam_status st = table_oid(r, table, &oid, err);
  if (st != BEAM_OK) return st;
  if (oid == 0) return BEAM_OK; /* the table is gone, and its rows with it */
  if (oid != recorded_oid) return untrusted(r, unit, table, "the table was made again since (another OID)", err);
  beam_buf ids = BEAM_BUF_INIT;
  st = beam_buf_append_byte(&ids, '{');
  size_t n = 0;
  for (const char *tok; st == BEAM_OK && (tok = strtok_r(NULL, " ", &save)) != NULL; n++) {
    uint64_t xid = 0;
    if (!parse_u64(tok, &xid) || xid > r->now) {
      beam_buf_free(&ids);
      return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: the ledger entry of %s holds a bad id %s for table %s", r->who,
                            unit, tok, table);
    }
    if (r->now - xid >= XID_HORIZON) {
      beam_buf_free(&ids);
      return untrusted(r, unit, table, "its transaction ids are 2^31 transactions old or more", err);
    }
    char id[24];
    snprintf(id, sizeof id, "%s%" PRIu32, n ? "," : "", (uint32_t)xid);
    st = beam_buf_append_str(&ids, id);
  }
  if (st == BEAM_OK) st = beam_buf_append_byte(&ids, '}');
  if (st == BEAM_OK) st = beam_buf_terminate(&ids);
  beam_buf_reset(&r->sql);
  if (st == BEAM_OK) st = beam_buf_append_str(&r->sql, "DELETE FROM ");
  if (st == BEAM_OK) st = beam_sink_sql_append_ident(&r->sql, table);
  if (st == BEAM_OK) st = beam_buf_append_str(&r->sql, " WHERE xmin = ANY($1::xid[])");
  if (st == BEAM_OK) st = beam_buf_terminate(&r->sql);
  if (st != BEAM_OK || n == 0) {
    beam_buf_free(&ids);
    return st == BEAM_OK ? BEAM_OK : beam_error_set(err, st, "out of memory");
  }
  const char *param = (const char *)ids.data;
  PGresult *res = PQexecParams(r->conn, (const char *)r->sql.data, 1, NULL, &param, NULL, NULL, 0);
  beam_buf_free(&ids);
  if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) return server_fail(r, res, table, err);
  int64_t rows = strtoll(PQcmdTuples(res), NULL, 10);
  PQclear(res);
  return beam_sink_note_retracted(r->s, table, rows) == BEAM_OK ? BEAM_OK
                                                                 : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

/* Deletes the rows named by unit's xids text (lines "table oid xid ..."). */
static beam_status retract_unit(retraction *r, const char *unit, const char *xids, beam_error *err) {
  char *copy = strdup(xids);
  if (!copy) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status st = BEAM_OK;
  char *save = NULL;
  for (char *line = strtok_r(copy, "\n", &save); st == BEAM_OK && line; line = strtok_r(NULL, "\n", &save))
    st = retract_line(r, unit, line, err);
  free(copy);
  return st;
}

beam_status beam_sink_pg_retract_file(beam_sink *s, PGconn *conn, const char *who, const char *file_id,
                                      beam_error *err) {
  retraction r = {.s = s, .conn = conn, .who = who, .file_id = file_id};
  PGresult *failed = NULL, *now = query1(&r, "SELECT pg_catalog.txid_current()::text", NULL, &failed);
  if (!now) return server_fail(&r, failed, "reading the transaction id", err);
  bool ok = parse_u64(PQgetvalue(now, 0, 0), &r.now);
  PQclear(now);
  if (!ok) return beam_error_set(err, BEAM_ERR_IO, "%s: retracting the ranges of %s: no transaction id", who, file_id);
  /* A prefix comparison, not < and >: text order follows the collation (see ledger_ranges). */
  const char *param = file_id;
  PGresult *units = PQexecParams(conn,
                                 "SELECT unit, xids FROM " LEDGER " WHERE left(unit, length($1::text) + 1) = "
                                 "$1::text || '@' AND xids IS NOT NULL",
                                 1, NULL, &param, NULL, NULL, 0);
  if (!units || PQresultStatus(units) != PGRES_TUPLES_OK) return server_fail(&r, units, "reading its units", err);
  beam_status st = BEAM_OK;
  for (int i = 0; st == BEAM_OK && i < PQntuples(units); i++) {
    const char *unit = PQgetvalue(units, i, 0);
    if (!beam_sink_unit_is_range_of(unit, file_id)) continue; /* a ZIP member's, another file's */
    st = retract_unit(&r, unit, PQgetvalue(units, i, 1), err);
    PGresult *res = st == BEAM_OK ? PQexecParams(conn, "DELETE FROM " LEDGER " WHERE unit = $1", 1, NULL, &unit,
                                                 NULL, NULL, 0)
                                  : NULL;
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK) PQclear(res);
    else if (st == BEAM_OK) st = server_fail(&r, res, "deleting its ledger entries", err);
  }
  PQclear(units);
  beam_buf_free(&r.sql);
  return st;
}
