/* Retracting a split file's committed ranges from SQLite (see sqlite_retract.h). */
#include "sqlite_retract.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/sink.h"

#define LEDGER "\"_beam_ledger\""
/* A file's range units sort in ["<id>@", "<id>A"): 'A' follows '@' in the BINARY collation. */
#define FILE_UNITS "unit >= ?1 || '@' AND unit < ?1 || 'A'"

static bool has_column(sqlite3 *db, const char *column) {
  sqlite3_stmt *stmt = NULL;
  bool found = false;
  if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('_beam_ledger')", -1, &stmt, NULL) == SQLITE_OK)
    while (!found && sqlite3_step(stmt) == SQLITE_ROW)
      found = strcmp((const char *)sqlite3_column_text(stmt, 0), column) == 0;
  sqlite3_finalize(stmt);
  return found;
}

int beam_sqlite_retract_setup(sqlite3 *db) {
  static const char *const columns[] = {"spans", "bundle_id", "content_id"};
  int rc = SQLITE_OK;
  for (size_t i = 0; rc == SQLITE_OK && i < 3; i++) {
    if (has_column(db, columns[i])) continue;
    char sql[96];
    snprintf(sql, sizeof sql, "ALTER TABLE " LEDGER " ADD COLUMN %s TEXT", columns[i]);
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  }
  return rc;
}

int beam_sqlite_max_rowid(sqlite3 *db, const char *table, int64_t *out) {
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT coalesce(max(rowid), 0) FROM \"%s\"", table);
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    *out = sqlite3_column_int64(stmt, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(stmt);
  return rc;
}

bool beam_sqlite_is_range_unit(const char *key) { return beam_sink_unit_is_range(key); }

beam_status beam_sqlite_spans_add(beam_buf *spans, const char *table, int64_t first, int64_t last, bool known) {
  char line[200];
  if (known) snprintf(line, sizeof line, "%s %" PRId64 " %" PRId64 "\n", table, first, last);
  else snprintf(line, sizeof line, "%s - -\n", table);
  return beam_buf_append_str(spans, line);
}

int beam_sqlite_unit_rows_record(sqlite3 *db, const char *unit, const char *spans, const char *bundle_id,
                                 const char *content_id) {
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db, "UPDATE " LEDGER " SET spans = ?2, bundle_id = ?3, content_id = ?4 WHERE unit = ?1",
                              -1, &stmt, NULL);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(stmt, 1, unit, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 2, spans, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 3, bundle_id, -1, SQLITE_STATIC);
  if (content_id) sqlite3_bind_text(stmt, 4, content_id, -1, SQLITE_STATIC);
  rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static beam_status fail(sqlite3 *db, const char *path, const char *file_id, const char *what, beam_error *err) {
  return beam_error_set(err, BEAM_ERR_IO, "sqlite %s: retracting the ranges of %s: %s: %s", path, file_id, what,
                        sqlite3_errmsg(db));
}

/* Runs sql (a DELETE) with ?1 = text. */
static int delete_where(sqlite3 *db, const char *sql, const char *text) {
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC);
  rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Deletes the rows of unit's spans ("table first last" lines). */
static beam_status delete_spans(beam_sink *s, sqlite3 *db, const char *path, const char *unit, const char *spans,
                                beam_error *err) {
  for (const char *line = spans; line && *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    char table[160], first[32], last[32];
    char text[256];
    if (len >= sizeof text) len = sizeof text - 1;
    memcpy(text, line, len);
    text[len] = '\0';
    line = nl ? nl + 1 : NULL;
    if (sscanf(text, "%159s %31s %31s", table, first, last) != 3 || !beam_sink_table_name_valid(table))
      return beam_error_set(err, BEAM_ERR_MALFORMED, "sqlite %s: the ledger entry of %s holds a bad span \"%s\"", path,
                            unit, text);
    if (first[0] == '-')
      return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                            "sqlite %s: cannot retract the rows of %s from table %s: the table chooses its own rowids "
                            "(made outside file_etl, with a primary key or constraints)",
                            path, unit, table);
    char sql[256];
    snprintf(sql, sizeof sql, "DELETE FROM \"%s\" WHERE rowid BETWEEN %" PRId64 " AND %" PRId64, table,
             (int64_t)strtoll(first, NULL, 10), (int64_t)strtoll(last, NULL, 10));
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) return fail(db, path, unit, table, err);
    if (beam_sink_note_retracted(s, table, sqlite3_changes(db)) != BEAM_OK)
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  return BEAM_OK;
}

beam_status beam_sqlite_retract_file(beam_sink *s, sqlite3 *db, const char *path, const char *file_id,
                                     beam_error *err) {
  sqlite3_stmt *units = NULL;
  int rc = sqlite3_prepare_v2(db, "SELECT unit, spans, bundle_id, content_id FROM " LEDGER " WHERE " FILE_UNITS, -1,
                              &units, NULL);
  if (rc != SQLITE_OK) return fail(db, path, file_id, "reading its units", err);
  sqlite3_bind_text(units, 1, file_id, -1, SQLITE_STATIC);
  beam_status st = BEAM_OK;
  char **done = NULL; /* the range units retracted, whose entries go after the scan */
  size_t n_done = 0;
  while (st == BEAM_OK && (rc = sqlite3_step(units)) == SQLITE_ROW) {
    const char *unit = (const char *)sqlite3_column_text(units, 0);
    if (!beam_sink_unit_is_range_of(unit, file_id)) continue; /* the prefix scan's other files */
    char **grown = realloc(done, (n_done + 1) * sizeof *done);
    if (!grown || !(grown[n_done] = strdup(unit))) {
      done = grown ? grown : done;
      st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      break;
    }
    done = grown;
    n_done++;
    st = delete_spans(s, db, path, unit, (const char *)sqlite3_column_text(units, 1), err);
    for (int c = 2; st == BEAM_OK && c <= 3; c++) {
      const char *id = (const char *)sqlite3_column_text(units, c);
      if (id && delete_where(db, "DELETE FROM \"_bundles\" WHERE bundle_id = ?1", id) != SQLITE_OK)
        st = fail(db, path, file_id, "forgetting its bundles", err);
    }
  }
  if (st == BEAM_OK && rc != SQLITE_DONE) st = fail(db, path, file_id, "reading its units", err);
  sqlite3_finalize(units);
  for (size_t i = 0; i < n_done; i++) {
    if (st == BEAM_OK && delete_where(db, "DELETE FROM " LEDGER " WHERE unit = ?1", done[i]) != SQLITE_OK)
      st = fail(db, path, file_id, "deleting its ledger entries", err);
    free(done[i]);
  }
  free(done);
  return st;
}
