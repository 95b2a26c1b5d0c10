/* beam_byte_source over a local file: read(2) for streaming, pread(2) for ZIP seeks, lseek(2)
 * to start a byte range. */
#include "beam/transforms/byte_source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct file_source {
  beam_byte_source base;
  int fd;
  char name[];
} file_source;

static beam_status file_read(beam_byte_source *s, void *buf, size_t cap, size_t *n,
                             beam_error *err) {
  file_source *f = (file_source *)s;
  for (;;) {
    ssize_t k = read(f->fd, buf, cap);
    if (k >= 0) {
      *n = (size_t)k;
      return BEAM_OK;
    }
    if (errno != EINTR)
      return beam_error_set(err, BEAM_ERR_IO, "%s: read failed: %s", f->name, strerror(errno));
  }
}

static beam_status file_read_at(beam_byte_source *s, uint64_t off, void *buf, size_t cap,
                                size_t *n, beam_error *err) {
  file_source *f = (file_source *)s;
  if (off > (uint64_t)INT64_MAX) {
    *n = 0;
    return BEAM_OK;
  }
  for (;;) {
    ssize_t k = pread(f->fd, buf, cap, (off_t)off);
    if (k >= 0) {
      *n = (size_t)k;
      return BEAM_OK;
    }
    if (errno != EINTR)
      return beam_error_set(err, BEAM_ERR_IO, "%s: read failed: %s", f->name, strerror(errno));
  }
}

static beam_status file_seek(beam_byte_source *s, uint64_t off, beam_error *err) {
  file_source *f = (file_source *)s;
  if (off > (uint64_t)INT64_MAX || lseek(f->fd, (off_t)off, SEEK_SET) < 0)
    return beam_error_set(err, BEAM_ERR_IO, "%s: cannot seek to byte %llu: %s", f->name,
                          (unsigned long long)off, strerror(errno));
  return BEAM_OK;
}

static void file_close(beam_byte_source *s) {
  file_source *f = (file_source *)s;
  close(f->fd);
  free(f);
}

static const beam_byte_source_ops file_ops = {
    .read = file_read,
    .read_at = file_read_at,
    .seek = file_seek,
    .close = file_close,
};

beam_status beam_file_source_open(const char *path, beam_byte_source **out, beam_error *err) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return beam_error_set(err, BEAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return beam_error_set(err, BEAM_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return beam_error_set(err, BEAM_ERR_IO, "%s: is a directory", path);
  }
  size_t nlen = strlen(path);
  file_source *f = calloc(1, sizeof *f + nlen + 1);
  if (!f) {
    close(fd);
    return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", path);
  }
  memcpy(f->name, path, nlen + 1);
  f->base.ops = &file_ops;
  f->base.name = f->name;
  /* Pipes and devices have no meaningful size and cannot pread: treat them as streams. */
  f->base.size = S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
  f->fd = fd;
  if (!S_ISREG(st.st_mode)) {
    static const beam_byte_source_ops stream_ops = {.read = file_read, .close = file_close};
    f->base.ops = &stream_ops;
  }
  *out = &f->base;
  return BEAM_OK;
}
