/* JSON-lines directory sink: <dir>/<table>.jsonl, one JSON object per row.
 *
 * A bundle's rows are encoded into per-table memory buffers (spilling to an unnamed temporary
 * file in the directory past opts.spill_bytes). Nothing reaches a table file before commit,
 * so an aborted bundle leaves nothing behind. A savepoint (beam_sink_unit_begin) notes each
 * table's bundle bytes so far; rolling back to it cuts the buffer and the spill file back to
 * that length (and drops the ledger entries recorded since): no copying.
 *
 * Readers never see rows of a bundle that does not commit, even after kill -9 or a power
 * loss: a bundle's rows reach a table file only after its commit point, appended at the end
 * of the table's committed bytes ("append after the commit point"). Commit, per bundle:
 *  1. For each table with rows in the bundle, write them to a side file
 *     .<table>.jsonl.<random>.tmp in the directory (fsync; a spilled table's spill file,
 *     linked in under that name, with the buffered rest appended). This happens before the lock is
 *     taken, so writers prepare in parallel; each holds its side files flocked until its
 *     commit is over, and recovery's sweep deletes only side files it can flock.
 *  2. Take the exclusive flock on the bundle log <dir>/.bundles.jsonl (concurrent writers
 *     serialise there), read its new lines, finish what a dead writer left (below); skip the
 *     bundle if its id is committed already. Learn each table's committed length: the log
 *     knows it from its records (below); bytes of the file past it were written by no
 *     commit and are cut off; a table the log knows no length for (new, or last written by
 *     the previous release) is committed as long as its file is. fsync the directory (the
 *     side files' names must survive a power loss once the log names them).
 *  3. Log {"bundle":ID,"state":"committing","appends":{"events":{"from":".events.jsonl.X.tmp",
 *     "at":COMMITTED_LENGTH,"len":BYTES},...},"ledger":[{"key":K,"file":F,
 *     "committed_at":"2026-12-07T01:40:00.123Z"},...]} and fsync the log. This line is the
 *     commit point: the bundle and its ledger entries are committed once it is durable, and
 *     each table's committed length becomes at + len. (A bundle with no rows logs one
 *     "committed" record with its ledger entries instead, and is done.)
 *  4. Copy each side file into its table at "at" (copy_file_range: only the bundle's bytes,
 *     so a commit costs what it adds, whatever the table's size), fsync the table, log
 *     {"bundle":ID,"state":"committed"} (not fsynced: a later commit's fsync carries it), and
 *     delete the side files.
 * A failure before step 3 deletes the side files: nothing of the bundle is visible. A failure
 * in step 4 (a full disk) leaves the commit open; the next commit or open completes it.
 * Recovery, under the exclusive lock when the sink opens and before every commit: a
 * "committing" record without outcome is rolled forward. For each "appends" table, the side
 * file is copied to "at" again (the same bytes over whatever a killed append wrote) and the
 * table cut at at + len, then "committed" is logged: idempotent, so a crash during recovery
 * is recovered the same way. A side file already gone means the append was complete (the
 * table is fsynced before the side file is deleted): the table is only cut at at + len. Side
 * files no open record names and no live writer holds are a dead writer's garbage: deleted.
 * So readers see committed rows only, in commit order; while a commit is in step 4 (or its
 * writer died there, until recovery) a reader may see part of that committed bundle at the
 * end of a table, possibly a torn last line, which the append or recovery completes.
 *
 * Record formats of earlier releases are still read, so directories they wrote keep working:
 *  - {"bundle":ID,"state":"committing","renames":{"events":".events.jsonl.X.tmp",...},
 *    "ledger":[...]} (the release before this one: each table's whole next version written
 *    aside and renamed over <table>.jsonl): rolled forward by renaming the temp files still
 *    there, then "committed" is logged;
 *  - {"bundle":ID,"state":"pending","files":{"events":OFFSET,...}} (in-place appends before
 *    the commit point) whose writer died: undone by truncating the files back to the offsets
 *    and logging {"bundle":ID,"state":"rolled_back"}.
 * After either, the log knows no length for those tables: their files' sizes count.
 * Outcomes: "committed" (the commit is complete), "rolled_back" (it never happened).
 * Compaction (jsonl_log.h) replaces the log by "snapshot" records of its state once it has
 * doubled: a writer holding the old file finds it replaced when it next locks it.
 *
 * The ledger (units committed, see sink.h) lives in the same log records, so it commits
 * with the rows; the sink keeps it, like the committed bundle ids and the tables' committed
 * lengths, in hash maps built by reading the log once and catching up (under the shared
 * lock) at every begin and lookup.
 *
 * Retraction (jsonl_retract.h): a range unit's ledger entry also records its rows' byte
 * spans per table ("spans"); a commit that retracts a failed file's ranges names, in its
 * "committing" record, each table's next version without them ("rewrites": side files
 * written under the lock) and the units retracted ("retracts"); rolling forward renames the
 * next versions over the tables before the appends. A bundle that commits range units is
 * logged under its bundle id, not its content key: its units' entries recognise a retry, and
 * a key would outlive their retraction.
 *
 * Costs. A commit writes each touched table's bundle bytes twice (side file, then table;
 * copy_file_range may share extents on XFS and Btrfs): linear in the rows written, however
 * many bundles. fsyncs per commit: each side file, the directory, the log, each touched
 * table. The log's lock is held for the append only. A table file is written in place, so a
 * reader with it open sees it grow (tail -f works). A table file must be a regular file: a
 * symlink or device there is refused. Editing a table file by hand between loads: bytes
 * appended past its committed length are cut at the next commit; a file cut shorter is taken
 * as it is. Requires flock to work across writers (a local filesystem, not NFS). The log
 * grows by about 200 bytes per bundle and table plus 70 bytes and the key and file name per
 * ledger entry, and is read once per sink instance. The log and ledger code is in
 * jsonl_log.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "beam/buf.h"
#include "beam/transforms/json_row_writer.h"
#include "file_range_copy.h"
#include "jsonl_log.h"
#include "jsonl_retract.h"
#include "local_dir.h"
#include "local_file.h"
#include "sink_int.h"
#include "sink_tables.h"

typedef struct jl_table {
  char *name;
  const beam_etl_schema *schema;
  beam_json_row_writer writer;
  beam_buf buf;      /* this bundle's rows not yet spilled */
  int spill_fd;      /* unnamed temp file with the bundle's earlier rows, or -1 */
  uint64_t spilled;  /* bytes in spill_fd */
  uint64_t mark;     /* bundle bytes (spilled + buffered) at the last savepoint */
  char tmp[BEAM_JSONL_TEMP_NAME_MAX]; /* the commit's side file, "" when none or the log's */
  int side_fd;       /* the side file, open and flocked during the commit, or -1 */
} jl_table;
BEAM_SINK_TABLE_NAME_FIRST(jl_table);

typedef struct jsonl_sink {
  beam_sink base;
  char *dir;
  int dir_fd;
  jl_log log;
  bool new_files;         /* a table file was created since the last directory fsync */
  jl_table *tables;
  size_t n_tables;
  size_t cap_tables;
  size_t last_table;
  char *bundle_id;
  jl_pending pending;     /* the open bundle's ledger entries */
  size_t pending_mark;    /* pending.len at the last savepoint */
  char **retract;         /* files whose committed ranges the bundle retracts (jsonl_retract.h) */
  size_t n_retract;
} jsonl_sink;

/* ---- Small helpers ----------------------------------------------------------------- */

static int sync_fd(const jsonl_sink *j, int fd) { return j->base.opts.no_sync ? 0 : beam_local_fsync(fd); }

static beam_status io_fail(const jsonl_sink *j, int e, const char *what, const char *name,
                           beam_error *err) {
  return beam_error_set(err, BEAM_ERR_IO, "jsonl %s: %s %s: %s", j->dir, what, name ? name : "",
                        strerror(e));
}

static void table_file(const char *table, char fname[160]) { snprintf(fname, 160, "%s.jsonl", table); }

/* ---- Tables ------------------------------------------------------------------------ */

static jl_table *table_find(jsonl_sink *j, const char *name) {
  size_t i = beam_sink_table_index(j->tables, j->n_tables, sizeof *j->tables, &j->last_table, name);
  return i < j->n_tables ? &j->tables[i] : NULL;
}

static bool table_has_data(const jl_table *t) { return t->buf.len > 0 || t->spilled > 0; }

static void table_discard_bundle(jl_table *t) {
  beam_buf_reset(&t->buf);
  /* Shrink a buffer a huge bundle blew up, so one outlier does not pin memory. */
  if (t->buf.cap > ((size_t)64 << 20)) beam_buf_free(&t->buf);
  if (t->spill_fd >= 0 && t->spilled && ftruncate(t->spill_fd, 0) != 0) {
    close(t->spill_fd); /* opened afresh when next needed */
    t->spill_fd = -1;
  }
  t->spilled = 0;
  t->mark = 0;
}

static void table_close(jl_table *t) {
  if (t->spill_fd >= 0) close(t->spill_fd);
  if (t->side_fd >= 0) close(t->side_fd);
  beam_buf_free(&t->buf);
  beam_json_row_writer_free(&t->writer);
  free(t->name);
  memset(t, 0, sizeof *t);
  t->spill_fd = -1;
  t->side_fd = -1;
}

/* Creates <table>.jsonl empty when missing, so an ensured table always has its file. A file
 * there must be a regular one: commits write into it at recorded offsets. */
static beam_status table_file_ensure(jsonl_sink *j, const char *table, beam_error *err) {
  char fname[160];
  table_file(table, fname);
  struct stat sb;
  if (fstatat(j->dir_fd, fname, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISREG(sb.st_mode)) return BEAM_OK;
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "jsonl %s: %s is not a regular file (a symlink or device): commits append "
                          "to it at recorded offsets, so it must be one", j->dir, fname);
  }
  if (errno != ENOENT) return io_fail(j, errno, "stat", fname, err);
  int fd = openat(j->dir_fd, fname, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return io_fail(j, errno, "creating", fname, err);
  close(fd);
  j->new_files = true;
  return BEAM_OK;
}

static beam_status jl_ensure_table(beam_sink *s, const char *table, const beam_etl_schema *schema,
                                   const beam_sink_table_options *topts, beam_error *err) {
  (void)topts; /* no partitioning or clustering here */
  jsonl_sink *j = (jsonl_sink *)s;
  jl_table *t = table_find(j, table);
  if (t) return beam_sink_table_reensure(t->schema, schema, false, "jsonl", j->dir, table, err);
  jl_table *tables = beam_sink_tables_reserve(j->tables, j->n_tables, &j->cap_tables, sizeof *tables);
  if (!tables) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  j->tables = tables;
  beam_status st = table_file_ensure(j, table, err);
  if (st != BEAM_OK) return st;
  t = &j->tables[j->n_tables];
  memset(t, 0, sizeof *t);
  t->spill_fd = -1;
  t->side_fd = -1;
  t->schema = schema;
  t->name = strdup(table);
  st = t->name ? beam_json_row_writer_init(&t->writer, schema) : BEAM_ERR_NOMEM;
  if (st != BEAM_OK) {
    table_close(t);
    return beam_error_set(err, st, "out of memory");
  }
  j->n_tables++;
  return BEAM_OK;
}

/* Moves the table's buffered rows to its spill file (opened on first use). */
static beam_status spill(jsonl_sink *j, jl_table *t, beam_error *err) {
  if (t->spill_fd < 0) {
    t->spill_fd = openat(j->dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (t->spill_fd < 0) {
      /* No O_TMPFILE on this filesystem: a named temp file, unlinked at once. */
      char tmpl[PATH_MAX];
      snprintf(tmpl, sizeof tmpl, "%s/.spill-XXXXXX", j->dir);
      t->spill_fd = mkostemp(tmpl, O_CLOEXEC);
      if (t->spill_fd < 0) return io_fail(j, errno, "creating spill file for", t->name, err);
      unlink(tmpl);
    }
  }
  /* At an explicit offset: a savepoint rollback may have cut the file shorter. */
  int e = beam_local_pwrite_all(t->spill_fd, t->buf.data, t->buf.len, t->spilled);
  if (e) return io_fail(j, e, "spilling bundle of table", t->name, err);
  t->spilled += t->buf.len;
  beam_buf_reset(&t->buf);
  return BEAM_OK;
}

static beam_status jl_write_rows(beam_sink *s, const char *table, const beam_etl_row *rows, size_t n,
                                 beam_sink_row_errors *rejected, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  jl_table *t = table_find(j, table);
  if (!t)
    return beam_error_set(err, BEAM_ERR_NOT_FOUND, "jsonl %s: table %s was not ensured on this sink",
                          j->dir, table);
  char reason[256];
  for (size_t i = 0; i < n; i++) {
    if (!beam_sink_row_conforms(t->schema, &rows[i], reason, sizeof reason)) {
      if (beam_sink_row_errors_add(rejected, i, "%s", reason) != BEAM_OK)
        return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      continue;
    }
    size_t mark = t->buf.len;
    beam_status st = beam_json_row_writer_append(&t->writer, &t->buf, rows[i].values);
    if (st == BEAM_OK) st = beam_buf_append_byte(&t->buf, '\n');
    if (st != BEAM_OK) {
      t->buf.len = mark;
      if (st == BEAM_ERR_NOMEM) return beam_error_set(err, st, "out of memory");
      if (beam_sink_row_errors_add(rejected, i, "cannot encode row as JSON") != BEAM_OK)
        return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      continue;
    }
  }
  if (t->buf.len >= j->base.opts.spill_bytes) return spill(j, t, err);
  return BEAM_OK;
}

/* ---- Units and the ledger ---------------------------------------------------------- */

static beam_status jl_savepoint(beam_sink *s, beam_error *err) {
  (void)err;
  jsonl_sink *j = (jsonl_sink *)s;
  for (size_t i = 0; i < j->n_tables; i++) j->tables[i].mark = j->tables[i].spilled + j->tables[i].buf.len;
  j->pending_mark = j->pending.len;
  return BEAM_OK;
}

/* Cuts the table's bundle back to its mark (0 for a table first written after the mark). */
static beam_status table_rollback(jsonl_sink *j, jl_table *t, beam_error *err) {
  if (t->mark >= t->spilled) {
    t->buf.len = (size_t)(t->mark - t->spilled);
    return BEAM_OK;
  }
  if (ftruncate(t->spill_fd, (off_t)t->mark) != 0) return io_fail(j, errno, "cutting spill file of", t->name, err);
  t->spilled = t->mark;
  beam_buf_reset(&t->buf);
  return BEAM_OK;
}

static beam_status jl_rollback_to_savepoint(beam_sink *s, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  for (size_t i = 0; i < j->n_tables; i++) {
    beam_status st = table_rollback(j, &j->tables[i], err);
    if (st != BEAM_OK) return st;
  }
  /* The unit's ledger entries go with its rows, as a SQL savepoint would take them. */
  beam_jsonl_pending_truncate(&j->pending, j->pending_mark);
  return BEAM_OK;
}

/* A range unit's rows per table, as spans of the bundle's bytes since the unit's savepoint
 * ({"t": [from, to]}); the commit makes them offsets in the table files (jsonl_retract.h). */
static json_t *unit_spans(const jsonl_sink *j) {
  json_t *spans = json_object();
  for (size_t i = 0; spans && i < j->n_tables; i++) {
    const jl_table *t = &j->tables[i];
    uint64_t now = t->spilled + t->buf.len;
    if (now > t->mark &&
        json_object_set_new(spans, t->name, json_pack("[I, I]", (json_int_t)t->mark, (json_int_t)now)) != 0) {
      json_decref(spans);
      spans = NULL;
    }
  }
  return spans;
}

static beam_status jl_ledger_record(beam_sink *s, const char *key, const char *file, bool replace,
                                   beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  size_t before = j->pending.len;
  beam_status st = beam_jsonl_pending_add(&j->pending, key, file, replace, err);
  /* Spans for a range unit's first entry only: one kept from before keeps its own. */
  if (st != BEAM_OK || replace || j->pending.len == before || !beam_sink_unit_is_range(key)) return st;
  json_t *spans = unit_spans(j);
  if (!spans) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_jsonl_pending_set_spans(&j->pending, key, spans);
  return BEAM_OK;
}

static beam_status jl_retract_units(beam_sink *s, const char *file_id, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  char **grown = realloc(j->retract, (j->n_retract + 1) * sizeof *grown);
  if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  j->retract = grown;
  if (!(j->retract[j->n_retract] = strdup(file_id))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  j->n_retract++;
  return BEAM_OK;
}

static beam_status jl_ledger_find(beam_sink *s, const char *key, beam_sink_ledger_hit *hit, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  beam_status st = beam_jsonl_log_refresh(&j->log, err);
  if (st != BEAM_OK) return st;
  beam_jsonl_log_ledger_find(&j->log, &j->pending, key, hit);
  return BEAM_OK;
}

/* One refresh of the log for the whole batch, then a lookup per key in memory. */
static beam_status jl_ledger_find_many(beam_sink *s, const char *const *keys, size_t n, bool *found,
                                       beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  beam_status st = beam_jsonl_log_refresh(&j->log, err);
  beam_sink_ledger_hit hit;
  for (size_t i = 0; st == BEAM_OK && i < n; i++) {
    beam_jsonl_log_ledger_find(&j->log, &j->pending, keys[i], &hit);
    found[i] = hit.found;
  }
  return st;
}

static beam_status jl_ledger_ranges(beam_sink *s, const char *file_id, beam_sink_ranges *out, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  beam_status st = beam_jsonl_log_refresh(&j->log, err);
  return st == BEAM_OK ? beam_jsonl_log_ledger_ranges(&j->log, &j->pending, file_id, out, err) : st;
}

static beam_status jl_ledger_range_units(beam_sink *s, beam_sink_unit_fn each, void *ctx, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  beam_status st = beam_jsonl_log_refresh(&j->log, err);
  return st == BEAM_OK ? beam_jsonl_log_ledger_range_units(&j->log, each, ctx, err) : st;
}

static beam_status jl_ledger_any(beam_sink *s, bool *any, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  beam_status st = beam_jsonl_log_refresh(&j->log, err);
  if (st != BEAM_OK) return st;
  *any = beam_jsonl_log_ledger_any(&j->log, &j->pending);
  return BEAM_OK;
}

/* ---- Bundles ----------------------------------------------------------------------- */

static void discard_all(jsonl_sink *j) {
  for (size_t i = 0; i < j->n_tables; i++) table_discard_bundle(&j->tables[i]);
  beam_jsonl_pending_truncate(&j->pending, 0);
  j->pending_mark = 0;
  free(j->bundle_id);
  j->bundle_id = NULL;
  for (size_t i = 0; i < j->n_retract; i++) free(j->retract[i]);
  j->n_retract = 0;
}

static beam_status jl_begin(beam_sink *s, const char *bundle_id, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  j->bundle_id = strdup(bundle_id);
  if (!j->bundle_id) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  /* Learn about commits by other writers so a retried bundle is skipped before any work. */
  beam_status st = beam_jsonl_log_refresh(&j->log, err);
  if (st != BEAM_OK) {
    discard_all(j);
    return st;
  }
  s->duplicate = beam_jsonl_log_has_bundle(&j->log, bundle_id);
  return BEAM_OK;
}

/* The table's bundle rows (spilled, then buffered) into fd, fsynced. */
static int write_side_data(jsonl_sink *j, jl_table *t, int fd) {
  int e = t->spilled ? beam_sink_copy_range(t->spill_fd, 0, fd, 0, t->spilled) : 0;
  if (!e) e = beam_local_pwrite_all(fd, t->buf.data, t->buf.len, t->spilled);
  if (!e) e = sync_fd(j, fd);
  return e;
}

/* True when the name t->tmp still refers to the file open as fd (a sweeper may have deleted
 * it between our create and our flock). */
static bool side_name_is_ours(const jsonl_sink *j, const jl_table *t, int fd) {
  struct stat by_name, by_fd;
  return fstatat(j->dir_fd, t->tmp, &by_name, AT_SYMLINK_NOFOLLOW) == 0 && fstat(fd, &by_fd) == 0 &&
         by_name.st_ino == by_fd.st_ino && by_name.st_dev == by_fd.st_dev;
}

/* Creates the table's side file (a new temp name in t->tmp) and holds an exclusive flock on
 * it until the commit is over: recovery's sweep deletes only temp files it can lock, so a
 * side file written before the log's lock is taken is safe from other writers' sweeps. */
static int create_side(jsonl_sink *j, jl_table *t) {
  for (int tries = 0; tries < 100; tries++) {
    beam_jsonl_temp_name(t->name, t->tmp);
    int fd = openat(j->dir_fd, t->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && side_name_is_ours(j, t, fd)) return fd;
    close(fd); /* a sweeper got it first and deletes it: take another name */
  }
  errno = EEXIST;
  return -1;
}

/* A spilled bundle's side file is its spill file, given a temp name: an unnamed O_TMPFILE can
 * be linked into the directory, so the spilled rows (most of a big bundle) are not copied once
 * more. Locked before it has a name, so no sweep takes it. -1 when it cannot be linked (a
 * named temp file's spill, no /proc): the rows are copied into a new side file then. */
static int link_spill(jsonl_sink *j, jl_table *t) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", t->spill_fd);
  if (flock(t->spill_fd, LOCK_EX | LOCK_NB) != 0) return -1;
  for (int tries = 0; tries < 100; tries++) {
    beam_jsonl_temp_name(t->name, t->tmp);
    if (linkat(AT_FDCWD, proc, j->dir_fd, t->tmp, AT_SYMLINK_FOLLOW) == 0) {
      int fd = t->spill_fd;
      t->spill_fd = -1; /* the side file's now: the next bundle spills into a new one */
      return fd;
    }
    if (errno != EEXIST) break;
  }
  t->tmp[0] = '\0';
  flock(t->spill_fd, LOCK_UN);
  return -1;
}

/* Writes the table's bundle rows to its side file (t->tmp, kept open and locked in
 * t->side_fd). */
static beam_status write_side(jsonl_sink *j, jl_table *t, beam_error *err) {
  char fname[160];
  table_file(t->name, fname);
  if (t->spilled && (t->side_fd = link_spill(j, t)) >= 0) {
    int e = beam_local_pwrite_all(t->side_fd, t->buf.data, t->buf.len, t->spilled);
    if (!e) e = sync_fd(j, t->side_fd);
    if (e) return io_fail(j, e, "writing the side file of", fname, err);
    return BEAM_OK;
  }
  t->side_fd = create_side(j, t);
  if (t->side_fd < 0) {
    int e = errno;
    t->tmp[0] = '\0';
    return io_fail(j, e, "creating the side file of", fname, err);
  }
  int e = write_side_data(j, t, t->side_fd);
  if (e) return io_fail(j, e, "writing the side file of", fname, err);
  return BEAM_OK;
}

/* Writes the side file of every table with rows in the bundle. Done before the log's lock is
 * taken, so writers prepare their commits in parallel and hold the lock only to append. */
static beam_status write_sides(jsonl_sink *j, beam_error *err) {
  for (size_t i = 0; i < j->n_tables; i++) {
    if (!table_has_data(&j->tables[i])) continue;
    beam_status st = write_side(j, &j->tables[i], err);
    if (st != BEAM_OK) return st;
  }
  return BEAM_OK;
}

/* After a commit: deletes the side files the log was not handed (a failure or a duplicate
 * before the commit point), and closes all, releasing their flocks. */
static void drop_sides(jsonl_sink *j) {
  for (size_t i = 0; i < j->n_tables; i++) {
    jl_table *t = &j->tables[i];
    if (t->tmp[0]) unlinkat(j->dir_fd, t->tmp, 0);
    t->tmp[0] = '\0';
    if (t->side_fd >= 0) close(t->side_fd);
    t->side_fd = -1;
  }
}

/* The log's "appends" object: for each table with rows, its side file, the table's committed
 * length (where the rows go: a table the bundle's retraction rewrites, its new length) and the
 * rows' length. */
static beam_status appends_json(jsonl_sink *j, const json_t *rewrites, json_t *appends, beam_error *err) {
  for (size_t i = 0; i < j->n_tables; i++) {
    jl_table *t = &j->tables[i];
    if (!t->tmp[0]) continue;
    uint64_t at = 0;
    const json_t *next = json_object_get(json_object_get(rewrites, t->name), "len");
    beam_status st = next ? BEAM_OK : beam_jsonl_log_table_end(&j->log, t->name, &at, err);
    if (next) at = (uint64_t)json_integer_value(next);
    if (st != BEAM_OK) return st;
    json_t *a = json_pack("{s:s, s:I, s:I}", "from", t->tmp, "at", (json_int_t)at, "len",
                          (json_int_t)(t->spilled + t->buf.len));
    if (!a || json_object_set_new(appends, t->name, a) != 0)
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  return BEAM_OK;
}

/* Under the exclusive lock, the log caught up: the bundle's ledger entries that do not
 * replace are looked up once more among the committed ones. The writer looked each unit up
 * before (without the lock), and another writer - a thread loading a file of the same
 * content, another process - may have committed it since. A bundle whose every entry is such
 * a unit is a duplicate (nothing written); one with other entries too fails, writing nothing
 * (its retry finds the unit in the ledger and skips it). */
static beam_status check_units_unclaimed(jsonl_sink *j, beam_error *err) {
  size_t loaded = 0;
  for (size_t i = 0; i < j->pending.len; i++) {
    const jl_pending_entry *e = &j->pending.items[i];
    beam_sink_ledger_hit hit;
    if (e->replace) continue;
    beam_jsonl_log_ledger_find(&j->log, NULL, e->key, &hit);
    loaded += hit.found;
  }
  if (loaded > 0 && loaded == j->pending.len) j->base.duplicate = true;
  else if (loaded > 0)
    return beam_error_set(err, BEAM_ERR_IO,
                          "jsonl %s: %zu of the bundle's %zu units were committed by another writer while it ran; "
                          "nothing of the bundle is written (a retry skips them)",
                          j->dir, loaded, j->pending.len);
  return BEAM_OK;
}

/* The pending range units' spans, relative to the bundle's bytes, become offsets in the table
 * files: where appends puts each table's rows. */
static void spans_to_offsets(jsonl_sink *j, const json_t *appends) {
  for (size_t i = 0; i < j->pending.len; i++) {
    const char *table;
    json_t *span;
    json_object_foreach(j->pending.items[i].spans, table, span) {
      json_int_t at = json_integer_value(json_object_get(json_object_get(appends, table), "at"));
      for (size_t k = 0; k < 2; k++)
        json_integer_set(json_array_get(span, k), at + json_integer_value(json_array_get(span, k)));
    }
  }
}

static bool has_range_units(const jsonl_sink *j) {
  for (size_t i = 0; i < j->pending.len; i++)
    if (j->pending.items[i].spans) return true;
  return false;
}

/* The commit with its retraction, if any (jsonl_retract.h), the log locked and caught up. */
static beam_status commit_retracting(jsonl_sink *j, const char *id, beam_error *err) {
  json_t *appends = json_object(), *rewrites = json_object(), *retracts = json_array();
  beam_status st = appends && rewrites && retracts ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (st == BEAM_OK && j->n_retract)
    st = beam_jsonl_retract_prepare(&j->log, &j->base, (const char *const *)j->retract, j->n_retract, rewrites,
                                    retracts, err);
  if (st == BEAM_OK) st = appends_json(j, rewrites, appends, err);
  bool renaming = json_object_size(rewrites) > 0;
  if (st == BEAM_OK && (j->new_files || json_object_size(appends) > 0 || renaming)) {
    /* The side files' names (and table files created empty since the last commit) must be
     * durable before the commit record that names them. */
    int e = sync_fd(j, j->dir_fd);
    if (e) st = io_fail(j, e, "syncing directory", "", err);
  }
  if (st == BEAM_OK) {
    spans_to_offsets(j, appends);
    /* The side files are the log's from here: it deletes them once applied, or on failure. */
    for (size_t i = 0; i < j->n_tables; i++) j->tables[i].tmp[0] = '\0';
    st = beam_jsonl_log_commit_retracting(&j->log, id, appends, rewrites, retracts, &j->pending, err);
    if (st == BEAM_OK) j->new_files = false;
  } else if (renaming) { /* not committed: the next versions go */
    const char *table;
    json_t *r;
    json_object_foreach(rewrites, table, r) unlinkat(j->dir_fd, json_string_value(json_object_get(r, "from")), 0);
  }
  json_decref(appends);
  json_decref(rewrites);
  json_decref(retracts);
  return st;
}

static beam_status commit_locked(jsonl_sink *j, beam_error *err) {
  /* Logged under its content key when it has one: a relaunch cuts other bundle ids (many
   * bundles per run on the parallel local runner), the same records keep their key. Not a
   * bundle that commits range units: their entries recognise a retry, and a key would outlive
   * their retraction (a later load of the same records would be taken for a duplicate). */
  const char *id = j->base.content_key[0] && !has_range_units(j) ? j->base.content_key : j->bundle_id;
  if (beam_jsonl_log_has_bundle(&j->log, j->bundle_id) || beam_jsonl_log_has_bundle(&j->log, id)) {
    j->base.duplicate = true;
    return BEAM_OK;
  }
  beam_status cs = check_units_unclaimed(j, err);
  if (cs != BEAM_OK || j->base.duplicate) return cs;
  return commit_retracting(j, id, err);
}

static beam_status jl_commit(beam_sink *s, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  beam_status st = BEAM_OK;
  if (!s->duplicate) {
    st = write_sides(j, err);
    if (st == BEAM_OK) st = beam_jsonl_log_lock(&j->log, err);
    if (st == BEAM_OK) {
      st = commit_locked(j, err);
      beam_jsonl_log_unlock(&j->log);
    }
    drop_sides(j);
  }
  discard_all(j);
  return st;
}

static void jl_abort(beam_sink *s) { discard_all((jsonl_sink *)s); }

static beam_status jl_close(beam_sink *s, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  for (size_t i = 0; i < j->n_tables; i++) table_close(&j->tables[i]);
  j->n_tables = 0;
  int e = beam_jsonl_log_close(&j->log);
  if (j->dir_fd >= 0) close(j->dir_fd);
  j->dir_fd = -1;
  if (e) return io_fail(j, e, "closing", BEAM_JSONL_LOG_NAME, err);
  return BEAM_OK;
}

static void jl_free(beam_sink *s) {
  jsonl_sink *j = (jsonl_sink *)s;
  if (j->dir_fd >= 0 || j->log.fd >= 0) jl_close(s, NULL);
  free(j->tables);
  free(j->bundle_id);
  for (size_t i = 0; i < j->n_retract; i++) free(j->retract[i]);
  free(j->retract);
  free(j->dir);
  beam_jsonl_log_free(&j->log);
  beam_jsonl_pending_free(&j->pending);
  free(j);
}

static const beam_sink_vtable jsonl_vtable = {
    .scheme = "jsonl",
    .ensure_table = jl_ensure_table,
    .begin = jl_begin,
    .write_rows = jl_write_rows,
    .commit = jl_commit,
    .abort = jl_abort,
    .close = jl_close,
    .free = jl_free,
    .savepoint = jl_savepoint,
    .rollback_to_savepoint = jl_rollback_to_savepoint,
    .ledger_record = jl_ledger_record,
    .ledger_find = jl_ledger_find,
    .ledger_find_many = jl_ledger_find_many,
    .ledger_any = jl_ledger_any,
    .ledger_ranges = jl_ledger_ranges,
    .retract_units = jl_retract_units,
    .ledger_range_units = jl_ledger_range_units,
};

beam_status beam_sink_jsonl_open(const char *dir, const beam_sink_options *opts, beam_sink **out,
                                 beam_error *err) {
  if (!out) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "jsonl open: NULL out");
  *out = NULL;
  if (!dir || !dir[0]) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "jsonl open: empty directory");
  if (strlen(dir) > PATH_MAX - 64)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "jsonl open: directory path too long");
  jsonl_sink *j = calloc(1, sizeof *j);
  if (!j) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_sink_init(&j->base, &jsonl_vtable, opts);
  j->base.keys_content = true;
  j->dir_fd = j->log.fd = -1;
  j->dir = strdup(dir);
  beam_status st = BEAM_OK;
  int e = 0;
  if (!j->dir) {
    st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  } else if ((e = beam_local_make_dirs(dir)) != 0) { /* with its parents, as file: does */
    st = io_fail(j, e, "creating directory", "", err);
  } else if ((j->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    st = io_fail(j, errno, "opening directory", "", err);
  } else {
    int forget_days = j->base.opts.stream_ledger ? j->base.opts.message_ledger_days : 0;
    st = beam_jsonl_log_open_forgetting(&j->log, j->dir, j->dir_fd, j->base.opts.no_sync, forget_days, err);
  }
  if (st != BEAM_OK) {
    j->base.state = BEAM_SINK_CLOSED;
    jl_free(&j->base);
    return st;
  }
  *out = &j->base;
  return BEAM_OK;
}
