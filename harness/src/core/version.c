/* The library's version, from CMake (BEAM_C_VERSION is defined for this file only, so a new
 * version recompiles one file). */
#include "beam/version.h"

const char *beam_version(void) { return BEAM_C_VERSION; }
