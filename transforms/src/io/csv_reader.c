/* Streaming RFC 4180 reader (see csv_reader.h).
 *
 * Two passes per record: a boundary scan over the read buffer finds where the record
 * ends (tracking quotes, so embedded newlines stay inside), then the record is copied to
 * the arena twice, once as origin.raw and once as a work copy that is split and unquoted
 * in place, so cells need no further allocation. The boundary scan keeps its state across
 * buffer refills, so a long record is scanned once. */
#include "beam/transforms/csv_reader.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "beam/log.h"
#include "field_index.h"
#include "scan_buffer.h"

enum { S_START, S_UNQ, S_Q, S_QQ };

struct beam_csv_reader {
  beam_scan_buffer buf;
  const beam_etl_schema *schema;
  size_t n_fields;
  char delim;
  int quote; /* 256 when quoting is off: never equals a byte */
  bool header;
  bool header_done;
  int *colmap;       /* column -> field index or -1 */
  size_t n_colmap;   /* columns known (header count, or schema count) */
  size_t expected;   /* required field count, 0 = any */
  int64_t line;      /* physical lines consumed so far (for messages) */
  int64_t records;   /* data records returned so far (origin.line: the record number) */
  bool split;         /* reading a byte range: a newline inside quotes is fatal */
  bool lines_unknown; /* a byte range past the file's start: line numbers are not known */
  bool split_refused; /* next failed on a quoted newline in split mode */
  bool unquoted;      /* the record scan_record found last has no quote char */
};

static char empty_text[1] = "";

void beam_csv_options_init(beam_csv_options *o) {
  memset(o, 0, sizeof *o);
  o->delimiter = ',';
  o->quote = '"';
  o->header = true;
}

beam_status beam_csv_reader_open(beam_byte_source *src, const beam_csv_options *opts,
                                 const beam_etl_schema *schema, size_t buffer_size,
                                 size_t max_record, beam_csv_reader **out, beam_error *err) {
  *out = NULL;
  beam_csv_options def;
  if (!opts) {
    beam_csv_options_init(&def);
    opts = &def;
  }
  char delim = opts->delimiter ? opts->delimiter : ',';
  char quote = opts->quote ? opts->quote : '"';
  if (delim == '\n' || delim == '\r' || (!opts->no_quoting && delim == quote))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "%s: CSV delimiter must differ from the quote char and newlines",
                          src->name);
  beam_csv_reader *r = calloc(1, sizeof *r);
  if (!r) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", src->name);
  beam_status st = beam_scan_buffer_init(&r->buf, src, buffer_size, max_record, err);
  if (st != BEAM_OK) {
    free(r);
    return st;
  }
  r->schema = schema;
  r->n_fields = schema ? schema->n_fields : 0;
  r->delim = delim;
  r->quote = opts->no_quoting ? 256 : (unsigned char)quote;
  r->header = opts->header;
  if (!r->header) {
    /* Columns are schema fields in order; without a schema any count goes. */
    r->n_colmap = r->n_fields;
    r->expected = r->n_fields;
    r->colmap = malloc((r->n_fields ? r->n_fields : 1) * sizeof *r->colmap);
    if (!r->colmap) {
      beam_csv_reader_close(r);
      return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", src->name);
    }
    for (size_t i = 0; i < r->n_fields; i++) r->colmap[i] = (int)i;
    r->header_done = true;
  }
  *out = r;
  return BEAM_OK;
}

void beam_csv_reader_close(beam_csv_reader *r) {
  if (!r) return;
  beam_scan_buffer_free(&r->buf);
  free(r->colmap);
  free(r);
}

size_t beam_csv_reader_header_count(const beam_csv_reader *r) {
  return r->header ? r->n_colmap : 0;
}

/* Finds the next record in the buffer: on return data[pos, pos + *len) is the record
 * without its terminator and *consume the bytes to drop after it. *eof with no record
 * when the input is exhausted. *in_quotes says the input ended inside a quoted field. */
static beam_status scan_record(beam_csv_reader *r, size_t *len, size_t *consume, int64_t *nls,
                               bool *in_quotes, bool *eof, beam_error *err) {
  beam_scan_buffer *b = &r->buf;
  int state = S_START;
  size_t i = 0;
  int64_t lines = 0;
  const unsigned char delim = (unsigned char)r->delim;
  const int quote = r->quote;
  *eof = false;
  *in_quotes = false;
  /* A record with no quote char before its newline, most of them, ends at that newline: two
   * memchr calls instead of the byte-by-byte states below. */
  const unsigned char *start = (const unsigned char *)b->data + b->pos;
  const unsigned char *nl = b->end > b->pos ? memchr(start, '\n', b->end - b->pos) : NULL;
  r->unquoted = nl && (quote > 255 || !memchr(start, quote, (size_t)(nl - start)));
  if (r->unquoted) {
    *len = (size_t)(nl - start);
    *consume = *len + 1;
    *nls = 0;
    return BEAM_OK;
  }
  for (;;) {
    const unsigned char *d = (const unsigned char *)b->data + b->pos;
    size_t avail = b->end - b->pos;
    while (i < avail) {
      unsigned ch = d[i];
      switch (state) {
        case S_START:
          if (ch == '\n') goto done;
          state = ch == (unsigned)quote ? S_Q : ch == delim ? S_START : S_UNQ;
          break;
        case S_UNQ:
          /* Fast path: plain field bytes. A quote here is an error the splitter reports. */
          while (ch != '\n' && ch != delim) {
            if (++i == avail) goto refill;
            ch = d[i];
          }
          if (ch == '\n') goto done;
          state = S_START;
          break;
        case S_Q:
          while (ch != (unsigned)quote) {
            if (ch == '\n') lines++;
            if (++i == avail) goto refill;
            ch = d[i];
          }
          state = S_QQ;
          break;
        case S_QQ:
          if (ch == '\n') goto done;
          state = ch == (unsigned)quote ? S_Q : ch == delim ? S_START : S_UNQ;
          break;
      }
      i++;
    }
  refill:;
    size_t got = 0;
    beam_status st = beam_scan_buffer_more(b, &got, err);
    if (st != BEAM_OK) {
      if (st == BEAM_ERR_UNSUPPORTED && r->lines_unknown)
        beam_error_prefix(err, "%s: byte %llu: CSV ", b->src->name,
                          (unsigned long long)beam_scan_buffer_offset(b, b->pos));
      else if (st == BEAM_ERR_UNSUPPORTED)
        beam_error_prefix(err, "%s: line %lld: CSV ", b->src->name, (long long)r->line + 1);
      return st;
    }
    if (got == 0) {
      if (b->pos == b->end) {
        *eof = true;
        return BEAM_OK;
      }
      *len = b->end - b->pos;
      *consume = *len;
      *nls = lines;
      *in_quotes = state == S_Q;
      return BEAM_OK;
    }
  }
done:
  *len = i;
  *consume = i + 1;
  *nls = lines;
  return BEAM_OK;
}

static void set_cell(beam_etl_cell *cells, const int *colmap, size_t n_colmap, int col,
                     char *data, size_t len) {
  if (!cells || (size_t)col >= n_colmap) return;
  int fi = colmap[col];
  if (fi < 0) return;
  cells[fi].state = BEAM_ETL_CELL_TEXT;
  cells[fi].data = data;
  cells[fi].len = len;
}

/* Splits and unquotes w[0, n) in place (w[n] is NUL). Fills cells through colmap when
 * cells is set. Returns the field count, or -1 with perr set. */
static int split_fields(const beam_csv_reader *r, char *w, size_t n, beam_etl_cell *cells,
                        const int *colmap, size_t n_colmap,
                        int64_t line, beam_etl_parse_error *perr,
                        char **names, size_t *name_lens, size_t max_names) {
  char *p = w, *e = w + n;
  const char delim = r->delim;
  const int quote = r->quote;
  int col = 0;
  for (;;) {
    char *cs;
    size_t cl;
    if (p < e && (unsigned char)*p == (unsigned)quote) {
      char *q = p + 1, *o = p;
      cs = p;
      for (;;) {
        if (q >= e) {
          beam_etl_parse_error_set(perr, col + 1, NULL, 0,
                                   "bad CSV quoting at column %d: unterminated quoted field "
                                   "starting on line %lld (reached end of input)",
                                   col + 1, (long long)line);
          return -1;
        }
        if ((unsigned char)*q == (unsigned)quote) {
          if (q + 1 < e && (unsigned char)q[1] == (unsigned)quote) {
            *o++ = *q;
            q += 2;
            continue;
          }
          q++;
          break;
        }
        *o++ = *q++;
      }
      cl = (size_t)(o - cs);
      if (q < e && *q != delim) {
        beam_etl_parse_error_set(perr, col + 1, NULL, 0,
                                 "bad CSV quoting at column %d: text after the closing quote",
                                 col + 1);
        return -1;
      }
      *o = '\0';
      p = q;
    } else if (r->unquoted) { /* no quote to look for: the delimiter by memchr */
      char *q = memchr(p, delim, (size_t)(e - p));
      cs = p;
      p = q ? q : e;
      cl = (size_t)(p - cs);
    } else {
      char *q = p;
      cs = p;
      while (q < e && *q != delim) {
        if ((unsigned char)*q == (unsigned)quote) {
          beam_etl_parse_error_set(perr, col + 1, NULL, 0,
                                   "bad CSV quoting at column %d: quote inside an unquoted field",
                                   col + 1);
          return -1;
        }
        q++;
      }
      cl = (size_t)(q - cs);
      p = q;
    }
    if (names && (size_t)col < max_names) {
      names[col] = cs;
      name_lens[col] = cl;
    }
    set_cell(cells, colmap, n_colmap, col, cs, cl);
    col++;
    if (p >= e) break;
    *p++ = '\0'; /* the delimiter: terminates an unquoted field */
  }
  return col;
}

static bool is_blank_record(const char *d, size_t len) {
  return len == 0 || (len == 1 && d[0] == '\r');
}

static char *trim(char *s, size_t *len) {
  while (*len && (*s == ' ' || *s == '\t')) s++, (*len)--;
  while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t' || s[*len - 1] == '\r')) (*len)--;
  return s;
}

/* Appends "a, b, c" (names[i] for the columns whose colmap entry is -1 when only_unknown, else
 * all of them) to out, cut short with ", ..." past cap. */
static void list_columns(char *out, size_t cap, char **names, const size_t *lens, const int *colmap, int n,
                         bool only_unknown) {
  size_t used = strlen(out);
  for (int c = 0; c < n; c++) {
    if (only_unknown && colmap[c] >= 0) continue;
    size_t nl = lens[c];
    const char *nm = trim(names[c], &nl);
    int w = snprintf(out + used, cap - used, "%s%.*s", used ? ", " : "", (int)nl, nm);
    if (w < 0 || used + (size_t)w >= cap) {
      memcpy(out + cap - 6, ", ...", 6); /* cut short: say so */
      return;
    }
    used += (size_t)w;
  }
}

/* No silent NULLs: a header that names none of the schema's fields, or lacks a REQUIRED one,
 * would load rows of NULLs (or dead-letter every row), so it fails the input naming both
 * sides; columns the schema does not know are ignored, and said so once. */
static beam_status check_header(beam_csv_reader *r, char **names, const size_t *lens, int n, int64_t line,
                                beam_error *err) {
  const char *src = r->buf.src->name;
  char wanted[512] = "", found[512] = "";
  bool any = false;
  for (int c = 0; c < n; c++) any = any || r->colmap[c] >= 0;
  for (size_t f = 0; f < r->n_fields; f++) {
    bool present = false;
    for (int c = 0; c < n && !present; c++) present = r->colmap[c] == (int)f;
    if (present || (any && r->schema->fields[f].mode != BEAM_ETL_REQUIRED)) continue;
    size_t used = strlen(wanted);
    if (used + 8 < sizeof wanted)
      snprintf(wanted + used, sizeof wanted - used, "%s%s", used ? ", " : "", r->schema->fields[f].name);
  }
  if (any && !wanted[0]) {
    list_columns(found, sizeof found, names, lens, r->colmap, n, true);
    if (found[0]) beam_log(BEAM_LOG_WARN, "%s: CSV header columns not in the schema (ignored): %s", src, found);
    return BEAM_OK;
  }
  list_columns(found, sizeof found, names, lens, r->colmap, n, false);
  return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: line %lld: CSV header %s %s (found %s)", src, (long long)line,
                        any ? "lacks the REQUIRED field(s)" : "has none of the schema fields", wanted,
                        found[0] ? found : "no columns");
}

/* In a byte range, a record holding a newline inside quotes (or left inside quotes where
 * the range's stream ends) means the range boundaries may cut quoted fields: fatal, see
 * beam_csv_reader_read_range. */
static beam_status check_split(beam_csv_reader *r, int64_t nls, bool in_quotes, beam_error *err) {
  if (!r->split || (nls == 0 && !in_quotes)) return BEAM_OK;
  r->split_refused = true;
  return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                        "%s: byte %llu: CSV with newlines inside quoted fields cannot be split: "
                        "read it unsplit",
                        r->buf.src->name,
                        (unsigned long long)beam_scan_buffer_offset(&r->buf, r->buf.pos));
}

/* Reads the header record and builds the column -> field map. */
static beam_status read_header(beam_csv_reader *r, beam_error *err) {
  beam_scan_buffer *b = &r->buf;
  const char *name = b->src->name;
  for (;;) {
    size_t len = 0, consume = 0;
    int64_t nls = 0;
    bool inq = false, eof = false;
    beam_status st = scan_record(r, &len, &consume, &nls, &inq, &eof, err);
    if (st != BEAM_OK) return st;
    if (eof) { /* empty file: no header, no records */
      r->header_done = true;
      return BEAM_OK;
    }
    if ((st = check_split(r, nls, inq, err)) != BEAM_OK) return st;
    int64_t line = r->line + 1;
    r->line += 1 + nls;
    char *d = b->data + b->pos;
    if (is_blank_record(d, len)) {
      b->pos += consume;
      continue;
    }
    if (len && d[len - 1] == '\r') len--;
    char *w = malloc(len + 1);
    size_t cap = len + 1; /* fields <= bytes + 1 */
    char **names = malloc(cap * sizeof *names);
    size_t *lens = malloc(cap * sizeof *lens);
    r->colmap = malloc(cap * sizeof *r->colmap);
    if (!w || !names || !lens || !r->colmap) {
      free(w), free(names), free(lens);
      return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", name);
    }
    memcpy(w, d, len);
    w[len] = '\0';
    b->pos += consume;
    beam_etl_parse_error perr;
    int n = split_fields(r, w, len, NULL, NULL, 0, line, &perr, names, lens, cap);
    if (n < 0) {
      st = beam_error_set(err, BEAM_ERR_MALFORMED, "%s: line %lld: bad CSV header: %s", name,
                          (long long)line, perr.message);
      free(w), free(names), free(lens);
      return st;
    }
    beam_field_index idx;
    if ((st = beam_field_index_init(&idx, r->schema, err)) != BEAM_OK) {
      free(w), free(names), free(lens);
      return st;
    }
    for (int c = 0; c < n; c++) {
      size_t nl = lens[c];
      char *nm = trim(names[c], &nl);
      int fi = beam_field_index_find(&idx, nm, nl, c);
      for (size_t f = 0; fi < 0 && f < r->n_fields; f++)
        if (strlen(r->schema->fields[f].name) == nl && strncasecmp(r->schema->fields[f].name, nm, nl) == 0)
          fi = (int)f;
      for (int prev = 0; fi >= 0 && prev < c; prev++) {
        if (r->colmap[prev] == fi) {
          st = beam_error_set(err, BEAM_ERR_MALFORMED,
                              "%s: line %lld: CSV header names field '%s' twice (columns %d and %d)",
                              name, (long long)line, r->schema->fields[fi].name, prev + 1, c + 1);
          break;
        }
      }
      if (st != BEAM_OK) break;
      r->colmap[c] = fi;
    }
    beam_field_index_free(&idx);
    if (st == BEAM_OK && r->schema) st = check_header(r, names, lens, n, line, err);
    free(w), free(names), free(lens);
    if (st != BEAM_OK) return st;
    r->n_colmap = (size_t)n;
    r->expected = (size_t)n;
    r->header_done = true;
    return BEAM_OK;
  }
}

beam_status beam_csv_reader_read_header(beam_csv_reader *r, uint64_t *header_end, beam_error *err) {
  *header_end = 0;
  if (!r->header) return BEAM_OK;
  if (!r->header_done) {
    beam_status st = read_header(r, err);
    if (st != BEAM_OK) return st;
  }
  *header_end = beam_scan_buffer_offset(&r->buf, r->buf.pos);
  return BEAM_OK;
}

void beam_csv_reader_read_range(beam_csv_reader *r, beam_byte_source *src, uint64_t offset) {
  beam_scan_buffer_rebase(&r->buf, src, offset);
  r->split = true;
  r->lines_unknown = offset > 0;
}

bool beam_csv_reader_split_refused(const beam_csv_reader *r) { return r->split_refused; }

beam_status beam_csv_reader_next(beam_csv_reader *r, beam_arena *arena, beam_etl_record *rec,
                                 beam_read_result *res, beam_etl_parse_error *perr,
                                 beam_error *err) {
  beam_scan_buffer *b = &r->buf;
  beam_status st;
  *res = BEAM_READ_EOF;
  beam_etl_parse_error_clear(perr);
  if (!r->header_done && (st = read_header(r, err)) != BEAM_OK) return st;
  for (;;) {
    size_t len = 0, consume = 0;
    int64_t nls = 0;
    bool inq = false, eof = false;
    if ((st = scan_record(r, &len, &consume, &nls, &inq, &eof, err)) != BEAM_OK) return st;
    if (eof) return BEAM_OK;
    if ((st = check_split(r, nls, inq, err)) != BEAM_OK) return st;
    int64_t line = r->line + 1;
    r->line += 1 + nls;
    char *d = b->data + b->pos;
    uint64_t offset = beam_scan_buffer_offset(b, b->pos);
    if (is_blank_record(d, len)) {
      b->pos += consume;
      continue;
    }
    if (!inq && len && d[len - 1] == '\r') len--;
    size_t n_cells = r->n_fields;
    /* One allocation: cells, raw copy, work copy. */
    size_t cells_bytes = n_cells * sizeof(beam_etl_cell);
    if (len > (SIZE_MAX - cells_bytes - 2) / 2) return beam_error_set(err, BEAM_ERR_NOMEM, "record too large");
    char *mem = beam_arena_alloc(arena, cells_bytes + 2 * (len + 1));
    if (!mem) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", b->src->name);
    beam_etl_cell *cells = (beam_etl_cell *)(void *)mem;
    char *raw = mem + cells_bytes, *w = raw + len + 1;
    memcpy(raw, d, len);
    raw[len] = '\0';
    memcpy(w, d, len);
    w[len] = '\0';
    b->pos += consume;
    for (size_t i = 0; i < n_cells; i++) {
      cells[i].state = BEAM_ETL_CELL_ABSENT;
      cells[i].data = empty_text;
      cells[i].len = 0;
    }
    rec->schema = r->schema;
    rec->cells = cells;
    rec->origin.source = b->src->name;
    ++r->records;
    rec->origin.line = r->lines_unknown ? 0 : r->records;
    rec->origin.raw.data = (const uint8_t *)raw;
    rec->origin.raw.len = len;
    rec->origin.offset = (int64_t)offset;
    int n = split_fields(r, w, len, cells, r->colmap, r->n_colmap, line, perr, NULL, NULL, 0);
    if (n < 0) {
      *res = BEAM_READ_BAD_RECORD;
      return BEAM_OK;
    }
    if (r->expected && (size_t)n != r->expected) {
      beam_etl_parse_error_set(perr, 0, NULL, 0, "expected %zu fields, found %d%s", r->expected, n,
                               r->header ? " (per the header)" : " (per the schema)");
      *res = BEAM_READ_BAD_RECORD;
      return BEAM_OK;
    }
    *res = BEAM_READ_RECORD;
    return BEAM_OK;
  }
}
