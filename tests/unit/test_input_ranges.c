/* beam_input over byte ranges (range_start / range_end): for every cut of small files
 * (every split point, every pair of split points) the records read range by range, in
 * order, equal the unsplit read - same raw text, offsets, cells and results - and line
 * numbers are the unsplit ones in the range at 0 and 0 (unknown) elsewhere. CSV with a
 * newline inside quotes is caught by the pre-scan and by the range reader. Also: the
 * planner, the split queries (gzip, ZIP, JSON arrays) and reading one ZIP member. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/byte_ranges.h"
#include "beam/transforms/input.h"
#include "beam/transforms/zip_reader.h"
#include "etl_input_test_util.h"

static char dir[512];
static const char *const IDN[] = {"id", "name", NULL};

static int setup(void **state) {
  (void)state;
  test_tmpdir(dir, sizeof dir);
  char script[4096];
  snprintf(script, sizeof script,
           "import zipfile, gzip, os\n"
           "d = '%s'\n"
           "open(os.path.join(d, 'g.csv.gz'), 'wb').write(gzip.compress(b'id,name\\n7,gz\\n'))\n"
           "open(os.path.join(d, 'g.txt'), 'wb').write(gzip.compress(b'a\\nb\\n'))\n"
           "with zipfile.ZipFile(os.path.join(d, 'in.zip'), 'w', zipfile.ZIP_DEFLATED) as z:\n"
           "    z.writestr('a.csv', 'id,name\\n1,a\\n2,b\\n')\n"
           "    z.writestr('sub/', '')\n"
           "    z.writestr('__MACOSX/._a.csv', 'junk')\n"
           "    z.writestr('notes.md', 'hello')\n"
           "    z.writestr('b.jsonl', '{\"id\":3,\"name\":\"c\"}\\n')\n"
           /* Split by member: CSV and JSON lines members, an empty one, a directory, a bad
            * line, an unsupported file, a member larger than the others together. */
           "with zipfile.ZipFile(os.path.join(d, 'split.zip'), 'w', zipfile.ZIP_DEFLATED) as z:\n"
           "    z.writestr('m1.csv', 'id,name\\n' + ''.join('%%d,n%%d\\n' %% (i, i) for i in range(20)))\n"
           "    z.writestr('empty.csv', '')\n"
           "    z.writestr('dir/', '')\n"
           "    z.writestr('m2.jsonl', ''.join('{\"id\":%%d,\"name\":\"j\"}\\n' %% i for i in range(15)) + 'not json\\n')\n"
           "    z.writestr('notes.md', 'hello')\n"
           "    z.writestr('big.csv', 'id,name\\n' + ''.join('%%d,%%s\\n' %% (i, 'x' * (i %% 50)) for i in range(400)))\n"
           "    z.writestr('dir/m3.jsonl', '{\"id\":9,\"name\":\"last\"}')\n",
           dir);
  assert_int_equal(test_python(script), 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  test_tmpdir_remove(dir);
  return 0;
}

static void put(const char *name, const void *data, size_t len, char *path, size_t cap) {
  snprintf(path, cap, "%s/%s", dir, name);
  test_write_file(path, data, len);
}

/* ---- a growing text buffer: what a read returned, one record per line ---- */

typedef struct text {
  char *s;
  size_t len, cap;
} text;

static void text_add(text *t, const void *data, size_t n) {
  if (t->len + n + 1 > t->cap) {
    t->cap = (t->len + n + 1) * 2;
    t->s = realloc(t->s, t->cap);
    assert_non_null(t->s);
  }
  memcpy(t->s + t->len, data, n);
  t->len += n;
  t->s[t->len] = '\0';
}

static void text_printf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(text *t, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  text_add(t, buf, (size_t)n);
}

static void text_free(text *t) {
  free(t->s);
  memset(t, 0, sizeof *t);
}

static const char *text_str(const text *t) { return t->s ? t->s : ""; }

/* What one read returned: the records (offset, result, raw, cells), their line numbers
 * apart (they differ by design between ranges), and the fatal error if any. */
typedef struct outcome {
  text records, lines;
  beam_status status;
  bool split_refused;
  char message[512];
} outcome;

static void outcome_free(outcome *o) {
  text_free(&o->records);
  text_free(&o->lines);
}

/* Opens [start, end) of src (owned) with base's other options. */
static beam_status open_range(beam_byte_source *src, const beam_input_options *base, int64_t start, int64_t end,
                              const beam_etl_schema *schema, beam_input **in, beam_error *err) {
  beam_input_options opts = *base;
  opts.range_start = start;
  opts.range_end = end;
  return beam_input_open_source(src, &opts, schema, in, err);
}

/* Appends a record as one line: its offset, result, raw text and cells. */
static void add_record(text *t, const beam_etl_record *rec, beam_read_result res, const beam_etl_schema *schema) {
  text_printf(t, "@%lld %s [", (long long)rec->origin.offset, res == BEAM_READ_RECORD ? "ok" : "bad");
  text_add(t, rec->origin.raw.data, rec->origin.raw.len);
  text_add(t, "]", 1);
  for (size_t i = 0; i < schema->n_fields; i++) {
    text_printf(t, " %d:", (int)rec->cells[i].state);
    text_add(t, rec->cells[i].data, rec->cells[i].len);
  }
  text_add(t, "\n", 1);
}

/* Reads [start, end) of src (owned) into o, appending. */
static void read_source(beam_byte_source *src, const beam_input_options *base, int64_t start,
                        int64_t end, outcome *o) {
  test_schema ts;
  const beam_etl_schema *schema = test_schema_make(&ts, IDN);
  beam_input *in = NULL;
  beam_error err = {0};
  o->status = open_range(src, base, start, end, schema, &in, &err);
  if (o->status != BEAM_OK) {
    snprintf(o->message, sizeof o->message, "%s", err.message);
    return;
  }
  beam_arena arena = BEAM_ARENA_INIT;
  for (;;) {
    beam_etl_record rec;
    beam_read_result res;
    beam_etl_parse_error perr;
    o->status = beam_input_next(in, &arena, &rec, &res, &perr, &err);
    if (o->status != BEAM_OK) {
      snprintf(o->message, sizeof o->message, "%s", err.message);
      break;
    }
    if (res == BEAM_READ_EOF) break;
    add_record(&o->records, &rec, res, schema);
    text_printf(&o->lines, "%lld\n", (long long)rec.origin.line);
    beam_arena_reset(&arena);
  }
  beam_input_stats stats;
  beam_input_get_stats(in, &stats);
  o->split_refused = stats.split_refused;
  beam_arena_free(&arena);
  beam_input_close(in);
}

static beam_byte_source *open_memory(const char *name, const void *data, size_t len) {
  beam_byte_source *src = NULL;
  beam_error err;
  assert_int_equal(beam_memory_source_open(name, data, len, &src, &err), BEAM_OK);
  return src;
}

static beam_byte_source *open_file(const char *path) {
  beam_byte_source *src = NULL;
  beam_error err;
  assert_int_equal(beam_file_source_open(path, &src, &err), BEAM_OK);
  return src;
}

/* Reads the partition of src's bytes cut at cuts[0..n) (ascending) range by range into o,
 * and checks each range's line numbers: the unsplit ones at 0, zeros elsewhere. A fatal
 * error stops the partition (o->status). */
typedef beam_byte_source *(*opener)(const void *ctx);

static void read_partition(opener open, const void *ctx, int64_t size, const beam_input_options *opts,
                           const int64_t *cuts, size_t n, const outcome *whole, outcome *o) {
  int64_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    int64_t end = i < n ? cuts[i] : size;
    if (end == 0) continue; /* [0, 0): empty, but range_end 0 means "to the end" */
    outcome part = {0};
    read_source(open(ctx), opts, start, end, &part);
    text_add(&o->records, text_str(&part.records), part.records.len);
    if (start == 0) {
      /* The range at 0 knows its line numbers: a prefix of the unsplit ones. */
      assert_true(part.lines.len <= whole->lines.len);
      assert_memory_equal(text_str(&part.lines), text_str(&whole->lines), part.lines.len);
    } else {
      for (size_t k = 0; k < part.lines.len; k += 2) assert_memory_equal(part.lines.s + k, "0\n", 2);
    }
    o->status = part.status;
    o->split_refused = part.split_refused;
    memcpy(o->message, part.message, sizeof o->message);
    outcome_free(&part);
    if (o->status != BEAM_OK) return;
    start = end;
  }
}

typedef struct mem_ctx {
  const char *name;
  const char *data;
  size_t len;
} mem_ctx;

static beam_byte_source *open_mem_ctx(const void *ctx) {
  const mem_ctx *m = ctx;
  return open_memory(m->name, m->data, m->len);
}

static beam_byte_source *open_path_ctx(const void *ctx) { return open_file(ctx); }

/* Every split point and, for files up to max_pairs bytes, every pair of split points: the
 * partition reads what the unsplit read does. */
static void check_all_cuts(const char *name, const char *data, size_t len, const beam_input_options *opts,
                           size_t max_pairs) {
  char path[700];
  put(name, data, len, path, sizeof path);
  outcome whole = {0};
  read_source(open_file(path), opts, 0, 0, &whole);
  if (whole.status != BEAM_OK) fail_msg("%s: unsplit read failed: %s", name, whole.message);
  int64_t size = (int64_t)len;
  for (int64_t a = 0; a <= size; a++) {
    outcome o = {0};
    read_partition(open_path_ctx, path, size, opts, &a, 1, &whole, &o);
    if (o.status != BEAM_OK) fail_msg("%s cut at %lld: %s", name, (long long)a, o.message);
    if (strcmp(text_str(&o.records), text_str(&whole.records)) != 0)
      fail_msg("%s cut at %lld:\n%s\n--- unsplit:\n%s", name, (long long)a, text_str(&o.records),
               text_str(&whole.records));
    outcome_free(&o);
    if (len > max_pairs) continue;
    for (int64_t b = a; b <= size; b++) {
      int64_t cuts[2] = {a, b};
      mem_ctx m = {name, data, len};
      outcome p = {0};
      read_partition(open_mem_ctx, &m, size, opts, cuts, 2, &whole, &p);
      if (p.status != BEAM_OK) fail_msg("%s cut at %lld, %lld: %s", name, (long long)a, (long long)b, p.message);
      if (strcmp(text_str(&p.records), text_str(&whole.records)) != 0)
        fail_msg("%s cut at %lld, %lld:\n%s\n--- unsplit:\n%s", name, (long long)a, (long long)b,
                 text_str(&p.records), text_str(&whole.records));
      outcome_free(&p);
    }
  }
  outcome_free(&whole);
}

static void check_text(const char *name, const char *data, const beam_input_options *opts) {
  check_all_cuts(name, data, strlen(data), opts, 400);
}

static beam_input_options defaults(void) {
  beam_input_options o;
  beam_input_options_init(&o);
  return o;
}

static void test_csv_cuts(void **state) {
  (void)state;
  beam_input_options o = defaults();
  check_text("h.csv", "id,name\n1,alice\n2,bob\n3,carol\n", &o);
  check_text("crlf.csv", "id,name\r\n1,a\r\n2,b\r\n\r\n3,c\r\n", &o);
  check_text("bom.csv", "\xEF\xBB\xBFid,name\n1,x\n2,y\n", &o);
  check_text("notrail.csv", "id,name\n1,a\n2,b", &o);
  check_text("notrail_cr.csv", "id,name\r\n1,a\r\n2,b\r", &o);
  check_text("blank.csv", "id,name\n\n1,a\n\n\n2,b\n\n", &o);
  check_text("blankhead.csv", "\n\r\nid,name\n1,a\n", &o);
  check_text("quoted.csv", "id,name\n1,\"a,b\"\n2,\"c \"\"q\"\" d\"\n\"3\",\"\"\n", &o);
  check_text("badrows.csv", "id,name\n1,a,extra\n2,b\"c\n3,\"x\"y\n4,ok\n", &o);
  check_text("headeronly.csv", "id,name\n", &o);
  check_text("empty.csv", "", &o);
  check_text("bomonly.csv", "\xEF\xBB\xBF", &o);
  check_text("tab.tsv", "id\tname\n1\ta b\n2\t\"c\td\"\n", &o);
  o.csv.header = false;
  check_text("nohead.csv", "1,a\n2,b\n\n3,c", &o);
  check_text("nohead_bom.csv", "\xEF\xBB\xBF" "1,a\n2,b\n", &o);
}

static void test_long_lines(void **state) {
  (void)state;
  beam_input_options o = defaults();
  o.buffer_size = 16; /* records longer than the buffer: refills inside a record */
  char data[1024];
  char a[301], b[201];
  memset(a, 'x', 300), a[300] = '\0';
  memset(b, 'y', 200), b[200] = '\0';
  snprintf(data, sizeof data, "id,name\n1,%s\n2,b\n3,%s\n4,d\n", a, b);
  check_all_cuts("long.csv", data, strlen(data), &o, 0);
  snprintf(data, sizeof data, "{\"id\":\"1\",\"name\":\"%s\"}\n{\"id\":\"2\"}\n", a);
  check_all_cuts("long.jsonl", data, strlen(data), &o, 0);

  /* A range inside the long record holds no record start: it returns nothing. */
  snprintf(data, sizeof data, "id,name\n1,%s\n2,b\n", a);
  char path[700];
  put("long2.csv", data, strlen(data), path, sizeof path);
  outcome in_long = {0}, first = {0};
  read_source(open_file(path), &o, 20, 120, &in_long);
  assert_int_equal(in_long.status, BEAM_OK);
  assert_int_equal(in_long.records.len, 0);
  read_source(open_file(path), &o, 0, 20, &first); /* its neighbour reads all of it */
  assert_int_equal(first.status, BEAM_OK);
  assert_non_null(strstr(text_str(&first.records), a));
  outcome_free(&in_long);
  outcome_free(&first);
}

static void test_jsonl_and_lines_cuts(void **state) {
  (void)state;
  beam_input_options o = defaults();
  check_text("a.jsonl", "{\"id\":\"1\",\"name\":\"a\"}\n\n{\"id\":\"2\",\"name\":\"b\"}\r\n  \n{\"id\":3}\nnot json\n{\"id\":\"4\"}", &o);
  check_text("bom.jsonl", "\xEF\xBB\xBF{\"id\":\"1\"}\n{\"id\":\"2\"}\n", &o);
  o.format = BEAM_INPUT_FORMAT_LINES;
  check_text("l.txt", "a\n\nb\r\n\n\nc", &o);
  check_text("l2.txt", "\n\n\n", &o);
  check_text("bom.txt", "\xEF\xBB\xBF" "abc\ndef\n", &o);
}

static void test_offsets_are_the_files(void **state) {
  (void)state;
  beam_input_options o = defaults();
  const char *data = "\xEF\xBB\xBFid,name\r\n1,a\r\n22,bb\r\n";
  char path[700];
  put("off.csv", data, strlen(data), path, sizeof path);
  outcome r = {0};
  read_source(open_file(path), &o, 13, 0, &r); /* "1,a" starts at 3 + 9 = 12: skipped */
  assert_int_equal(r.status, BEAM_OK);
  assert_string_equal(text_str(&r.records), "@17 ok [22,bb] 2:22 2:bb\n");
  assert_string_equal(text_str(&r.lines), "0\n");
  outcome_free(&r);
  /* A range that is the whole file reads as the unsplit input: line numbers known. */
  read_source(open_file(path), &o, 0, (int64_t)strlen(data), &r);
  assert_string_equal(text_str(&r.lines), "1\n2\n");
  outcome_free(&r);
  /* start >= end > 0: empty. */
  read_source(open_file(path), &o, 12, 12, &r);
  assert_int_equal(r.status, BEAM_OK);
  assert_int_equal(r.records.len, 0);
  outcome_free(&r);
}

/* ---- CSV with newlines inside quotes ---- */

static int64_t prescan(const char *name, const char *data, const beam_input_options *opts) {
  char path[700];
  put(name, data, strlen(data), path, sizeof path);
  int64_t off = -2;
  beam_error err;
  assert_int_equal(beam_input_find_quoted_newline(path, opts, &off, &err), BEAM_OK);
  return off;
}

/* Every cut (and pair of cuts) of a file with a quoted newline fails in some range with
 * split_refused, never returns a different set of rows silently. */
static void check_refused_everywhere(const char *name, const char *data, const beam_input_options *opts) {
  size_t len = strlen(data);
  mem_ctx m = {name, data, len};
  outcome whole = {0};
  read_source(open_memory(name, data, len), opts, 0, 0, &whole);
  assert_int_equal(whole.status, BEAM_OK);
  for (int64_t a = 1; a < (int64_t)len; a++) {
    for (int64_t b = a; b <= (int64_t)len; b++) {
      int64_t cuts[2] = {a, b};
      outcome p = {0};
      read_partition(open_mem_ctx, &m, (int64_t)len, opts, cuts, 2, &whole, &p);
      if (p.status == BEAM_OK)
        fail_msg("%s cut at %lld, %lld: a quoted newline went unnoticed:\n%s", name, (long long)a,
                 (long long)b, text_str(&p.records));
      assert_int_equal(p.status, BEAM_ERR_UNSUPPORTED);
      assert_true(p.split_refused);
      assert_non_null(strstr(p.message, "newlines inside quoted fields cannot be split"));
      assert_non_null(strstr(p.message, name));
      outcome_free(&p);
    }
  }
  outcome_free(&whole);
}

static void test_quoted_newlines(void **state) {
  (void)state;
  beam_input_options o = defaults();
  const char *q = "id,name\n1,\"a\nb\"\n2,c\n3,d\n";
  assert_int_equal(prescan("q.csv", q, &o), 12);
  check_refused_everywhere("q.csv", q, &o);
  const char *crlf = "id,name\r\n1,x\r\n2,\"a\r\nb\"\r\n3,d\r\n";
  assert_int_equal(prescan("qcrlf.csv", crlf, &o), 19);
  check_refused_everywhere("qcrlf.csv", crlf, &o);
  /* Parity would miss this one: the first quote is data inside an unquoted field. */
  const char *tricky = "id,name\na\"b,\"x\ny\"\n";
  assert_int_equal(prescan("tricky.csv", tricky, &o), 14);
  check_refused_everywhere("tricky.csv", tricky, &o);
  /* And not flag this one: inch marks, doubled quotes, no newline inside quotes. */
  assert_int_equal(prescan("inch.csv", "id,name\n5\" pipe,x\n6,\"a\"\"b\"\n7,\"\"\n", &o), -1);
  assert_int_equal(prescan("bomq.csv", "\xEF\xBB\xBF\"id\",name\n1,\"a\nb\"\n", &o), 17);
  /* A header with a newline inside quotes: still a file that must not be split. */
  assert_int_equal(prescan("qhead.csv", "\"i\nd\",name\n1,a\n", &o), 2);
  /* The reader in range 0 sees the cut inside the quote too. */
  outcome r = {0};
  read_source(open_memory("qhead.csv", "\"i\nd\",name\n1,a\n", 15), &o, 0, 2, &r);
  assert_true(r.split_refused);
  outcome_free(&r);
  /* An unterminated quote at the end of the file: the range reader refuses. */
  read_source(open_memory("open.csv", "id,name\n1,a\n2,\"abc", 18), &o, 5, 0, &r);
  assert_int_equal(r.status, BEAM_ERR_UNSUPPORTED);
  assert_true(r.split_refused);
  outcome_free(&r);
  /* TSV: the tab delimiter decides where a field starts. */
  assert_int_equal(prescan("q.tsv", "id\tname\n1\t\"a\nb\"\n", &o), 12);
  assert_int_equal(prescan("q2.csv", "id\tname\n1\t\"a\nb\"\n", &o), -1); /* ',' : the quote is data */
  o.csv.no_quoting = true;
  assert_int_equal(prescan("nq.csv", q, &o), -1);
}

/* ---- random files ---- */

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (uint32_t)(rng % n);
}

/* A random CSV (quoted_newlines: fields may hold newlines inside quotes), JSONL or lines file. */
static size_t gen_file(char *out, size_t cap, int kind, bool quoted_newlines) {
  size_t n = 0;
#define PUT(c) (n < cap - 1 ? (void)(out[n++] = (char)(c)) : (void)0)
  if (rnd(4) == 0) PUT(0xEF), PUT(0xBB), PUT(0xBF);
  const char *eol = rnd(2) ? "\r\n" : "\n";
  if (kind == 0) {
    for (const char *h = "id,name"; *h; h++) PUT(*h);
    for (const char *e = eol; *e; e++) PUT(*e);
  }
  int rows = (int)rnd(12);
  for (int r = 0; r < rows && n < cap - 64; r++) {
    if (rnd(6) == 0) {
      for (const char *e = eol; *e; e++) PUT(*e); /* blank line */
      continue;
    }
    if (kind == 0) {
      int fields = 2 + (rnd(8) == 0);
      for (int f = 0; f < fields; f++) {
        if (f) PUT(',');
        bool quoted = rnd(3) == 0;
        if (quoted) PUT('"');
        int w = (int)rnd(quoted ? 6 : 4) + (rnd(10) == 0 ? 40 : 0);
        for (int k = 0; k < w; k++) {
          uint32_t c = rnd(12);
          if (quoted && c == 0) PUT('"'), PUT('"');
          else if (quoted && c == 1) PUT(',');
          else if (quoted && c == 2 && quoted_newlines) PUT('\n');
          else PUT('a' + (char)rnd(26));
        }
        if (quoted) PUT('"');
      }
    } else if (kind == 1) {
      const char *j = rnd(8) ? "{\"id\":\"" : "{bad ";
      for (; *j; j++) PUT(*j);
      for (int k = (int)rnd(20); k > 0; k--) PUT('0' + (char)rnd(10));
      PUT('"'), PUT('}');
    } else {
      for (int k = (int)rnd(30); k > 0; k--) PUT(rnd(7) ? 'a' + (char)rnd(26) : ' ');
    }
    if (r < rows - 1 || rnd(2)) for (const char *e = eol; *e; e++) PUT(*e);
  }
#undef PUT
  out[n] = '\0';
  return n;
}

static void test_random_files(void **state) {
  (void)state;
  static const char *names[] = {"r.csv", "r.jsonl", "r.txt"};
  char data[4096];
  for (int iter = 0; iter < 1500; iter++) {
    int kind = (int)rnd(3);
    size_t len = gen_file(data, sizeof data, kind, false);
    beam_input_options o = defaults();
    if (kind == 2) o.format = BEAM_INPUT_FORMAT_LINES;
    if (rnd(3) == 0) o.buffer_size = 16;
    mem_ctx m = {names[kind], data, len};
    outcome whole = {0};
    read_source(open_memory(m.name, data, len), &o, 0, 0, &whole);
    assert_int_equal(whole.status, BEAM_OK);
    for (int t = 0; t < 8; t++) {
      int64_t cuts[5];
      size_t nc = 1 + rnd(5);
      for (size_t i = 0; i < nc; i++) cuts[i] = len ? (int64_t)rnd((uint32_t)len + 1) : 0;
      for (size_t i = 1; i < nc; i++) /* insertion sort: cuts ascend */
        for (size_t k = i; k > 0 && cuts[k - 1] > cuts[k]; k--) {
          int64_t x = cuts[k];
          cuts[k] = cuts[k - 1], cuts[k - 1] = x;
        }
      outcome p = {0};
      read_partition(open_mem_ctx, &m, (int64_t)len, &o, cuts, nc, &whole, &p);
      if (p.status != BEAM_OK || strcmp(text_str(&p.records), text_str(&whole.records)) != 0)
        fail_msg("iteration %d (%s, %zu bytes): %s\n%s\n--- unsplit:\n%s\n--- file:\n%s", iter, m.name, len,
                 p.message, text_str(&p.records), text_str(&whole.records), data);
      outcome_free(&p);
    }
    if (kind == 0) { /* the pre-scan agrees: no quoted newline here */
      beam_byte_source *src = open_memory(m.name, data, len);
      int64_t off = -2;
      beam_error err;
      assert_int_equal(beam_csv_find_quoted_newline(src, NULL, &off, &err), BEAM_OK);
      assert_int_equal(off, -1);
      beam_byte_source_close(src);
    }
    outcome_free(&whole);
  }
}

/* Random CSVs with newlines inside quotes: the pre-scan finds the first one (checked against
 * a byte-at-a-time copy of the reader's state machine) and every partition is refused. */
static int64_t slow_scan(const char *d, size_t n) {
  size_t i = n >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  enum { START, UNQ, Q, QQ } s = START;
  for (; i < n; i++) {
    char c = d[i];
    switch (s) {
      case START: s = c == '"' ? Q : (c == ',' || c == '\n') ? START : UNQ; break;
      case UNQ: s = (c == ',' || c == '\n') ? START : UNQ; break;
      case Q:
        if (c == '\n') return (int64_t)i;
        if (c == '"') s = QQ;
        break;
      case QQ: s = c == '"' ? Q : (c == ',' || c == '\n') ? START : UNQ; break;
    }
  }
  return -1;
}

static void test_random_quoted_newlines(void **state) {
  (void)state;
  char data[4096];
  int found = 0;
  for (int iter = 0; iter < 1500; iter++) {
    size_t len = gen_file(data, sizeof data, 0, true);
    if (len && rnd(4) == 0) data[rnd((uint32_t)len)] = '"'; /* a stray quote */
    beam_byte_source *src = open_memory("rq.csv", data, len);
    int64_t off = -2;
    beam_error err;
    assert_int_equal(beam_csv_find_quoted_newline(src, NULL, &off, &err), BEAM_OK);
    beam_byte_source_close(src);
    int64_t want = slow_scan(data, len);
    if (off != want) fail_msg("pre-scan says %lld, the reader's machine %lld:\n%s", (long long)off, (long long)want, data);
    if (off < 0) continue;
    found++;
    beam_input_options o = defaults();
    mem_ctx m = {"rq.csv", data, len};
    outcome whole = {0};
    read_source(open_memory(m.name, data, len), &o, 0, 0, &whole);
    for (int t = 0; t < 6 && whole.status == BEAM_OK; t++) {
      int64_t cuts[3];
      size_t nc = 1 + rnd(3);
      for (size_t i = 0; i < nc; i++) cuts[i] = 1 + (int64_t)rnd((uint32_t)len);
      for (size_t i = 1; i < nc; i++)
        for (size_t k = i; k > 0 && cuts[k - 1] > cuts[k]; k--) {
          int64_t x = cuts[k];
          cuts[k] = cuts[k - 1], cuts[k - 1] = x;
        }
      outcome p = {0};
      read_partition(open_mem_ctx, &m, (int64_t)len, &o, cuts, nc, &whole, &p);
      /* Refused, or (a cut that happens to fall only on true record starts) the same rows. */
      if (p.status == BEAM_OK && strcmp(text_str(&p.records), text_str(&whole.records)) != 0)
        fail_msg("a quoted newline went unnoticed and rows differ:\n%s\n--- unsplit:\n%s\n--- file:\n%s",
                 text_str(&p.records), text_str(&whole.records), data);
      if (p.status != BEAM_OK) assert_true(p.split_refused);
      outcome_free(&p);
    }
    outcome_free(&whole);
  }
  assert_true(found > 100);
}

/* ---- planner and split queries ---- */

static void test_plan(void **state) {
  (void)state;
  beam_byte_range *r = NULL;
  size_t n = 0;
  beam_error err;
  assert_int_equal(beam_byte_ranges_plan(10, 4, &r, &n, &err), BEAM_OK);
  assert_int_equal(n, 3);
  assert_int_equal(r[0].start, 0), assert_int_equal(r[0].end, 4);
  assert_int_equal(r[1].start, 4), assert_int_equal(r[1].end, 8);
  assert_int_equal(r[2].start, 8), assert_int_equal(r[2].end, 10);
  free(r);
  assert_int_equal(beam_byte_ranges_plan(12, 4, &r, &n, &err), BEAM_OK);
  assert_int_equal(n, 3); /* no empty trailing range */
  assert_int_equal(r[2].end, 12);
  free(r);
  assert_int_equal(beam_byte_ranges_count(100, 0), 1);
  assert_int_equal(beam_byte_ranges_at(100, 0, 0).end, 100);
  assert_int_equal(beam_byte_ranges_count(0, 4), 1);
  assert_int_equal(beam_byte_ranges_at(0, 4, 0).end, 0);
  assert_int_equal(beam_byte_ranges_count(4, 4), 1);
  assert_int_equal(beam_byte_ranges_count(5, 4), 2);
  assert_int_equal(beam_byte_ranges_count(-1, 4), 1);
  assert_int_equal(beam_byte_ranges_at(-1, 4, 0).end, -1);
  /* A split size far below the file's size / BEAM_BYTE_RANGES_MAX is raised: at most that
   * many ranges, still a partition of the file. */
  int64_t size = 3000001;
  size_t count = beam_byte_ranges_count(size, 1);
  assert_true(count <= BEAM_BYTE_RANGES_MAX && count > BEAM_BYTE_RANGES_MAX / 2);
  assert_int_equal(beam_byte_ranges_plan(size, 1, &r, &n, &err), BEAM_OK);
  assert_int_equal(n, count);
  assert_int_equal(r[0].start, 0);
  for (size_t i = 1; i < n; i++) assert_int_equal(r[i].start, r[i - 1].end);
  assert_int_equal(r[n - 1].end, size);
  free(r);
}

static void splittable(const char *name, const char *data, size_t len, beam_input_split_info *info) {
  beam_error err;
  char path[700];
  if (data) put(name, data, len, path, sizeof path);
  else snprintf(path, sizeof path, "%s/%s", dir, name);
  beam_status st = beam_input_splittable(path, NULL, info, &err);
  if (st != BEAM_OK) fail_msg("%s: %s", name, err.message);
}

static void test_splittable(void **state) {
  (void)state;
  beam_input_split_info info;
  splittable("s.csv", "id\n1\n", 5, &info);
  assert_int_equal(info.kind, BEAM_INPUT_SPLIT_BYTES);
  assert_int_equal(info.format, BEAM_INPUT_FORMAT_CSV);
  assert_int_equal(info.size, 5);
  splittable("s.dat", "  {\"a\":1}\n", 10, &info);
  assert_int_equal(info.kind, BEAM_INPUT_SPLIT_BYTES);
  assert_int_equal(info.format, BEAM_INPUT_FORMAT_JSONL);
  splittable("arr.json", "\n [{\"a\":1}]\n", 12, &info);
  assert_int_equal(info.kind, BEAM_INPUT_SPLIT_WHOLE);
  assert_non_null(strstr(info.reason, "JSON array"));
  splittable("g.csv.gz", NULL, 0, &info);
  assert_int_equal(info.kind, BEAM_INPUT_SPLIT_WHOLE);
  assert_non_null(strstr(info.reason, "gzip"));
  splittable("g.txt", NULL, 0, &info); /* gzip by its magic, whatever the name */
  assert_int_equal(info.kind, BEAM_INPUT_SPLIT_WHOLE);
  splittable("in.zip", NULL, 0, &info);
  assert_int_equal(info.kind, BEAM_INPUT_SPLIT_MEMBERS);
  assert_int_equal(info.members, 3); /* a.csv, notes.md (reported), b.jsonl */
  splittable("empty.csv", "", 0, &info);
  assert_int_equal(info.kind, BEAM_INPUT_SPLIT_BYTES);

  /* And a range on what cannot be split is an error, not a wrong read. */
  beam_input_options o = defaults();
  outcome r = {0};
  char path[700];
  snprintf(path, sizeof path, "%s/g.csv.gz", dir);
  read_source(open_file(path), &o, 3, 0, &r);
  assert_int_equal(r.status, BEAM_ERR_UNSUPPORTED);
  assert_non_null(strstr(r.message, "gzip"));
  outcome_free(&r);
  read_source(open_memory("arr.json", "[{\"a\":1},\n{\"a\":2}]\n", 19), &o, 5, 0, &r);
  assert_int_equal(r.status, BEAM_ERR_UNSUPPORTED);
  assert_non_null(strstr(r.message, "JSON array"));
  outcome_free(&r);
}

static void test_zip_member(void **state) {
  (void)state;
  char path[700];
  snprintf(path, sizeof path, "%s/in.zip", dir);
  beam_input_options o = defaults();
  outcome all = {0}, parts = {0};
  read_source(open_file(path), &o, 0, 0, &all);
  assert_int_equal(all.status, BEAM_OK);
  for (size_t k = 1; k <= 3; k++) {
    o.zip_member = k;
    outcome one = {0};
    read_source(open_file(path), &o, 0, 0, &one);
    assert_int_equal(one.status, BEAM_OK);
    assert_true(one.records.len > 0);
    text_add(&parts.records, text_str(&one.records), one.records.len);
    outcome_free(&one);
  }
  assert_string_equal(text_str(&parts.records), text_str(&all.records));
  o.zip_member = 4;
  outcome none = {0};
  read_source(open_file(path), &o, 0, 0, &none);
  assert_int_equal(none.status, BEAM_ERR_INVALID_ARG);
  outcome_free(&none);
  outcome_free(&all);
  outcome_free(&parts);
}

/* ---- ZIP archives by member ---- */

/* Reads [start, end) of the ZIP at path into records (source, offset, line, result, raw,
 * cells) and checks that every record's member header lies in the range and that members
 * come in header order. end 0: the whole archive. */
static void read_zip_range(const char *path, int64_t start, int64_t end, text *records) {
  beam_input_options opts = defaults();
  test_schema ts;
  const beam_etl_schema *schema = test_schema_make(&ts, IDN);
  beam_input *in = NULL;
  beam_error err = {0};
  if (open_range(open_file(path), &opts, start, end, schema, &in, &err) != BEAM_OK) fail_msg("open: %s", err.message);
  beam_arena arena = BEAM_ARENA_INIT;
  int64_t last_member = -1;
  for (;;) {
    beam_etl_record rec;
    beam_read_result res;
    beam_etl_parse_error perr;
    if (beam_input_next(in, &arena, &rec, &res, &perr, &err) != BEAM_OK) fail_msg("[%lld, %lld): %s", (long long)start, (long long)end, err.message);
    if (res == BEAM_READ_EOF) break;
    int64_t at = rec.origin.member_offset;
    assert_true(at >= start && (end == 0 || at < end));
    if (end) assert_true(at >= last_member); /* a range reads in header order */
    assert_int_equal(beam_etl_origin_position(&rec.origin), at);
    last_member = at;
    text_printf(records, "%s line %lld ", rec.origin.source, (long long)rec.origin.line);
    add_record(records, &rec, res, schema);
    beam_arena_reset(&arena);
  }
  beam_arena_free(&arena);
  beam_input_close(in);
}

static int64_t file_size(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  int64_t n = ftell(f);
  fclose(f);
  return n;
}

/* Every partition of the archive in two and three ranges reads what the whole read does:
 * every member once, lines and offsets the member's own. */
static void test_zip_ranges(void **state) {
  (void)state;
  char path[700];
  snprintf(path, sizeof path, "%s/split.zip", dir);
  int64_t size = file_size(path);
  text whole = {0};
  read_zip_range(path, 0, 0, &whole);
  assert_non_null(strstr(text_str(&whole), "split.zip!m2.jsonl line 16 @"));
  assert_non_null(strstr(text_str(&whole), "split.zip!notes.md line 0 @0 bad"));
  assert_non_null(strstr(text_str(&whole), "split.zip!big.csv line 400 @"));
  for (int64_t a = 1; a < size; a++) {
    text parts = {0};
    read_zip_range(path, 0, a, &parts);
    read_zip_range(path, a, size, &parts);
    if (strcmp(text_str(&parts), text_str(&whole)) != 0) fail_msg("cut at %lld differs from the whole read", (long long)a);
    text_free(&parts);
  }
  for (int64_t a = 1; a < size; a += 13)
    for (int64_t b = a; b < size; b += 29) {
      text parts = {0};
      read_zip_range(path, 0, a, &parts);
      if (b > a) read_zip_range(path, a, b, &parts);
      read_zip_range(path, b, size, &parts);
      if (strcmp(text_str(&parts), text_str(&whole)) != 0)
        fail_msg("cuts at %lld, %lld differ from the whole read", (long long)a, (long long)b);
      text_free(&parts);
    }
  text_free(&whole);
}

/* The planner cuts at local headers only, covers the archive, balances by uncompressed size
 * and leaves a large member alone; its ranges read the whole archive. */
static void test_zip_plan(void **state) {
  (void)state;
  char path[700];
  snprintf(path, sizeof path, "%s/split.zip", dir);
  int64_t size = file_size(path);
  beam_zip_reader *z = NULL;
  beam_error err;
  assert_int_equal(beam_zip_open(open_file(path), &z, &err), BEAM_OK);
  uint64_t big_at = 0, after_big = (uint64_t)size;
  for (size_t i = 0; i < beam_zip_count(z); i++)
    if (strcmp(beam_zip_entry_at(z, i)->name, "big.csv") == 0) big_at = beam_zip_entry_at(z, i)->local_header_offset;
  for (size_t i = 0; i < beam_zip_count(z); i++) {
    uint64_t at = beam_zip_entry_at(z, i)->local_header_offset;
    if (at > big_at && at < after_big) after_big = at;
  }
  text whole = {0};
  read_zip_range(path, 0, 0, &whole);
  const int64_t splits[] = {0, 1, 100, 300, 1000, 1 << 20};
  for (size_t k = 0; k < sizeof splits / sizeof *splits; k++) {
    beam_byte_range *r = NULL;
    size_t n = 0;
    assert_int_equal(beam_zip_plan_ranges(z, 0, size, splits[k], &r, &n, &err), BEAM_OK);
    assert_true(n >= 1);
    assert_int_equal(r[0].start, 0);
    assert_int_equal(r[n - 1].end, size);
    bool big_alone = false;
    text parts = {0};
    for (size_t i = 0; i < n; i++) {
      assert_true(r[i].start < r[i].end);
      if (i) assert_int_equal(r[i].start, r[i - 1].end);
      bool at_header = r[i].start == 0;
      for (size_t e = 0; e < beam_zip_count(z); e++) at_header |= (uint64_t)r[i].start == beam_zip_entry_at(z, e)->local_header_offset;
      assert_true(at_header);
      big_alone |= (uint64_t)r[i].start == big_at && (uint64_t)r[i].end == after_big;
      read_zip_range(path, r[i].start, r[i].end, &parts);
    }
    assert_string_equal(text_str(&parts), text_str(&whole));
    if (splits[k] == 0 || splits[k] == 1 << 20) assert_int_equal(n, 1);
    if (splits[k] == 1) assert_int_equal(n, beam_zip_count(z)); /* every entry alone */
    if (splits[k] == 300 || splits[k] == 1000) assert_true(big_alone && n > 2);
    text_free(&parts);
    free(r);
  }
  /* A part of the archive: cut inside it, ending where it ends. */
  beam_byte_range *r = NULL;
  size_t n = 0;
  assert_int_equal(beam_zip_plan_ranges(z, 5, (int64_t)big_at + 1, 1, &r, &n, &err), BEAM_OK);
  assert_int_equal(r[0].start, 5);
  assert_int_equal(r[n - 1].end, (int64_t)big_at + 1);
  assert_int_equal(r[n - 1].start, (int64_t)big_at);
  free(r);
  text_free(&whole);
  beam_zip_close(z);
  /* And through the input API, by path. */
  assert_int_equal(beam_input_zip_ranges(path, 0, size, 300, &r, &n, &err), BEAM_OK);
  assert_true(n > 2);
  free(r);
  beam_input_split_info info;
  splittable("split.zip", NULL, 0, &info);
  assert_int_equal(info.kind, BEAM_INPUT_SPLIT_MEMBERS);
  assert_int_equal(info.members, 6); /* m1, empty, m2, notes.md, big, m3 */
  assert_true(info.content_size > 400 * 25);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_cuts),
      cmocka_unit_test(test_long_lines),
      cmocka_unit_test(test_jsonl_and_lines_cuts),
      cmocka_unit_test(test_offsets_are_the_files),
      cmocka_unit_test(test_quoted_newlines),
      cmocka_unit_test(test_random_files),
      cmocka_unit_test(test_random_quoted_newlines),
      cmocka_unit_test(test_plan),
      cmocka_unit_test(test_splittable),
      cmocka_unit_test(test_zip_member),
      cmocka_unit_test(test_zip_ranges),
      cmocka_unit_test(test_zip_plan),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
