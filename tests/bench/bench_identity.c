/* The file identity's cost: beam_file_identity_of on one file (an XXH3-128 read of the whole
 * content, what every file ETL run does before parsing a local file).
 *
 *   bench_identity FILE      prints the identity; run_file_etl_bench.sh times it beside the load */
#include <stdio.h>

#include "beam/transforms/file_identity.h"

int main(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: bench_identity FILE\n"), 2;
  beam_file_identity id;
  beam_error err = {0};
  if (beam_file_identity_of(argv[1], &id, &err) != BEAM_OK) return fprintf(stderr, "bench_identity: %s\n", err.message), 1;
  printf("%s\n", id.id);
  return 0;
}
