/* beam_input: format detection, gzip and ZIP containers, bad records, stats, fatal errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/input.h"
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
           "gz = gzip.compress(b'id,name\\n7,gz\\n')\n"
           "open(os.path.join(d, 'g.csv.gz'), 'wb').write(gz)\n"
           "open(os.path.join(d, 'hidden.csv'), 'wb').write(gz)\n"
           "with zipfile.ZipFile(os.path.join(d, 'in.zip'), 'w', zipfile.ZIP_DEFLATED) as z:\n"
           "    z.writestr('a.csv', 'id,name\\n1,a\\n2,b\\n')\n"
           "    z.writestr('sub/', '')\n"
           "    z.writestr('__MACOSX/._a.csv', 'junk')\n"
           "    z.writestr('notes.md', 'hello')\n"
           "    z.writestr('b.jsonl', '{\"id\":3,\"name\":\"c\"}\\n\\n{\"id\":4\\n')\n"
           "    z.writestr('c.csv.gz', gz)\n"
           "    z.writestr('e.csv', '')\n"
           "with zipfile.ZipFile(os.path.join(d, 'bad.zip'), 'w', zipfile.ZIP_STORED) as z:\n"
           "    z.writestr('a.csv', 'id,name\\n1,AAAA\\n')\n"
           "b = open(os.path.join(d, 'bad.zip'), 'rb').read().replace(b'AAAA', b'AAAB', 1)\n"
           "open(os.path.join(d, 'bad.zip'), 'wb').write(b)\n",
           dir);
  assert_int_equal(test_python(script), 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  test_tmpdir_remove(dir);
  return 0;
}

static void put(const char *name, const char *text, char *path, size_t cap) {
  snprintf(path, cap, "%s/%s", dir, name);
  test_write_file(path, text, strlen(text));
}

typedef struct summary {
  int good, bad;
  char first_source[700];
  char last_source[700];
  char cells[16][2][32];
  int64_t lines[16];
  char msgs[4][384];
} summary;

static beam_status read_all(const char *path, const beam_input_options *o, summary *s,
                            beam_input_stats *stats, beam_error *err) {
  memset(s, 0, sizeof *s);
  test_schema ts;
  const beam_etl_schema *schema = test_schema_make(&ts, IDN);
  beam_input *in;
  beam_status st = beam_input_open(path, o, schema, &in, err);
  if (st != BEAM_OK) return st;
  beam_arena arena = BEAM_ARENA_INIT;
  int k = 0;
  for (;;) {
    beam_etl_record rec;
    beam_read_result res;
    beam_etl_parse_error perr;
    st = beam_input_next(in, &arena, &rec, &res, &perr, err);
    if (st != BEAM_OK || res == BEAM_READ_EOF) break;
    if (k == 0) snprintf(s->first_source, sizeof s->first_source, "%s", rec.origin.source);
    snprintf(s->last_source, sizeof s->last_source, "%s", rec.origin.source);
    if (k < 16) {
      s->lines[k] = rec.origin.line;
      if (res == BEAM_READ_RECORD)
        for (int c = 0; c < 2; c++)
          snprintf(s->cells[k][c], 32, "%.*s", (int)rec.cells[c].len, rec.cells[c].data);
    }
    if (res == BEAM_READ_BAD_RECORD && s->bad < 4) snprintf(s->msgs[s->bad], 384, "%s", perr.message);
    if (res == BEAM_READ_RECORD) s->good++;
    else s->bad++;
    k++;
    beam_arena_reset(&arena);
  }
  if (stats) beam_input_get_stats(in, stats);
  beam_input_close(in);
  beam_arena_free(&arena);
  return st;
}

static void csv_tsv_and_sniffing(void **state) {
  (void)state;
  char p[700];
  summary s;
  beam_input_stats stats;
  beam_error err;
  put("a.csv", "id,name\n1,x\n2,y\n", p, sizeof p);
  assert_int_equal(read_all(p, NULL, &s, &stats, &err), BEAM_OK);
  assert_int_equal(s.good, 2);
  assert_string_equal(s.first_source, p);
  assert_int_equal(stats.records, 2);
  assert_int_equal(stats.bad_records, 0);
  assert_int_equal(stats.bytes_read, 16);
  assert_int_equal(stats.size, 16);
  put("a.tsv", "id\tname\n1\tx,y\n", p, sizeof p);
  assert_int_equal(read_all(p, NULL, &s, NULL, &err), BEAM_OK);
  assert_string_equal(s.cells[0][1], "x,y");
  put("a.dat", "\n  {\"id\":5,\"name\":\"j\"}\n", p, sizeof p);
  assert_int_equal(read_all(p, NULL, &s, NULL, &err), BEAM_OK);
  assert_int_equal(s.good, 1);
  assert_int_equal(s.lines[0], 1);
  assert_string_equal(s.cells[0][0], "5");
  put("b.dat", "id;name\n1;x\n", p, sizeof p);
  beam_input_options o;
  beam_input_options_init(&o);
  o.csv.delimiter = ';';
  assert_int_equal(read_all(p, &o, &s, NULL, &err), BEAM_OK);
  assert_string_equal(s.cells[0][1], "x");
  /* An explicit format wins over the extension. */
  put("c.csv", "{\"id\":1}\n", p, sizeof p);
  o.format = BEAM_INPUT_FORMAT_JSONL;
  assert_int_equal(read_all(p, &o, &s, NULL, &err), BEAM_OK);
  assert_int_equal(s.good, 1);
}

static void empty_files(void **state) {
  (void)state;
  char p[700];
  summary s;
  beam_error err;
  const char *names[] = {"e.csv", "e.jsonl", "e.dat"};
  for (int i = 0; i < 3; i++) {
    put(names[i], "", p, sizeof p);
    assert_int_equal(read_all(p, NULL, &s, NULL, &err), BEAM_OK);
    assert_int_equal(s.good + s.bad, 0);
  }
}

static void gzip_by_magic(void **state) {
  (void)state;
  char p[700];
  summary s;
  beam_input_stats stats;
  beam_error err;
  snprintf(p, sizeof p, "%s/g.csv.gz", dir);
  assert_int_equal(read_all(p, NULL, &s, &stats, &err), BEAM_OK);
  assert_int_equal(s.good, 1);
  assert_string_equal(s.cells[0][1], "gz");
  assert_int_equal((int64_t)stats.bytes_read, stats.size);
  snprintf(p, sizeof p, "%s/hidden.csv", dir);
  assert_int_equal(read_all(p, NULL, &s, NULL, &err), BEAM_OK);
  assert_string_equal(s.cells[0][0], "7");
}

static void zip_members_in_order(void **state) {
  (void)state;
  char p[700], want[800];
  summary s;
  beam_input_stats stats;
  beam_error err;
  snprintf(p, sizeof p, "%s/in.zip", dir);
  assert_int_equal(read_all(p, NULL, &s, &stats, &err), BEAM_OK);
  /* a.csv: 2, notes.md: 1 bad, b.jsonl: 1 good + 1 bad, c.csv.gz: 1, e.csv: 0. */
  assert_int_equal(s.good, 4);
  assert_int_equal(s.bad, 2);
  snprintf(want, sizeof want, "%s!a.csv", p);
  assert_string_equal(s.first_source, want);
  assert_int_equal(s.lines[0], 1);
  assert_string_equal(s.cells[1][1], "b");
  assert_int_equal(s.lines[2], 0);
  assert_non_null(strstr(s.msgs[0], "unsupported file in archive: 'notes.md'"));
  assert_string_equal(s.cells[3][0], "3");
  assert_int_equal(s.lines[4], 2); /* record number: the blank line does not count */
  assert_string_equal(s.cells[5][1], "gz");
  snprintf(want, sizeof want, "%s!c.csv.gz", p);
  assert_string_equal(s.last_source, want);
  assert_int_equal(stats.members, 4);
  assert_int_equal(stats.records, 6);
  assert_int_equal(stats.bad_records, 2);
}

static void corrupt_zip_is_fatal(void **state) {
  (void)state;
  char p[700];
  summary s;
  beam_error err;
  snprintf(p, sizeof p, "%s/bad.zip", dir);
  assert_int_equal(read_all(p, NULL, &s, NULL, &err), BEAM_ERR_MALFORMED);
  assert_non_null(strstr(err.message, "bad.zip!a.csv: CRC-32 mismatch"));
  /* A truncated zip (named .zip) and a zip without the extension (found by magic). */
  static uint8_t buf[4096];
  size_t len = test_read_file(p, buf, sizeof buf);
  snprintf(p, sizeof p, "%s/cut.zip", dir);
  test_write_file(p, buf, len - 30);
  assert_int_equal(read_all(p, NULL, &s, NULL, &err), BEAM_ERR_MALFORMED);
  assert_non_null(strstr(err.message, "cut.zip: not a ZIP archive, or truncated"));
  snprintf(p, sizeof p, "%s/cut.bin", dir);
  test_write_file(p, buf, len - 30);
  assert_int_equal(read_all(p, NULL, &s, NULL, &err), BEAM_ERR_MALFORMED);
}

static void fatal_open_errors(void **state) {
  (void)state;
  summary s;
  beam_error err;
  /* gs:// objects are read for real in tests/gcp; a URI without a bucket fails at once. */
  assert_int_equal(read_all("gs:///x.csv", NULL, &s, NULL, &err), BEAM_ERR_INVALID_ARG);
  char p[700];
  snprintf(p, sizeof p, "%s/missing.csv", dir);
  assert_int_equal(read_all(p, NULL, &s, NULL, &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "missing.csv: cannot open"));
  assert_int_equal(read_all(dir, NULL, &s, NULL, &err), BEAM_ERR_IO);
}

static void lines_format_and_parse_names(void **state) {
  (void)state;
  char p[700];
  summary s;
  beam_error err;
  put("l.txt", "one\r\n\ntwo", p, sizeof p);
  beam_input_options o;
  beam_input_options_init(&o);
  bool tab;
  assert_int_equal(beam_input_format_parse("lines", &o.format, &tab, &err), BEAM_OK);
  assert_int_equal(read_all(p, &o, &s, NULL, &err), BEAM_OK);
  assert_int_equal(s.good, 3);
  assert_string_equal(s.cells[0][0], "one");
  assert_string_equal(s.cells[1][0], "");
  assert_int_equal(s.lines[2], 3);
  assert_int_equal(beam_input_format_parse("tsv", &o.format, &tab, &err), BEAM_OK);
  assert_true(tab);
  assert_int_equal(o.format, BEAM_INPUT_FORMAT_CSV);
  assert_int_equal(beam_input_format_parse("xml", &o.format, &tab, &err), BEAM_ERR_INVALID_ARG);
  assert_string_equal(beam_input_format_name(BEAM_INPUT_FORMAT_JSONL), "jsonl");
}

static void large_record(void **state) {
  (void)state;
  /* A 3 MB JSON line: the 64 KiB buffer grows, the next small line still reads. */
  size_t big = 3u << 20;
  char *t = malloc(big + 64);
  size_t n = (size_t)sprintf(t, "{\"id\":1,\"name\":\"");
  memset(t + n, 'z', big);
  n += big;
  n += (size_t)sprintf(t + n, "\"}\n{\"id\":2}\n");
  char p[700];
  snprintf(p, sizeof p, "%s/big.jsonl", dir);
  test_write_file(p, t, n);
  free(t);
  summary s;
  beam_error err;
  assert_int_equal(read_all(p, NULL, &s, NULL, &err), BEAM_OK);
  assert_int_equal(s.good, 2);
  beam_input_options o;
  beam_input_options_init(&o);
  o.max_record = 1 << 20;
  assert_int_equal(read_all(p, &o, &s, NULL, &err), BEAM_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "big.jsonl: line 1: record longer than"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(csv_tsv_and_sniffing),
      cmocka_unit_test(empty_files),
      cmocka_unit_test(gzip_by_magic),
      cmocka_unit_test(zip_members_in_order),
      cmocka_unit_test(corrupt_zip_is_fatal),
      cmocka_unit_test(fatal_open_errors),
      cmocka_unit_test(lines_format_and_parse_names),
      cmocka_unit_test(large_record),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
