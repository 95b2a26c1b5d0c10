/* The boot program: a Beam environment's entrypoint (see beam/boot.h). */
#include "beam/boot.h"

int main(int argc, char **argv) { return beam_boot_main(argc, argv); }
