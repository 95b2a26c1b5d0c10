/* The file identity's cost: beam_file_identity_of on one file (an XXH3-128 read of the whole
 * content, what every file ETL run does before parsing a local file), timed inside the process
 * so that program start-up is not counted.
 *
 *   bench_identity FILE [RUNS]   prints "<identity> <median seconds of RUNS calls>" */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "beam/transforms/file_identity.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: bench_identity FILE [RUNS]\n"), 2;
  int runs = argc > 2 ? atoi(argv[2]) : 5;
  if (runs < 1 || runs > 100) runs = 5;
  double secs[100];
  beam_file_identity id;
  beam_error err = {0};
  for (int i = 0; i < runs; i++) {
    double t0 = now_s();
    if (beam_file_identity_of(argv[1], &id, &err) != BEAM_OK) return fprintf(stderr, "bench_identity: %s\n", err.message), 1;
    secs[i] = now_s() - t0;
  }
  qsort(secs, (size_t)runs, sizeof secs[0], by_value);
  printf("%s %.3f\n", id.id, secs[runs / 2]);
  return 0;
}
