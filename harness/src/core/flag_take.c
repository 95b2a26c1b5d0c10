/* See flag_take.h. */
#include <string.h>

#include "flag_take.h"

bool beam_flag_take(int argc, char **argv, int *i, const char *name, bool go_style, const char **out) {
  const char *arg = argv[*i];
  if (strncmp(arg, "--", 2) == 0) arg += 2;
  else if (go_style && arg[0] == '-') arg += 1;
  else return false;
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0) return false;
  if (arg[n] == '=') {
    *out = arg + n + 1;
    return true;
  }
  if (arg[n] == '\0' && *i + 1 < argc) {
    *out = argv[++*i];
    return true;
  }
  return false;
}
