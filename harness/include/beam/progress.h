/* Progress lines for long work on a terminal: rows, bytes, rate, percent when the total is
 * known. Redrawn in place on stderr at most twice a second; silent when stderr is not a
 * terminal (logs stay quiet) unless forced. */
#ifndef BEAM_PROGRESS_H
#define BEAM_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_progress {
  bool enabled;
  bool drawn;      /* a line is on screen and needs a newline at the end */
  double started;  /* monotonic seconds */
  double last;     /* last redraw */
  char what[96];   /* e.g. the file name */
} beam_progress;

/* mode: "auto" (terminal only), "on", "off"; NULL means auto. */
void beam_progress_start(beam_progress *p, const char *what, const char *mode);
/* Cheap to call often: redraws only when half a second has passed. total_bytes < 0: unknown. */
void beam_progress_update(beam_progress *p, int64_t rows, uint64_t bytes, int64_t total_bytes);
/* For a line the caller formats itself: true (and the redraw clock restarted) when the line
 * is enabled and half a second has passed since the last redraw; ask before formatting. */
bool beam_progress_due(beam_progress *p);
/* Draws line in place of the previous one (enabled only). */
void beam_progress_show(beam_progress *p, const char *line);
/* Seconds since beam_progress_start. */
double beam_progress_elapsed(const beam_progress *p);
/* Ends the line. */
void beam_progress_finish(beam_progress *p);

#ifdef __cplusplus
}
#endif
#endif
