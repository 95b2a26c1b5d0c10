/* Local directories: mkdir -p and the side-effect-free probe (see local_dir.h). */
#include "local_dir.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int beam_local_make_parents(const char *path) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return ENAMETOOLONG;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return errno;
    *p = '/';
  }
  return 0;
}

int beam_local_make_dirs(const char *dir) {
  char buf[PATH_MAX];
  /* The trailing slash makes dir itself one of the "parents". */
  if (snprintf(buf, sizeof buf, "%s/", dir) >= (int)sizeof buf) return ENAMETOOLONG;
  int e = beam_local_make_parents(buf);
  if (e) return e;
  /* mkdir's EEXIST also covers a file of that name: the caller needs a directory. */
  struct stat sb;
  if (stat(dir, &sb) != 0) return errno;
  return S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
}

/* Drops the last component of buf ("a/b" -> "a", "/a" -> "/", "a" -> "."). */
static void drop_last(char *buf) {
  char *slash = strrchr(buf, '/');
  if (!slash) snprintf(buf, 2, ".");
  else if (slash == buf) buf[1] = '\0';
  else *slash = '\0';
}

void beam_local_dir_of(const char *path, char out[PATH_MAX]) {
  snprintf(out, PATH_MAX, "%s", path);
  drop_last(out);
}

int beam_local_dir_writable(const char *dir) {
  struct stat sb;
  if (stat(dir, &sb) != 0) return errno;
  if (!S_ISDIR(sb.st_mode)) return ENOTDIR;
  /* Creating entries in a directory takes write and search permission on it. */
  return access(dir, W_OK | X_OK) == 0 ? 0 : errno;
}

static int probe_fail(int e, const char *path, char *bad, size_t cap) {
  if (cap) snprintf(bad, cap, "%s", path);
  return e;
}

int beam_local_dir_probe(const char *dir, char *bad, size_t cap) {
  char buf[PATH_MAX];
  if (!dir[0]) return probe_fail(ENOENT, dir, bad, cap);
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return probe_fail(ENAMETOOLONG, dir, bad, cap);
  for (size_t n = strlen(buf); n > 1 && buf[n - 1] == '/';) buf[--n] = '\0';
  for (;;) {
    int e = beam_local_dir_writable(buf);
    /* A missing component can still be created; ENOTDIR from stat walks up to the file in
     * the way so the message names it. Anything else (EACCES, ELOOP) is final. */
    bool go_up = e == ENOENT || (e == ENOTDIR && access(buf, F_OK) != 0);
    if (!go_up || strcmp(buf, "/") == 0 || strcmp(buf, ".") == 0) return e ? probe_fail(e, buf, bad, cap) : 0;
    drop_last(buf);
  }
}
