/* Byte-range copies between files (file_range_copy.h). */
#include "file_range_copy.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "local_file.h"

#define COPY_CHUNK ((size_t)1 << 20)
#define COPY_OFFLOAD_MAX ((size_t)1 << 30) /* bytes per copy_file_range call */

/* Copies len bytes by hand (read, write), from where copy_file_range stopped. */
static int copy_by_hand(int src, uint64_t src_off, int dst, uint64_t dst_off, uint64_t len) {
  uint8_t *chunk = malloc(COPY_CHUNK);
  if (!chunk) return ENOMEM;
  int e = 0;
  while (len > 0 && !e) {
    size_t want = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
    ssize_t r = pread(src, chunk, want, (off_t)src_off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      e = r < 0 ? errno : EIO; /* the source ended early: it shrank under us */
      break;
    }
    e = beam_local_pwrite_all(dst, chunk, (size_t)r, dst_off);
    src_off += (uint64_t)r;
    dst_off += (uint64_t)r;
    len -= (uint64_t)r;
  }
  free(chunk);
  return e;
}

int beam_sink_copy_range(int src, uint64_t src_off, int dst, uint64_t dst_off, uint64_t len) {
  loff_t in = (loff_t)src_off, out = (loff_t)dst_off;
  while (len > 0) {
    ssize_t n = copy_file_range(src, &in, dst, &out, len < COPY_OFFLOAD_MAX ? (size_t)len : COPY_OFFLOAD_MAX, 0);
    if (n > 0) {
      len -= (uint64_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != ENOSYS && errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP &&
        errno != ENOTSUP)
      return errno;
    break; /* not offloadable here (or 0: a file the kernel cannot copy from, or src ended) */
  }
  return len ? copy_by_hand(src, (uint64_t)in, dst, (uint64_t)out, len) : 0;
}
