/* ZIP reader: members (stored, deflate, data descriptors), CRC checks, truncation and
 * corruption. Archives are made at run time with Python's zipfile (no zip CLI needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/zip_reader.h"
#include "etl_input_test_util.h"

static char dir[512];

static int setup(void **state) {
  (void)state;
  test_tmpdir(dir, sizeof dir);
  char script[4096];
  snprintf(script, sizeof script,
           "import zipfile, os\n"
           "d = '%s'\n"
           "big = ''.join('%%d,name %%d,%%d\\n' %% (i, i, i * 3) for i in range(5000))\n"
           "with zipfile.ZipFile(os.path.join(d, 'plain.zip'), 'w') as z:\n"
           "    z.writestr('dir/', '')\n"
           "    z.writestr(zipfile.ZipInfo('dir/a.csv'), 'id,name\\n1,x\\n', zipfile.ZIP_STORED)\n"
           "    z.writestr('b.csv', 'id,name\\n' + big, zipfile.ZIP_DEFLATED)\n"
           "    z.writestr('notes.md', 'hello', zipfile.ZIP_DEFLATED)\n"
           "class W:\n"
           "    def __init__(s, f): s.f = f\n"
           "    def write(s, b): return s.f.write(b)\n"
           "    def flush(s): s.f.flush()\n"
           "with open(os.path.join(d, 'stream.zip'), 'wb') as f:\n"
           "    with zipfile.ZipFile(W(f), 'w', zipfile.ZIP_DEFLATED) as z:\n"
           "        with z.open('s.jsonl', 'w') as m: m.write(b'{\"id\":1}\\n{\"id\":2}\\n')\n"
           "        with z.open('t.csv', 'w') as m: m.write(big.encode())\n",
           dir);
  assert_int_equal(test_python(script), 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  test_tmpdir_remove(dir);
  return 0;
}

static void path_of(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", dir, name); }

/* Opens a member and reads it fully; returns the status of the first failure. */
static beam_status read_member(beam_zip_reader *z, size_t i, char **data, size_t *len, beam_error *err) {
  beam_byte_source *m;
  beam_status st = beam_zip_open_member(z, i, &m, err);
  if (st != BEAM_OK) return st;
  size_t cap = 1 << 20;
  *data = malloc(cap);
  *len = 0;
  for (;;) {
    size_t got = 0;
    st = beam_byte_source_read(m, *data + *len, cap - *len < 1000 ? cap - *len : 1000, &got, err);
    if (st != BEAM_OK || got == 0) break;
    *len += got;
  }
  beam_byte_source_close(m);
  return st;
}

static beam_zip_reader *open_zip(const char *path, beam_error *err) {
  beam_byte_source *src;
  assert_int_equal(beam_file_source_open(path, &src, err), BEAM_OK);
  beam_zip_reader *z = NULL;
  if (beam_zip_open(src, &z, err) != BEAM_OK) return NULL;
  return z;
}

static void lists_and_reads_members(void **state) {
  (void)state;
  char p[600];
  path_of(p, sizeof p, "plain.zip");
  beam_error err;
  beam_zip_reader *z = open_zip(p, &err);
  assert_non_null(z);
  assert_int_equal(beam_zip_count(z), 4);
  const beam_zip_entry *e0 = beam_zip_entry_at(z, 0), *e1 = beam_zip_entry_at(z, 1),
                       *e2 = beam_zip_entry_at(z, 2);
  assert_true(e0->is_dir);
  assert_string_equal(e1->name, "dir/a.csv");
  assert_int_equal(e1->method, 0);
  assert_int_equal(e2->method, 8);
  char want[700];
  snprintf(want, sizeof want, "%s!dir/a.csv", p);
  assert_string_equal(e1->display_name, want);
  char *data = NULL;
  size_t len;
  assert_int_equal(read_member(z, 1, &data, &len, &err), BEAM_OK);
  assert_int_equal(len, 12);
  assert_memory_equal(data, "id,name\n1,x\n", 12);
  free(data);
  assert_int_equal(read_member(z, 2, &data, &len, &err), BEAM_OK);
  assert_int_equal(len, e2->uncompressed_size);
  assert_memory_equal(data, "id,name\n0,name 0,0\n", 19);
  free(data);
  assert_int_equal(beam_zip_open_member(z, 0, &(beam_byte_source *){NULL}, &err), BEAM_ERR_INVALID_ARG);
  beam_zip_close(z);
}

static void data_descriptors(void **state) {
  (void)state;
  char p[600];
  path_of(p, sizeof p, "stream.zip");
  beam_error err;
  beam_zip_reader *z = open_zip(p, &err);
  assert_non_null(z);
  assert_int_equal(beam_zip_count(z), 2);
  assert_true(beam_zip_entry_at(z, 0)->flags & 0x8);
  char *data = NULL;
  size_t len;
  assert_int_equal(read_member(z, 0, &data, &len, &err), BEAM_OK);
  assert_int_equal(len, 18);
  free(data);
  assert_int_equal(read_member(z, 1, &data, &len, &err), BEAM_OK);
  assert_int_equal(len, beam_zip_entry_at(z, 1)->uncompressed_size);
  free(data);
  beam_zip_close(z);
}

/* Copies plain.zip with edits into name; returns its path in out. */
static size_t load(const char *name, uint8_t *buf, size_t cap) {
  char p[600];
  path_of(p, sizeof p, name);
  return test_read_file(p, buf, cap);
}

static void write_variant(const char *name, const uint8_t *buf, size_t len, char *out, size_t cap) {
  path_of(out, cap, name);
  test_write_file(out, buf, len);
}

static size_t find(const uint8_t *buf, size_t len, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; i + n <= len; i++)
    if (memcmp(buf + i, needle, n) == 0) return i;
  fail_msg("needle %s not found", needle);
  return 0;
}

static void crc_mismatch_names_member(void **state) {
  (void)state;
  static uint8_t buf[1 << 20];
  size_t len = load("plain.zip", buf, sizeof buf);
  /* The stored member's bytes appear verbatim: corrupt one. */
  size_t at = find(buf, len, "1,x\n");
  buf[at] = '2';
  char p[600];
  write_variant("crc.zip", buf, len, p, sizeof p);
  beam_error err;
  beam_zip_reader *z = open_zip(p, &err);
  assert_non_null(z);
  char *data = NULL;
  size_t dlen;
  assert_int_equal(read_member(z, 1, &data, &dlen, &err), BEAM_ERR_MALFORMED);
  free(data);
  assert_non_null(strstr(err.message, "crc.zip!dir/a.csv: CRC-32 mismatch"));
  beam_zip_close(z);
}

static void corrupt_deflate_data(void **state) {
  (void)state;
  static uint8_t buf[1 << 20];
  size_t len = load("plain.zip", buf, sizeof buf);
  const beam_zip_entry *e;
  beam_error err;
  char p[600];
  path_of(p, sizeof p, "plain.zip");
  beam_zip_reader *z = open_zip(p, &err);
  e = beam_zip_entry_at(z, 2);
  size_t data_at = (size_t)e->local_header_offset + 30 + strlen("b.csv");
  size_t csize = (size_t)e->compressed_size;
  beam_zip_close(z);
  for (size_t i = csize / 3; i < csize / 3 + 40; i++) buf[data_at + i] ^= 0x5A;
  write_variant("deflate.zip", buf, len, p, sizeof p);
  z = open_zip(p, &err);
  assert_non_null(z);
  char *data = NULL;
  size_t dlen;
  beam_status st = read_member(z, 2, &data, &dlen, &err);
  free(data);
  assert_int_not_equal(st, BEAM_OK);
  assert_non_null(strstr(err.message, "deflate.zip!b.csv: "));
  beam_zip_close(z);
}

static void truncated_archive(void **state) {
  (void)state;
  static uint8_t buf[1 << 20];
  size_t len = load("plain.zip", buf, sizeof buf);
  char p[600];
  beam_error err;
  size_t cuts[] = {len / 2, len - 10, 10, 0};
  for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
    write_variant("cut.zip", buf, cuts[k], p, sizeof p);
    assert_null(open_zip(p, &err));
    assert_non_null(strstr(err.message, "cut.zip: not a ZIP archive, or truncated"));
  }
  /* End record intact but the central directory points past it. */
  size_t eocd = len - 22;
  uint8_t copy[1 << 16];
  memcpy(copy, buf + eocd, 22);
  copy[16] = 0xFF; /* cd offset huge */
  copy[17] = 0xFF;
  copy[18] = 0xFF;
  copy[19] = 0x7F;
  memcpy(buf + eocd, copy, 22);
  write_variant("badcd.zip", buf, len, p, sizeof p);
  assert_null(open_zip(p, &err));
  assert_non_null(strstr(err.message, "central directory lies outside the archive"));
}

static void bad_local_signature(void **state) {
  (void)state;
  static uint8_t buf[1 << 20];
  size_t len = load("plain.zip", buf, sizeof buf);
  size_t name_at = find(buf, len, "dir/a.csv");
  if (name_at < 30 || name_at >= sizeof buf) {
    fail_msg("the local header of dir/a.csv is not where a ZIP puts it");
    return;
  }
  size_t at = name_at - 30; /* first local header naming it */
  assert_int_equal(buf[at], 'P');
  buf[at + 2] = 0;
  char p[600];
  write_variant("sig.zip", buf, len, p, sizeof p);
  beam_error err;
  beam_zip_reader *z = open_zip(p, &err);
  assert_non_null(z);
  beam_byte_source *m;
  assert_int_equal(beam_zip_open_member(z, 1, &m, &err), BEAM_ERR_MALFORMED);
  assert_non_null(strstr(err.message, "sig.zip!dir/a.csv: bad local header signature"));
  /* A corrupt central directory entry signature. */
  beam_zip_close(z);
  len = load("plain.zip", buf, sizeof buf);
  size_t cd = find(buf, len, "PK\x01\x02");
  buf[cd + 3] = 9;
  write_variant("cdsig.zip", buf, len, p, sizeof p);
  assert_null(open_zip(p, &err));
  assert_non_null(strstr(err.message, "bad central directory entry 1"));
}

static void empty_archive(void **state) {
  (void)state;
  const uint8_t eocd[22] = {'P', 'K', 5, 6};
  char p[600];
  write_variant("empty.zip", eocd, sizeof eocd, p, sizeof p);
  beam_error err;
  beam_zip_reader *z = open_zip(p, &err);
  assert_non_null(z);
  assert_int_equal(beam_zip_count(z), 0);
  beam_zip_close(z);
  assert_true(beam_zip_magic(eocd, 4));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(lists_and_reads_members),
      cmocka_unit_test(data_descriptors),
      cmocka_unit_test(crc_mismatch_names_member),
      cmocka_unit_test(corrupt_deflate_data),
      cmocka_unit_test(truncated_archive),
      cmocka_unit_test(bad_local_signature),
      cmocka_unit_test(empty_archive),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
