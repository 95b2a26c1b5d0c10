/* Retracting a split file's committed ranges from a JSON-lines directory (see jsonl_retract.h). */
#include "jsonl_retract.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_range_copy.h"
#include "local_file.h"

typedef struct cut {
  uint64_t start, end;
} cut;

static int by_start(const void *a, const void *b) {
  uint64_t x = ((const cut *)a)->start, y = ((const cut *)b)->start;
  return x < y ? -1 : x > y;
}

static beam_status io_fail(const jl_log *log, int e, const char *what, const char *name, beam_error *err) {
  return beam_error_set(err, BEAM_ERR_IO, "jsonl %s: retracting: %s %s: %s", log->dir, what, name, strerror(e));
}

static beam_status refuse(const jl_log *log, const char *fname, const char *why, beam_error *err) {
  return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                        "jsonl %s: cannot retract rows from %s: %s; nothing is retracted (remove that file's rows "
                        "by hand, or load with --reload)",
                        log->dir, fname, why);
}

/* Adds span ([start, end] of table) to cuts: {"t": [[start, end], ...]}. */
static beam_status add_cut(json_t *cuts, const char *table, const json_t *span) {
  json_t *list = json_object_get(cuts, table);
  if (!list && (json_object_set_new(cuts, table, list = json_array()) != 0 || !list)) return BEAM_ERR_NOMEM;
  json_t *copy = json_deep_copy(span);
  return copy && json_array_append_new(list, copy) == 0 ? BEAM_OK : BEAM_ERR_NOMEM;
}

/* The byte at off of fd into *c; false when it cannot be read. */
static bool byte_at(int fd, uint64_t off, char *c) { return pread(fd, c, 1, (off_t)off) == 1; }

/* Counts the lines of [start, end) of fd (0 or an errno). */
static int count_lines(int fd, uint64_t start, uint64_t end, int64_t *lines) {
  char buf[1 << 16];
  for (uint64_t at = start; at < end;) {
    size_t want = end - at < sizeof buf ? (size_t)(end - at) : sizeof buf;
    ssize_t got = pread(fd, buf, want, (off_t)at);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return got < 0 ? errno : EIO;
    for (ssize_t i = 0; i < got; i++) *lines += buf[i] == '\n';
    at += (uint64_t)got;
  }
  return 0;
}

/* Creates a side file for table's next version (a fresh temp name into name). */
static int create_side(const jl_log *log, const char *table, char name[BEAM_JSONL_TEMP_NAME_MAX]) {
  for (int tries = 0; tries < 100; tries++) {
    beam_jsonl_temp_name(table, name);
    int fd = openat(log->dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

/* Checks the cuts against the table's file (committed length, line boundaries), counting
 * their lines into *lines. */
static beam_status check_cuts(const jl_log *log, int fd, const char *fname, const cut *cuts, size_t n, uint64_t end,
                              int64_t *lines, beam_error *err) {
  uint64_t prev = 0;
  for (size_t i = 0; i < n; i++) {
    char before = '\n', last = 0;
    if (cuts[i].start < prev || cuts[i].end > end || cuts[i].end <= cuts[i].start)
      return refuse(log, fname, "the ledger's spans overlap or pass the file's end", err);
    if ((cuts[i].start > 0 && !byte_at(fd, cuts[i].start - 1, &before)) || !byte_at(fd, cuts[i].end - 1, &last) ||
        before != '\n' || last != '\n')
      return refuse(log, fname, "a span does not fall on line boundaries (the file was edited?)", err);
    int e = count_lines(fd, cuts[i].start, cuts[i].end, lines);
    if (e) return io_fail(log, e, "reading", fname, err);
    prev = cuts[i].end;
  }
  return BEAM_OK;
}

/* Writes table's next version without the cuts (list: [[start, end], ...]) to a side file,
 * fsynced, and adds it to rewrites. */
static beam_status rewrite_table(jl_log *log, beam_sink *s, const char *table, const json_t *list, json_t *rewrites,
                                 beam_error *err) {
  char fname[160];
  snprintf(fname, sizeof fname, "%s.jsonl", table);
  uint64_t known = 0, end = 0;
  if (!beam_jsonl_log_table_length(log, table, &known))
    return refuse(log, fname, "the log knows no committed length for it", err);
  beam_status st = beam_jsonl_log_table_end(log, table, &end, err); /* cuts an uncommitted tail */
  if (st != BEAM_OK) return st;
  if (end != known) return refuse(log, fname, "it is shorter than its committed length (cut by hand?)", err);
  size_t n = 0;
  cut *cuts = calloc(json_array_size(list) + 1, sizeof *cuts);
  if (!cuts) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t i;
  const json_t *c;
  json_array_foreach(list, i, c) {
    json_int_t a = json_integer_value(json_array_get(c, 0)), b = json_integer_value(json_array_get(c, 1));
    if (a >= 0 && b > a) cuts[n++] = (cut){(uint64_t)a, (uint64_t)b}; /* an empty span cuts nothing */
  }
  qsort(cuts, n, sizeof *cuts, by_start);
  int fd = openat(log->dir_fd, fname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  int64_t lines = 0;
  st = fd < 0 ? io_fail(log, errno, "opening", fname, err) : check_cuts(log, fd, fname, cuts, n, end, &lines, err);
  char side[BEAM_JSONL_TEMP_NAME_MAX] = "";
  int out = st == BEAM_OK ? create_side(log, table, side) : -1;
  if (st == BEAM_OK && out < 0) st = io_fail(log, errno, "creating the next version of", fname, err);
  uint64_t pos = 0, len = 0;
  int e = 0;
  for (size_t k = 0; st == BEAM_OK && !e && k <= n; k++) {
    uint64_t upto = k < n ? cuts[k].start : end;
    e = upto > pos ? beam_sink_copy_range(fd, pos, out, len, upto - pos) : 0;
    len += upto - pos;
    if (k < n) pos = cuts[k].end;
  }
  if (st == BEAM_OK && !e && !log->no_sync) e = beam_local_fsync(out);
  if (st == BEAM_OK && e) st = io_fail(log, e, "writing the next version of", fname, err);
  json_t *cut_list = json_array();
  for (size_t k = 0; st == BEAM_OK && k < n; k++)
    if (!cut_list || json_array_append_new(cut_list, json_pack("[I, I]", (json_int_t)cuts[k].start,
                                                                (json_int_t)cuts[k].end)) != 0)
      st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (st == BEAM_OK && (!cut_list || json_object_set_new(rewrites, table,
                                                         json_pack("{s:s, s:I, s:O}", "from", side, "len",
                                                                   (json_int_t)len, "cuts", cut_list)) != 0))
    st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (st == BEAM_OK && beam_sink_note_retracted(s, table, lines) != BEAM_OK)
    st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  json_decref(cut_list);
  if (fd >= 0) close(fd);
  if (out >= 0) close(out);
  if (st != BEAM_OK && side[0]) unlinkat(log->dir_fd, side, 0);
  free(cuts);
  return st;
}

beam_status beam_jsonl_retract_prepare(jl_log *log, beam_sink *s, const char *const *file_ids, size_t n,
                                       json_t *rewrites, json_t *retracts, beam_error *err) {
  json_t *cuts = json_object();
  beam_status st = cuts ? BEAM_OK : BEAM_ERR_NOMEM;
  for (size_t slot = 0; st == BEAM_OK && slot < log->ledger.cap; slot++) {
    const char *key = log->ledger.slots[slot].key;
    bool ours = false;
    for (size_t f = 0; key && !ours && f < n; f++) ours = beam_sink_unit_is_range_of(key, file_ids[f]);
    const json_t *spans = ours ? beam_jsonl_log_ledger_spans(log, key) : NULL;
    if (!spans) continue; /* another file's, or an entry of a release that recorded no spans */
    if (json_array_append_new(retracts, json_string(key)) != 0) st = BEAM_ERR_NOMEM;
    const char *table;
    json_t *span;
    json_object_foreach((json_t *)spans, table, span) {
      if (st == BEAM_OK && beam_sink_table_name_valid(table)) st = add_cut(cuts, table, span);
    }
  }
  if (st != BEAM_OK) st = beam_error_set(err, st, "out of memory");
  const char *table;
  json_t *list;
  json_object_foreach(cuts, table, list) {
    if (st == BEAM_OK) st = rewrite_table(log, s, table, list, rewrites, err);
  }
  json_decref(cuts);
  if (st != BEAM_OK) { /* nothing of it happens: its next versions go */
    json_t *r;
    json_object_foreach(rewrites, table, r) unlinkat(log->dir_fd, json_string_value(json_object_get(r, "from")), 0);
    json_object_clear(rewrites);
    json_array_clear(retracts);
  }
  return st;
}
