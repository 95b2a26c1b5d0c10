/* Reading a file whole vs by byte ranges, and the CSV quoted-newline pre-scan.
 *
 *   bench_input_ranges [rows] [ranges]
 *
 * Writes a ~150-byte-per-row CSV file (some fields quoted, with commas, no newlines inside
 * quotes) to $TMPDIR and reports MB/s and rows/s for:
 *   whole     beam_input over the file (the unsplit path);
 *   ranges    the same file read as [ranges] byte ranges one after another (rows must match);
 *   prescan   beam_input_find_quoted_newline over the file.
 * Build Release without sanitizers for meaningful numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "beam/transforms/input.h"
/* Built against a tree without byte ranges, it measures the whole read only (before/after). */
#if __has_include("beam/transforms/byte_ranges.h")
#include "beam/transforms/byte_ranges.h"
#define HAVE_RANGES 1
#endif

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static beam_etl_field fields[] = {
    {"event_id", BEAM_ETL_STRING, BEAM_ETL_REQUIRED}, {"event_type", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},
    {"user_id", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},   {"amount", BEAM_ETL_NUMERIC, BEAM_ETL_NULLABLE},
    {"country", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},  {"note", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},
    {"ts", BEAM_ETL_TIMESTAMP, BEAM_ETL_NULLABLE},
};
static const beam_etl_schema schema = {fields, sizeof fields / sizeof fields[0]};

/* Reads [start, end) (end 0: to the end); returns the record count or -1. */
static long long read_range(const char *path, int64_t start, int64_t end) {
  beam_input_options o;
  beam_input_options_init(&o);
#ifdef HAVE_RANGES
  o.range_start = start;
  o.range_end = end;
#else
  (void)start, (void)end;
#endif
  beam_input *in;
  beam_error err;
  if (beam_input_open(path, &o, &schema, &in, &err) != BEAM_OK) {
    fprintf(stderr, "open: %s\n", err.message);
    return -1;
  }
  beam_arena arena = BEAM_ARENA_INIT;
  long long n = 0;
  for (;;) {
    beam_etl_record rec;
    beam_read_result res;
    beam_etl_parse_error perr;
    if (beam_input_next(in, &arena, &rec, &res, &perr, &err) != BEAM_OK) {
      fprintf(stderr, "next: %s\n", err.message);
      n = -1;
      break;
    }
    if (res == BEAM_READ_EOF) break;
    n++;
    beam_arena_reset(&arena);
  }
  beam_arena_free(&arena);
  beam_input_close(in);
  return n;
}

int main(int argc, char **argv) {
  long long rows = argc > 1 ? atoll(argv[1]) : 1000000;
  int64_t ranges = argc > 2 ? atoll(argv[2]) : 8;
  const char *tmp = getenv("TMPDIR");
  char path[512];
  snprintf(path, sizeof path, "%s/bench_input_ranges_%d.csv", tmp && *tmp ? tmp : "/tmp", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f) return 1;
  static const char *types[] = {"purchase", "page_view", "signup", "refund"};
  fprintf(f, "event_id,event_type,user_id,amount,country,note,ts\n");
  for (long long i = 0; i < rows; i++)
    fprintf(f, "evt-%012lld,%s,%lld,%lld.%02lld,DE,\"note, with a comma \"\"%lld\"\"\",2024-01-%02lldT10:%02lld:00Z\n", i,
            types[i % 4], i * 7919 % 100000, i % 1000, i % 100, i % 97, 1 + i % 28, i % 60);
  fclose(f);
  FILE *g = fopen(path, "rb");
  fseek(g, 0, SEEK_END);
  int64_t size = ftell(g);
  fclose(g);
  double mb = (double)size / 1e6;
  printf("file: %lld rows, %.1f MB\n", rows, mb);

  for (int rep = 0; rep < 3; rep++) {
    double t0 = now_s();
    long long n = read_range(path, 0, 0);
    double t = now_s() - t0;
    printf("whole    %8.3f s  %8.1f MB/s  %10.0f rows/s  (%lld rows)\n", t, mb / t, (double)n / t, n);
  }
#ifdef HAVE_RANGES
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now_s();
    long long total = 0;
    int64_t split = (size + ranges - 1) / ranges;
    for (size_t i = 0; i < beam_byte_ranges_count(size, split); i++) {
      beam_byte_range r = beam_byte_ranges_at(size, split, i);
      long long n = read_range(path, r.start, r.end);
      if (n < 0) return 1;
      total += n;
    }
    double t = now_s() - t0;
    printf("ranges   %8.3f s  %8.1f MB/s  %10.0f rows/s  (%lld rows in %lld ranges)\n", t, mb / t,
           (double)total / t, total, (long long)ranges);
  }
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now_s();
    int64_t off = 0;
    beam_error err;
    if (beam_input_find_quoted_newline(path, NULL, &off, &err) != BEAM_OK) return 1;
    double t = now_s() - t0;
    printf("prescan  %8.3f s  %8.1f MB/s  (first quoted newline: %lld)\n", t, mb / t, (long long)off);
  }
#else
  (void)ranges;
#endif
  unlink(path);
  return 0;
}
