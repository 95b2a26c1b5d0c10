/* A record's byte offset (beam_etl_origin.offset), half of its identity: where the record
 * starts in its file (a BOM counts), or in the decompressed stream of a gzip file or a ZIP
 * member; exact across buffer refills (a 16-byte buffer makes every record straddle one),
 * CRLF line ends, quoted CSV fields holding newlines, blank lines and bad records. And the
 * file identity beside it: the content, not the name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/file_identity.h"
#include "beam/transforms/input.h"
#include "etl_input_test_util.h"

static char dir[512];
static const char *const IDN[] = {"id", "name", NULL};

static int setup(void **state) {
  (void)state;
  test_tmpdir(dir, sizeof dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  test_tmpdir_remove(dir);
  return 0;
}

/* Reads path with a tiny buffer; offsets[i] = the i-th record's offset (good or bad). */
static size_t offsets_of(const char *path, int64_t *offsets, size_t cap) {
  test_schema ts;
  beam_input_options o;
  beam_input_options_init(&o);
  o.buffer_size = 16;
  beam_input *in = NULL;
  beam_error err = {0};
  if (beam_input_open(path, &o, test_schema_make(&ts, IDN), &in, &err) != BEAM_OK) fail_msg("open: %s", err.message);
  beam_arena arena = BEAM_ARENA_INIT;
  size_t n = 0;
  for (;;) {
    beam_etl_record rec;
    beam_read_result res;
    beam_etl_parse_error perr;
    if (beam_input_next(in, &arena, &rec, &res, &perr, &err) != BEAM_OK) fail_msg("next: %s", err.message);
    if (res == BEAM_READ_EOF) break;
    if (n < cap) offsets[n] = rec.origin.offset;
    n++;
    beam_arena_reset(&arena);
  }
  beam_arena_free(&arena);
  beam_input_close(in);
  return n;
}

static const char *put(const char *name, const char *text, size_t len) {
  static char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  test_write_file(path, text, len);
  return path;
}

static void csv_offsets(void **state) {
  (void)state;
  /* header 8 bytes; "1,a\r\n" at 8; a quoted field with a newline at 13; blank line; "3,c" */
  const char text[] = "id,name\n1,a\r\n2,\"b\nb\"\n\n3,c";
  int64_t got[8];
  assert_int_equal(offsets_of(put("a.csv", text, sizeof text - 1), got, 8), 3);
  assert_int_equal(got[0], 8);
  assert_int_equal(got[1], 13);
  assert_int_equal(got[2], 22);
}

static void bom_counts(void **state) {
  (void)state;
  const char text[] = "\xEF\xBB\xBFid,name\n1,a\n2,b\n";
  int64_t got[4];
  assert_int_equal(offsets_of(put("bom.csv", text, sizeof text - 1), got, 4), 2);
  assert_int_equal(got[0], 11);
  assert_int_equal(got[1], 15);
}

static void jsonl_offsets_with_bad_records(void **state) {
  (void)state;
  const char text[] = "{\"id\":\"1\"}\n\n{\"id\":\n{\"id\":\"3\",\"name\":\"a long name past the buffer\"}\r\n";
  int64_t got[4];
  assert_int_equal(offsets_of(put("b.jsonl", text, sizeof text - 1), got, 4), 3);
  assert_int_equal(got[0], 0);
  assert_int_equal(got[1], 12); /* the bad record: still an offset */
  assert_int_equal(got[2], 19);
}

static void gzip_offsets_are_in_the_decompressed_stream(void **state) {
  (void)state;
  char script[1024];
  snprintf(script, sizeof script,
           "import gzip\nopen('%s/g.csv.gz', 'wb').write(gzip.compress(b'id,name\\n7,gz\\n8,gz\\n'))\n", dir);
  assert_int_equal(test_python(script), 0);
  char path[600];
  snprintf(path, sizeof path, "%s/g.csv.gz", dir);
  int64_t got[4];
  assert_int_equal(offsets_of(path, got, 4), 2);
  assert_int_equal(got[0], 8);
  assert_int_equal(got[1], 13);
}

static void identity_is_the_content(void **state) {
  (void)state;
  char a[600], b[600], c[600];
  snprintf(a, sizeof a, "%s", put("one.csv", "id\n1\n", 5));
  snprintf(b, sizeof b, "%s", put("copy-of-one.csv", "id\n1\n", 5));
  snprintf(c, sizeof c, "%s", put("two.csv", "id\n2\n", 5));
  beam_file_identity x, y, z;
  beam_error err = {0};
  assert_int_equal(beam_file_identity_of(a, &x, &err), BEAM_OK);
  assert_int_equal(beam_file_identity_of(b, &y, &err), BEAM_OK);
  assert_int_equal(beam_file_identity_of(c, &z, &err), BEAM_OK);
  assert_string_equal(x.id, y.id);
  assert_string_not_equal(x.id, z.id);
  assert_int_equal(x.size, 5);
  assert_int_equal(strncmp(x.id, "5-xxh3-", 7), 0);
  assert_int_equal(strlen(x.id), 7 + 32);
  char missing[600];
  snprintf(missing, sizeof missing, "%s/nope.csv", dir);
  assert_int_equal(beam_file_identity_of(missing, &x, &err), BEAM_ERR_NOT_FOUND);
  assert_non_null(strstr(err.message, "nope.csv"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(csv_offsets),
      cmocka_unit_test(bom_counts),
      cmocka_unit_test(jsonl_offsets_with_bad_records),
      cmocka_unit_test(gzip_offsets_are_in_the_decompressed_stream),
      cmocka_unit_test(identity_is_the_content),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
