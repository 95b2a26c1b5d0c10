/* Shared by the testing kit's files (testing_*.c); see beam/testing.h. */
#ifndef BEAM_TESTING_INTERNAL_H
#define BEAM_TESTING_INTERNAL_H

#include <jansson.h>

#include "beam/buf.h"
#include "beam/coder.h"
#include "beam/dofn.h"
#include "beam/testing.h"

/* DoFn names (found by beam_dofn_lookup without registration, see builtin_fns.h). */
#define BEAM_TEST_CREATE_DOFN "beam_test_create"
#define BEAM_TEST_REIFY_DOFN "beam_test_reify"
#define BEAM_TEST_SENTINEL_DOFN "beam_test_sentinel"
#define BEAM_TEST_CHECK_DOFN "beam_test_check"
/* Counter every check adds 1 to when it has compared its group. */
#define BEAM_TEST_CHECKED_COUNTER "beam_test_checked"
/* Elements listed per side (missing / unexpected) in a failure report. The report must fit a
 * beam_error (512 bytes) with a runner's prefix, so the listed elements share a budget of
 * characters: one missing and one unexpected dead letter show 120 characters each, six elements 40. */
#define BEAM_TEST_REPORT_FIRST 3
#define BEAM_TEST_REPORT_BUDGET 240
#define BEAM_TEST_REPORT_WIDTH_MIN 40
#define BEAM_TEST_REPORT_WIDTH_MAX 200

/* Window tags in a record (the bytes the reify DoFn emits: window, then the element). */
enum { BEAM_TEST_WINDOW_GLOBAL = 0, BEAM_TEST_WINDOW_INTERVAL = 1, BEAM_TEST_WINDOW_OTHER = 2 };

/* Makes the kit's DoFns found by name (in the launcher and in a worker). */
void beam_test_install_dofns(void);
const char *beam_test_take_subject(beam_test *t);
/* Remembers the transform id of a check, to verify after the run that it ran. */
beam_status beam_test_add_check(beam_test *t, const char *transform_id);

/* Coders described in DoFn configs: {"urn": ..., "payload": base64, "components": [...]}. */
json_t *beam_test_coder_json(const beam_coder_spec *spec);
beam_status beam_test_coder_from_json(const json_t *j, beam_coder **out, beam_error *err);
/* A built coder for a construction-time spec (to encode expected elements). */
beam_status beam_test_coder_build(const beam_coder_spec *spec, beam_coder **out, beam_error *err);
const beam_coder_spec *beam_test_coder_spec_component(const beam_coder_spec *spec, size_t i);
const char *beam_test_coder_spec_urn(const beam_coder_spec *spec);

/* Standard base64 with padding. */
char *beam_test_base64_encode(const uint8_t *data, size_t len);
/* Decodes into a malloc'd buffer; NULL on bad input. */
uint8_t *beam_test_base64_decode(const char *text, size_t *len);

/* Encodes values nested with coder and appends [base64, count] pairs to a JSON array. */
beam_status beam_test_encode_expected(const beam_coder_spec *coder, const beam_value *values,
                                      const int64_t *counts, size_t n, json_t *out, beam_error *err);

/* Adds the assertion transforms (Reify, Rewindow, Sentinel, Flatten, GroupByKey, Check) under
 * name, with the check's config (the coder is added here). */
beam_status beam_test_add_assertion(beam_test *t, beam_pcollection *pc, const char *name, json_t *config);

const beam_dofn_def *beam_test_builtin_dofn(const char *name);
beam_test_predicate beam_test_predicate_lookup(const char *name);

#endif
