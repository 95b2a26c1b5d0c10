/* JSON-lines directory sink: <dir>/<table>.jsonl, one JSON object per row.
 *
 * A bundle's rows are encoded into per-table memory buffers (spilling to an unnamed temporary
 * file in the directory past opts.spill_bytes). Nothing reaches a table file before commit,
 * so an aborted bundle leaves nothing behind. A savepoint (beam_sink_unit_begin) notes each
 * table's bundle bytes so far; rolling back to it cuts the buffer and the spill file back to
 * that length (and drops the ledger entries recorded since): no copying.
 *
 * Readers see committed data only, even after kill -9 or a power loss: a table file is never
 * written in place. Commit writes aside and renames into place, under an exclusive flock on
 * the bundle log <dir>/.bundles.jsonl (concurrent writers serialise there):
 *  1. Read the log's new lines; finish what a dead writer left (below); skip the bundle if
 *     its id is committed already.
 *  2. For each table with rows in the bundle: create .<table>.jsonl.<random>.tmp in the
 *     directory, copy the committed <table>.jsonl into it (copy_file_range: a reflink on
 *     filesystems that share extents, such as XFS and Btrfs; an in-kernel copy elsewhere),
 *     append the bundle's rows, fsync.
 *  3. Log {"bundle":ID,"state":"committing","renames":{"events":".events.jsonl.X.tmp",...},
 *     "ledger":[{"key":K,"file":F,"committed_at":"2026-12-07T01:40:00.123Z"},...]} and fsync
 *     the log. This line is the commit point: the bundle and its ledger entries are
 *     committed once it is durable. (A bundle with no rows logs one "committed" record with
 *     its ledger entries instead, and is done.)
 *  4. Rename each temp file over its <table>.jsonl (atomic: a reader opens the old file or
 *     the new one, whole), fsync the directory, log {"bundle":ID,"state":"committed"} (not
 *     fsynced: if it is lost, recovery redoes step 4 and finds nothing left to rename).
 * A failure before step 3 deletes the temp files: nothing of the bundle is visible.
 * Recovery, under the exclusive lock when the sink opens and before every commit: a
 * "committing" record without outcome is rolled forward (the temp files still there are
 * renamed, then "committed" is logged); temp files no open "committing" record names are a
 * dead writer's garbage and are deleted. The previous release's records are still read:
 * {"bundle":ID,"state":"pending","files":{"events":OFFSET,...}} (in-place appends) whose
 * writer died is undone as that release did, by truncating the files back to the offsets
 * and logging {"bundle":ID,"state":"rolled_back"}; so directories it wrote keep working.
 *
 * The ledger (units committed, see sink.h) lives in the same log records, so it commits
 * with the rows; the sink keeps it, like the committed bundle ids, in hash maps built by
 * reading the log once and catching up (under the shared lock) at every begin and lookup.
 *
 * Costs. A commit copies each touched table's committed bytes: one copy per bundle per
 * table, so many small bundles into one large table cost quadratic I/O where a reflink is
 * not available (the local runner commits one bundle per run; a worker should keep bundles
 * large). During a commit the directory needs room for a second copy of each table the
 * bundle touches (unless reflinked). fsyncs per commit: each temp file, the log, the
 * directory. A reader holding a table file open keeps reading the version it opened (tail -f
 * sees no growth; tail -F does), and hard links to a table file keep the old version. A
 * table file must be a regular file: a symlink or device there is refused, since the rename
 * would replace it. Requires flock to work across writers (a local filesystem, not NFS). The
 * log grows by about 150 bytes per bundle plus 70 bytes and the key and file name per ledger
 * entry, and is read once per sink instance. The log and ledger code is in jsonl_log.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "beam/buf.h"
#include "beam/transforms/json_row_writer.h"
#include "jsonl_log.h"
#include "local_dir.h"
#include "local_file.h"
#include "sink_int.h"
#include "sink_tables.h"

#define COPY_CHUNK ((size_t)1 << 20)
#define COPY_OFFLOAD_MAX ((size_t)1 << 30) /* bytes per copy_file_range call */

typedef struct jl_table {
  char *name;
  const beam_etl_schema *schema;
  beam_json_row_writer writer;
  beam_buf buf;      /* this bundle's rows not yet spilled */
  int spill_fd;      /* unnamed temp file with the bundle's earlier rows, or -1 */
  uint64_t spilled;  /* bytes in spill_fd */
  uint64_t mark;     /* bundle bytes (spilled + buffered) at the last savepoint */
  char tmp[BEAM_JSONL_TEMP_NAME_MAX]; /* the commit's write-aside file, "" when none */
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
} jsonl_sink;

/* ---- Small helpers ----------------------------------------------------------------- */

static int sync_fd(const jsonl_sink *j, int fd) { return j->base.opts.no_sync ? 0 : beam_local_fsync(fd); }

static beam_status io_fail(const jsonl_sink *j, int e, const char *what, const char *name,
                           beam_error *err) {
  return beam_error_set(err, BEAM_ERR_IO, "jsonl %s: %s %s: %s", j->dir, what, name ? name : "",
                        strerror(e));
}

static void table_file(const char *table, char fname[160]) { snprintf(fname, 160, "%s.jsonl", table); }

/* Copies len bytes by hand (read, write), from where copy_file_range stopped. */
static int copy_by_hand(int src, uint64_t src_off, int dst, uint64_t dst_off, uint64_t len) {
  uint8_t *chunk = malloc(COPY_CHUNK);
  if (!chunk) return ENOMEM;
  int e = 0;
  while (len > 0 && !e) {
    size_t want = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
    ssize_t r = pread(src, chunk, want, (off_t)src_off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      e = r < 0 ? errno : EIO; /* the source ended early: it shrank under us */
      break;
    }
    e = beam_local_pwrite_all(dst, chunk, (size_t)r, dst_off);
    src_off += (uint64_t)r;
    dst_off += (uint64_t)r;
    len -= (uint64_t)r;
  }
  free(chunk);
  return e;
}

/* Copies len bytes from src at src_off to dst at dst_off. copy_file_range first: the kernel
 * copies without a trip through user space, and shares the extents (a reflink) where the
 * filesystem can. Where it cannot (another filesystem, an old kernel), read and write.
 * Returns 0 or an errno. */
static int copy_range(int src, uint64_t src_off, int dst, uint64_t dst_off, uint64_t len) {
  loff_t in = (loff_t)src_off, out = (loff_t)dst_off;
  while (len > 0) {
    ssize_t n = copy_file_range(src, &in, dst, &out, len < COPY_OFFLOAD_MAX ? (size_t)len : COPY_OFFLOAD_MAX, 0);
    if (n > 0) {
      len -= (uint64_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != ENOSYS && errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP &&
        errno != ENOTSUP)
      return errno;
    break; /* not offloadable here (or 0: a file the kernel cannot copy from) */
  }
  return len ? copy_by_hand(src, (uint64_t)in, dst, (uint64_t)out, len) : 0;
}

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
  beam_buf_free(&t->buf);
  beam_json_row_writer_free(&t->writer);
  free(t->name);
  memset(t, 0, sizeof *t);
  t->spill_fd = -1;
}

/* Creates <table>.jsonl empty when missing, so an ensured table always has its file. A file
 * there must be a regular one: commits replace it by rename. */
static beam_status table_file_ensure(jsonl_sink *j, const char *table, beam_error *err) {
  char fname[160];
  table_file(table, fname);
  struct stat sb;
  if (fstatat(j->dir_fd, fname, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISREG(sb.st_mode)) return BEAM_OK;
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "jsonl %s: %s is not a regular file (a symlink or device): commits replace "
                          "the file by rename, so it must be one", j->dir, fname);
  }
  if (errno != ENOENT) return io_fail(j, errno, "stat", fname, err);
  int fd = openat(j->dir_fd, fname, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return io_fail(j, errno, "creating", fname, err);
  close(fd);
  j->new_files = true;
  return BEAM_OK;
}

static beam_status jl_ensure_table(beam_sink *s, const char *table, const beam_etl_schema *schema,
                                   beam_error *err) {
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

static beam_status jl_ledger_record(beam_sink *s, const char *key, const char *file, bool replace,
                                   beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  return beam_jsonl_pending_add(&j->pending, key, file, replace, err);
}

static beam_status jl_ledger_find(beam_sink *s, const char *key, beam_sink_ledger_hit *hit, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  beam_status st = beam_jsonl_log_refresh(&j->log, err);
  if (st != BEAM_OK) return st;
  beam_jsonl_log_ledger_find(&j->log, &j->pending, key, hit);
  return BEAM_OK;
}

static beam_status jl_ledger_ranges(beam_sink *s, const char *file_id, beam_sink_ranges *out, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  beam_status st = beam_jsonl_log_refresh(&j->log, err);
  return st == BEAM_OK ? beam_jsonl_log_ledger_ranges(&j->log, &j->pending, file_id, out, err) : st;
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

/* The table's committed file followed by its bundle, written to t->tmp and fsynced. */
static int write_aside_data(jsonl_sink *j, jl_table *t, int fd) {
  char fname[160];
  table_file(t->name, fname);
  int src = openat(j->dir_fd, fname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (src < 0 && errno != ENOENT) return errno; /* ELOOP: a symlink replaced it */
  uint64_t size = 0;
  int e = 0;
  if (src >= 0) {
    struct stat sb;
    if (fstat(src, &sb) != 0)
      e = errno;
    else if (!S_ISREG(sb.st_mode))
      e = EINVAL;
    else if (fchmod(fd, sb.st_mode & 07777) != 0) /* the new version keeps the file's mode */
      e = errno;
    if (!e) {
      size = (uint64_t)sb.st_size;
      e = copy_range(src, 0, fd, 0, size);
    }
    close(src);
  }
  if (!e && t->spilled) e = copy_range(t->spill_fd, 0, fd, size, t->spilled);
  if (!e) e = beam_local_pwrite_all(fd, t->buf.data, t->buf.len, size + t->spilled);
  if (!e) e = sync_fd(j, fd);
  return e;
}

/* Writes the table's next version aside, in a new temp file named in t->tmp. */
static beam_status write_aside(jsonl_sink *j, jl_table *t, beam_error *err) {
  int fd = -1;
  for (int tries = 0; fd < 0 && tries < 100; tries++) {
    beam_jsonl_temp_name(t->name, t->tmp);
    fd = openat(j->dir_fd, t->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) break;
  }
  char fname[160];
  table_file(t->name, fname);
  if (fd < 0) {
    int e = errno;
    t->tmp[0] = '\0';
    return io_fail(j, e, "creating the next version of", fname, err);
  }
  int e = write_aside_data(j, t, fd);
  if (close(fd) != 0 && !e) e = errno;
  if (!e) return BEAM_OK;
  unlinkat(j->dir_fd, t->tmp, 0);
  beam_status st = io_fail(j, e, "writing the next version of", fname, err);
  if (e == EINVAL || e == ELOOP)
    st = beam_error_set(err, BEAM_ERR_INVALID_ARG, "jsonl %s: %s is not a regular file: commits replace the "
                        "file by rename, so it must be one", j->dir, fname);
  t->tmp[0] = '\0';
  return st;
}

/* Deletes the write-aside files of a commit that failed before handing them to the log. */
static void drop_asides(jsonl_sink *j) {
  for (size_t i = 0; i < j->n_tables; i++) {
    if (j->tables[i].tmp[0]) unlinkat(j->dir_fd, j->tables[i].tmp, 0);
    j->tables[i].tmp[0] = '\0';
  }
}

/* The temp file of each table with data, as the log's "renames" object, written aside. */
static beam_status write_asides(jsonl_sink *j, json_t *renames, beam_error *err) {
  for (size_t i = 0; i < j->n_tables; i++) {
    jl_table *t = &j->tables[i];
    if (!table_has_data(t)) continue;
    beam_status st = write_aside(j, t, err);
    if (st != BEAM_OK) return st;
    if (json_object_set_new(renames, t->name, json_string(t->tmp)) != 0)
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

static beam_status commit_locked(jsonl_sink *j, beam_error *err) {
  /* Logged under its content key when it has one: a relaunch cuts other bundle ids (many
   * bundles per run on the parallel local runner), the same records keep their key. */
  const char *id = j->base.content_key[0] ? j->base.content_key : j->bundle_id;
  if (beam_jsonl_log_has_bundle(&j->log, j->bundle_id) || beam_jsonl_log_has_bundle(&j->log, id)) {
    j->base.duplicate = true;
    return BEAM_OK;
  }
  beam_status cs = check_units_unclaimed(j, err);
  if (cs != BEAM_OK || j->base.duplicate) return cs;
  json_t *renames = json_object();
  if (!renames) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status st = write_asides(j, renames, err);
  if (st == BEAM_OK && j->new_files && json_object_size(renames) == 0) {
    /* Table files created empty since the last commit: make them durable with it. (With
     * renames, the log's commit syncs the directory anyway.) */
    int e = sync_fd(j, j->dir_fd);
    if (e) st = io_fail(j, e, "syncing directory", "", err);
  }
  if (st != BEAM_OK) {
    drop_asides(j);
    json_decref(renames);
    return st;
  }
  /* The temp files are the log's from here: it renames them, or deletes them on failure. */
  for (size_t i = 0; i < j->n_tables; i++) j->tables[i].tmp[0] = '\0';
  st = beam_jsonl_log_commit(&j->log, id, renames, &j->pending, err);
  json_decref(renames);
  if (st == BEAM_OK) j->new_files = false;
  return st;
}

static beam_status jl_commit(beam_sink *s, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  beam_status st = BEAM_OK;
  if (!s->duplicate) {
    st = beam_jsonl_log_lock(&j->log, err);
    if (st == BEAM_OK) {
      st = commit_locked(j, err);
      beam_jsonl_log_unlock(&j->log);
    }
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
    .ledger_any = jl_ledger_any,
    .ledger_ranges = jl_ledger_ranges,
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
    st = beam_jsonl_log_open(&j->log, j->dir, j->dir_fd, j->base.opts.no_sync, err);
  }
  if (st != BEAM_OK) {
    j->base.state = BEAM_SINK_CLOSED;
    jl_free(&j->base);
    return st;
  }
  *out = &j->base;
  return BEAM_OK;
}
