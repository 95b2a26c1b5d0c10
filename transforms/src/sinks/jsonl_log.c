/* The JSON-lines sink's bundle log and ledger (jsonl_log.h; the protocol is described at the
 * top of sink_jsonl.c). */
#include "jsonl_log.h"
#include "file_range_copy.h"
#include "local_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "beam/log.h"
#include "sink_int.h"

/* ---- The map ------------------------------------------------------------------------ */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
  return h;
}

/* The slot holding key, or the empty slot where it would go. Requires cap > 0. */
static size_t map_slot(const jl_map *m, const char *key) {
  size_t i = hash_str(key) & (m->cap - 1);
  while (m->slots[i].key && strcmp(m->slots[i].key, key) != 0) i = (i + 1) & (m->cap - 1);
  return i;
}

static bool map_get(const jl_map *m, const char *key, void **val) {
  if (!m->cap) return false;
  const jl_map_slot *slot = &m->slots[map_slot(m, key)];
  if (!slot->key) return false;
  if (val) *val = slot->val;
  return true;
}

static bool map_grow(jl_map *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  jl_map_slot *slots = calloc(cap, sizeof *slots);
  if (!slots) return false;
  jl_map old = *m;
  m->slots = slots;
  m->cap = cap;
  for (size_t i = 0; i < old.cap; i++)
    if (old.slots[i].key) m->slots[map_slot(m, old.slots[i].key)] = old.slots[i];
  free(old.slots);
  return true;
}

/* Sets key's value; *old (when not NULL) receives the value replaced, or NULL. Replacing the
 * value of a key present never allocates, so it cannot fail. */
static beam_status map_put(jl_map *m, const char *key, void *val, void **old) {
  if (old) *old = NULL;
  jl_map_slot *slot = m->cap ? &m->slots[map_slot(m, key)] : NULL;
  if (slot && slot->key) {
    if (old) *old = slot->val;
    slot->val = val;
    return BEAM_OK;
  }
  if ((m->len + 1) * 2 > m->cap) {
    if (!map_grow(m)) return BEAM_ERR_NOMEM;
    slot = &m->slots[map_slot(m, key)];
  }
  if (!(slot->key = strdup(key))) return BEAM_ERR_NOMEM;
  slot->val = val;
  m->len++;
  return BEAM_OK;
}

/* Removes key, shifting later members of its probe run back so lookups need no tombstones. */
static void map_del(jl_map *m, const char *key) {
  if (!m->cap) return;
  size_t mask = m->cap - 1, hole = map_slot(m, key);
  if (!m->slots[hole].key) return;
  free(m->slots[hole].key);
  m->slots[hole].key = NULL;
  m->len--;
  for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
    size_t home = hash_str(m->slots[i].key) & mask;
    /* Stays when its home lies cyclically in (hole, i]: the hole is not on its probe path. */
    bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
    if (stays) continue;
    m->slots[hole] = m->slots[i];
    m->slots[i].key = NULL;
    hole = i;
  }
}

static void map_free(jl_map *m, void (*free_val)(void *)) {
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->slots[i].key) continue;
    free(m->slots[i].key);
    if (free_val) free_val(m->slots[i].val);
  }
  free(m->slots);
  memset(m, 0, sizeof *m);
}

static void length_free(void *v) { free(v); }

static void ledger_value_free(void *v) {
  jl_ledger_value *lv = v;
  if (lv) free(lv->file), json_decref(lv->spans);
  free(lv);
}

/* ---- Small helpers ------------------------------------------------------------------ */

/* Now in ISO 8601 UTC with milliseconds: "2026-12-07T01:40:00.123Z". */
static void iso_now(char out[32]) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static int sync_fd(const jl_log *log, int fd) { return log->no_sync ? 0 : beam_local_fsync(fd); }

static beam_status io_fail(const jl_log *log, int e, const char *what, const char *name, beam_error *err) {
  return beam_error_set(err, BEAM_ERR_IO, "jsonl %s: %s %s: %s", log->dir, what, name ? name : "", strerror(e));
}

static beam_status nomem(beam_error *err) { return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory"); }

static int flock_retry(const jl_log *log, int op) {
  while (flock(log->fd, op) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

static const char *rec_str(const json_t *rec, const char *field) {
  return json_string_value(json_object_get(rec, field));
}

static bool rec_is(const json_t *rec, const char *bundle) {
  const char *b = rec ? rec_str(rec, "bundle") : NULL;
  return b && strcmp(b, bundle) == 0;
}

/* ---- Write-aside names -------------------------------------------------------------- */

void beam_jsonl_temp_name(const char *table, char out[BEAM_JSONL_TEMP_NAME_MAX]) {
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
    /* No entropy yet (early boot): a collision only costs a retry of O_EXCL creation. */
    static _Atomic uint64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
        (counter++ * 0x9e3779b97f4a7c15ULL);
  }
  snprintf(out, BEAM_JSONL_TEMP_NAME_MAX, ".%s.jsonl.%016llx.tmp", table, (unsigned long long)r);
}

bool beam_jsonl_temp_name_parse(const char *name, char *table) {
  static const char mid[] = ".jsonl.", tail[] = ".tmp";
  size_t len = strlen(name), n_mid = sizeof mid - 1, n_tail = sizeof tail - 1;
  if (len < 1 + 1 + n_mid + 16 + n_tail || name[0] != '.') return false;
  if (strcmp(name + len - n_tail, tail) != 0) return false;
  const char *hex = name + len - n_tail - 16;
  for (int i = 0; i < 16; i++)
    if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'))) return false;
  if (memcmp(hex - n_mid, mid, n_mid) != 0) return false;
  size_t table_len = (size_t)(hex - n_mid - (name + 1));
  char t[160];
  if (table_len >= sizeof t) return false;
  memcpy(t, name + 1, table_len);
  t[table_len] = '\0';
  if (!beam_sink_table_name_valid(t)) return false;
  if (table) memcpy(table, t, table_len + 1);
  return true;
}

/* ---- Applying the log --------------------------------------------------------------- */

/* Adds a record's ledger entries to the committed ledger. */
static beam_status apply_ledger(jl_log *log, const json_t *rec) {
  const json_t *entries = json_object_get(rec, "ledger");
  size_t i;
  const json_t *e;
  json_array_foreach(entries, i, e) {
    const char *key = rec_str(e, "key");
    if (!key || !key[0]) continue;
    if (!json_is_true(json_object_get(e, "replace")) && map_get(&log->ledger, key, NULL)) continue;
    const char *file = rec_str(e, "file"), *at = rec_str(e, "committed_at");
    if (log->forget_messages_before[0] && strncmp(key, "pubsub:", 7) == 0 && at &&
        strcmp(at, log->forget_messages_before) < 0)
      continue; /* a stream's old message unit (sink.h: message_ledger_days) */
    jl_ledger_value *v = calloc(1, sizeof *v);
    if (!v || !(v->file = strdup(file ? file : ""))) {
      ledger_value_free(v);
      return BEAM_ERR_NOMEM;
    }
    snprintf(v->committed_at, sizeof v->committed_at, "%s", at ? at : "");
    const json_t *spans = json_object_get(e, "spans");
    if (json_is_object(spans) && !(v->spans = json_deep_copy(spans))) {
      ledger_value_free(v);
      return BEAM_ERR_NOMEM;
    }
    void *old = NULL;
    if (map_put(&log->ledger, key, v, &old) != BEAM_OK) {
      ledger_value_free(v);
      return BEAM_ERR_NOMEM;
    }
    ledger_value_free(old);
  }
  return BEAM_OK;
}

/* The committed length the log knows for table, or false. */
static bool length_get(const jl_log *log, const char *table, uint64_t *len) {
  void *v = NULL;
  if (!map_get(&log->lengths, table, &v)) return false;
  *len = *(const uint64_t *)v;
  return true;
}

static beam_status length_set(jl_log *log, const char *table, uint64_t len) {
  void *v = NULL;
  if (map_get(&log->lengths, table, &v)) {
    *(uint64_t *)v = len;
    return BEAM_OK;
  }
  uint64_t *p = malloc(sizeof *p);
  if (!p) return BEAM_ERR_NOMEM;
  *p = len;
  beam_status st = map_put(&log->lengths, table, p, NULL);
  if (st != BEAM_OK) free(p);
  return st;
}

static void length_forget(jl_log *log, const char *table) {
  void *v = NULL;
  if (!map_get(&log->lengths, table, &v)) return;
  free(v);
  map_del(&log->lengths, table);
}

/* An "appends" entry's fields, checked: the side file must be a temp name of its table (so
 * a damaged log reads, truncates and deletes nothing else). */
static bool append_fields(const char *table, const json_t *a, const char **from, uint64_t *at, uint64_t *len) {
  char side_table[160];
  json_t *jat = json_object_get(a, "at"), *jlen = json_object_get(a, "len");
  *from = rec_str(a, "from");
  if (!*from || !json_is_integer(jat) || !json_is_integer(jlen) || json_integer_value(jat) < 0 ||
      json_integer_value(jlen) < 0 || !beam_sink_table_name_valid(table))
    return false;
  if (!beam_jsonl_temp_name_parse(*from, side_table) || strcmp(side_table, table) != 0) return false;
  *at = (uint64_t)json_integer_value(jat);
  *len = (uint64_t)json_integer_value(jlen);
  return true;
}

/* A commit's effect on the tables' committed lengths: a table appended to ends where the
 * append ends; one replaced whole or appended in place by the previous release ("renames",
 * "files") has a length the record does not tell: its file's size counts again. */
static beam_status apply_lengths(jl_log *log, const json_t *rec) {
  const char *table;
  json_t *v;
  json_object_foreach(json_object_get(rec, "renames"), table, v) length_forget(log, table);
  json_object_foreach(json_object_get(rec, "files"), table, v) length_forget(log, table);
  json_object_foreach(json_object_get(rec, "rewrites"), table, v) {
    json_t *len = json_object_get(v, "len");
    if (!beam_sink_table_name_valid(table) || !json_is_integer(len) || json_integer_value(len) < 0) continue;
    if (length_set(log, table, (uint64_t)json_integer_value(len)) != BEAM_OK) return BEAM_ERR_NOMEM;
  }
  json_object_foreach(json_object_get(rec, "appends"), table, v) {
    const char *from;
    uint64_t at, len;
    if (!append_fields(table, v, &from, &at, &len)) continue;
    if (length_set(log, table, at + len) != BEAM_OK) return BEAM_ERR_NOMEM;
  }
  return BEAM_OK;
}

/* The bytes cuts (a sorted [[start, end], ...]) remove before offset. */
static uint64_t cut_before(const json_t *cuts, uint64_t offset) {
  uint64_t removed = 0;
  size_t i;
  const json_t *c;
  json_array_foreach(cuts, i, c) {
    uint64_t s = (uint64_t)json_integer_value(json_array_get(c, 0)), e = (uint64_t)json_integer_value(json_array_get(c, 1));
    if (e <= offset) removed += e - s;
  }
  return removed;
}

/* A retraction's effect on the ledger (jsonl_retract.h): the retracted units' entries go, and
 * the spans of the others in a rewritten table move down by the bytes cut before them. Before
 * the record's own entries are added: their offsets are the rewritten tables' already. */
static void apply_retraction(jl_log *log, const json_t *rec) {
  size_t i;
  const json_t *k;
  json_array_foreach(json_object_get(rec, "retracts"), i, k) {
    void *v = NULL;
    if (!json_is_string(k) || !map_get(&log->ledger, json_string_value(k), &v)) continue;
    ledger_value_free(v);
    map_del(&log->ledger, json_string_value(k));
  }
  const json_t *rewrites = json_object_get(rec, "rewrites");
  if (!json_object_size(rewrites)) return;
  for (size_t slot = 0; slot < log->ledger.cap; slot++) {
    jl_ledger_value *lv = log->ledger.slots[slot].key ? log->ledger.slots[slot].val : NULL;
    const char *table;
    json_t *span;
    if (!lv || !lv->spans) continue;
    json_object_foreach(lv->spans, table, span) {
      const json_t *cuts = json_object_get(json_object_get(rewrites, table), "cuts");
      if (!cuts) continue;
      for (size_t at = 0; at < 2; at++) {
        uint64_t off = (uint64_t)json_integer_value(json_array_get(span, at));
        json_integer_set(json_array_get(span, at), (json_int_t)(off - cut_before(cuts, off)));
      }
    }
  }
}

/* A "committing" record has its outcome "committed" (or a later commit shows it passed its
 * commit point): its retraction, ledger entries and table lengths take effect. */
static beam_status resolve_committing(jl_log *log) {
  apply_retraction(log, log->open_committing);
  beam_status st = apply_ledger(log, log->open_committing);
  if (st == BEAM_OK) st = apply_lengths(log, log->open_committing);
  return st;
}

/* For a stream's bundle (its ledger entries, in rec, all message units), its commit time in
 * seconds as the committed map's value: a compaction forgets it with its units. Else NULL. */
static void *stream_bundle_time(const json_t *rec) {
  const json_t *entries = json_object_get(rec, "ledger"), *e;
  const char *at = NULL;
  size_t i;
  json_array_foreach(entries, i, e) {
    const char *key = rec_str(e, "key");
    if (!key || strncmp(key, "pubsub:", 7) != 0) return NULL;
    at = rec_str(e, "committed_at");
  }
  return (void *)(uintptr_t)beam_jsonl_iso_seconds(at);
}

/* A bundle's commit is complete: its id joins the committed ones; so do the ledger entries of
 * rec (the commit's record, or its "committing" record resolved already: entries NULL). */
static beam_status apply_commit(jl_log *log, const char *bundle, const json_t *entries_rec, const json_t *rec) {
  beam_status st = entries_rec == rec ? apply_ledger(log, rec) : BEAM_OK;
  if (st == BEAM_OK) st = map_put(&log->committed, bundle, stream_bundle_time(entries_rec), NULL);
  return st;
}

/* A compaction's "snapshot" record (jsonl_log_compact.c): lengths, bundles or ledger entries. */
static beam_status apply_snapshot(jl_log *log, const json_t *rec) {
  const char *key;
  json_t *v;
  size_t i;
  beam_status st = BEAM_OK;
  json_object_foreach(json_object_get(rec, "lengths"), key, v) {
    if (st == BEAM_OK && json_is_integer(v) && json_integer_value(v) >= 0 && beam_sink_table_name_valid(key))
      st = length_set(log, key, (uint64_t)json_integer_value(v));
  }
  json_array_foreach(json_object_get(rec, "bundles"), i, v) {
    if (st == BEAM_OK && json_is_string(v)) st = map_put(&log->committed, json_string_value(v), NULL, NULL);
  }
  json_object_foreach(json_object_get(rec, "stream_bundles"), key, v) {
    if (st == BEAM_OK) st = map_put(&log->committed, key, (void *)(uintptr_t)json_integer_value(v), NULL);
  }
  return st == BEAM_OK ? apply_ledger(log, rec) : st;
}

static void set_open(json_t **slot, json_t *rec) {
  json_decref(*slot);
  *slot = rec ? json_incref(rec) : NULL;
}

/* Applies one log line. Ledger entries take effect with the record that completes their
 * commit ("committed"); a "committing" record waits as open_committing until its outcome. */
static beam_status apply_record(jl_log *log, json_t *rec) {
  const char *bundle = rec_str(rec, "bundle"), *state = rec_str(rec, "state");
  if (!bundle || !state) return BEAM_OK; /* not ours: ignore rather than fail every later commit */
  beam_status st = BEAM_OK;
  if (strcmp(state, "snapshot") == 0) {
    st = apply_snapshot(log, rec);
  } else if (strcmp(state, "pending") == 0) {
    set_open(&log->open_pending, rec);
    st = apply_lengths(log, rec); /* appended in place, or cut back: its files' sizes count */
  } else if (strcmp(state, "committing") == 0) {
    /* A writer resolves an open commit before starting its own, so this never finds one;
     * if it did, that commit passed its commit point: it counts as committed. */
    if (log->open_committing) {
      st = resolve_committing(log);
      const char *b = rec_str(log->open_committing, "bundle");
      if (st == BEAM_OK) st = apply_commit(log, b, log->open_committing, NULL);
    }
    set_open(&log->open_committing, rec);
  } else if (strcmp(state, "committed") == 0) {
    if (rec_is(log->open_committing, bundle)) {
      st = resolve_committing(log);
      if (st == BEAM_OK) st = apply_commit(log, bundle, log->open_committing, rec);
      set_open(&log->open_committing, NULL);
    } else {
      st = apply_commit(log, bundle, rec, rec);
    }
    if (rec_is(log->open_pending, bundle)) set_open(&log->open_pending, NULL);
  } else { /* "rolled_back", or an outcome this release does not know: not committed */
    if (rec_is(log->open_committing, bundle)) set_open(&log->open_committing, NULL);
    if (rec_is(log->open_pending, bundle)) set_open(&log->open_pending, NULL);
  }
  return st;
}

/* Applies the log's lines written since the last call. With the exclusive lock held
 * (exclusive=true), a torn last line (a writer died mid-write) is cut off. */
static beam_status catch_up(jl_log *log, bool exclusive, beam_error *err) {
  struct stat sb;
  if (fstat(log->fd, &sb) != 0) return io_fail(log, errno, "stat", BEAM_JSONL_LOG_NAME, err);
  uint64_t size = (uint64_t)sb.st_size;
  if (size <= log->read) return BEAM_OK;
  size_t want = (size_t)(size - log->read);
  char *text = malloc(want + 1);
  if (!text) return nomem(err);
  size_t got = 0;
  while (got < want) {
    ssize_t r = pread(log->fd, text + got, want - got, (off_t)(log->read + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      free(text);
      return io_fail(log, e, "reading", BEAM_JSONL_LOG_NAME, err);
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  beam_status st = BEAM_OK;
  size_t line_start = 0;
  for (size_t i = 0; i < got && st == BEAM_OK; i++) {
    if (text[i] != '\n') continue;
    json_t *rec = json_loadb(text + line_start, i - line_start, 0, NULL);
    if (rec) st = apply_record(log, rec);
    const char *state = rec ? rec_str(rec, "state") : NULL;
    if (state && strcmp(state, "snapshot") == 0) log->snapshot_bytes += i + 1 - line_start;
    json_decref(rec);
    line_start = i + 1;
  }
  free(text);
  if (st != BEAM_OK) return nomem(err);
  log->read += line_start;
  if (exclusive && line_start < got && ftruncate(log->fd, (off_t)log->read) != 0)
    return io_fail(log, errno, "truncating torn line of", BEAM_JSONL_LOG_NAME, err);
  return BEAM_OK;
}

/* ---- Writing the log ---------------------------------------------------------------- */

/* Appends rec as a line (fsynced when sync) and applies it. Callers hold the exclusive lock
 * and have caught up, so the line lands at log->read. *in_log tells whether the line is in
 * the file: it is (and is applied) even when only the fsync failed, since another writer
 * would read it. */
int beam_jsonl_log_write_line(int fd, const json_t *rec, size_t *written) {
  *written = 0;
  char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
  if (!text) return ENOMEM;
  size_t n = strlen(text);
  char *line = realloc(text, n + 2);
  if (!line) {
    free(text);
    return ENOMEM;
  }
  line[n] = '\n';
  int e = beam_local_write_all(fd, line, n + 1);
  free(line);
  if (!e) *written = n + 1;
  return e;
}

static beam_status log_write(jl_log *log, json_t *rec, bool sync, bool *in_log, beam_error *err) {
  *in_log = false;
  size_t n = 0;
  int e = beam_jsonl_log_write_line(log->fd, rec, &n);
  if (e == ENOMEM) return nomem(err);
  if (e) {
    /* Cut a partial line so the log stays line-aligned; if even that fails, the next
     * exclusive catch-up cuts it as a torn line. */
    if (ftruncate(log->fd, (off_t)log->read) != 0) { /* handled by catch-up */ }
    return io_fail(log, e, "writing", BEAM_JSONL_LOG_NAME, err);
  }
  *in_log = true;
  log->read += n;
  if (apply_record(log, rec) != BEAM_OK) return nomem(err);
  e = sync ? sync_fd(log, log->fd) : 0;
  if (e) return io_fail(log, e, "syncing", BEAM_JSONL_LOG_NAME, err);
  return BEAM_OK;
}

static beam_status log_outcome(jl_log *log, const char *bundle, const char *state, bool sync, beam_error *err) {
  json_t *rec = json_pack("{s:s, s:s}", "bundle", bundle, "state", state);
  if (!rec) return nomem(err);
  bool in_log;
  beam_status st = log_write(log, rec, sync, &in_log, err);
  json_decref(rec);
  return st;
}

/* ---- Recovery ----------------------------------------------------------------------- */

/* The previous release's protocol: a "pending" record without outcome is a commit whose writer
 * died while appending in place. Cut its files back to their sizes before it, log the rollback. */
static beam_status undo_pending(jl_log *log, beam_error *err) {
  const char *table;
  json_t *off;
  json_object_foreach(json_object_get(log->open_pending, "files"), table, off) {
    if (!beam_sink_table_name_valid(table) || !json_is_integer(off)) continue;
    char fname[160];
    snprintf(fname, sizeof fname, "%s.jsonl", table);
    int fd = openat(log->dir_fd, fname, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return io_fail(log, errno, "recovering", fname, err);
    }
    int e = 0;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && sb.st_size > (off_t)json_integer_value(off) &&
        ftruncate(fd, (off_t)json_integer_value(off)) != 0)
      e = errno;
    if (!e) e = sync_fd(log, fd);
    close(fd);
    if (e) return io_fail(log, e, "recovering", fname, err);
  }
  const char *bundle = rec_str(log->open_pending, "bundle");
  return log_outcome(log, bundle ? bundle : "", "rolled_back", true, err);
}

/* Appends one table's side file at its recorded offset: the rows' bytes are written over
 * [at, at + len) (the same bytes again where a crashed append got that far), bytes past
 * at + len (a torn or foreign tail) cut off, and the table fsynced. Idempotent, so recovery
 * simply does it again. Without the side file, the append was complete (the table is fsynced
 * before the side file is deleted): only a tail past it is cut. */
static beam_status apply_append(jl_log *log, const char *table, const char *from, uint64_t at, uint64_t len,
                                beam_error *err) {
  char fname[160];
  snprintf(fname, sizeof fname, "%s.jsonl", table);
  int side = openat(log->dir_fd, from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (side < 0 && errno != ENOENT) return io_fail(log, errno, "opening side file", from, err);
  int fd = openat(log->dir_fd, fname, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;
    if (side >= 0) close(side);
    return io_fail(log, e, "opening", fname, err);
  }
  struct stat sb;
  int e = fstat(fd, &sb) != 0 ? errno : 0;
  if (!e && side >= 0) {
    e = beam_sink_copy_range(side, 0, fd, at, len);
  } else if (!e && (uint64_t)sb.st_size < at + len) {
    close(fd);
    return beam_error_set(err, BEAM_ERR_IO,
                          "jsonl %s: %s is %lld bytes, shorter than its committed length %llu, and the side "
                          "file %s that would complete it is gone (the file was cut outside this sink?)",
                          log->dir, fname, (long long)sb.st_size, (unsigned long long)(at + len), from);
  }
  if (side >= 0) close(side);
  if (!e && fstat(fd, &sb) != 0) e = errno;
  if (!e && (uint64_t)sb.st_size > at + len && ftruncate(fd, (off_t)(at + len)) != 0) e = errno;
  if (!e) e = sync_fd(log, fd);
  close(fd);
  if (e) return io_fail(log, e, "appending the bundle to", fname, err);
  return BEAM_OK;
}

/* Deletes the side files of the open commit's "appends" (or of a commit rolled back). */
static void unlink_sides(jl_log *log, const json_t *appends) {
  const char *table;
  json_t *a;
  json_object_foreach((json_t *)appends, table, a) {
    const char *from;
    uint64_t at, len;
    if (append_fields(table, a, &from, &at, &len)) unlinkat(log->dir_fd, from, 0);
  }
}

/* Completes the open "committing" record: appends its side files to their tables (this
 * release's records, "appends"), or renames its whole-table files still there into place (the
 * previous release's, "renames": a missing one was renamed before its writer died), then logs
 * "committed" and deletes the side files. Used by every commit, and by recovery after a
 * crash. */
static beam_status roll_forward(jl_log *log, beam_error *err) {
  const char *table;
  json_t *tmp;
  const json_t *renames = json_object_get(log->open_committing, "renames");
  json_object_foreach((json_t *)renames, table, tmp) {
    const char *tmp_name = json_string_value(tmp);
    char tmp_table[160];
    if (!tmp_name || !beam_jsonl_temp_name_parse(tmp_name, tmp_table) || strcmp(tmp_table, table) != 0)
      continue; /* not a name this sink writes: never rename it */
    char fname[160];
    snprintf(fname, sizeof fname, "%s.jsonl", table);
    if (renameat(log->dir_fd, tmp_name, log->dir_fd, fname) != 0 && errno != ENOENT)
      return io_fail(log, errno, "renaming into place", fname, err);
  }
  /* A retraction's next versions of tables: renamed into place, a missing one already was. */
  const json_t *rewrites = json_object_get(log->open_committing, "rewrites");
  json_object_foreach((json_t *)rewrites, table, tmp) {
    const char *tmp_name = rec_str(tmp, "from");
    char tmp_table[160];
    if (!tmp_name || !beam_jsonl_temp_name_parse(tmp_name, tmp_table) || strcmp(tmp_table, table) != 0) continue;
    char fname[160];
    snprintf(fname, sizeof fname, "%s.jsonl", table);
    if (renameat(log->dir_fd, tmp_name, log->dir_fd, fname) != 0 && errno != ENOENT)
      return io_fail(log, errno, "renaming into place", fname, err);
  }
  if (json_object_size(renames) > 0 || json_object_size(rewrites) > 0) {
    int e = sync_fd(log, log->dir_fd);
    if (e) return io_fail(log, e, "syncing directory", "", err);
  }
  json_t *appends = json_incref(json_object_get(log->open_committing, "appends"));
  json_object_foreach(appends, table, tmp) {
    const char *from;
    uint64_t at, len;
    if (!append_fields(table, tmp, &from, &at, &len)) continue; /* not ours: never touch it */
    beam_status st = apply_append(log, table, from, at, len, err);
    if (st != BEAM_OK) {
      json_decref(appends);
      return st;
    }
  }
  /* No fsync: if this line is lost, the commit is still open at the next start and its
   * roll-forward renames nothing and appends the same bytes again (or, the side files gone,
   * finds the appends complete: the tables were fsynced before they were deleted). */
  beam_status st = log_outcome(log, rec_str(log->open_committing, "bundle"), "committed", false, err);
  if (st == BEAM_OK) unlink_sides(log, appends);
  json_decref(appends);
  return st;
}

/* Deletes side files the log does not name: a writer died before its commit point (or
 * before deleting them after a failure or once applied). Only under the exclusive lock, when
 * no commit is open. A file another writer holds flocked is its commit in the making, and
 * stays; so does one that cannot be deleted: it is hidden and harmless. */
static void sweep_temps(jl_log *log) {
  int fd = openat(log->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0) close(fd);
    return;
  }
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (!beam_jsonl_temp_name_parse(de->d_name, NULL)) continue;
    int side = openat(log->dir_fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (side < 0) continue;
    if (flock(side, LOCK_EX | LOCK_NB) == 0) unlinkat(log->dir_fd, de->d_name, 0);
    close(side);
  }
  closedir(d);
}

/* With the exclusive lock held and the log caught up: finishes what a dead writer left. A
 * compaction's next log is only ever written under this lock, so one found now is a dead
 * compactor's. */
static beam_status recover(jl_log *log, bool sweep, beam_error *err) {
  bool crashed = log->open_pending || log->open_committing;
  beam_status st = BEAM_OK;
  if (log->open_pending) st = undo_pending(log, err);
  if (st == BEAM_OK && log->open_committing) st = roll_forward(log, err);
  if (st == BEAM_OK && (sweep || crashed)) sweep_temps(log);
  if (st == BEAM_OK && sweep) unlinkat(log->dir_fd, BEAM_JSONL_LOG_COMPACTING, 0);
  return st;
}

/* ---- The log's life ----------------------------------------------------------------- */

/* Forgets everything read from the log (its file was replaced by a compaction). */
static void reset_state(jl_log *log) {
  map_free(&log->committed, NULL);
  map_free(&log->ledger, ledger_value_free);
  set_open(&log->open_pending, NULL);
  set_open(&log->open_committing, NULL);
  map_free(&log->lengths, length_free);
  log->read = 0;
  log->snapshot_bytes = 0;
}

/* Takes the lock op (LOCK_SH or LOCK_EX) on the log the name points to now (followed, as
 * open follows it): when the file locked was replaced by a compaction meanwhile, the new one
 * is opened and read afresh. A name that cannot be looked at fails the lock: writing on into
 * a file the name no longer points to would lose the commit. */
static beam_status lock_current(jl_log *log, int op, beam_error *err) {
  for (;;) {
    int e = flock_retry(log, op);
    if (e) return io_fail(log, e, "locking", BEAM_JSONL_LOG_NAME, err);
    struct stat locked, named;
    if (fstat(log->fd, &locked) != 0 || fstatat(log->dir_fd, BEAM_JSONL_LOG_NAME, &named, 0) != 0) e = errno;
    if (!e && locked.st_ino == named.st_ino && locked.st_dev == named.st_dev) return BEAM_OK;
    int fd = e ? -1 : openat(log->dir_fd, BEAM_JSONL_LOG_NAME, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
      if (!e) e = errno;
      flock(log->fd, LOCK_UN);
      return io_fail(log, e, "looking up", BEAM_JSONL_LOG_NAME, err);
    }
    flock(log->fd, LOCK_UN);
    close(log->fd);
    log->fd = fd;
    reset_state(log);
  }
}

static beam_status lock_and_recover(jl_log *log, bool sweep, beam_error *err) {
  beam_status st = lock_current(log, LOCK_EX, err);
  if (st != BEAM_OK) return st;
  st = catch_up(log, true, err);
  if (st == BEAM_OK) st = recover(log, sweep, err);
  if (st != BEAM_OK) beam_jsonl_log_unlock(log);
  return st;
}

beam_status beam_jsonl_log_open(jl_log *log, const char *dir, int dir_fd, bool no_sync, beam_error *err) {
  return beam_jsonl_log_open_forgetting(log, dir, dir_fd, no_sync, 0, err);
}

/* forget_messages_before for now: forget_days ago, or "" (keep them all). */
static void set_forget_before(jl_log *log) {
  log->forget_messages_before[0] = '\0';
  if (log->forget_days <= 0) return;
  time_t t = time(NULL) - (time_t)log->forget_days * 86400;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(log->forget_messages_before, sizeof log->forget_messages_before, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static uint64_t compact_min_bytes(void) {
  const char *v = getenv("BEAM_JSONL_LOG_COMPACT_BYTES");
  char *end = NULL;
  unsigned long long n = v && *v ? strtoull(v, &end, 10) : 0;
  return end && *end == '\0' && n > 0 ? (uint64_t)n : (uint64_t)64 << 20;
}

beam_status beam_jsonl_log_open_forgetting(jl_log *log, const char *dir, int dir_fd, bool no_sync, int forget_days,
                                           beam_error *err) {
  memset(log, 0, sizeof *log);
  log->forget_days = forget_days;
  set_forget_before(log);
  log->compact_min = compact_min_bytes();
  log->dir = dir;
  log->dir_fd = dir_fd;
  log->no_sync = no_sync;
  log->fd = openat(dir_fd, BEAM_JSONL_LOG_NAME, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (log->fd < 0) return io_fail(log, errno, "opening", BEAM_JSONL_LOG_NAME, err);
  /* Recover at once, so a directory left by a killed writer is whole again before this
   * process reads or writes it, and its leftovers are deleted even if it never commits. */
  beam_status st = lock_and_recover(log, true, err);
  if (st != BEAM_OK) {
    beam_jsonl_log_close(log);
    return st;
  }
  beam_jsonl_log_unlock(log);
  return BEAM_OK;
}

int beam_jsonl_log_close(jl_log *log) {
  int e = 0;
  if (log->fd >= 0 && close(log->fd) != 0) e = errno;
  log->fd = -1;
  return e;
}

void beam_jsonl_log_free(jl_log *log) {
  beam_jsonl_log_close(log);
  reset_state(log);
}

beam_status beam_jsonl_log_refresh(jl_log *log, beam_error *err) {
  /* A shared lock: no writer is half way through its lines while we read. */
  beam_status st = lock_current(log, LOCK_SH, err);
  if (st != BEAM_OK) return st;
  st = catch_up(log, false, err);
  beam_jsonl_log_unlock(log);
  return st;
}

beam_status beam_jsonl_log_lock(jl_log *log, beam_error *err) { return lock_and_recover(log, false, err); }

void beam_jsonl_log_unlock(jl_log *log) { flock(log->fd, LOCK_UN); }

bool beam_jsonl_log_table_length(const jl_log *log, const char *table, uint64_t *len) {
  return length_get(log, table, len);
}

const json_t *beam_jsonl_log_ledger_spans(const jl_log *log, const char *key) {
  void *v = NULL;
  return map_get(&log->ledger, key, &v) ? ((const jl_ledger_value *)v)->spans : NULL;
}

bool beam_jsonl_log_has_bundle(const jl_log *log, const char *bundle) {
  return map_get(&log->committed, bundle, NULL) || rec_is(log->open_committing, bundle);
}

/* ---- Committing ----------------------------------------------------------------------- */

/* The pending entries still in force (not shadowed), as the log's "ledger" array. */
static json_t *pending_json(const jl_pending *p, const char *committed_at) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && p && i < p->len; i++) {
    const jl_pending_entry *e = &p->items[i];
    void *latest = NULL;
    if (map_get(&p->index, e->key, &latest) && (size_t)(uintptr_t)latest != i + 1) continue;
    json_t *o = json_pack("{s:s, s:s, s:s}", "key", e->key, "file", e->file, "committed_at", committed_at);
    if (o && e->spans && json_object_set(o, "spans", e->spans) != 0) {
      json_decref(o);
      o = NULL;
    }
    if (o && e->replace && json_object_set_new(o, "replace", json_true()) != 0) {
      json_decref(o);
      o = NULL;
    }
    if (!o || json_array_append_new(arr, o) != 0) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

static json_t *commit_record(const char *bundle, json_t *appends, json_t *rewrites, json_t *retracts,
                             const jl_pending *pending) {
  char now[32];
  iso_now(now);
  json_t *ledger = pending_json(pending, now);
  bool retracting = json_object_size(rewrites) > 0 || json_array_size(retracts) > 0;
  bool appending = json_object_size(appends) > 0 || retracting;
  json_t *rec = ledger ? json_pack("{s:s, s:s}", "bundle", bundle, "state", appending ? "committing" : "committed")
                       : NULL;
  bool ok = rec != NULL;
  if (ok && appending) ok = json_object_set(rec, "appends", appends) == 0;
  if (ok && json_object_size(rewrites) > 0) ok = json_object_set(rec, "rewrites", rewrites) == 0;
  if (ok && json_array_size(retracts) > 0) ok = json_object_set(rec, "retracts", retracts) == 0;
  if (ok && json_array_size(ledger) > 0) ok = json_object_set(rec, "ledger", ledger) == 0;
  json_decref(ledger);
  if (!ok) {
    json_decref(rec);
    return NULL;
  }
  return rec;
}

beam_status beam_jsonl_log_table_end(jl_log *log, const char *table, uint64_t *end, beam_error *err) {
  char fname[160];
  snprintf(fname, sizeof fname, "%s.jsonl", table);
  *end = 0;
  int fd = openat(log->dir_fd, fname, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return BEAM_OK; /* the append creates it */
  if (fd < 0 && errno == ELOOP)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "jsonl %s: %s is a symlink: commits append to it at "
                          "recorded offsets, so it must be a regular file", log->dir, fname);
  if (fd < 0) return io_fail(log, errno, "opening", fname, err);
  struct stat sb;
  int e = fstat(fd, &sb) != 0 ? errno : 0;
  uint64_t known = 0;
  if (!e && !S_ISREG(sb.st_mode)) {
    close(fd);
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "jsonl %s: %s is not a regular file: commits append to it "
                          "at recorded offsets, so it must be one", log->dir, fname);
  }
  if (!e) *end = (uint64_t)sb.st_size;
  if (!e && length_get(log, table, &known) && known < *end) {
    /* Bytes no commit record accounts for: never shown as committed rows. */
    if (ftruncate(fd, (off_t)known) != 0 || sync_fd(log, fd) != 0)
      e = errno;
    else
      *end = known;
  }
  close(fd);
  if (e) return io_fail(log, e, "checking the committed length of", fname, err);
  return BEAM_OK;
}

beam_status beam_jsonl_log_commit(jl_log *log, const char *bundle, json_t *appends, const jl_pending *pending,
                                  beam_error *err) {
  return beam_jsonl_log_commit_retracting(log, bundle, appends, NULL, NULL, pending, err);
}

/* ---- Compaction (jsonl_log.h) ------------------------------------------------------------ */

/* Writes the snapshot into a fresh BEAM_JSONL_LOG_COMPACTING, durable and locked, into *fd. */
static beam_status write_next_log(jl_log *log, int *fd, beam_error *err) {
  *fd = openat(log->dir_fd, BEAM_JSONL_LOG_COMPACTING, O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
               0644);
  if (*fd < 0) return io_fail(log, errno, "creating", BEAM_JSONL_LOG_COMPACTING, err);
  beam_status st = beam_jsonl_log_write_snapshot(log, *fd, log->forget_messages_before, err);
  int e = st == BEAM_OK ? sync_fd(log, *fd) : 0;
  if (e) return io_fail(log, e, "syncing", BEAM_JSONL_LOG_COMPACTING, err);
  /* Locked before it takes the log's name: a writer that opens it then waits for this commit. */
  if (st == BEAM_OK && flock(*fd, LOCK_EX | LOCK_NB) != 0)
    return io_fail(log, errno, "locking", BEAM_JSONL_LOG_COMPACTING, err);
  return st;
}

/* After a commit, under the exclusive lock: once the log is past compact_min and twice its
 * last snapshot, replaces it by a snapshot of its state, message units and stream bundles
 * older than forget_days left out, and reads that afresh (so a long stream's memory holds
 * its recent units only). Failing before the rename leaves the log as it was: only logged,
 * and tried again when the log has grown as much again. */
static beam_status maybe_compact(jl_log *log, beam_error *err) {
  uint64_t due = log->snapshot_bytes * 2 > log->compact_min ? log->snapshot_bytes * 2 : log->compact_min;
  if (log->read < due || log->open_pending || log->open_committing) return BEAM_OK;
  struct stat by_name, held;
  if (fstatat(log->dir_fd, BEAM_JSONL_LOG_NAME, &by_name, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(by_name.st_mode) ||
      fstat(log->fd, &held) != 0) {
    log->compact_min = UINT64_MAX; /* a symlinked log: a rename would replace the link, not its file */
    return BEAM_OK;
  }
  set_forget_before(log);
  int fd = -1;
  beam_error why = {0};
  beam_status st = write_next_log(log, &fd, &why);
  if (st == BEAM_OK && fchmod(fd, held.st_mode & 07777) != 0) /* the old log's mode, not the umask's */
    st = io_fail(log, errno, "chmod", BEAM_JSONL_LOG_COMPACTING, &why);
  if (st == BEAM_OK && renameat(log->dir_fd, BEAM_JSONL_LOG_COMPACTING, log->dir_fd, BEAM_JSONL_LOG_NAME) != 0)
    st = io_fail(log, errno, "renaming", BEAM_JSONL_LOG_COMPACTING, &why);
  if (st != BEAM_OK) {
    if (fd >= 0) unlinkat(log->dir_fd, BEAM_JSONL_LOG_COMPACTING, 0), close(fd);
    beam_log(BEAM_LOG_WARN, "jsonl %s: the bundle log was not compacted: %s", log->dir, why.message);
    log->compact_min = log->read * 2;
    return BEAM_OK;
  }
  /* Commits now go to the new log: its name must be durable before one does (a commit
   * syncs the directory first while dir_unsynced). */
  int e = sync_fd(log, log->dir_fd);
  log->dir_unsynced = e != 0;
  flock(log->fd, LOCK_UN); /* the old log's waiters find it replaced */
  close(log->fd);
  log->fd = fd;
  reset_state(log);
  if (e) return io_fail(log, e, "syncing the directory after compacting", BEAM_JSONL_LOG_NAME, err);
  return catch_up(log, true, err);
}

/* Deletes the next versions a retraction wrote (its commit did not happen). */
static void unlink_rewrites(jl_log *log, const json_t *rewrites) {
  const char *table;
  json_t *r;
  json_object_foreach((json_t *)rewrites, table, r) {
    const char *from = rec_str(r, "from");
    char from_table[160];
    if (from && beam_jsonl_temp_name_parse(from, from_table) && strcmp(from_table, table) == 0)
      unlinkat(log->dir_fd, from, 0);
  }
}

/* After the commit point: a compaction's failure leaves the commit made, and says so. */
static beam_status compact_after(jl_log *log, const char *bundle, beam_error *err) {
  beam_error why = {0};
  beam_status st = maybe_compact(log, &why);
  if (st != BEAM_OK)
    return beam_error_set(err, st, "bundle %s is committed, but compacting the log after it failed: %s", bundle,
                          why.message);
  return BEAM_OK;
}

beam_status beam_jsonl_log_commit_retracting(jl_log *log, const char *bundle, json_t *appends, json_t *rewrites,
                                             json_t *retracts, const jl_pending *pending, beam_error *err) {
  int e = log->dir_unsynced ? sync_fd(log, log->dir_fd) : 0;
  if (e) {
    unlink_sides(log, appends);
    unlink_rewrites(log, rewrites);
    return io_fail(log, e, "syncing the directory (the compacted log's name)", BEAM_JSONL_LOG_NAME, err);
  }
  log->dir_unsynced = false;
  json_t *rec = commit_record(bundle, appends, rewrites, retracts, pending);
  if (!rec) {
    unlink_sides(log, appends);
    unlink_rewrites(log, rewrites);
    return nomem(err);
  }
  bool in_log = false;
  bool open = json_object_size(appends) > 0 || json_object_size(rewrites) > 0 || json_array_size(retracts) > 0;
  beam_status st = log_write(log, rec, true, &in_log, err);
  json_decref(rec);
  if (!open) return st == BEAM_OK ? compact_after(log, bundle, err) : st; /* the one record was the whole commit */
  if (st != BEAM_OK) {
    /* The record may not be durable: take the commit back before anything is appended.
     * If even that cannot be logged, the commit stays open and recovery completes it, so its
     * side files must stay. */
    if (!in_log || log_outcome(log, bundle, "rolled_back", true, NULL) == BEAM_OK) {
      unlink_sides(log, appends);
      unlink_rewrites(log, rewrites);
    }
    return st;
  }
  beam_error why = {0};
  st = roll_forward(log, &why);
  if (st != BEAM_OK)
    return beam_error_set(err, st, "bundle %s is committed, but completing it failed (the next commit or open of "
                          "the directory completes it): %s", bundle, why.message);
  return compact_after(log, bundle, err);
}

/* ---- The ledger ------------------------------------------------------------------------ */

static void hit_set(beam_sink_ledger_hit *hit, const char *committed_at, const char *file) {
  hit->found = true;
  snprintf(hit->committed_at, sizeof hit->committed_at, "%s", committed_at ? committed_at : "");
  snprintf(hit->file, sizeof hit->file, "%s", file ? file : "");
}

/* The entry for key in the open commit left by a dead writer (committed, not yet applied). */
static const json_t *open_commit_entry(const jl_log *log, const char *key) {
  const json_t *entries = json_object_get(log->open_committing, "ledger"), *e, *found = NULL;
  size_t i;
  json_array_foreach(entries, i, e) {
    const char *k = rec_str(e, "key");
    if (k && strcmp(k, key) == 0) found = e; /* the last one, as applying them in order would */
  }
  return found;
}

static const jl_pending_entry *pending_find(const jl_pending *p, const char *key) {
  void *idx = NULL;
  if (!p || !map_get(&p->index, key, &idx)) return NULL;
  return &p->items[(size_t)(uintptr_t)idx - 1];
}

void beam_jsonl_log_ledger_find(const jl_log *log, const jl_pending *pending, const char *key,
                                beam_sink_ledger_hit *hit) {
  memset(hit, 0, sizeof *hit);
  const jl_pending_entry *p = pending_find(pending, key);
  if (p && p->replace) {
    hit_set(hit, p->recorded_at, p->file);
    return;
  }
  void *v = NULL;
  const json_t *open = NULL;
  if (map_get(&log->ledger, key, &v)) {
    const jl_ledger_value *lv = v;
    hit_set(hit, lv->committed_at, lv->file);
  } else if ((open = open_commit_entry(log, key)) != NULL) {
    hit_set(hit, rec_str(open, "committed_at"), rec_str(open, "file"));
  } else if (p) {
    hit_set(hit, p->recorded_at, p->file);
  }
}

/* A walk over the whole ledger: a file's units share no hash slot. A writer looks a file up
 * once per bundle, and the in-memory ledger holds one entry per unit. */
beam_status beam_jsonl_log_ledger_ranges(const jl_log *log, const jl_pending *pending, const char *file_id,
                                         beam_sink_ranges *out, beam_error *err) {
  beam_status st = BEAM_OK;
  for (size_t i = 0; st == BEAM_OK && i < log->ledger.cap; i++)
    if (log->ledger.slots[i].key) st = beam_sink_ranges_add_unit(out, file_id, log->ledger.slots[i].key);
  const json_t *entries = json_object_get(log->open_committing, "ledger"), *e;
  size_t i;
  json_array_foreach(entries, i, e) {
    const char *k = rec_str(e, "key");
    if (k && st == BEAM_OK) st = beam_sink_ranges_add_unit(out, file_id, k);
  }
  for (size_t j = 0; pending && st == BEAM_OK && j < pending->len; j++)
    st = beam_sink_ranges_add_unit(out, file_id, pending->items[j].key);
  return st == BEAM_OK ? BEAM_OK : nomem(err);
}

beam_status beam_jsonl_log_ledger_range_units(const jl_log *log, beam_sink_unit_fn each, void *ctx, beam_error *err) {
  beam_status st = BEAM_OK;
  for (size_t i = 0; st == BEAM_OK && i < log->ledger.cap; i++) {
    const jl_map_slot *slot = &log->ledger.slots[i];
    if (slot->key && beam_sink_unit_is_range(slot->key))
      st = each(ctx, slot->key, ((const jl_ledger_value *)slot->val)->file, err);
  }
  return st;
}

bool beam_jsonl_log_ledger_any(const jl_log *log, const jl_pending *pending) {
  return log->ledger.len > 0 || json_array_size(json_object_get(log->open_committing, "ledger")) > 0 ||
         (pending && pending->len > 0);
}

/* ---- The open bundle's entries ------------------------------------------------------------ */

/* A copy of s that JSON can carry: bytes of invalid UTF-8 become '?' (a file name is only
 * informative; keys are checked instead). */
static char *utf8_copy(const char *s) {
  json_t *probe = json_string(s);
  char *copy = strdup(s);
  if (!probe && copy)
    for (char *c = copy; *c; c++)
      if ((unsigned char)*c >= 0x80) *c = '?';
  json_decref(probe);
  return copy;
}

beam_status beam_jsonl_pending_add(jl_pending *p, const char *key, const char *file, bool replace,
                                   beam_error *err) {
  json_t *probe = json_string(key);
  if (!probe) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ledger_record: the key is not UTF-8");
  json_decref(probe);
  void *idx = NULL;
  bool had = map_get(&p->index, key, &idx);
  if (had && !replace) return BEAM_OK;
  if (p->len == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 16;
    jl_pending_entry *items = realloc(p->items, cap * sizeof *items);
    if (!items) return nomem(err);
    p->items = items;
    p->cap = cap;
  }
  jl_pending_entry *e = &p->items[p->len];
  memset(e, 0, sizeof *e);
  e->key = strdup(key);
  e->file = utf8_copy(file);
  e->replace = replace;
  e->shadowed = had ? (size_t)(uintptr_t)idx : 0;
  iso_now(e->recorded_at);
  if (!e->key || !e->file || map_put(&p->index, key, (void *)(uintptr_t)(p->len + 1), NULL) != BEAM_OK) {
    free(e->key);
    free(e->file);
    return nomem(err);
  }
  p->len++;
  return BEAM_OK;
}

void beam_jsonl_pending_set_spans(jl_pending *p, const char *key, json_t *spans) {
  void *idx = NULL;
  if (!map_get(&p->index, key, &idx)) {
    json_decref(spans);
    return;
  }
  jl_pending_entry *e = &p->items[(size_t)(uintptr_t)idx - 1];
  json_decref(e->spans);
  e->spans = spans;
}

void beam_jsonl_pending_truncate(jl_pending *p, size_t len) {
  while (p->len > len) {
    jl_pending_entry *e = &p->items[--p->len];
    /* Restoring the value of a key present cannot fail (map_put). */
    if (e->shadowed)
      map_put(&p->index, e->key, (void *)(uintptr_t)e->shadowed, NULL);
    else
      map_del(&p->index, e->key);
    free(e->key);
    free(e->file);
    json_decref(e->spans);
  }
}

void beam_jsonl_pending_free(jl_pending *p) {
  beam_jsonl_pending_truncate(p, 0);
  free(p->items);
  map_free(&p->index, NULL);
  memset(p, 0, sizeof *p);
}
