/* The offset-range restriction tracker of splittable DoFns (exec/offset_tracker.c): Beam's
 * claim and split semantics, and claims racing splits from another thread (run it under
 * TSan: every split must leave primary + residual covering the range exactly once). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "offset_tracker.h"

static void claims_increase_and_stop_at_the_end(void **state) {
  (void)state;
  beam_offset_tracker t;
  beam_offset_tracker_init(&t);
  beam_offset_tracker_reset(&t, (beam_offset_range){10, 13});
  beam_error err = {0};
  assert_int_not_equal(beam_offset_tracker_check_done(&t, &err), BEAM_OK); /* nothing claimed */
  assert_true(beam_offset_tracker_try_claim(&t, 10));
  assert_true(beam_offset_tracker_try_claim(&t, 12));
  assert_int_equal(beam_offset_tracker_check_done(&t, &err), BEAM_OK); /* end - 1 claimed */
  assert_false(beam_offset_tracker_try_claim(&t, 13));                 /* at the end: stop */
  assert_false(beam_offset_tracker_try_claim(&t, 14));
  assert_int_equal(beam_offset_tracker_check_done(&t, &err), BEAM_OK);
  beam_offset_tracker_destroy(&t);
}

static void a_claim_past_the_data_finishes_the_range(void **state) {
  (void)state;
  beam_offset_tracker t;
  beam_offset_tracker_init(&t);
  beam_offset_tracker_reset(&t, (beam_offset_range){0, 100});
  beam_error err = {0};
  assert_true(beam_offset_tracker_try_claim(&t, 5));
  assert_int_not_equal(beam_offset_tracker_check_done(&t, &err), BEAM_OK);
  assert_false(beam_offset_tracker_try_claim(&t, INT64_MAX)); /* end of file */
  assert_int_equal(beam_offset_tracker_check_done(&t, &err), BEAM_OK);
  beam_offset_tracker_destroy(&t);
}

static void claims_going_backwards_are_an_error(void **state) {
  (void)state;
  beam_offset_tracker t;
  beam_offset_tracker_init(&t);
  beam_offset_tracker_reset(&t, (beam_offset_range){0, 10});
  beam_error err = {0};
  assert_true(beam_offset_tracker_try_claim(&t, 4));
  assert_false(beam_offset_tracker_try_claim(&t, 4));
  assert_int_equal(beam_offset_tracker_check_done(&t, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "must increase"));
  beam_offset_tracker_reset(&t, (beam_offset_range){5, 10});
  assert_false(beam_offset_tracker_try_claim(&t, 4)); /* before start */
  assert_int_equal(beam_offset_tracker_check_done(&t, &err), BEAM_ERR_INVALID_ARG);
  beam_offset_tracker_destroy(&t);
}

static void splits_keep_the_claimed_part(void **state) {
  (void)state;
  beam_offset_tracker t;
  beam_offset_tracker_init(&t);
  beam_offset_range p, r;
  /* Before any claim, cur = start - 1: 0.5 of [0, 10) splits at -1 + round(5.5) = 5. */
  beam_offset_tracker_reset(&t, (beam_offset_range){0, 10});
  assert_true(beam_offset_tracker_try_split(&t, 0.5, &p, &r));
  assert_int_equal(p.start, 0);
  assert_int_equal(p.end, 5);
  assert_int_equal(r.start, 5);
  assert_int_equal(r.end, 10);
  assert_int_equal(beam_offset_tracker_current(&t).end, 5);
  assert_true(beam_offset_tracker_try_claim(&t, 4));
  assert_false(beam_offset_tracker_try_claim(&t, 5)); /* the residual's */
  /* After claiming 2 of [0, 10): 0.5 splits at 2 + round(4) = 6; fraction 0 at 3 (checkpoint). */
  beam_offset_tracker_reset(&t, (beam_offset_range){0, 10});
  assert_true(beam_offset_tracker_try_claim(&t, 2));
  assert_true(beam_offset_tracker_try_split(&t, 0.5, &p, &r));
  assert_int_equal(r.start, 6);
  assert_true(beam_offset_tracker_try_split(&t, 0.0, &p, &r));
  assert_int_equal(p.end, 3);
  assert_int_equal(r.start, 3);
  assert_int_equal(r.end, 6);
  /* Nothing left after the claimed position: refused. */
  assert_false(beam_offset_tracker_try_split(&t, 0.0, &p, &r));
  double done, remaining;
  beam_offset_tracker_progress(&t, &done, &remaining);
  assert_true(done == 3.0 && remaining == 0.0);
  /* A stopped tracker does not split. */
  beam_offset_tracker_reset(&t, (beam_offset_range){0, 10});
  assert_false(beam_offset_tracker_try_claim(&t, 10));
  assert_false(beam_offset_tracker_try_split(&t, 0.5, &p, &r));
  beam_offset_tracker_destroy(&t);
}

/* --- claims racing splits ---------------------------------------------------------------- */

enum { RANGE_END = 200000 };

typedef struct race {
  beam_offset_tracker tracker;
  int64_t claimed; /* positions claimed by the worker: exactly [0, final end) */
  int64_t last;
} race;

static void *claim_all(void *arg) {
  race *r = arg;
  for (int64_t pos = 0; beam_offset_tracker_try_claim(&r->tracker, pos); pos++) {
    r->claimed++;
    r->last = pos;
  }
  return NULL;
}

static void splits_race_claims_and_cover_the_range_once(void **state) {
  (void)state;
  race r = {.last = -1};
  beam_offset_tracker_init(&r.tracker);
  beam_offset_tracker_reset(&r.tracker, (beam_offset_range){0, RANGE_END});
  pthread_t worker;
  assert_int_equal(pthread_create(&worker, NULL, claim_all, &r), 0);
  int64_t residual_total = 0, residual_start = RANGE_END;
  for (int i = 0; i < 200; i++) {
    beam_offset_range p, res;
    if (!beam_offset_tracker_try_split(&r.tracker, 0.5, &p, &res)) continue;
    assert_int_equal(res.end, residual_start); /* each residual ends where the previous began */
    residual_total += res.end - res.start;
    residual_start = res.start;
  }
  pthread_join(worker, NULL);
  beam_error err = {0};
  assert_int_equal(beam_offset_tracker_check_done(&r.tracker, &err), BEAM_OK);
  assert_int_equal(r.claimed + residual_total, RANGE_END);
  assert_int_equal(r.last + 1, residual_start);
  beam_offset_tracker_destroy(&r.tracker);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(claims_increase_and_stop_at_the_end),
      cmocka_unit_test(a_claim_past_the_data_finishes_the_range),
      cmocka_unit_test(claims_going_backwards_are_an_error),
      cmocka_unit_test(splits_keep_the_claimed_part),
      cmocka_unit_test(splits_race_claims_and_cover_the_range_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
