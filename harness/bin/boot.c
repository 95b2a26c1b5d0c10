/* The boot program: a Beam environment's entrypoint (see beam/boot.h). */
#include <stdio.h>
#include <string.h>

#include "beam/boot.h"
#include "beam/version.h"

int main(int argc, char **argv) {
  /* Only alone: a runner's flags are never just --version, and boot ignores flags it does not know. */
  if (argc == 2 && strcmp(argv[1], "--version") == 0) return printf("beam-c boot %s\n", beam_version()), 0;
  return beam_boot_main(argc, argv);
}
