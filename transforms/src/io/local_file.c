/* Whole writes and fsync of local files (see local_file.h). */
#include <errno.h>
#include <unistd.h>

#include "local_file.h"

int beam_local_write_all(int fd, const void *data, size_t len) {
  const uint8_t *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return w < 0 ? errno : EIO;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int beam_local_pwrite_all(int fd, const void *data, size_t len, uint64_t off) {
  const uint8_t *p = data;
  while (len > 0) {
    ssize_t w = pwrite(fd, p, len, (off_t)off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return w < 0 ? errno : EIO;
    p += w;
    len -= (size_t)w;
    off += (uint64_t)w;
  }
  return 0;
}

int beam_local_fsync(int fd) {
  if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) return errno;
  return 0;
}
