/* Test hooks (see etl_test_hooks.h). */
#include "etl_test_hooks.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_bool grown;
static atomic_long range_commits;

void beam_etl_test_exit_after_range_commit(void) {
  const char *n = getenv("BEAM_ETL_TEST_EXIT_AFTER_RANGES");
  long after = n ? strtol(n, NULL, 10) : 0;
  if (after > 0 && atomic_fetch_add(&range_commits, 1) + 1 == after) _exit(137);
}

void beam_etl_test_grow_after_range(const char *path) {
  const char *name = getenv("BEAM_ETL_TEST_GROW_AFTER_RANGE");
  if (!name || !*name || atomic_load(&grown)) return;
  size_t n = strlen(name), len = strlen(path);
  if (len < n || strcmp(path + len - n, name) != 0 || atomic_exchange(&grown, true)) return;
  char line[4096];
  FILE *f = fopen(path, "rb");
  bool read = f && fgets(line, sizeof line, f) != NULL;
  if (f) fclose(f);
  if (!read || !(f = fopen(path, "ab"))) return;
  fputs(line, f);
  if (line[strlen(line) - 1] != '\n') fputc('\n', f);
  fclose(f);
}
