/* CSV reader: RFC 4180 quoting, delimiters, header mapping, line numbers, bad records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/csv_reader.h"
#include "etl_input_test_util.h"

typedef struct got_rec {
  beam_read_result res;
  int64_t line;
  char raw[256];
  char cells[8][64];
  int states[8];
  char msg[384];
} got_rec;

/* Reads every record of text; returns the count (or -1 on a fatal error, message in err). */
static int read_csv(const char *text, size_t len, const beam_csv_options *o, const char *const *names,
                    got_rec *out, int max, size_t buf_size, size_t max_record, beam_error *err) {
  test_schema ts;
  const beam_etl_schema *schema = names ? test_schema_make(&ts, names) : NULL;
  beam_byte_source *src;
  assert_int_equal(beam_memory_source_open("t.csv", text, len, &src, err), BEAM_OK);
  beam_csv_reader *r;
  assert_int_equal(beam_csv_reader_open(src, o, schema, buf_size, max_record, &r, err), BEAM_OK);
  beam_arena arena = BEAM_ARENA_INIT;
  int n = 0;
  for (;;) {
    beam_etl_record rec;
    beam_read_result res;
    beam_etl_parse_error perr;
    beam_status st = beam_csv_reader_next(r, &arena, &rec, &res, &perr, err);
    if (st != BEAM_OK) {
      n = -1;
      break;
    }
    if (res == BEAM_READ_EOF) break;
    assert_true(n < max);
    got_rec *g = &out[n++];
    memset(g, 0, sizeof *g);
    g->res = res;
    g->line = rec.origin.line;
    assert_string_equal(rec.origin.source, "t.csv");
    snprintf(g->raw, sizeof g->raw, "%.*s", (int)rec.origin.raw.len, (const char *)rec.origin.raw.data);
    if (res == BEAM_READ_BAD_RECORD) {
      snprintf(g->msg, sizeof g->msg, "%s", perr.message);
      continue;
    }
    for (size_t i = 0; schema && i < schema->n_fields; i++) {
      g->states[i] = rec.cells[i].state;
      assert_int_equal(strlen(rec.cells[i].data) <= rec.cells[i].len, 1);
      snprintf(g->cells[i], sizeof g->cells[i], "%.*s", (int)rec.cells[i].len, rec.cells[i].data);
    }
  }
  beam_arena_free(&arena);
  beam_csv_reader_close(r);
  beam_byte_source_close(src);
  return n;
}

static const char *const ABC[] = {"a", "b", "c", NULL};

static void header_and_quoting(void **state) {
  (void)state;
  const char *t = "a,b,c\n1,\"x,y\",\"say \"\"hi\"\"\"\n2,,\n";
  got_rec g[4];
  beam_error err;
  assert_int_equal(read_csv(t, strlen(t), NULL, ABC, g, 4, 0, 0, &err), 2);
  assert_int_equal(g[0].res, BEAM_READ_RECORD);
  assert_int_equal(g[0].line, 1);
  assert_string_equal(g[0].cells[0], "1");
  assert_string_equal(g[0].cells[1], "x,y");
  assert_string_equal(g[0].cells[2], "say \"hi\"");
  assert_string_equal(g[0].raw, "1,\"x,y\",\"say \"\"hi\"\"\"");
  assert_int_equal(g[1].line, 2);
  assert_string_equal(g[1].cells[1], "");
  assert_int_equal(g[1].states[1], BEAM_ETL_CELL_TEXT);
  assert_int_equal(g[1].states[2], BEAM_ETL_CELL_TEXT);
}

static void header_maps_by_name(void **state) {
  (void)state;
  /* Reordered, case differs, an extra column, a missing schema field. */
  const char *t = " C ,extra,A\n3,zz,1\n";
  got_rec g[2];
  beam_error err;
  assert_int_equal(read_csv(t, strlen(t), NULL, ABC, g, 2, 0, 0, &err), 1);
  assert_string_equal(g[0].cells[0], "1");
  assert_int_equal(g[0].states[1], BEAM_ETL_CELL_ABSENT);
  assert_string_equal(g[0].cells[2], "3");
}

static void duplicate_header_is_fatal(void **state) {
  (void)state;
  const char *t = "a,b,a\n1,2,3\n";
  got_rec g[2];
  beam_error err;
  assert_int_equal(read_csv(t, strlen(t), NULL, ABC, g, 2, 0, 0, &err), -1);
  assert_non_null(strstr(err.message, "twice"));
}

static void no_header_schema_order(void **state) {
  (void)state;
  beam_csv_options o;
  beam_csv_options_init(&o);
  o.header = false;
  const char *t = "1,2,3\n4,5\n";
  got_rec g[2];
  beam_error err;
  assert_int_equal(read_csv(t, strlen(t), &o, ABC, g, 2, 0, 0, &err), 2);
  assert_int_equal(g[0].line, 1);
  assert_string_equal(g[0].cells[2], "3");
  assert_int_equal(g[1].res, BEAM_READ_BAD_RECORD);
  assert_string_equal(g[1].msg, "expected 3 fields, found 2 (per the schema)");
  assert_int_equal(g[1].line, 2);
}

static void other_delimiters(void **state) {
  (void)state;
  const char delims[] = {';', '\t', '|'};
  for (size_t k = 0; k < sizeof delims; k++) {
    beam_csv_options o;
    beam_csv_options_init(&o);
    o.delimiter = delims[k];
    char t[128];
    snprintf(t, sizeof t, "a%cb%cc\n1%c'q%cx'%c3\n", delims[k], delims[k], delims[k], delims[k], delims[k]);
    o.quote = '\'';
    got_rec g[2];
    beam_error err;
    assert_int_equal(read_csv(t, strlen(t), &o, ABC, g, 2, 0, 0, &err), 1);
    char want[8];
    snprintf(want, sizeof want, "q%cx", delims[k]);
    assert_string_equal(g[0].cells[1], want);
  }
}

/* Without quoting a quote char is plain data, and a delimiter always ends a field. */
static void no_quoting_reads_quotes_as_data(void **state) {
  (void)state;
  beam_csv_options o;
  beam_csv_options_init(&o);
  o.no_quoting = true;
  const char *t = "a,b,c\n1,x\"y,\"3\"\n\"4,5\",6\n";
  got_rec g[2];
  beam_error err;
  assert_int_equal(read_csv(t, strlen(t), &o, ABC, g, 2, 0, 0, &err), 2);
  assert_string_equal(g[0].cells[1], "x\"y");
  assert_string_equal(g[0].cells[2], "\"3\"");
  assert_string_equal(g[1].cells[0], "\"4");
  assert_string_equal(g[1].cells[2], "6");
}

static void crlf_bom_and_embedded_newlines(void **state) {
  (void)state;
  const char *t = "\xEF\xBB\xBF" "a,b,c\r\n1,\"two\r\nlines\",3\r\n\r\n4,5,6";
  got_rec g[3];
  beam_error err;
  assert_int_equal(read_csv(t, strlen(t), NULL, ABC, g, 3, 0, 0, &err), 2);
  assert_string_equal(g[0].cells[0], "1");
  assert_string_equal(g[0].cells[1], "two\r\nlines");
  assert_string_equal(g[0].raw, "1,\"two\r\nlines\",3");
  assert_int_equal(g[0].line, 1);
  /* The record spans lines 2-3, a blank line 4 is skipped, the last has no newline. */
  assert_int_equal(g[1].line, 2);
  assert_string_equal(g[1].cells[2], "6");
}

static void bad_quoting_continues(void **state) {
  (void)state;
  const char *t = "a,b,c\n1,x\"y,3\n\"ok\",\"z\"tail,3\n7,8,9\n1,2,3,4\n";
  got_rec g[5];
  beam_error err;
  assert_int_equal(read_csv(t, strlen(t), NULL, ABC, g, 5, 0, 0, &err), 4);
  assert_int_equal(g[0].res, BEAM_READ_BAD_RECORD);
  assert_int_equal(g[0].line, 1);
  assert_string_equal(g[0].raw, "1,x\"y,3");
  assert_string_equal(g[0].msg, "bad CSV quoting at column 2: quote inside an unquoted field");
  assert_int_equal(g[1].res, BEAM_READ_BAD_RECORD);
  assert_string_equal(g[1].msg, "bad CSV quoting at column 2: text after the closing quote");
  assert_int_equal(g[2].res, BEAM_READ_RECORD);
  assert_int_equal(g[2].line, 3);
  assert_string_equal(g[2].cells[0], "7");
  assert_int_equal(g[3].res, BEAM_READ_BAD_RECORD);
  assert_string_equal(g[3].msg, "expected 3 fields, found 4 (per the header)");
}

static void unterminated_quote_at_eof(void **state) {
  (void)state;
  const char *t = "a,b,c\n1,2,3\n4,\"open,6\n7,8,9\n";
  got_rec g[3];
  beam_error err;
  assert_int_equal(read_csv(t, strlen(t), NULL, ABC, g, 3, 0, 0, &err), 2);
  assert_int_equal(g[1].res, BEAM_READ_BAD_RECORD);
  assert_int_equal(g[1].line, 2);
  assert_non_null(strstr(g[1].msg, "unterminated quoted field"));
  assert_non_null(strstr(g[1].msg, "column 2"));
}

static void empty_inputs(void **state) {
  (void)state;
  got_rec g[1];
  beam_error err;
  assert_int_equal(read_csv("", 0, NULL, ABC, g, 1, 0, 0, &err), 0);
  assert_int_equal(read_csv("a,b,c\n", 6, NULL, ABC, g, 1, 0, 0, &err), 0);
  assert_int_equal(read_csv("\n\n", 2, NULL, ABC, g, 1, 0, 0, &err), 0);
}

static void records_across_small_buffer(void **state) {
  (void)state;
  /* A 16-byte buffer forces refills, compaction and growth inside quoted fields. */
  char t[4096];
  size_t len = (size_t)snprintf(t, sizeof t, "a,b,c\n");
  for (int i = 0; i < 50; i++)
    len += (size_t)snprintf(t + len, sizeof t - len, "%d,\"long value, with \"\"quotes\"\"\n%d\",x\n", i, i);
  got_rec g[50];
  beam_error err;
  assert_int_equal(read_csv(t, len, NULL, ABC, g, 50, 16, 0, &err), 50);
  for (int i = 0; i < 50; i++) {
    char want[64];
    snprintf(want, sizeof want, "long value, with \"quotes\"\n%d", i);
    assert_string_equal(g[i].cells[1], want);
    assert_int_equal(g[i].line, 1 + i);
  }
}

static void record_over_cap_is_fatal(void **state) {
  (void)state;
  char *t = malloc(10000);
  memcpy(t, "a,b,c\n1,2,", 10);
  memset(t + 10, 'x', 9989);
  t[9999] = '\n';
  got_rec g[1];
  beam_error err;
  assert_int_equal(read_csv(t, 10000, NULL, ABC, g, 1, 64, 4096, &err), -1);
  assert_non_null(strstr(err.message, "t.csv: line 2"));
  assert_non_null(strstr(err.message, "limit"));
  /* Under the cap the same record reads fine (buffer grows from 64 bytes). */
  assert_int_equal(read_csv(t, 10000, NULL, ABC, g, 1, 64, 1 << 20, &err), 1);
  assert_int_equal(strlen(g[0].cells[2]), 63); /* truncated copy in the test struct */
  free(t);
}

/* Every prefix of a tricky file reads without a crash (ASan), and without a fatal error except
 * the one a header cut inside its BOM earns: it names none of the schema's fields. */
static void every_prefix_is_safe(void **state) {
  (void)state;
  const char *full = "\xEF\xBB\xBF" "a,b,c\r\n\"1\",\"x\"\"y\r\nz\",3\r\n4,\"bad\"q,6\n7,8\"9,\n\"open";
  size_t n = strlen(full);
  got_rec g[8];
  beam_error err;
  for (size_t len = 0; len <= n; len++) {
    char *t = malloc(len ? len : 1);
    memcpy(t, full, len);
    bool read = read_csv(t, len, NULL, ABC, g, 8, 16, 0, &err) >= 0;
    assert_true(read || (len < 3 && strstr(err.message, "CSV header has none of the schema fields")));
    free(t);
  }
}

/* No silent NULLs: a header naming none of the schema's fields, or lacking a REQUIRED one,
 * fails the input with both sides named; unknown columns next to known ones are fine. */
static beam_status open_and_read_first(const char *text, const beam_etl_schema *schema, beam_error *err) {
  beam_byte_source *src;
  assert_int_equal(beam_memory_source_open("events.csv", text, strlen(text), &src, err), BEAM_OK);
  beam_csv_reader *r;
  assert_int_equal(beam_csv_reader_open(src, NULL, schema, 0, 0, &r, err), BEAM_OK);
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_record rec;
  beam_read_result res;
  beam_etl_parse_error perr;
  beam_status st = beam_csv_reader_next(r, &arena, &rec, &res, &perr, err);
  beam_arena_free(&arena);
  beam_csv_reader_close(r);
  beam_byte_source_close(src); /* the reader borrows its source */
  return st;
}

static void header_must_name_the_schema(void **state) {
  (void)state;
  beam_etl_field f[] = {{"a", BEAM_ETL_STRING, BEAM_ETL_NULLABLE}, {"b", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
                        {"ts", BEAM_ETL_STRING, BEAM_ETL_REQUIRED}};
  beam_etl_schema all_nullable = {f, 2}, with_required = {f, 3};
  beam_error err = {0};
  assert_int_equal(open_and_read_first("x,y,z\n1,2,3\n", &all_nullable, &err), BEAM_ERR_MALFORMED);
  assert_string_equal(err.message, "events.csv: line 1: CSV header has none of the schema fields a, b (found x, y, z)");
  assert_int_equal(open_and_read_first("a,b,extra\n1,2,3\n", &with_required, &err), BEAM_ERR_MALFORMED);
  assert_string_equal(err.message,
                      "events.csv: line 1: CSV header lacks the REQUIRED field(s) ts (found a, b, extra)");
  assert_int_equal(open_and_read_first("a,extra\n1,2\n", &all_nullable, &err), BEAM_OK); /* b may be absent */
  assert_int_equal(open_and_read_first("TS,a\n1,2\n", &with_required, &err), BEAM_OK);   /* names match any case */
  assert_int_equal(open_and_read_first("", &with_required, &err), BEAM_OK);                /* no header, no rows */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(header_and_quoting),
      cmocka_unit_test(header_must_name_the_schema),
      cmocka_unit_test(header_maps_by_name),
      cmocka_unit_test(duplicate_header_is_fatal),
      cmocka_unit_test(no_header_schema_order),
      cmocka_unit_test(other_delimiters),
      cmocka_unit_test(no_quoting_reads_quotes_as_data),
      cmocka_unit_test(crlf_bom_and_embedded_newlines),
      cmocka_unit_test(bad_quoting_continues),
      cmocka_unit_test(unterminated_quote_at_eof),
      cmocka_unit_test(empty_inputs),
      cmocka_unit_test(records_across_small_buffer),
      cmocka_unit_test(record_over_cap_is_fatal),
      cmocka_unit_test(every_prefix_is_safe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
