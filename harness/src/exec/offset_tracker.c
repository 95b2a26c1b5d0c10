/* Offset-range restriction tracker (see offset_tracker.h). */
#include <math.h>

#include "offset_tracker.h"

void beam_offset_tracker_init(beam_offset_tracker *t) {
  pthread_mutex_init(&t->lock, NULL);
  beam_offset_tracker_reset(t, (beam_offset_range){0, 0});
}

void beam_offset_tracker_destroy(beam_offset_tracker *t) { pthread_mutex_destroy(&t->lock); }

void beam_offset_tracker_reset(beam_offset_tracker *t, beam_offset_range range) {
  pthread_mutex_lock(&t->lock);
  t->range = range;
  t->attempted = false;
  t->last_attempted = 0;
  t->stopped = false;
  t->misused = false;
  t->misused_at = 0;
  pthread_mutex_unlock(&t->lock);
}

bool beam_offset_tracker_try_claim(beam_offset_tracker *t, int64_t position) {
  pthread_mutex_lock(&t->lock);
  bool ok = false;
  if (t->stopped || t->misused) {
    /* Claiming again after a false answer is the DoFn's bug only if it goes on working;
     * answering false again is what Beam's trackers do. */
  } else if (position < t->range.start || (t->attempted && position <= t->last_attempted)) {
    t->misused = true;
    t->misused_at = position;
  } else {
    t->attempted = true;
    t->last_attempted = position;
    if (position >= t->range.end) t->stopped = true;
    else ok = true;
  }
  pthread_mutex_unlock(&t->lock);
  return ok;
}

/* Done: nothing is left to claim. Caller holds the lock. */
static bool done_locked(const beam_offset_tracker *t) {
  if (t->stopped || t->range.start >= t->range.end) return true;
  return t->attempted && t->last_attempted >= t->range.end - 1;
}

bool beam_offset_tracker_try_split(beam_offset_tracker *t, double fraction_of_remainder, beam_offset_range *primary,
                                   beam_offset_range *residual) {
  if (!(fraction_of_remainder >= 0)) fraction_of_remainder = 0; /* NaN too */
  if (fraction_of_remainder > 1) fraction_of_remainder = 1;
  pthread_mutex_lock(&t->lock);
  bool ok = false;
  if (!done_locked(t) && !t->misused) {
    int64_t cur = t->attempted ? t->last_attempted : t->range.start - 1;
    double step = round(fraction_of_remainder * (double)(t->range.end - cur));
    int64_t split = cur + (step < 1 ? 1 : (int64_t)step);
    if (split < t->range.end) {
      *primary = (beam_offset_range){t->range.start, split};
      *residual = (beam_offset_range){split, t->range.end};
      t->range.end = split;
      ok = true;
    }
  }
  pthread_mutex_unlock(&t->lock);
  return ok;
}

beam_offset_range beam_offset_tracker_current(beam_offset_tracker *t) {
  pthread_mutex_lock(&t->lock);
  beam_offset_range r = t->range;
  pthread_mutex_unlock(&t->lock);
  return r;
}

void beam_offset_tracker_progress(beam_offset_tracker *t, double *done, double *remaining) {
  pthread_mutex_lock(&t->lock);
  int64_t next = t->attempted ? t->last_attempted + 1 : t->range.start;
  if (next > t->range.end) next = t->range.end;
  *done = (double)(next - t->range.start);
  *remaining = (double)(t->range.end - next);
  pthread_mutex_unlock(&t->lock);
}

beam_status beam_offset_tracker_check_done(beam_offset_tracker *t, beam_error *err) {
  pthread_mutex_lock(&t->lock);
  beam_offset_tracker copy = *t;
  bool done = done_locked(t);
  pthread_mutex_unlock(&t->lock);
  if (copy.misused)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "claimed offset %lld in [%lld, %lld) after offset %lld: claims must increase from the start",
                          (long long)copy.misused_at, (long long)copy.range.start, (long long)copy.range.end,
                          (long long)(copy.attempted ? copy.last_attempted : copy.range.start - 1));
  if (done) return BEAM_OK;
  long long from = copy.attempted ? copy.last_attempted + 1 : copy.range.start;
  return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                        "process() returned with [%lld, %lld) of its restriction [%lld, %lld) unclaimed: claim until "
                        "beam_dofn_try_claim answers false (claim INT64_MAX at the end of the data)",
                        from, (long long)copy.range.end, (long long)copy.range.start, (long long)copy.range.end);
}
