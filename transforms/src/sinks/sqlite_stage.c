/* The SQLite sink's staged bundle (sqlite_stage.h). A row is encoded as: u32 table, u32 value
 * count, then per value a kind byte and its payload (8 bytes for INT64/DOUBLE, 1 for BOOL,
 * u32 length and the bytes for STRING/BYTES), native byte order: the bytes never leave this
 * process. Chunks are spilled whole (only at row boundaries), so each one decodes alone. */
#include "sqlite_stage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "local_file.h"

void beam_sqlite_stage_init(sq_stage *st, size_t cap, const char *dir) {
  memset(st, 0, sizeof *st);
  st->buf = (beam_buf)BEAM_BUF_INIT;
  st->cap = cap ? cap : (size_t)8 << 20;
  st->dir = dir;
  st->spill_fd = -1;
}

static int open_spill(sq_stage *st) {
  st->spill_fd = open(st->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (st->spill_fd >= 0) return 0;
  /* No O_TMPFILE on this filesystem: a named temp file, unlinked at once. */
  char tmpl[PATH_MAX];
  snprintf(tmpl, sizeof tmpl, "%s/.beam-sqlite-stage-XXXXXX", st->dir);
  st->spill_fd = mkostemp(tmpl, O_CLOEXEC);
  if (st->spill_fd < 0) return errno;
  unlink(tmpl);
  return 0;
}

/* Moves the buffered rows to the spill file as one chunk. */
static int spill(sq_stage *st) {
  if (st->spill_fd < 0) {
    int e = open_spill(st);
    if (e) return e;
  }
  if (st->n_chunks == st->cap_chunks) {
    size_t cap = st->cap_chunks ? st->cap_chunks * 2 : 16;
    uint32_t *chunks = realloc(st->chunks, cap * sizeof *chunks);
    if (!chunks) return ENOMEM;
    st->chunks = chunks;
    st->cap_chunks = cap;
  }
  int e = beam_local_pwrite_all(st->spill_fd, st->buf.data, st->buf.len, st->spilled);
  if (e) return e;
  st->chunks[st->n_chunks++] = (uint32_t)st->buf.len;
  st->spilled += st->buf.len;
  beam_buf_reset(&st->buf);
  return 0;
}

static void put(uint8_t **p, const void *data, size_t len) {
  memcpy(*p, data, len);
  *p += len;
}

beam_status beam_sqlite_stage_row(sq_stage *st, uint32_t table, const beam_value *values, size_t n, int *e) {
  *e = 0;
  size_t need = 8;
  for (size_t i = 0; i < n; i++) {
    beam_value_kind k = values[i].kind;
    need += 1 + (k == BEAM_VALUE_INT64 || k == BEAM_VALUE_DOUBLE ? 8
                 : k == BEAM_VALUE_BOOL                           ? 1
                 : k == BEAM_VALUE_STRING || k == BEAM_VALUE_BYTES ? 4 + values[i].u.bytes.len
                                                                   : 0);
  }
  if (need > UINT32_MAX / 2) return BEAM_ERR_INVALID_ARG; /* a chunk's length is a u32 */
  if (beam_buf_reserve(&st->buf, need) != BEAM_OK) return BEAM_ERR_NOMEM;
  uint8_t *p = st->buf.data + st->buf.len;
  uint32_t count = (uint32_t)n;
  put(&p, &table, 4);
  put(&p, &count, 4);
  for (size_t i = 0; i < n; i++) {
    const beam_value *v = &values[i];
    uint8_t kind = (uint8_t)v->kind;
    put(&p, &kind, 1);
    switch (v->kind) {
      case BEAM_VALUE_INT64: put(&p, &v->u.i64, 8); break;
      case BEAM_VALUE_DOUBLE: put(&p, &v->u.f64, 8); break;
      case BEAM_VALUE_BOOL: {
        uint8_t b = v->u.b ? 1 : 0;
        put(&p, &b, 1);
        break;
      }
      case BEAM_VALUE_STRING:
      case BEAM_VALUE_BYTES: {
        uint32_t len = (uint32_t)v->u.bytes.len;
        put(&p, &len, 4);
        if (len) put(&p, v->u.bytes.data, len);
        break;
      }
      default: p[-1] = (uint8_t)BEAM_VALUE_NULL; /* conforming rows hold nothing else */
    }
  }
  st->buf.len = (size_t)(p - st->buf.data);
  st->rows++;
  if (st->buf.len >= st->cap && (*e = spill(st)) != 0) return BEAM_ERR_IO;
  return BEAM_OK;
}

static void get(const uint8_t **p, void *out, size_t len) {
  memcpy(out, *p, len);
  *p += len;
}

/* Decodes the rows of one chunk, calling the visitor for each. */
static int replay_chunk(const uint8_t *data, size_t len, const sq_stage_visitor *v, beam_value *values,
                        size_t n_values) {
  const uint8_t *p = data, *end = data + len;
  while (p < end) {
    uint32_t table, count;
    get(&p, &table, 4);
    get(&p, &count, 4);
    if (count > n_values) return -EINVAL;
    for (uint32_t i = 0; i < count; i++) {
      beam_value *val = &values[i];
      memset(val, 0, sizeof *val);
      uint8_t kind;
      get(&p, &kind, 1);
      val->kind = (beam_value_kind)kind;
      switch (val->kind) {
        case BEAM_VALUE_INT64: get(&p, &val->u.i64, 8); break;
        case BEAM_VALUE_DOUBLE: get(&p, &val->u.f64, 8); break;
        case BEAM_VALUE_BOOL: {
          uint8_t b;
          get(&p, &b, 1);
          val->u.b = b != 0;
          break;
        }
        case BEAM_VALUE_STRING:
        case BEAM_VALUE_BYTES: {
          uint32_t n;
          get(&p, &n, 4);
          val->u.bytes.data = p;
          val->u.bytes.len = n;
          p += n;
          break;
        }
        default: break;
      }
    }
    int rc = v->row(v->ctx, table, values, count);
    if (rc) return rc;
  }
  return v->end_chunk(v->ctx);
}

/* pread() all len bytes at off: 0 or an errno (EIO at an unexpected end). */
static int read_at(int fd, uint8_t *out, size_t len, uint64_t off) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = pread(fd, out + got, len - got, (off_t)(off + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    if (r == 0) return EIO;
    got += (size_t)r;
  }
  return 0;
}

int beam_sqlite_stage_replay(sq_stage *st, const sq_stage_visitor *v, beam_value *values, size_t n_values) {
  uint64_t off = 0;
  for (size_t c = 0; c < st->n_chunks; c++) {
    size_t len = st->chunks[c];
    if (len > st->read_cap) {
      uint8_t *grown = realloc(st->read_buf, len);
      if (!grown) return -ENOMEM;
      st->read_buf = grown;
      st->read_cap = len;
    }
    int e = read_at(st->spill_fd, st->read_buf, len, off);
    if (e) return -e;
    off += len;
    int rc = replay_chunk(st->read_buf, len, v, values, n_values);
    if (rc) return rc;
  }
  return st->buf.len ? replay_chunk(st->buf.data, st->buf.len, v, values, n_values) : 0;
}

void beam_sqlite_stage_reset(sq_stage *st) {
  beam_buf_reset(&st->buf);
  if (st->spilled && ftruncate(st->spill_fd, 0) != 0) {
    close(st->spill_fd); /* a fresh file next time rather than stale bytes */
    st->spill_fd = -1;
  }
  st->spilled = 0;
  st->n_chunks = 0;
  st->rows = 0;
  /* A big bundle's read buffer is not kept for the small ones that follow. */
  if (st->read_cap > st->cap * 2) {
    free(st->read_buf);
    st->read_buf = NULL;
    st->read_cap = 0;
  }
}

void beam_sqlite_stage_free(sq_stage *st) {
  beam_buf_free(&st->buf);
  if (st->spill_fd >= 0) close(st->spill_fd);
  free(st->chunks);
  free(st->read_buf);
  memset(st, 0, sizeof *st);
  st->spill_fd = -1;
}

/* ---- The bundle's ledger entries ---------------------------------------------------------
 * A list searched linearly: a bundle of the SQLite sink holds one unit (it has no savepoints,
 * so units commit alone), or the _files rows of a bundle of reports. */

const sq_ledger_entry *beam_sqlite_ledger_list_find(const sq_ledger_list *l, const char *key) {
  for (size_t i = 0; i < l->len; i++)
    if (strcmp(l->items[i].key, key) == 0) return &l->items[i];
  return NULL;
}

static void iso_now(char out[32]) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

beam_status beam_sqlite_ledger_list_add(sq_ledger_list *l, const char *key, const char *file, bool replace) {
  sq_ledger_entry *e = (sq_ledger_entry *)beam_sqlite_ledger_list_find(l, key);
  if (e && !replace) return BEAM_OK;
  char *k = strdup(key), *f = strdup(file);
  if (!k || !f) {
    free(k);
    free(f);
    return BEAM_ERR_NOMEM;
  }
  if (!e) {
    if (l->len == l->cap) {
      size_t cap = l->cap ? l->cap * 2 : 8;
      sq_ledger_entry *items = realloc(l->items, cap * sizeof *items);
      if (!items) {
        free(k);
        free(f);
        return BEAM_ERR_NOMEM;
      }
      l->items = items;
      l->cap = cap;
    }
    e = &l->items[l->len++];
  } else {
    free(e->key);
    free(e->file);
  }
  e->key = k;
  e->file = f;
  e->replace = replace;
  iso_now(e->recorded_at);
  return BEAM_OK;
}

void beam_sqlite_ledger_list_clear(sq_ledger_list *l) {
  for (size_t i = 0; i < l->len; i++) {
    free(l->items[i].key);
    free(l->items[i].file);
  }
  l->len = 0;
}

void beam_sqlite_ledger_list_free(sq_ledger_list *l) {
  beam_sqlite_ledger_list_clear(l);
  free(l->items);
  memset(l, 0, sizeof *l);
}
