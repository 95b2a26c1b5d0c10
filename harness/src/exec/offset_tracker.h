/* The restriction tracker of a splittable DoFn over an offset range, with Beam's semantics
 * (Java's OffsetRangeTracker, Go's offsetrange.Tracker): claims increase, a claim at or past
 * the end fails and stops the tracker, and a split keeps [start, split) and gives away
 * [split, end). process() claims on the bundle thread while the runner's split and progress
 * requests read and split from the control thread, so every call takes the tracker's lock. */
#ifndef BEAM_OFFSET_TRACKER_H
#define BEAM_OFFSET_TRACKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "beam/dofn.h"
#include "beam/status.h"

typedef struct beam_offset_tracker {
  pthread_mutex_t lock;
  beam_offset_range range; /* end moves down on a split */
  bool attempted;          /* a claim was tried: last_attempted is set */
  int64_t last_attempted;
  bool stopped;            /* a claim failed: the DoFn must stop */
  bool misused;            /* a claim went backwards or before start */
  int64_t misused_at;
} beam_offset_tracker;

void beam_offset_tracker_init(beam_offset_tracker *t);
void beam_offset_tracker_destroy(beam_offset_tracker *t);
/* Starts tracking range afresh. */
void beam_offset_tracker_reset(beam_offset_tracker *t, beam_offset_range range);
/* True: position is the caller's to process. False: stop (position >= end, or misuse). */
bool beam_offset_tracker_try_claim(beam_offset_tracker *t, int64_t position);
/* Splits what remains: split = cur + max(1, round(fraction * (end - cur))) where cur is the
 * last attempted position (start - 1 before any claim); primary [start, split), residual
 * [split, end). False (nothing changes) when the tracker is done or split >= end. */
bool beam_offset_tracker_try_split(beam_offset_tracker *t, double fraction_of_remainder, beam_offset_range *primary,
                                   beam_offset_range *residual);
beam_offset_range beam_offset_tracker_current(beam_offset_tracker *t);
/* Work done and remaining, in offsets (Go's GetProgress). */
void beam_offset_tracker_progress(beam_offset_tracker *t, double *done, double *remaining);
/* After process(): BEAM_OK when the range was finished (a claim failed, or end - 1 was
 * claimed, or it is empty); an error naming the unclaimed rest, or the misuse, otherwise. */
beam_status beam_offset_tracker_check_done(beam_offset_tracker *t, beam_error *err);

#endif
