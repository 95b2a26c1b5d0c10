/* The pipeline testing kit: build a small pipeline from in-memory elements, state what its
 * PCollections must contain, run it on the local runner or on a real Beam runner, and get a
 * readable report of what was missing and what was unexpected.
 *
 *   beam_test *t = beam_test_new("word lengths");
 *   beam_pipeline *p = beam_test_pipeline(t);
 *   const char *words[] = {"a", "bb", "ccc"};
 *   beam_pcollection *in = beam_test_create_strings(t, "Words", words, 3);
 *   beam_pcollection *out = beam_pardo1(p, "Lengths", in, "word_length", NULL, beam_coder_spec_varint(p));
 *   const int64_t want[] = {1, 2, 3};
 *   beam_assert_equal_int64s(t, out, "LengthsAre", want, 3);
 *   int rc = beam_test_main_result(t);   // runs; prints "PASS ..." or "FAIL ...: <report>"
 *   beam_test_free(t);
 *
 * Assertions are pipeline transforms, so they hold on any runner: the asserted PCollection's
 * elements are encoded with its own coder into records (window + element bytes), rewindowed
 * into the global window, keyed to one key together with a sentinel (so an empty PCollection
 * still reaches the check), grouped with a GroupByKey, and a checking DoFn compares the group
 * with the expected elements (encoded with the same coder when the test is built, carried in
 * the DoFn's config) byte for byte. A failed check fails its bundle with a message such as
 *
 *   assert "LengthsAre" (equal) failed: 1 missing, 1 unexpected (expected 3, got 3);
 *   missing: 3; unexpected: 4
 *
 * which the local runner returns and a portable runner reports as the job's error. After the
 * run every check must have run exactly once (a counter), so an assertion a runner skipped
 * cannot pass silently.
 *
 * The runner: BEAM_TEST_RUNNER=local (default) or portable, with BEAM_TEST_JOB_ENDPOINT=host:port
 * (a Beam job service: Prism, Flink, the Python portable runner) and optionally
 * BEAM_TEST_ENVIRONMENT_TYPE / BEAM_TEST_ENVIRONMENT_CONFIG (as --environment_type/_config);
 * flags given to beam_test_configure (--runner=, --job_endpoint=, --environment_type=,
 * --environment_config=) override them. On a portable runner with the PROCESS environment the
 * runner starts this very program as its worker, so a test program's main() begins with
 *
 *   int rc;
 *   if (beam_test_worker(argc, argv, &rc)) return rc;
 *
 * DoFns and predicates the test uses must be registered in the worker too: register them with
 * BEAM_REGISTER_DOFN / BEAM_TEST_PREDICATE (constructors) or before that line.
 *
 * Construction errors are sticky, as in pipeline.h: every call after the first error is a
 * no-op, and beam_test_run reports the first error. */
#ifndef BEAM_TESTING_H
#define BEAM_TESTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/dofn.h"
#include "beam/pipeline.h"
#include "beam/runner.h"
#include "beam/status.h"
#include "beam/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_test beam_test;

/* --- program setup ----------------------------------------------------------------------- */
/* True when a runner started this program as its Fn API worker (or worker pool): the worker
 * has run and *exit_code is the program's exit status. Register your DoFns before calling it
 * (a test of the file ETL calls beam_test_etl_worker, beam/transforms/testing_etl.h, instead). */
bool beam_test_worker(int argc, char **argv, int *exit_code);
/* Reads --runner=local|portable, --job_endpoint=, --environment_type=, --environment_config=
 * from argv for every later beam_test_new (they override the BEAM_TEST_* environment). Other
 * arguments are ignored, so a test framework's own flags can share argv. */
beam_status beam_test_configure(int argc, char **argv, beam_error *err);

/* --- a test ------------------------------------------------------------------------------ */
/* A test with an empty pipeline; name appears in reports and as the portable job's name. */
beam_test *beam_test_new(const char *name);
void beam_test_free(beam_test *t);
beam_pipeline *beam_test_pipeline(beam_test *t);
const char *beam_test_name(const beam_test *t);
/* "local" or "portable". */
const char *beam_test_runner(const beam_test *t);
/* A fresh directory for this test's files, removed (with its contents) by beam_test_free. */
const char *beam_test_temp_dir(beam_test *t);
/* Writes text to a file called name in the temp dir; returns its path (owned by t). */
const char *beam_test_write_file(beam_test *t, const char *name, const char *text);

/* --- in-memory input: Impulse + a DoFn emitting the elements from its config -------------- */
/* Elements of any kind the coder encodes (values, KVs with beam_coder_spec_kv, schema'd rows
 * with beam_coder_spec_row, anything with beam_coder_spec_value). */
beam_pcollection *beam_test_create(beam_test *t, const char *name, beam_coder_spec *coder,
                                   const beam_value *values, size_t n);
/* Same, each element at its event time (milliseconds since the epoch). */
beam_pcollection *beam_test_create_timestamped(beam_test *t, const char *name, beam_coder_spec *coder,
                                               const beam_value *values, const int64_t *timestamps_ms,
                                               size_t n);
beam_pcollection *beam_test_create_strings(beam_test *t, const char *name, const char *const *strings,
                                           size_t n);
beam_pcollection *beam_test_create_int64s(beam_test *t, const char *name, const int64_t *values, size_t n);
/* KV<string, int64> pairs. */
beam_pcollection *beam_test_create_kvs(beam_test *t, const char *name, const char *const *keys,
                                       const int64_t *values, size_t n);
/* The lines of a small text file (read now, without their line ends), as strings. */
beam_pcollection *beam_test_create_lines(beam_test *t, const char *name, const char *path);

/* --- extending the kit (assertions of a library built on it, e.g. beam/transforms/testing_etl.h) */
/* Records a construction error in t if it is the first (later assertions then do nothing and
 * the run reports it); returns code. */
beam_status beam_test_fail(beam_test *t, beam_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True once a construction error was recorded. */
bool beam_test_failed(const beam_test *t);
/* What the next assertion calls the asserted PCollection in its report (default: its unique
 * name); for assertions on a derived PCollection, such as the ETL's. Copied; used once. */
void beam_test_next_subject(beam_test *t, const char *subject);

/* --- assertions, checked when the pipeline runs ------------------------------------------ */
/* Exactly these elements, in any order (duplicates count). */
beam_status beam_assert_equal(beam_test *t, beam_pcollection *pc, const char *name,
                              const beam_value *expected, size_t n);
beam_status beam_assert_equal_strings(beam_test *t, beam_pcollection *pc, const char *name,
                                      const char *const *expected, size_t n);
beam_status beam_assert_equal_int64s(beam_test *t, beam_pcollection *pc, const char *name,
                                     const int64_t *expected, size_t n);
/* At least these elements (others may be present). */
beam_status beam_assert_contains(beam_test *t, beam_pcollection *pc, const char *name,
                                 const beam_value *expected, size_t n);
beam_status beam_assert_empty(beam_test *t, beam_pcollection *pc, const char *name);
beam_status beam_assert_count(beam_test *t, beam_pcollection *pc, const char *name, size_t n);
/* Every element satisfies the predicate registered under predicate_name. */
beam_status beam_assert_all(beam_test *t, beam_pcollection *pc, const char *name, const char *predicate_name);
/* pc is KV<K, V>: the values under key are exactly these, in any order. */
beam_status beam_assert_per_key(beam_test *t, beam_pcollection *pc, const char *name, const beam_value *key,
                                const beam_value *expected_values, size_t n);
/* The elements in the interval window [start_ms, end_ms) are exactly these, in any order. */
beam_status beam_assert_in_window(beam_test *t, beam_pcollection *pc, const char *name, int64_t start_ms,
                                  int64_t end_ms, const beam_value *expected, size_t n);
/* Exactly these elements, each expected counts[i] times: for large tallies (rows per table). */
beam_status beam_assert_counts(beam_test *t, beam_pcollection *pc, const char *name, const beam_value *values,
                               const int64_t *counts, size_t n);

/* Predicates: true when element is acceptable; otherwise may write why into why[why_cap]. */
typedef bool (*beam_test_predicate)(const beam_value *element, char *why, size_t why_cap);
beam_status beam_test_register_predicate(const char *name, beam_test_predicate fn);
#define BEAM_TEST_PREDICATE(name, fn)                                            \
  __attribute__((constructor)) static void beam_register_predicate_##fn(void) { \
    beam_test_register_predicate((name), (fn));                                 \
  }

/* --- running ----------------------------------------------------------------------------- */
/* Runs the pipeline on the chosen runner and checks that every assertion ran and held.
 * BEAM_OK when all held; otherwise err (may be NULL) and beam_test_failure() say why. */
beam_status beam_test_run(beam_test *t, beam_error *err);
/* The last run's failure report ("" after a passing run). */
const char *beam_test_failure(const beam_test *t);
/* Counters of the last run (user counters of the test's own DoFns included). */
const beam_run_result *beam_test_result(const beam_test *t);
/* For a plain main(): runs, prints "PASS name (runner, N assertions, T s)" on stdout or
 * "FAIL name (runner): report" on stderr, and returns the exit status (0 or 1). */
int beam_test_main_result(beam_test *t);

/* Writes a readable rendering of v ("abc" quoted, 42, (k, v), [a, b], {row}) into buf,
 * truncated with "..." at cap - 1 bytes; returns buf. */
const char *beam_test_format_value(const beam_value *v, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
