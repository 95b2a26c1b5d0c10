/* JSON-lines directory sink: <dir>/<table>.jsonl, one JSON object per row.
 *
 * A bundle's rows are encoded into per-table memory buffers (spilling to an unnamed
 * temporary file in the directory past opts.spill_bytes) and appended to the table files
 * only at commit, so an aborted bundle leaves nothing behind.
 *
 * Atomicity and idempotency come from a bundle log, <dir>/.bundles.jsonl, whose lines are
 *   {"bundle":ID,"state":"pending","files":{"events":OFFSET,...}}   sizes before the append
 *   {"bundle":ID,"state":"committed"}
 *   {"bundle":ID,"state":"rolled_back"}
 * A commit holds an exclusive flock on the log and: reads the log's new lines; if the last
 * pending record has no outcome (a writer died mid-commit), truncates those files back to
 * the recorded sizes and logs rolled_back; skips the bundle if it is already committed;
 * logs pending (fsync), appends the data (fsync each file), logs committed (fsync).
 * So after any crash the directory holds exactly the committed bundles, once each.
 * Requires flock to work across writers (a local filesystem, not NFS). The log grows by
 * about 100 bytes per bundle and is read once per sink instance. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "beam/buf.h"
#include "beam/transforms/json_row_writer.h"
#include "local_dir.h"
#include "sink_int.h"
#include "sink_tables.h"

#define LOG_NAME ".bundles.jsonl"
#define COPY_CHUNK ((size_t)1 << 20)

typedef struct jl_table {
  char *name;
  const beam_etl_schema *schema;
  beam_json_row_writer writer;
  int fd;            /* <name>.jsonl, opened O_APPEND */
  beam_buf buf;      /* this bundle's rows not yet spilled */
  int spill_fd;      /* unnamed temp file with the bundle's earlier rows, or -1 */
  uint64_t spilled;  /* bytes in spill_fd */
  uint64_t offset;   /* file size before this commit's append */
} jl_table;
BEAM_SINK_TABLE_NAME_FIRST(jl_table);

/* Committed bundle ids: open addressing, power-of-two capacity. */
typedef struct id_set {
  char **slots;
  size_t cap;
  size_t len;
} id_set;

typedef struct jsonl_sink {
  beam_sink base;
  char *dir;
  int dir_fd;
  int log_fd;
  uint64_t log_read;      /* bytes of the log already applied to `committed` */
  id_set committed;
  json_t *open_pending;   /* last pending record with no outcome yet, or NULL */
  bool new_files;         /* a table file was created since the last directory fsync */
  jl_table *tables;
  size_t n_tables;
  size_t cap_tables;
  size_t last_table;
  char *bundle_id;
} jsonl_sink;

/* ---- Small helpers ----------------------------------------------------------------- */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
  return h;
}

static bool id_set_has(const id_set *set, const char *id) {
  if (!set->cap) return false;
  for (size_t i = hash_str(id) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
    if (!set->slots[i]) return false;
    if (strcmp(set->slots[i], id) == 0) return true;
  }
}

static beam_status id_set_add(id_set *set, const char *id) {
  if (id_set_has(set, id)) return BEAM_OK;
  if ((set->len + 1) * 2 > set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 64;
    char **slots = calloc(cap, sizeof *slots);
    if (!slots) return BEAM_ERR_NOMEM;
    for (size_t i = 0; i < set->cap; i++) {
      if (!set->slots[i]) continue;
      size_t j = hash_str(set->slots[i]) & (cap - 1);
      while (slots[j]) j = (j + 1) & (cap - 1);
      slots[j] = set->slots[i];
    }
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
  }
  char *copy = strdup(id);
  if (!copy) return BEAM_ERR_NOMEM;
  size_t j = hash_str(id) & (set->cap - 1);
  while (set->slots[j]) j = (j + 1) & (set->cap - 1);
  set->slots[j] = copy;
  set->len++;
  return BEAM_OK;
}

static void id_set_free(id_set *set) {
  for (size_t i = 0; i < set->cap; i++) free(set->slots[i]);
  free(set->slots);
  memset(set, 0, sizeof *set);
}

/* write() the whole span, retrying short writes and EINTR. Returns 0 or an errno. */
static int write_all(int fd, const void *data, size_t len) {
  const uint8_t *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static int sync_fd(const jsonl_sink *j, int fd) {
  if (j->base.opts.no_sync) return 0;
  /* EINVAL: the fd does not support syncing (a pipe or device); nothing to make durable. */
  if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) return errno;
  return 0;
}

static beam_status io_fail(const jsonl_sink *j, int e, const char *what, const char *name,
                           beam_error *err) {
  return beam_error_set(err, BEAM_ERR_IO, "jsonl %s: %s %s: %s", j->dir, what, name ? name : "",
                        strerror(e));
}

static int lock_log(const jsonl_sink *j, int op) {
  while (flock(j->log_fd, op) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

static void unlock_log(const jsonl_sink *j) { flock(j->log_fd, LOCK_UN); }

/* ---- The bundle log ---------------------------------------------------------------- */

static beam_status log_append(jsonl_sink *j, json_t *rec, beam_error *err) {
  char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
  if (!text) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t n = strlen(text);
  beam_buf line = BEAM_BUF_INIT;
  beam_status st = beam_buf_append(&line, text, n);
  if (st == BEAM_OK) st = beam_buf_append_byte(&line, '\n');
  free(text);
  if (st != BEAM_OK) {
    beam_buf_free(&line);
    return beam_error_set(err, st, "out of memory");
  }
  /* Callers hold the exclusive lock and have read the whole log, so the line lands at
   * log_read and is applied knowingly (log_read moves past it). */
  int e = write_all(j->log_fd, line.data, line.len);
  beam_buf_free(&line);
  if (e) {
    /* Cut a partial line so the log stays line-aligned; if even that fails, the next
     * exclusive catch-up cuts it as a torn line. */
    if (ftruncate(j->log_fd, (off_t)j->log_read) != 0) { /* handled by catch-up */ }
    return io_fail(j, e, "writing", LOG_NAME, err);
  }
  j->log_read += n + 1;
  e = sync_fd(j, j->log_fd);
  if (e) return io_fail(j, e, "syncing", LOG_NAME, err);
  return BEAM_OK;
}

static beam_status log_outcome(jsonl_sink *j, const char *bundle, const char *state,
                               beam_error *err) {
  json_t *rec = json_pack("{s:s, s:s}", "bundle", bundle, "state", state);
  if (!rec) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status st = log_append(j, rec, err);
  json_decref(rec);
  return st;
}

static void apply_record(jsonl_sink *j, json_t *rec, beam_status *st) {
  const char *bundle = json_string_value(json_object_get(rec, "bundle"));
  const char *state = json_string_value(json_object_get(rec, "state"));
  if (!bundle || !state) return; /* not ours: ignore rather than fail every later commit */
  if (strcmp(state, "pending") == 0) {
    json_decref(j->open_pending);
    j->open_pending = json_incref(rec);
  } else {
    if (strcmp(state, "committed") == 0 && id_set_add(&j->committed, bundle) != BEAM_OK)
      *st = BEAM_ERR_NOMEM;
    const char *pb = j->open_pending
                         ? json_string_value(json_object_get(j->open_pending, "bundle"))
                         : NULL;
    if (pb && strcmp(pb, bundle) == 0) {
      json_decref(j->open_pending);
      j->open_pending = NULL;
    }
  }
}

/* Applies log lines written since the last call. With the exclusive lock held
 * (exclusive=true), a torn last line (a writer died mid-write) is cut off. */
static beam_status log_catch_up(jsonl_sink *j, bool exclusive, beam_error *err) {
  struct stat sb;
  if (fstat(j->log_fd, &sb) != 0) return io_fail(j, errno, "stat", LOG_NAME, err);
  uint64_t size = (uint64_t)sb.st_size;
  if (size <= j->log_read) return BEAM_OK;
  size_t want = (size_t)(size - j->log_read);
  char *text = malloc(want + 1);
  if (!text) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t got = 0;
  while (got < want) {
    ssize_t r = pread(j->log_fd, text + got, want - got, (off_t)(j->log_read + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      free(text);
      return io_fail(j, e, "reading", LOG_NAME, err);
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  beam_status st = BEAM_OK;
  size_t line_start = 0;
  for (size_t i = 0; i < got && st == BEAM_OK; i++) {
    if (text[i] != '\n') continue;
    json_t *rec = json_loadb(text + line_start, i - line_start, 0, NULL);
    if (rec) apply_record(j, rec, &st);
    json_decref(rec);
    line_start = i + 1;
  }
  free(text);
  if (st != BEAM_OK) return beam_error_set(err, st, "out of memory");
  j->log_read += line_start;
  if (exclusive && line_start < got) {
    if (ftruncate(j->log_fd, (off_t)j->log_read) != 0)
      return io_fail(j, errno, "truncating torn line of", LOG_NAME, err);
  }
  return BEAM_OK;
}

/* A pending record without outcome, seen under the exclusive lock, is a commit whose
 * writer died: cut its files back to their sizes before it and record the rollback. */
static beam_status log_recover(jsonl_sink *j, beam_error *err) {
  if (!j->open_pending) return BEAM_OK;
  json_t *files = json_object_get(j->open_pending, "files");
  const char *table;
  json_t *off;
  json_object_foreach(files, table, off) {
    if (!beam_sink_table_name_valid(table) || !json_is_integer(off)) continue;
    char fname[160];
    snprintf(fname, sizeof fname, "%s.jsonl", table);
    int fd = openat(j->dir_fd, fname, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return io_fail(j, errno, "recovering", fname, err);
    }
    int e = 0;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && sb.st_size > (off_t)json_integer_value(off) &&
        ftruncate(fd, (off_t)json_integer_value(off)) != 0)
      e = errno;
    if (!e) e = sync_fd(j, fd);
    close(fd);
    if (e) return io_fail(j, e, "recovering", fname, err);
  }
  const char *bundle = json_string_value(json_object_get(j->open_pending, "bundle"));
  beam_status st = log_outcome(j, bundle ? bundle : "", "rolled_back", err);
  if (st == BEAM_OK) {
    json_decref(j->open_pending);
    j->open_pending = NULL;
  }
  return st;
}

/* ---- Tables ------------------------------------------------------------------------ */

static jl_table *table_find(jsonl_sink *j, const char *name) {
  size_t i = beam_sink_table_index(j->tables, j->n_tables, sizeof *j->tables, &j->last_table, name);
  return i < j->n_tables ? &j->tables[i] : NULL;
}

static void table_discard_bundle(jl_table *t) {
  beam_buf_reset(&t->buf);
  /* Shrink a buffer a huge bundle blew up, so one outlier does not pin memory. */
  if (t->buf.cap > ((size_t)64 << 20)) beam_buf_free(&t->buf);
  if (t->spill_fd >= 0 && t->spilled) {
    if (ftruncate(t->spill_fd, 0) != 0 || lseek(t->spill_fd, 0, SEEK_SET) < 0) {
      close(t->spill_fd);
      t->spill_fd = -1;
    }
  }
  t->spilled = 0;
}

static int table_close(jl_table *t) {
  int e = 0;
  if (t->fd >= 0 && close(t->fd) != 0) e = errno;
  if (t->spill_fd >= 0) close(t->spill_fd);
  beam_buf_free(&t->buf);
  beam_json_row_writer_free(&t->writer);
  free(t->name);
  memset(t, 0, sizeof *t);
  t->fd = t->spill_fd = -1;
  return e;
}

static beam_status jl_ensure_table(beam_sink *s, const char *table, const beam_etl_schema *schema,
                                   beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  jl_table *t = table_find(j, table);
  if (t) return beam_sink_table_reensure(t->schema, schema, false, "jsonl", j->dir, table, err);
  jl_table *tables = beam_sink_tables_reserve(j->tables, j->n_tables, &j->cap_tables, sizeof *tables);
  if (!tables) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  j->tables = tables;
  char fname[160];
  snprintf(fname, sizeof fname, "%s.jsonl", table);
  bool existed = faccessat(j->dir_fd, fname, F_OK, 0) == 0;
  int fd = openat(j->dir_fd, fname, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return io_fail(j, errno, "creating", fname, err);
  t = &j->tables[j->n_tables];
  memset(t, 0, sizeof *t);
  t->fd = fd;
  t->spill_fd = -1;
  t->schema = schema;
  t->name = strdup(table);
  beam_status st = t->name ? beam_json_row_writer_init(&t->writer, schema) : BEAM_ERR_NOMEM;
  if (st != BEAM_OK) {
    table_close(t);
    return beam_error_set(err, st, "out of memory");
  }
  if (!existed) j->new_files = true;
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
  int e = write_all(t->spill_fd, t->buf.data, t->buf.len);
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

/* ---- Bundles ----------------------------------------------------------------------- */

static void discard_all(jsonl_sink *j) {
  for (size_t i = 0; i < j->n_tables; i++) table_discard_bundle(&j->tables[i]);
  free(j->bundle_id);
  j->bundle_id = NULL;
}

static beam_status jl_begin(beam_sink *s, const char *bundle_id, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  j->bundle_id = strdup(bundle_id);
  if (!j->bundle_id) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  /* Learn about commits by other writers so a retried bundle is skipped before any work.
   * A shared lock: no writer is half way through its log lines while we read. */
  int e = lock_log(j, LOCK_SH);
  if (e) return io_fail(j, e, "locking", LOG_NAME, err);
  beam_status st = log_catch_up(j, false, err);
  unlock_log(j);
  if (st != BEAM_OK) {
    discard_all(j);
    return st;
  }
  s->duplicate = id_set_has(&j->committed, bundle_id);
  return BEAM_OK;
}

static bool table_has_data(const jl_table *t) { return t->buf.len > 0 || t->spilled > 0; }

/* Appends the table's bundle (spill file, then buffer) to its file. Returns 0 or errno. */
static int append_table(jl_table *t, uint8_t *chunk) {
  for (uint64_t off = 0; off < t->spilled;) {
    size_t want = t->spilled - off < COPY_CHUNK ? (size_t)(t->spilled - off) : COPY_CHUNK;
    ssize_t r = pread(t->spill_fd, chunk, want, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r < 0 ? errno : EIO;
    int e = write_all(t->fd, chunk, (size_t)r);
    if (e) return e;
    off += (uint64_t)r;
  }
  return write_all(t->fd, t->buf.data, t->buf.len);
}

/* Undo a failed append: cut every touched file back and log the rollback. */
static void rollback_files(jsonl_sink *j) {
  bool all_cut = true;
  for (size_t i = 0; i < j->n_tables; i++) {
    jl_table *t = &j->tables[i];
    if (!table_has_data(t)) continue;
    struct stat sb;
    if (fstat(t->fd, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > t->offset &&
        ftruncate(t->fd, (off_t)t->offset) != 0)
      all_cut = false;
  }
  /* If a file could not be cut, the pending record stays open and the next commit (by any
   * writer) retries the cut before doing anything else. */
  if (all_cut && log_outcome(j, j->bundle_id, "rolled_back", NULL) == BEAM_OK) {
    json_decref(j->open_pending);
    j->open_pending = NULL;
  }
}

static beam_status commit_locked(jsonl_sink *j, beam_error *err) {
  beam_status st = log_catch_up(j, true, err);
  if (st == BEAM_OK) st = log_recover(j, err);
  if (st != BEAM_OK) return st;
  if (id_set_has(&j->committed, j->bundle_id)) {
    j->base.duplicate = true;
    return BEAM_OK;
  }
  json_t *files = json_object();
  if (!files) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < j->n_tables; i++) {
    jl_table *t = &j->tables[i];
    if (!table_has_data(t)) continue;
    struct stat sb;
    if (fstat(t->fd, &sb) != 0) {
      json_decref(files);
      return io_fail(j, errno, "stat", t->name, err);
    }
    t->offset = (uint64_t)sb.st_size;
    json_object_set_new(files, t->name, json_integer((json_int_t)t->offset));
  }
  bool any = json_object_size(files) > 0;
  if (any) {
    json_t *rec = json_pack("{s:s, s:s, s:o}", "bundle", j->bundle_id, "state", "pending", "files",
                            files);
    if (!rec) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    st = log_append(j, rec, err);
    json_decref(j->open_pending);
    j->open_pending = rec; /* ours now: recovery material if we fail below */
    if (st != BEAM_OK) {
      rollback_files(j);
      return st;
    }
    uint8_t *chunk = NULL;
    for (size_t i = 0; i < j->n_tables; i++) {
      jl_table *t = &j->tables[i];
      if (!table_has_data(t)) continue;
      if (t->spilled && !chunk && !(chunk = malloc(COPY_CHUNK))) {
        rollback_files(j);
        return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      }
      char fname[160];
      snprintf(fname, sizeof fname, "%s.jsonl", t->name);
      int e = append_table(t, chunk);
      if (!e) e = sync_fd(j, t->fd);
      if (e) {
        free(chunk);
        rollback_files(j);
        return io_fail(j, e, "appending to", fname, err);
      }
    }
    free(chunk);
  } else {
    json_decref(files);
  }
  if (j->new_files) {
    int e = sync_fd(j, j->dir_fd);
    if (e) {
      if (any) rollback_files(j);
      return io_fail(j, e, "syncing directory", "", err);
    }
    j->new_files = false;
  }
  st = log_outcome(j, j->bundle_id, "committed", err);
  if (st != BEAM_OK) {
    if (any) rollback_files(j);
    return st;
  }
  json_decref(j->open_pending);
  j->open_pending = NULL;
  if (id_set_add(&j->committed, j->bundle_id) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return BEAM_OK;
}

static beam_status jl_commit(beam_sink *s, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  beam_status st = BEAM_OK;
  if (!s->duplicate) {
    int e = lock_log(j, LOCK_EX);
    if (e) {
      st = io_fail(j, e, "locking", LOG_NAME, err);
    } else {
      st = commit_locked(j, err);
      unlock_log(j);
    }
  }
  discard_all(j);
  return st;
}

static void jl_abort(beam_sink *s) { discard_all((jsonl_sink *)s); }

static beam_status jl_close(beam_sink *s, beam_error *err) {
  jsonl_sink *j = (jsonl_sink *)s;
  int first = 0;
  char what[160] = LOG_NAME;
  for (size_t i = 0; i < j->n_tables; i++) {
    char name[160];
    snprintf(name, sizeof name, "%s.jsonl", j->tables[i].name);
    int e = table_close(&j->tables[i]);
    if (e && !first) {
      first = e;
      snprintf(what, sizeof what, "%s", name);
    }
  }
  j->n_tables = 0;
  if (j->log_fd >= 0 && close(j->log_fd) != 0 && !first) first = errno;
  j->log_fd = -1;
  if (j->dir_fd >= 0) close(j->dir_fd);
  j->dir_fd = -1;
  if (first) return io_fail(j, first, "closing", what, err);
  return BEAM_OK;
}

static void jl_free(beam_sink *s) {
  jsonl_sink *j = (jsonl_sink *)s;
  if (j->dir_fd >= 0 || j->log_fd >= 0) jl_close(s, NULL);
  free(j->tables);
  free(j->bundle_id);
  free(j->dir);
  id_set_free(&j->committed);
  json_decref(j->open_pending);
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
  j->dir_fd = j->log_fd = -1;
  j->dir = strdup(dir);
  beam_status st = BEAM_OK;
  int e = 0;
  if (!j->dir) {
    st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  } else if ((e = beam_local_make_dirs(dir)) != 0) { /* with its parents, as file: does */
    st = io_fail(j, e, "creating directory", "", err);
  } else if ((j->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    st = io_fail(j, errno, "opening directory", "", err);
  } else if ((j->log_fd = openat(j->dir_fd, LOG_NAME, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
                                 0644)) < 0) {
    st = io_fail(j, errno, "opening", LOG_NAME, err);
  }
  if (st != BEAM_OK) {
    j->base.state = BEAM_SINK_CLOSED;
    jl_free(&j->base);
    return st;
  }
  *out = &j->base;
  return BEAM_OK;
}
