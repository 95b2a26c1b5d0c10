/* Validation rules on typed rows: required, type, regex, min/max, lengths, enum; soft/hard. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "beam/transforms/etl_coerce.h"
#include "beam/transforms/etl_spec.h"
#include "etl_test_util.h"

#define SCHEMA                                                                             \
  "\"schema\": [{\"name\": \"id\", \"type\": \"STRING\"}, {\"name\": \"n\", \"type\": \"INT64\"}," \
  "{\"name\": \"amount\", \"type\": \"FLOAT64\"}, {\"name\": \"price\", \"type\": \"NUMERIC\"},"   \
  "{\"name\": \"ts\", \"type\": \"TIMESTAMP\"}, {\"name\": \"day\", \"type\": \"DATE\"},"          \
  "{\"name\": \"blob\", \"type\": \"BYTES\"}, {\"name\": \"flag\", \"type\": \"BOOL\"}]"

static beam_etl_spec *load(const char *rules) {
  char text[4096];
  snprintf(text, sizeof text, "{" SCHEMA ", \"route\": {\"table\": \"t\"}, \"clean\": {\"null_tokens\": []}, "
                              "\"validate\": %s}", rules);
  beam_etl_spec *spec = NULL;
  beam_error err = {0};
  if (beam_etl_spec_parse(text, strlen(text), "v.json", &spec, &err) != BEAM_OK) fail_msg("%s", err.message);
  return spec;
}

/* Types the cells (NULL pointer = null) and validates; returns the status, message in err. */
static beam_status check(beam_etl_spec *spec, beam_arena *arena, const char *const cells_text[8], beam_error *err) {
  beam_etl_cell cells[8];
  for (int i = 0; i < 8; i++) cells[i] = cells_text[i] ? etl_text(cells_text[i]) : etl_null();
  beam_etl_record rec = {&spec->schema, cells, {.source = "in.csv", .line = 2}};
  beam_etl_row row;
  if (beam_etl_coerce_record(&rec, arena, &row, err) != BEAM_OK) fail_msg("coerce: %s", err->message);
  return beam_etl_validate_row(&spec->validate, &row, arena, err);
}

static void each_rule_kind(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_spec *spec = load(
      "{\"rules\": ["
      "{\"field\": \"id\", \"required\": true, \"regex\": \"^[A-Za-z0-9-]+$\", \"min_length\": 2, \"max_length\": 5},"
      "{\"field\": \"n\", \"min\": -3, \"max\": 10},"
      "{\"field\": \"amount\", \"min\": 0, \"max\": 100000},"
      "{\"field\": \"price\", \"min\": 0.5, \"max\": \"1e3\", \"regex\": \"^[0-9.]+$\"},"
      "{\"field\": \"ts\", \"min\": \"2020-01-01\", \"max\": \"2030-01-01T00:00:00Z\"},"
      "{\"field\": \"day\", \"max\": \"2024-12-31\"},"
      "{\"field\": \"blob\", \"max_length\": 3},"
      "{\"field\": \"flag\", \"enum\": [true]}]}");
  beam_error err = {0};
  const char *good[8] = {"ab-1", "10", "0", "0.5", "2024-05-05T00:00:00Z", "2024-12-31", "AAAA", "yes"};
  assert_int_equal(check(spec, &arena, good, &err), BEAM_OK);
  struct {
    int field;
    const char *value;
    const char *message;
  } bad[] = {
      {0, NULL, "field \"id\": null fails rule required (validate.rules[0])"},
      {0, "a b", "field \"id\": \"a b\" fails rule regex \"^[A-Za-z0-9-]+$\" (validate.rules[0])"},
      {0, "a", "field \"id\": \"a\" fails rule min_length 2 (length 1) (validate.rules[0])"},
      {0, "abcdef", "field \"id\": \"abcdef\" fails rule max_length 5 (length 6) (validate.rules[0])"},
      {1, "11", "field \"n\": \"11\" fails rule max 10 (validate.rules[1])"},
      {1, "-4", "field \"n\": \"-4\" fails rule min -3 (validate.rules[1])"},
      {2, "-0.01", "field \"amount\": \"-0.01\" fails rule min 0 (validate.rules[2])"},
      {2, "NaN", "field \"amount\": \"NaN\" fails rule min 0 (validate.rules[2])"},
      {2, "100000.5", "field \"amount\": \"100000.5\" fails rule max 100000 (validate.rules[2])"},
      {3, "0.49", "field \"price\": \"0.49\" fails rule min 0.5 (validate.rules[3])"},
      {3, "1000.000000001", "field \"price\": \"1000.000000001\" fails rule max 1000 (validate.rules[3])"},
      {3, "-1", "field \"price\": \"-1\" fails rule regex \"^[0-9.]+$\" (validate.rules[3])"},
      {4, "2019-12-31T23:59:59.999999Z",
       "field \"ts\": \"2019-12-31T23:59:59.999999Z\" fails rule min 2020-01-01T00:00:00Z (validate.rules[4])"},
      {5, "2025-01-01", "field \"day\": \"2025-01-01\" fails rule max 2024-12-31 (validate.rules[5])"},
      {6, "AAAAAA", "field \"blob\": \"\\x00\\x00\\x00\\x00\" fails rule max_length 3 (length 4) (validate.rules[6])"},
      {7, "no", "field \"flag\": \"false\" fails rule enum (validate.rules[7])"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *cells[8];
    memcpy(cells, good, sizeof cells);
    cells[bad[i].field] = bad[i].value;
    beam_status st = check(spec, &arena, cells, &err);
    if (st != BEAM_ERR_USER) fail_msg("case %zu passed", i);
    if (strcmp(err.message, bad[i].message) != 0) fail_msg("case %zu: got [%s] want [%s]", i, err.message, bad[i].message);
  }
  /* A null passes every rule but required. */
  const char *nulls[8] = {"ab", NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  assert_int_equal(check(spec, &arena, nulls, &err), BEAM_OK);
  /* Multi-byte characters count once for STRING lengths. */
  const char *utf8[8] = {"\xc3\xa9\xc3\xa9", NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  beam_etl_spec *lens = load("{\"rules\": [{\"field\": \"id\", \"min_length\": 2, \"max_length\": 2}]}");
  assert_int_equal(check(lens, &arena, utf8, &err), BEAM_OK);
  beam_etl_spec_free(lens);
  beam_etl_spec_free(spec);
  beam_arena_free(&arena);
}

static void type_rule_and_enum_on_strings(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_spec *spec = load("{\"mode\": \"hard\", \"rules\": [{\"field\": \"id\", \"type\": \"INT64\"},"
                             "{\"field\": \"id\", \"enum\": [\"1\", \"2\", \"007\"]},"
                             "{\"field\": \"n\", \"type\": \"INT64\"}]}");
  assert_true(spec->validate.hard);
  assert_int_equal(spec->validate.n_rules, 2); /* the INT64-on-INT64 type rule is implied by typing */
  beam_error err = {0};
  const char *ok[8] = {"007", NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  assert_int_equal(check(spec, &arena, ok, &err), BEAM_OK);
  const char *notint[8] = {"x1", NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  assert_int_equal(check(spec, &arena, notint, &err), BEAM_ERR_USER);
  assert_string_equal(err.message, "field \"id\": \"x1\" fails rule type INT64 (validate.rules[0])");
  const char *notin[8] = {"7", NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  assert_int_equal(check(spec, &arena, notin, &err), BEAM_ERR_USER);
  assert_string_equal(err.message, "field \"id\": \"7\" fails rule enum (validate.rules[1])");
  beam_etl_spec_free(spec);
  beam_arena_free(&arena);
}

static void enum_values_typed_as_field(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_spec *spec = load("{\"rules\": [{\"field\": \"price\", \"enum\": [1.5, \"2.50\"]},"
                             "{\"field\": \"n\", \"enum\": [1, \"2\"]}]}");
  beam_error err = {0};
  const char *a[8] = {NULL, "2", NULL, "2.5", NULL, NULL, NULL, NULL};
  assert_int_equal(check(spec, &arena, a, &err), BEAM_OK);
  const char *b[8] = {NULL, "1", NULL, "01.50", NULL, NULL, NULL, NULL};
  assert_int_equal(check(spec, &arena, b, &err), BEAM_OK);
  const char *c[8] = {NULL, "3", NULL, NULL, NULL, NULL, NULL, NULL};
  assert_int_equal(check(spec, &arena, c, &err), BEAM_ERR_USER);
  assert_string_equal(err.message, "field \"n\": \"3\" fails rule enum (validate.rules[1])");
  beam_etl_spec_free(spec);
  beam_arena_free(&arena);
}

/* A spec whose one rule is {"field": "id", "regex": pattern}; pattern is JSON-escaped here so
 * the cases below read as the regexes users write. */
static beam_etl_spec *load_regex(const char *pattern) {
  char rules[1024], escaped[512];
  size_t o = 0;
  for (const char *p = pattern; *p && o + 2 < sizeof escaped; p++) {
    if (*p == '\\' || *p == '"') escaped[o++] = '\\';
    escaped[o++] = *p;
  }
  escaped[o] = '\0';
  snprintf(rules, sizeof rules, "{\"rules\": [{\"field\": \"id\", \"regex\": \"%s\"}]}", escaped);
  return load(rules);
}

/* Whether the value passes the regex rule (it must pass or fail as a rule, nothing else). */
static bool regex_passes(const char *pattern, const char *value) {
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_spec *spec = load_regex(pattern);
  const char *cells[8] = {value, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  beam_error err = {0};
  beam_status st = check(spec, &arena, cells, &err);
  if (st != BEAM_OK && st != BEAM_ERR_USER) fail_msg("/%s/ on \"%s\": %s", pattern, value, err.message);
  beam_etl_spec_free(spec);
  beam_arena_free(&arena);
  return st == BEAM_OK;
}

static void regexes_as_in_python_and_bigquery(void **state) {
  (void)state;
  static const struct {
    const char *pattern, *value;
    bool passes;
  } cases[] = {
      /* The rule: \d was a literal 'd' in POSIX ERE, so nothing ever matched. */
      {"^[a-z]+-\\d+$", "abc-123", true},
      {"^[a-z]+-\\d+$", "abc-12x", false},
      {"^[a-z]+-\\d+$", "abc-", false},
      {"^[a-z]+-\\d+$", "abc-123\n", false}, /* '$' is the end of the value, not before a newline */
      {"\\d", "no digits", false},
      {"^\\w+$", "snake_case_1", true},
      {"^\\w+$", "kebab-case", false},
      {"^\\S+\\s\\S+$", "two\twords", true},
      {"^\\S+\\s\\S+$", "twowords", false},
      /* Unanchored patterns search, as before and as re.search / REGEXP_CONTAINS. */
      {"\\w+@\\w+\\.com", "mail: a_b@example.com!", true},
      {"[0-9]{3}", "ab12cd", false},
      /* Non-greedy quantifiers, and a backreference to a lazy group. */
      {"^\".*?\"$", "\"a\" and \"b\"", true},
      {"^(\\w+?)\\1$", "abab", true},
      {"^(\\w+?)\\1$", "aba", false},
      {"^\\d{2,}?$", "123", true},
      /* Lookahead and lookbehind. */
      {"^(?=.*\\d)(?=.*[A-Z]).{8,}$", "Passw0rdX", true},
      {"^(?=.*\\d)(?=.*[A-Z]).{8,}$", "password1", false},
      {"^(?!test_)\\w+$", "prod_orders", true},
      {"^(?!test_)\\w+$", "test_orders", false},
      {"(?<=\\$)\\d+", "cost $42", true},
      {"(?<=\\$)\\d+", "cost 42", false},
      {"(?<!-)\\b\\d+$", "x -5", false},
      /* UTF-8 patterns and subjects: '.' and lengths are characters, case folds Unicode. */
      {"^caf\xc3\xa9-\\d$", "caf\xc3\xa9-1", true},
      {"^.{4}$", "caf\xc3\xa9", true},
      {"^\\p{L}+$", "\xce\xa9mega", true},
      {"(?i)^\xc3\xa9t\xc3\xa9$", "\xc3\x89T\xc3\x89", true},
      /* \d \w \s are ASCII, as in BigQuery; (*UCP) opts into Unicode classes. */
      {"^\\d+$", "\xd9\xa1\xd9\xa2", false},
      {"(*UCP)^\\d+$", "\xd9\xa1\xd9\xa2", true},
      /* '.' skips newlines unless (?s), as in Python and BigQuery. */
      {"^a.b$", "a\nb", false},
      {"(?s)^a.b$", "a\nb", true},
      /* The patterns POSIX ERE accepted keep their meaning. */
      {"^[A-Za-z0-9-]+$", "ab-1", true},
      {"^[A-Za-z0-9-]+$", "a b", false},
      {"^[[:alpha:]]+(,[[:alpha:]]+)*$", "a,bc", true},
      {"^(ab|cd){2}$", "abcd", true},
      {"^(ab|cd){2}$", "abc", false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (regex_passes(cases[i].pattern, cases[i].value) != cases[i].passes)
      fail_msg("case %zu: /%s/ on \"%s\" should %s", i, cases[i].pattern, cases[i].value,
               cases[i].passes ? "pass" : "fail");
  /* A failure quotes the pattern as the spec's JSON spells it. */
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_spec *spec = load_regex("^[a-z]+-\\d+$");
  const char *bad[8] = {"abc-12x", NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  beam_error err = {0};
  assert_int_equal(check(spec, &arena, bad, &err), BEAM_ERR_USER);
  assert_string_equal(err.message, "field \"id\": \"abc-12x\" fails rule regex \"^[a-z]+-\\\\d+$\" (validate.rules[0])");
  beam_etl_spec_free(spec);
  beam_arena_free(&arena);
}

/* Validates a row built by hand (coercion would refuse invalid UTF-8) holding id = value. */
static beam_status check_raw(beam_etl_spec *spec, const char *value, size_t len, beam_error *err) {
  beam_value values[8];
  for (int i = 0; i < 8; i++) values[i] = beam_value_null();
  values[0] = beam_value_string(value, len);
  beam_etl_row row = {&spec->schema, values, {.source = "in.csv", .line = 2}};
  beam_arena arena = BEAM_ARENA_INIT;
  beam_status st = beam_etl_validate_row(&spec->validate, &row, &arena, err);
  beam_arena_free(&arena);
  return st;
}

static void invalid_utf8_never_matches_as_text(void **state) {
  (void)state;
  static const struct {
    const char *pattern, *value;
    size_t len;
    beam_status want;
  } cases[] = {
      {"^\\w+$", "ab\xff" "cd", 5, BEAM_ERR_USER},
      {"^.*$", "ab\xff" "cd", 5, BEAM_ERR_USER},
      {"^.*$", "caf\xc3", 4, BEAM_ERR_USER},      /* a truncated sequence is no character */
      {"\xc3\xa9", "caf\xc3", 4, BEAM_ERR_USER},
      {"cd$", "ab\xff" "cd", 5, BEAM_OK},          /* valid text around it still searches */
      {"^a\\x{0}b$", "a\0b", 3, BEAM_OK},          /* NUL bytes are characters, not an end */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    beam_etl_spec *spec = load_regex(cases[i].pattern);
    beam_error err = {0};
    beam_status st = check_raw(spec, cases[i].value, cases[i].len, &err);
    if (st != cases[i].want) fail_msg("case %zu: got %s: %s", i, beam_status_name(st), err.message);
    beam_etl_spec_free(spec);
  }
}

static void runaway_backtracking_gives_up(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_spec *spec = load_regex("^(a+)+$");
  const char *cells[8] = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  beam_error err = {0};
  assert_int_equal(check(spec, &arena, cells, &err), BEAM_ERR_USER);
  if (!strstr(err.message, "fails rule regex \"^(a+)+$\" (gave up: ")) fail_msg("%s", err.message);
  beam_etl_spec_free(spec);
  beam_arena_free(&arena);
}

/* One compiled spec, several threads: match data must not be shared (ASan/TSan would see it,
 * and wrong answers would show). */
typedef struct shared_run {
  beam_etl_spec *spec;
  int passed, failed;
} shared_run;

static void *validate_many(void *arg) {
  shared_run *run = arg;
  beam_arena arena = BEAM_ARENA_INIT;
  for (int i = 0; i < 2000; i++) {
    char id[32];
    snprintf(id, sizeof id, i % 2 ? "evt-%d" : "evt_%d", i);
    beam_etl_cell cells[8];
    for (int k = 0; k < 8; k++) cells[k] = etl_null();
    cells[0] = etl_text(id);
    beam_etl_record rec = {&run->spec->schema, cells, {.source = "in.csv", .line = 2}};
    beam_etl_row row;
    beam_error err;
    if (beam_etl_coerce_record(&rec, &arena, &row, &err) != BEAM_OK) continue;
    beam_status st = beam_etl_validate_row(&run->spec->validate, &row, &arena, &err);
    if (st == BEAM_OK) run->passed++;
    else if (st == BEAM_ERR_USER) run->failed++;
    beam_arena_reset(&arena);
  }
  beam_arena_free(&arena);
  return NULL;
}

static void one_spec_validates_on_many_threads(void **state) {
  (void)state;
  beam_etl_spec *spec = load("{\"rules\": [{\"field\": \"id\", \"regex\": \"^[a-z]+-\\\\d+$\"},"
                             "{\"field\": \"id\", \"regex\": \"(?<=-)\\\\d*[13579]$\"}]}");
  enum { THREADS = 12 }; /* more than the spare match data a regex keeps */
  pthread_t threads[THREADS];
  shared_run runs[THREADS];
  for (int t = 0; t < THREADS; t++) {
    runs[t] = (shared_run){spec, 0, 0};
    assert_int_equal(pthread_create(&threads[t], NULL, validate_many, &runs[t]), 0);
  }
  for (int t = 0; t < THREADS; t++) {
    assert_int_equal(pthread_join(threads[t], NULL), 0);
    assert_int_equal(runs[t].passed, 1000); /* the odd i: "evt-<odd>" */
    assert_int_equal(runs[t].failed, 1000);
  }
  beam_etl_spec_free(spec);
}

static void rules_that_cannot_apply_are_spec_errors(void **state) {
  (void)state;
  const char *cases[][2] = {
      {"{\"rules\": [{\"field\": \"flag\", \"min\": 0}]}", "v.json: validate.rules[0].min: field \"flag\" is BOOL: min/max apply to numbers, TIMESTAMP and DATE"},
      {"{\"rules\": [{\"field\": \"n\", \"regex\": \"x\"}]}", "v.json: validate.rules[0].regex: field \"n\" is INT64: regex applies to STRING and NUMERIC"},
      {"{\"rules\": [{\"field\": \"n\", \"max_length\": 3}]}", "v.json: validate.rules[0].max_length: field \"n\" is INT64: lengths apply to STRING and BYTES"},
      {"{\"rules\": [{\"field\": \"n\", \"min\": 1.5}]}", "v.json: validate.rules[0].min: field \"n\": \"1.5\" is not an INT64"},
      {"{\"rules\": [{\"field\": \"n\", \"min\": \"1\"}]}", "v.json: validate.rules[0].min: field \"n\" is INT64: the bound must be a number, not a string"},
      {"{\"rules\": [{\"field\": \"id\", \"min_length\": -1}]}", "v.json: validate.rules[0].min_length: must be a non-negative integer, not an integer"},
      {"{\"rules\": [{\"field\": \"id\", \"enum\": []}]}", "v.json: validate.rules[0].enum: must be a non-empty array"},
      {"{\"rules\": [{\"field\": \"id\", \"enum\": [null]}]}", "v.json: validate.rules[0].enum[0]: must be a scalar, not null"},
      {"{\"rules\": [{\"field\": \"id\", \"required\": \"yes\"}]}", "v.json: validate.rules[0].required: must be true or false"},
      {"{\"rules\": [{\"field\": \"id\", \"type\": \"TEXT\"}]}", "v.json: validate.rules[0].type: unknown type \"TEXT\""},
      {"{\"rules\": {}}", "v.json: validate.rules: must be an array, not an object"},
      {"{\"rules\": [3]}", "v.json: validate.rules[0]: must be an object, not an integer"},
      {"{\"rules\": [{\"required\": true}]}", "v.json: validate.rules[0].field: missing (every rule names a schema field)"},
      {"{\"rulez\": []}", "v.json: validate: unknown key \"rulez\" (expected one of: mode, rules, max_bad_records, max_bad_ratio)"},
      {"{\"max_bad_records\": -1}", "v.json: validate.max_bad_records: must be an integer >= 0, not a negative number"},
      {"{\"max_bad_records\": \"5\"}", "v.json: validate.max_bad_records: must be an integer >= 0, not a string"},
      {"{\"max_bad_ratio\": 1.5}", "v.json: validate.max_bad_ratio: must be a number from 0 to 1, not one outside that range"},
      {"{\"rules\": [{\"field\": \"id\", \"regex\": \"(?<=a+)b\"}]}",
       "v.json: validate.rules[0].regex: invalid regex \"(?<=a+)b\": lookbehind assertion is not fixed length at offset 0 (field \"id\")"},
      {"{\"rules\": [{\"field\": \"id\", \"regex\": \"\\\\C\"}]}",
       "v.json: validate.rules[0].regex: invalid regex \"\\C\": using \\C is disabled by the application at offset 2 (field \"id\")"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[4096];
    snprintf(text, sizeof text, "{" SCHEMA ", \"route\": {\"table\": \"t\"}, \"validate\": %s}", cases[i][0]);
    beam_etl_spec *spec = NULL;
    beam_error err = {0};
    if (beam_etl_spec_parse(text, strlen(text), "v.json", &spec, &err) == BEAM_OK) fail_msg("case %zu parsed", i);
    if (strcmp(err.message, cases[i][1]) != 0) fail_msg("case %zu: got [%s] want [%s]", i, err.message, cases[i][1]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(each_rule_kind),
      cmocka_unit_test(type_rule_and_enum_on_strings),
      cmocka_unit_test(enum_values_typed_as_field),
      cmocka_unit_test(regexes_as_in_python_and_bigquery),
      cmocka_unit_test(invalid_utf8_never_matches_as_text),
      cmocka_unit_test(runaway_backtracking_gives_up),
      cmocka_unit_test(one_spec_validates_on_many_threads),
      cmocka_unit_test(rules_that_cannot_apply_are_spec_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
