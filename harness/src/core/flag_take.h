/* One command-line flag with a value, as the worker and the boot program read theirs. */
#ifndef BEAM_FLAG_TAKE_H
#define BEAM_FLAG_TAKE_H

#include <stdbool.h>

/* Matches argv[*i] against --name (and -name too when go_style: the forms Go's flag package,
 * and so Beam's boot programs, accept). The value follows '=' or is the next argument, which
 * is then consumed (*i advances). */
bool beam_flag_take(int argc, char **argv, int *i, const char *name, bool go_style, const char **out);

#endif
