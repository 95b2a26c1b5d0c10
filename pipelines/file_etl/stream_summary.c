/* The end-of-run report of a stream (a pubsub: input): where every message went, per
 * destination. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/etl_pipeline.h"
#include "beam/transforms/etl_stream.h"
#include "beam/transforms/etl_types.h"
#include "summary.h"

static void print_table(void *ctx, const char *table, int64_t rows) {
  fprintf((FILE *)ctx, "  %-32s %12lld rows\n", table, (long long)rows);
}

static void print_line(FILE *out, const char *what, int64_t n, const char *note) {
  fprintf(out, "  %-32s %12lld%s\n", what, (long long)n, note);
}

void file_etl_stream_latency(const beam_run_result *r, size_t d, size_t n_dests, beam_latency_histogram *h) {
  char write[64], name[64];
  beam_etl_file_pipeline_step("Write", d, n_dests, write, sizeof write);
  memset(h, 0, sizeof *h);
  for (int i = 0; i < BEAM_LATENCY_BUCKETS; i++) {
    snprintf(name, sizeof name, BEAM_ETL_COMMIT_LATENCY_COUNTER "%d", i);
    int64_t n = beam_run_result_counter(r, write, name);
    if (n > 0) beam_latency_add_bucket(h, i, (uint64_t)n);
  }
}

int file_etl_print_stream_summary(FILE *out, const beam_run_result *r, const beam_etl_destination *dests,
                                  size_t n_dests, const char *runner) {
  int64_t messages = beam_run_result_counter(r, "ReadMessages", "messages");
  int64_t filtered = beam_run_result_counter(r, "ReadMessages", "filtered");
  double secs = r->elapsed_seconds > 0 ? r->elapsed_seconds : 1e-9;
  fprintf(out, "file_etl: %lld messages in %.3f s (%.0f messages/s), runner %s\n", (long long)messages,
          r->elapsed_seconds, (double)messages / secs, runner);
  print_line(out, "filtered", filtered, " messages (counted, not written)");
  int ok = 1;
  char write[64], what[512];
  for (size_t d = 0; d < n_dests; d++) {
    beam_etl_file_pipeline_step("Write", d, n_dests, write, sizeof write);
    if (n_dests > 1)
      fprintf(out, "destination %zu: %s (%s)\n", d + 1, dests[d].sink,
              beam_etl_destination_describe(&dests[d], what, sizeof what));
    file_etl_destination_tables(r, d, n_dests, print_table, out);
    print_line(out, BEAM_ETL_DEAD_LETTER_TABLE, beam_run_result_counter(r, write, "written." BEAM_ETL_DEAD_LETTER_TABLE),
               " rows");
    print_line(out, BEAM_ETL_STREAM_BUNDLES_TABLE, beam_run_result_counter(r, write, "stream_bundles"),
               " rows (one per committed bundle)");
    int64_t not_taken = beam_run_result_counter(r, write, "not_taken");
    if (not_taken) print_line(out, "not taken", not_taken, " rows (outside its tables or where)");
    int64_t committed = beam_run_result_counter(r, write, "stream_messages");
    int64_t before = beam_run_result_counter(r, write, "messages_already_loaded");
    if (before) print_line(out, "messages committed before", before, " (redelivered: not written again)");
    beam_latency_histogram h;
    file_etl_stream_latency(r, d, n_dests, &h);
    if (h.n)
      fprintf(out, "  %-32s p50 <= %.3f s, p99 <= %.3f s\n", "publish to commit",
              beam_latency_quantile_ms(&h, 0.5) / 1000, beam_latency_quantile_ms(&h, 0.99) / 1000);
    /* Each message read was committed by this destination now, or before. */
    if (committed + before != messages) {
      fprintf(stderr, "file_etl: %s%s%lld messages read but %lld committed and %lld committed before: this is a bug, "
                      "please report it\n",
              n_dests > 1 ? dests[d].sink : "", n_dests > 1 ? ": " : "", (long long)messages, (long long)committed,
              (long long)before);
      ok = 0;
    }
  }
  fprintf(out, "rows went to ");
  for (size_t d = 0; d < n_dests; d++) fprintf(out, "%s%s", d ? ", " : "", dests[d].sink);
  fprintf(out, "\n");
  return ok;
}
