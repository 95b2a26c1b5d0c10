/* --worker_pool: this program as a BeamFnExternalWorkerPool for EXTERNAL environments; every
 * StartWorker runs this same program with --worker (see beam/worker_pool.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "beam/worker.h"
#include "beam/worker_pool.h"

static const char *pool_address(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--worker_pool=", 14) == 0) return argv[i] + 14;
    if (strcmp(argv[i], "--worker_pool") == 0) return i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0 ? argv[i + 1] : "";
  }
  return NULL;
}

bool beam_worker_pool_requested(int argc, char **argv) { return pool_address(argc, argv) != NULL; }

int beam_worker_pool_main(int argc, char **argv) {
  const char *address = pool_address(argc, argv);
  if (!address || !address[0]) address = "127.0.0.1:0";
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return fprintf(stderr, "beam-c worker pool: cannot find this program's path\n"), 1;
  self[n] = '\0';
  const char *worker_argv[] = {self, "--worker", NULL};
  beam_worker_pool *pool = NULL;
  beam_error err = {0};
  if (beam_worker_pool_start(address, worker_argv, &pool, &err) != BEAM_OK)
    return fprintf(stderr, "beam-c worker pool: %s\n", err.message), 1;
  /* On stdout so scripts can read the port of "127.0.0.1:0". */
  printf("beam-c worker pool: listening on port %d\n", beam_worker_pool_port(pool));
  fflush(stdout);
  beam_worker_pool_wait(pool);
  beam_worker_pool_stop_and_free(pool);
  return 0;
}
