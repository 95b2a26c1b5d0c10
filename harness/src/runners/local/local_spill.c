/* Temporary spill files (see local_spill.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local_spill.h"

beam_status beam_spill_open(const char *dir, const char *what, int *fd, beam_error *err) {
#ifdef O_TMPFILE
  /* No name ever exists: the file is gone when the last descriptor closes. */
  *fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (*fd >= 0) return BEAM_OK;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT)
    return beam_error_set(err, BEAM_ERR_IO, "cannot create a temporary file in %s while spilling %s: %s (set --temp_dir)",
                          dir, what, strerror(errno));
#endif
  /* Filesystems without O_TMPFILE: a named file unlinked right after it is created. */
  char path[4096];
  int n = snprintf(path, sizeof path, "%s/beam-spill-XXXXXX", dir);
  if (n < 0 || (size_t)n >= sizeof path)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "temp dir path too long: %s", dir);
  *fd = mkostemp(path, O_CLOEXEC);
  if (*fd < 0)
    return beam_error_set(err, BEAM_ERR_IO, "cannot create a temporary file in %s while spilling %s: %s (set --temp_dir)",
                          dir, what, strerror(errno));
  unlink(path);
  return BEAM_OK;
}

beam_status beam_spill_write(int fd, int64_t offset, const void *data, size_t len, const char *dir, const char *what,
                             beam_error *err) {
  const uint8_t *p = data;
  while (len) {
    ssize_t w = pwrite(fd, p, len, (off_t)offset);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == ENOSPC || errno == EDQUOT))
      return beam_error_set(err, BEAM_ERR_IO, "no space left on %s while spilling %s: set --temp_dir", dir, what);
    if (w <= 0)
      return beam_error_set(err, BEAM_ERR_IO, "cannot write a temporary file in %s while spilling %s: %s", dir, what,
                            w < 0 ? strerror(errno) : "wrote nothing");
    p += w;
    len -= (size_t)w;
    offset += w;
  }
  return BEAM_OK;
}

beam_status beam_spill_read(int fd, int64_t offset, void *buf, size_t len, size_t *got, beam_error *err) {
  uint8_t *p = buf;
  *got = 0;
  while (*got < len) {
    ssize_t r = pread(fd, p + *got, len - *got, (off_t)(offset + (int64_t)*got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return beam_error_set(err, BEAM_ERR_IO, "cannot read back a spilled run: %s", strerror(errno));
    if (r == 0) break;
    *got += (size_t)r;
  }
  return BEAM_OK;
}
