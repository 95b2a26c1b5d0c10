/* Shuffle buffers, spilled sorted runs and their k-way merge (see local_shuffle.h). */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beam/coder.h"
#include "local_shuffle.h"
#include "local_shuffle_sort.h"
#include "local_spill.h"

enum {
  MIN_READ_BUFFER = 4096,
  MAX_READ_BUFFER = 1 << 20,
  SPILL_WRITE_CHUNK = 64 * 1024,
  /* A merge reads at most fan-in runs at once: the read buffers' budget over 16 KiB, within
   * [8, 256]; more runs are first merged into fewer (more passes over the data, bounded
   * memory). */
  MERGE_BUFFER = 16 * 1024,
  MIN_FAN_IN = 8,
  MAX_FAN_IN = 256,
};

/* A run: records in shuffle order (sorted shuffles, local_shuffle_sort.h) or in write order.
 * In memory, order[] gives each record's offset in mem (and its key's hash); on disk, the
 * records are length bytes at offset of fd. */
typedef struct shuffle_run {
  int fd;
  int64_t offset, length;
  uint8_t *mem;
  beam_shuffle_entry *order;
  size_t n_records;
} shuffle_run;

struct beam_shuffle {
  pthread_mutex_t mu;
  char *what, *temp_dir;
  bool sorted;
  shuffle_run *runs;
  size_t n_runs, cap_runs;
  int *fds;
  size_t n_fds, cap_fds;
  size_t spilled_runs;
  int64_t bytes, memory_bytes, records;
};

struct beam_shuffle_writer {
  beam_shuffle *sh;
  size_t budget;
  beam_buf buf;      /* records, back to back */
  beam_shuffle_entry *entries; /* where each record starts in buf, its key's hash */
  size_t n, cap;
  int fd;            /* this writer's spill file, opened on the first spill */
  int64_t file_size;
  beam_buf out;      /* write-behind buffer for a spill */
  /* What it wrote, added to its shuffle's totals at close: an atomic add per record on the
   * totals every thread's writer shares would bounce their cache line between the cores. */
  int64_t bytes, records;
};

bool beam_shuffle_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*p >= end) return false;
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

/* Records are read in key order, scattered over a buffer of write order: each one's first
 * touch would wait on memory. The one PREFETCH_AHEAD places on is asked for beforehand (its
 * first lines: key, lengths and the start of the value). */
enum { PREFETCH_AHEAD = 8 };

static inline void prefetch_record(const uint8_t *rec) {
  __builtin_prefetch(rec);
  __builtin_prefetch(rec + 64);
  __builtin_prefetch(rec + 128);
}

/* Parses the record at p (before end): its key and value; false when cut short. */
static bool parse_record(const uint8_t *p, const uint8_t *end, const uint8_t **key, size_t *klen,
                         const uint8_t **val, size_t *vlen, size_t *total) {
  const uint8_t *start = p;
  uint64_t k, v;
  if (!beam_shuffle_varint(&p, end, &k) || (uint64_t)(end - p) < k) return false;
  *key = p;
  *klen = (size_t)k;
  p += k;
  if (!beam_shuffle_varint(&p, end, &v) || (uint64_t)(end - p) < v) return false;
  *val = p;
  *vlen = (size_t)v;
  p += v;
  *total = (size_t)(p - start);
  return true;
}

beam_status beam_shuffle_new(const char *what, bool sorted, const char *temp_dir, beam_shuffle **out, beam_error *err) {
  beam_shuffle *sh = calloc(1, sizeof *sh);
  if (!sh) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  sh->what = strdup(what);
  sh->temp_dir = strdup(temp_dir);
  sh->sorted = sorted;
  if (!sh->what || !sh->temp_dir) {
    beam_shuffle_free(sh);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  pthread_mutex_init(&sh->mu, NULL);
  *out = sh;
  return BEAM_OK;
}

void beam_shuffle_free(beam_shuffle *sh) {
  if (!sh) return;
  for (size_t i = 0; i < sh->n_runs; i++) {
    free(sh->runs[i].mem);
    free(sh->runs[i].order);
  }
  for (size_t i = 0; i < sh->n_fds; i++) close(sh->fds[i]);
  free(sh->runs);
  free(sh->fds);
  free(sh->what);
  free(sh->temp_dir);
  pthread_mutex_destroy(&sh->mu);
  free(sh);
}

int64_t beam_shuffle_bytes(const beam_shuffle *sh) { return sh->bytes; }
int64_t beam_shuffle_memory_bytes(const beam_shuffle *sh) { return sh->memory_bytes; }
int64_t beam_shuffle_records(const beam_shuffle *sh) { return sh->records; }
size_t beam_shuffle_spilled_runs(const beam_shuffle *sh) { return sh->spilled_runs; }

/* Under sh->mu. */
static beam_status add_run(beam_shuffle *sh, const shuffle_run *run, beam_error *err) {
  if (sh->n_runs == sh->cap_runs) {
    size_t cap = sh->cap_runs ? sh->cap_runs * 2 : 16;
    shuffle_run *grown = realloc(sh->runs, cap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    sh->runs = grown;
    sh->cap_runs = cap;
  }
  sh->runs[sh->n_runs++] = *run;
  return BEAM_OK;
}

beam_status beam_shuffle_writer_new(beam_shuffle *sh, size_t budget, beam_shuffle_writer **out, beam_error *err) {
  beam_shuffle_writer *w = calloc(1, sizeof *w);
  if (!w) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  w->sh = sh;
  w->budget = budget;
  w->fd = -1;
  *out = w;
  return BEAM_OK;
}

static beam_status sort_buffer(beam_shuffle_writer *w, beam_error *err) {
  return w->sh->sorted ? beam_shuffle_sort(w->entries, w->n, w->buf.data, err) : BEAM_OK;
}

static beam_status open_spill_file(beam_shuffle_writer *w, beam_error *err) {
  beam_shuffle *sh = w->sh;
  beam_status s = beam_spill_open(sh->temp_dir, sh->what, &w->fd, err);
  if (s != BEAM_OK) return s;
  pthread_mutex_lock(&sh->mu);
  if (sh->n_fds == sh->cap_fds) {
    size_t cap = sh->cap_fds ? sh->cap_fds * 2 : 8;
    int *grown = realloc(sh->fds, cap * sizeof *grown);
    if (grown) sh->fds = grown, sh->cap_fds = cap;
  }
  bool ok = sh->n_fds < sh->cap_fds;
  if (ok) sh->fds[sh->n_fds++] = w->fd; /* the shuffle closes it: its runs live there */
  pthread_mutex_unlock(&sh->mu);
  if (!ok) {
    close(w->fd);
    w->fd = -1;
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  return BEAM_OK;
}

/* Sorts the buffer and appends it as a run to the writer's file. */
static beam_status spill(beam_shuffle_writer *w, beam_error *err) {
  beam_shuffle *sh = w->sh;
  beam_status s = w->fd < 0 ? open_spill_file(w, err) : BEAM_OK;
  if (s == BEAM_OK) s = sort_buffer(w, err);
  if (s != BEAM_OK) return s;
  int64_t start = w->file_size;
  for (size_t i = 0; s == BEAM_OK && i < w->n; i++) {
    if (i + PREFETCH_AHEAD < w->n) prefetch_record(w->buf.data + w->entries[i + PREFETCH_AHEAD].offset);
    const uint8_t *rec = w->buf.data + w->entries[i].offset, *end = w->buf.data + w->buf.len;
    const uint8_t *k, *v;
    size_t kl = 0, vl = 0, total = 0; /* set by parse_record; -O3 cannot see it */
    parse_record(rec, end, &k, &kl, &v, &vl, &total);
    if (beam_buf_append(&w->out, rec, total) != BEAM_OK) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    if (s == BEAM_OK && (w->out.len >= SPILL_WRITE_CHUNK || i + 1 == w->n)) {
      s = beam_spill_write(w->fd, w->file_size, w->out.data, w->out.len, sh->temp_dir, sh->what, err);
      w->file_size += (int64_t)w->out.len;
      beam_buf_reset(&w->out);
    }
  }
  if (s != BEAM_OK) return s;
  shuffle_run run = {.fd = w->fd, .offset = start, .length = w->file_size - start, .n_records = w->n};
  pthread_mutex_lock(&sh->mu);
  s = add_run(sh, &run, err);
  sh->spilled_runs++;
  pthread_mutex_unlock(&sh->mu);
  w->n = 0;
  beam_buf_reset(&w->buf);
  return s;
}

beam_status beam_shuffle_write(beam_shuffle_writer *w, const uint8_t *key, size_t key_len, const uint8_t *value,
                               size_t value_len, beam_error *err) {
  size_t rec = key_len + value_len + 20;
  /* The entries twice: the sort's scratch is as large. */
  if (w->n && w->buf.len + rec + 2 * (w->n + 1) * sizeof *w->entries > w->budget) {
    beam_status s = spill(w, err);
    if (s != BEAM_OK) return s;
  }
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 1024;
    beam_shuffle_entry *grown = realloc(w->entries, cap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory buffering %s", w->sh->what);
    w->entries = grown;
    w->cap = cap;
  }
  w->entries[w->n] = (beam_shuffle_entry){w->sh->sorted ? beam_shuffle_key_hash(key, key_len) : 0, w->buf.len};
  if (beam_coder_encode_varint(&w->buf, key_len) != BEAM_OK || beam_buf_append(&w->buf, key, key_len) != BEAM_OK ||
      beam_coder_encode_varint(&w->buf, value_len) != BEAM_OK || beam_buf_append(&w->buf, value, value_len) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory buffering %s", w->sh->what);
  w->bytes += (int64_t)(w->buf.len - w->entries[w->n].offset);
  w->records++;
  w->n++;
  return BEAM_OK;
}

size_t beam_shuffle_writer_pending(const beam_shuffle_writer *w) { return w->buf.len + 2 * w->n * sizeof *w->entries; }

void beam_shuffle_writer_discard(beam_shuffle_writer *w) {
  if (!w) return;
  beam_buf_free(&w->buf);
  beam_buf_free(&w->out);
  free(w->entries);
  free(w);
}

beam_status beam_shuffle_writer_close(beam_shuffle_writer *w, bool keep_in_memory, beam_error *err) {
  beam_status s = BEAM_OK;
  pthread_mutex_lock(&w->sh->mu);
  w->sh->bytes += w->bytes;
  w->sh->records += w->records;
  pthread_mutex_unlock(&w->sh->mu);
  if (w->n && !keep_in_memory) s = spill(w, err);
  else if (w->n && (s = sort_buffer(w, err)) == BEAM_OK) {
    shuffle_run run = {.fd = -1, .mem = w->buf.data, .order = w->entries, .n_records = w->n, .length = (int64_t)w->buf.len};
    beam_shuffle *sh = w->sh;
    pthread_mutex_lock(&sh->mu);
    s = add_run(sh, &run, err);
    if (s == BEAM_OK) sh->memory_bytes += (int64_t)(w->buf.len + w->n * sizeof *w->entries);
    pthread_mutex_unlock(&sh->mu);
    if (s == BEAM_OK) w->buf = (beam_buf)BEAM_BUF_INIT, w->entries = NULL; /* the run owns them now */
  }
  beam_shuffle_writer_discard(w);
  return s;
}

/* --- reading: a cursor per run, a heap over the cursors' current keys ---------------------- */

typedef struct run_cursor {
  const shuffle_run *run;
  size_t index;           /* tie-break: runs in the order they were handed over */
  uint8_t *buf;           /* file runs: a window of the run */
  size_t cap, start, end;
  int64_t read_pos;       /* bytes of the run read into buf so far */
  size_t next;            /* memory runs: next record */
  bool primed;            /* its first record has been read */
  bool valid;
  const uint8_t *key, *val;
  size_t klen, vlen;
  uint64_t hash;          /* sorted shuffles: the key's (local_shuffle_sort.h) */
} run_cursor;

struct beam_shuffle_reader {
  pthread_mutex_t mu;
  beam_shuffle *sh;
  run_cursor *cur;
  size_t n;
  size_t *heap, n_heap;
  size_t seq;             /* unsorted: the run being read */
  beam_buf key;           /* the current group's key */
  bool failed;
};

static beam_status cursor_advance(run_cursor *c, beam_error *err) {
  const shuffle_run *run = c->run;
  size_t total;
  if (run->fd < 0) {
    c->valid = c->next < run->n_records;
    if (!c->valid) return BEAM_OK;
    if (c->next + PREFETCH_AHEAD < run->n_records) prefetch_record(run->mem + run->order[c->next + PREFETCH_AHEAD].offset);
    const beam_shuffle_entry *e = &run->order[c->next++];
    parse_record(run->mem + e->offset, run->mem + run->length, &c->key, &c->klen, &c->val, &c->vlen, &total);
    c->hash = e->hash;
    return BEAM_OK;
  }
  if (!c->buf) { /* allocated on first use, freed when the run is done */
    if (!(c->buf = malloc(c->cap))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory reading a spilled run");
  }
  for (;;) {
    if (parse_record(c->buf + c->start, c->buf + c->end, &c->key, &c->klen, &c->val, &c->vlen, &total)) {
      c->start += total;
      c->valid = true;
      c->hash = beam_shuffle_key_hash(c->key, c->klen);
      return BEAM_OK;
    }
    if (c->read_pos >= run->length) {
      c->valid = false;
      if (c->start != c->end) return beam_error_set(err, BEAM_ERR_MALFORMED, "a spilled run ends inside a record");
      free(c->buf);
      c->buf = NULL;
      return BEAM_OK;
    }
    /* Slide what is left to the front, grow when one record does not fit, read more. */
    memmove(c->buf, c->buf + c->start, c->end - c->start);
    c->end -= c->start;
    c->start = 0;
    if (c->end == c->cap) {
      uint8_t *grown = realloc(c->buf, c->cap * 2);
      if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory reading a spilled run");
      c->buf = grown;
      c->cap *= 2;
    }
    size_t want = c->cap - c->end, got = 0;
    if ((int64_t)want > run->length - c->read_pos) want = (size_t)(run->length - c->read_pos);
    beam_status s = beam_spill_read(run->fd, run->offset + c->read_pos, c->buf + c->end, want, &got, err);
    if (s != BEAM_OK) return s;
    if (got == 0) return beam_error_set(err, BEAM_ERR_IO, "a spilled run is shorter than written");
    c->end += got;
    c->read_pos += (int64_t)got;
  }
}

static bool cursor_less(const run_cursor *a, const run_cursor *b) {
  int c = beam_shuffle_key_order(a->hash, a->key, a->klen, b->hash, b->key, b->klen);
  return c < 0 || (c == 0 && a->index < b->index);
}

static void sift_down(beam_shuffle_reader *r, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, m = i;
    if (l < r->n_heap && cursor_less(&r->cur[r->heap[l]], &r->cur[r->heap[m]])) m = l;
    if (l + 1 < r->n_heap && cursor_less(&r->cur[r->heap[l + 1]], &r->cur[r->heap[m]])) m = l + 1;
    if (m == i) return;
    size_t t = r->heap[i];
    r->heap[i] = r->heap[m];
    r->heap[m] = t;
    i = m;
  }
}

void beam_shuffle_reader_free(beam_shuffle_reader *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) free(r->cur[i].buf);
  free(r->cur);
  free(r->heap);
  beam_buf_free(&r->key);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

static size_t fan_in(size_t buffer_budget) {
  size_t f = buffer_budget / MERGE_BUFFER;
  return f < MIN_FAN_IN ? MIN_FAN_IN : f > MAX_FAN_IN ? MAX_FAN_IN : f;
}

/* Merges the first n runs on disk into one run, in a new temporary file, and puts it in
 * their place; the space they took is given back (hole punched) where the file system can. */
static beam_status merge_runs(beam_shuffle *sh, size_t n, size_t buffer_per_run, beam_error *err) {
  beam_shuffle_reader m = {.sh = sh};
  m.cur = calloc(n + 1, sizeof *m.cur);
  m.heap = calloc(n + 1, sizeof *m.heap);
  size_t *picked = calloc(n + 1, sizeof *picked);
  beam_status s = m.cur && m.heap && picked ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; s == BEAM_OK && i < sh->n_runs && m.n < n; i++) {
    if (sh->runs[i].fd < 0) continue;
    run_cursor *cur = &m.cur[m.n];
    cur->run = &sh->runs[i];
    cur->index = m.n;
    cur->cap = buffer_per_run;
    cur->primed = true;
    picked[m.n++] = i;
    s = cursor_advance(cur, err);
    if (s == BEAM_OK && cur->valid) m.heap[m.n_heap++] = m.n - 1;
  }
  for (size_t i = m.n_heap / 2; i-- > 0;) sift_down(&m, i);
  int fd = -1;
  if (s == BEAM_OK) s = beam_spill_open(sh->temp_dir, sh->what, &fd, err);
  beam_buf out = BEAM_BUF_INIT;
  int64_t size = 0;
  size_t records = 0;
  while (s == BEAM_OK && m.n_heap) {
    run_cursor *top = &m.cur[m.heap[0]];
    if (beam_coder_encode_varint(&out, top->klen) != BEAM_OK || beam_buf_append(&out, top->key, top->klen) != BEAM_OK ||
        beam_coder_encode_varint(&out, top->vlen) != BEAM_OK || beam_buf_append(&out, top->val, top->vlen) != BEAM_OK) {
      s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory merging %s", sh->what);
      break;
    }
    records++;
    s = cursor_advance(top, err);
    if (s == BEAM_OK && !top->valid) m.heap[0] = m.heap[--m.n_heap];
    if (m.n_heap) sift_down(&m, 0);
    if (s == BEAM_OK && (out.len >= SPILL_WRITE_CHUNK || !m.n_heap)) {
      s = beam_spill_write(fd, size, out.data, out.len, sh->temp_dir, sh->what, err);
      size += (int64_t)out.len;
      beam_buf_reset(&out);
    }
  }
  beam_buf_free(&out);
  for (size_t i = 0; m.cur && i < m.n; i++) free(m.cur[i].buf);
  free(m.cur);
  free(m.heap);
  if (s == BEAM_OK && sh->n_fds == sh->cap_fds) {
    int *grown = realloc(sh->fds, (sh->cap_fds * 2 + 8) * sizeof *grown);
    if (grown) sh->fds = grown, sh->cap_fds = sh->cap_fds * 2 + 8;
    else s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  if (s != BEAM_OK) {
    if (fd >= 0) close(fd);
    free(picked);
    return beam_error_prefix(err, "merging the runs of %s: ", sh->what);
  }
  sh->fds[sh->n_fds++] = fd;
  /* The merged run takes the place of the first it was made of, so that the runs (handed
   * over in write order) keep that order: equal keys' values come back as written. */
  size_t kept = 0, p = 0;
  for (size_t i = 0; i < sh->n_runs; i++) {
    if (p < m.n && picked[p] == i) {
#ifdef FALLOC_FL_PUNCH_HOLE
      (void)fallocate(sh->runs[i].fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, sh->runs[i].offset, sh->runs[i].length);
#endif
      if (p++ == 0) sh->runs[kept++] = (shuffle_run){.fd = fd, .offset = 0, .length = size, .n_records = records};
      continue;
    }
    sh->runs[kept++] = sh->runs[i];
  }
  sh->n_runs = kept;
  sh->spilled_runs = sh->spilled_runs - m.n + 1;
  free(picked);
  return BEAM_OK;
}

beam_status beam_shuffle_reader_open(beam_shuffle *sh, size_t buffer_budget, beam_shuffle_reader **out,
                                     beam_error *err) {
  /* Sorted runs are all read at once: first bring them down to the fan-in. */
  size_t fan = fan_in(buffer_budget);
  size_t merge_buffer = buffer_budget / fan < MIN_READ_BUFFER ? MIN_READ_BUFFER : buffer_budget / fan;
  while (sh->sorted && sh->spilled_runs > fan) {
    size_t n = sh->spilled_runs - fan + 1 < fan ? sh->spilled_runs - fan + 1 : fan;
    beam_status s = merge_runs(sh, n, merge_buffer, err);
    if (s != BEAM_OK) return s;
  }
  beam_shuffle_reader *r = calloc(1, sizeof *r);
  if (!r) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&r->mu, NULL);
  r->sh = sh;
  r->n = sh->n_runs;
  r->cur = calloc(r->n + 1, sizeof *r->cur);
  r->heap = calloc(r->n + 1, sizeof *r->heap);
  beam_status s = r->cur && r->heap ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t per_run = sh->spilled_runs ? buffer_budget / sh->spilled_runs : 0;
  if (per_run < MIN_READ_BUFFER) per_run = MIN_READ_BUFFER;
  if (per_run > MAX_READ_BUFFER) per_run = MAX_READ_BUFFER;
  for (size_t i = 0; s == BEAM_OK && i < r->n; i++) {
    run_cursor *c = &r->cur[i];
    c->run = &sh->runs[i];
    c->index = i;
    if (c->run->fd >= 0) c->cap = per_run;
    /* Unsorted runs are read one after the other: only the current one needs a buffer. */
    c->primed = sh->sorted || i == 0 || c->run->fd < 0;
    if (s == BEAM_OK && c->primed) s = cursor_advance(c, err);
    else c->valid = true; /* read when its turn comes */
    if (s == BEAM_OK && c->valid) r->heap[r->n_heap++] = i;
  }
  for (size_t i = r->n_heap / 2; sh->sorted && i-- > 0;) sift_down(r, i);
  if (s != BEAM_OK) {
    beam_shuffle_reader_free(r);
    return beam_error_prefix(err, "reading back %s: ", sh->what);
  }
  *out = r;
  return BEAM_OK;
}

static beam_status append_varint_bytes(beam_buf *b, const uint8_t *data, size_t len) {
  if (beam_coder_encode_varint(b, len) != BEAM_OK || beam_buf_append(b, data, len) != BEAM_OK) return BEAM_ERR_NOMEM;
  return BEAM_OK;
}

static beam_status next_group(beam_shuffle_reader *r, beam_buf *chunk, beam_error *err) {
  run_cursor *top = &r->cur[r->heap[0]];
  beam_buf_reset(&r->key);
  if (beam_buf_append(&r->key, top->key, top->klen) != BEAM_OK || append_varint_bytes(chunk, top->key, top->klen) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory merging %s", r->sh->what);
  while (r->n_heap) {
    top = &r->cur[r->heap[0]];
    if (top->klen != r->key.len || memcmp(top->key, r->key.data, r->key.len) != 0) break;
    if (beam_buf_append_byte(chunk, 1) != BEAM_OK || append_varint_bytes(chunk, top->val, top->vlen) != BEAM_OK)
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory merging %s", r->sh->what);
    beam_status s = cursor_advance(top, err);
    if (s != BEAM_OK) return s;
    if (!top->valid) r->heap[0] = r->heap[--r->n_heap];
    if (r->n_heap) sift_down(r, 0);
  }
  return beam_buf_append_byte(chunk, 0) == BEAM_OK ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

static beam_status next_record(beam_shuffle_reader *r, beam_buf *chunk, bool *done, beam_error *err) {
  for (;;) {
    while (r->seq < r->n && !r->cur[r->seq].valid) r->seq++;
    *done = r->seq == r->n;
    if (*done) return BEAM_OK;
    run_cursor *c = &r->cur[r->seq];
    if (!c->primed) {
      c->primed = true;
      beam_status s = cursor_advance(c, err);
      if (s != BEAM_OK) return s;
      continue;
    }
    if (append_varint_bytes(chunk, c->val, c->vlen) != BEAM_OK)
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory reading %s", r->sh->what);
    return cursor_advance(c, err);
  }
}

beam_status beam_shuffle_reader_next(beam_shuffle_reader *r, beam_buf *chunk, size_t target_bytes, size_t max_items,
                                     size_t *n_items, beam_error *err) {
  beam_status s = BEAM_OK;
  *n_items = 0;
  pthread_mutex_lock(&r->mu);
  if (r->failed) s = beam_error_set(err, BEAM_ERR_INTERNAL, "reading %s failed on another thread", r->sh->what);
  size_t start = chunk->len;
  while (s == BEAM_OK && *n_items < max_items && chunk->len - start < target_bytes) {
    if (r->sh->sorted) {
      if (!r->n_heap) break;
      s = next_group(r, chunk, err);
    } else {
      bool done = false;
      s = next_record(r, chunk, &done, err);
      if (done) break;
    }
    if (s == BEAM_OK) (*n_items)++;
  }
  if (s != BEAM_OK) r->failed = true;
  pthread_mutex_unlock(&r->mu);
  return s;
}
