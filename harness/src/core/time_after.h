/* Deadlines for timed waits (pthread_cond_timedwait and the like). */
#ifndef BEAM_TIME_AFTER_H
#define BEAM_TIME_AFTER_H

#include <time.h>

/* The time on clock ms milliseconds from now (CLOCK_REALTIME for condition variables with
 * the default clock, CLOCK_MONOTONIC for those set to it). */
struct timespec beam_time_after_ms(clockid_t clock, long ms);

#endif
