/* Local directories for the sinks that write into one (jsonl:, file:, the sqlite: file's
 * directory): creating them with their parents, and checking ahead of a run, without
 * creating anything, that they can be created and written. */
#ifndef BEAM_IO_LOCAL_DIR_H
#define BEAM_IO_LOCAL_DIR_H

#include <limits.h>
#include <stddef.h>

/* mkdir -p for the directories of path, its last component excluded ("a/b/c" creates a and
 * a/b; "a/b/" creates a and a/b). Existing directories are fine. Returns 0, or the errno of
 * the first mkdir that failed (ENOTDIR when a component is a file, ENAMETOOLONG). */
int beam_local_make_parents(const char *path);

/* mkdir -p dir: dir and its missing parents (mode 0755). 0 or an errno as above. */
int beam_local_make_dirs(const char *dir);

/* The directory part of path into out ("a/b" -> "a", "/a" -> "/", "a" -> "."). */
void beam_local_dir_of(const char *path, char out[PATH_MAX]);

/* 0 when dir is an existing directory this process can create files in; else the errno
 * (ENOENT, ENOTDIR when it or an ancestor is not a directory, EACCES, EROFS, ...). */
int beam_local_dir_writable(const char *dir);

/* Whether beam_local_make_dirs(dir) would succeed and leave a directory this process can
 * create files in, found without creating anything: dir is a writable directory, or the
 * nearest existing ancestor is one. Returns 0, or an errno (ENOTDIR when dir or an ancestor
 * is not a directory, EACCES/EROFS when it is not writable, ...) with the path it concerns
 * copied to bad (cap bytes). */
int beam_local_dir_probe(const char *dir, char *bad, size_t cap);

#endif
