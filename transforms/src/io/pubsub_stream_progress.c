/* The progress line of a Pub/Sub stream (pubsub_stream_progress.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pubsub_stream_progress.h"

enum { WINDOW_SECONDS = 10 };

static int64_t wall_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void beam_pubsub_stream_progress_init(beam_pubsub_stream_progress *p, const char *subscription, const char *mode) {
  memset(p, 0, sizeof *p);
  beam_progress_start(&p->line, subscription, mode ? mode : "off");
  p->on = p->line.enabled;
  if (p->on) pthread_mutex_init(&p->mu, NULL);
}

/* Latency windows: the older one dropped every WINDOW_SECONDS (p->mu held). */
static void rotate(beam_pubsub_stream_progress *p, double now) {
  if (now - p->window_at < WINDOW_SECONDS) return;
  p->window[1] = p->window[0];
  memset(&p->window[0], 0, sizeof p->window[0]);
  p->window_at = now;
}

/* Draws the line if due (p->mu held). */
static void draw(beam_pubsub_stream_progress *p, beam_pubsub_subscriber *sub) {
  if (!beam_progress_due(&p->line)) return;
  double now = beam_progress_elapsed(&p->line);
  double secs = now - p->drawn_at;
  double recent = secs > 0 ? (double)(p->committed - p->committed_at_draw) / secs : 0;
  p->rate = p->drawn_at > 0 ? 0.5 * p->rate + 0.5 * recent : recent; /* smoothed over a few draws */
  p->drawn_at = now;
  p->committed_at_draw = p->committed;
  rotate(p, now);
  beam_pubsub_subscriber_stats st;
  beam_pubsub_subscriber_stats_get(sub, &st);
  char line[256];
  int n = snprintf(line, sizeof line, " %llu messages, %.0f/s, %lld in flight", (unsigned long long)p->committed,
                   p->rate, (long long)st.outstanding_messages);
  if (st.oldest_publish_us > 0 && n > 0 && (size_t)n < sizeof line)
    n += snprintf(line + n, sizeof line - (size_t)n, ", oldest %.1f s",
                  (double)(wall_us() - st.oldest_publish_us) / 1e6);
  beam_latency_histogram both = p->window[0];
  for (int i = 0; i < BEAM_LATENCY_BUCKETS; i++) beam_latency_add_bucket(&both, i, p->window[1].counts[i]);
  if (both.n && n > 0 && (size_t)n < sizeof line)
    snprintf(line + n, sizeof line - (size_t)n, ", commit p50 %.2f s p99 %.2f s",
             beam_latency_quantile_ms(&both, 0.5) / 1000, beam_latency_quantile_ms(&both, 0.99) / 1000);
  beam_progress_show(&p->line, line);
}

void beam_pubsub_stream_progress_acked(beam_pubsub_stream_progress *p, const beam_pubsub_messages *parts,
                                       size_t n_parts, beam_pubsub_subscriber *sub) {
  if (!p->on) return;
  int64_t now = wall_us();
  pthread_mutex_lock(&p->mu);
  for (size_t k = 0; k < n_parts; k++)
    for (size_t i = 0; i < parts[k].n; i++)
      beam_latency_add(&p->window[0], (double)(now - parts[k].items[i].publish_time_us) / 1000.0);
  for (size_t k = 0; k < n_parts; k++) p->committed += parts[k].n;
  draw(p, sub);
  pthread_mutex_unlock(&p->mu);
}

void beam_pubsub_stream_progress_tick(beam_pubsub_stream_progress *p, beam_pubsub_subscriber *sub) {
  if (!p->on) return;
  pthread_mutex_lock(&p->mu);
  draw(p, sub);
  pthread_mutex_unlock(&p->mu);
}

void beam_pubsub_stream_progress_finish(beam_pubsub_stream_progress *p) {
  if (!p->on) return;
  beam_progress_finish(&p->line);
  pthread_mutex_destroy(&p->mu);
  p->on = false;
}
