/* The object store on a local directory (see object_store.h): a put writes a complete
 * temporary file under <dir>/.tmp/ (synced), then link()s it to its name - link fails with
 * EEXIST rather than replace, which is the directory's ifGenerationMatch=0 - and syncs the
 * parent directory. Readers never see a partial file under a final name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local_dir.h"
#include "local_file.h"
#include "object_store.h"

#define COPY_CHUNK ((size_t)256 << 10)

typedef struct dir_store {
  beam_object_store base;
} dir_store;

static beam_status io_error(const beam_object_store *st, const char *what, const char *name,
                            int e, beam_error *err) {
  return beam_error_set(err, e == ENOENT ? BEAM_ERR_NOT_FOUND : BEAM_ERR_IO, "%s/%s: %s: %s",
                        st->root, name, what, strerror(e));
}

static int sync_dir_of(const char *path) {
  char buf[PATH_MAX];
  beam_local_dir_of(path, buf);
  int fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int e = fsync(fd) == 0 || errno == EINVAL ? 0 : errno;
  close(fd);
  return e;
}

static beam_status copy_in(beam_object_store *st, const char *name, int fd, beam_http_read_fn read,
                           void *ctx, beam_error *err) {
  uint8_t *buf = malloc(COPY_CHUNK);
  if (!buf) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = BEAM_OK;
  for (;;) {
    size_t n = 0;
    if ((s = read(ctx, buf, COPY_CHUNK, &n, err)) != BEAM_OK || n == 0) break;
    int e = beam_local_write_all(fd, buf, n);
    if (e) {
      s = io_error(st, "writing", name, e, err);
      break;
    }
  }
  free(buf);
  if (s == BEAM_OK && !st->no_sync && fsync(fd) != 0) s = io_error(st, "syncing", name, errno, err);
  return s;
}

static beam_status dir_put(beam_object_store *st, const char *name, beam_http_read_fn read,
                           beam_http_rewind_fn rewind, void *ctx, bool *created, beam_error *err) {
  (void)rewind; /* local writes do not fail transiently */
  char final[PATH_MAX], tmp[PATH_MAX];
  if (snprintf(final, sizeof final, "%s/%s", st->root, name) >= (int)sizeof final)
    return io_error(st, "naming", name, ENAMETOOLONG, err);
  snprintf(tmp, sizeof tmp, "%s/.tmp/put-XXXXXX", st->root);
  int e = beam_local_make_parents(final);
  if (e) return io_error(st, "creating directories for", name, e, err);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) return io_error(st, "creating a temporary file for", name, errno, err);
  beam_status s = copy_in(st, name, fd, read, ctx, err);
  if (close(fd) != 0 && s == BEAM_OK) s = io_error(st, "closing", name, errno, err);
  if (s == BEAM_OK) {
    *created = link(tmp, final) == 0;
    if (!*created && errno != EEXIST) s = io_error(st, "linking", name, errno, err);
  }
  unlink(tmp);
  if (s == BEAM_OK && *created && !st->no_sync && (e = sync_dir_of(final)) != 0)
    s = io_error(st, "syncing the directory of", name, e, err);
  return s;
}

static beam_status dir_get(beam_object_store *st, const char *name, beam_buf *out, beam_error *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", st->root, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error(st, "opening", name, errno, err);
  beam_buf_reset(out);
  beam_status s = BEAM_OK;
  for (;;) {
    if (beam_buf_reserve(out, 4096) != BEAM_OK) {
      s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      break;
    }
    ssize_t r = read(fd, out->data + out->len, out->cap - out->len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) s = io_error(st, "reading", name, errno, err);
    if (r <= 0) break;
    out->len += (size_t)r;
  }
  close(fd);
  if (s == BEAM_OK && beam_buf_terminate(out) != BEAM_OK) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return s;
}

static beam_status dir_remove(beam_object_store *st, const char *name, beam_error *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", st->root, name);
  if (unlink(path) != 0) return io_error(st, "removing", name, errno, err);
  return BEAM_OK;
}

static beam_status dir_list(beam_object_store *st, const char *prefix, const char *from, const char *to,
                            beam_status (*each)(void *ctx, const char *name, beam_error *err), void *ctx,
                            beam_error *err) {
  char path[PATH_MAX], name[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", st->root, prefix);
  DIR *d = opendir(path);
  if (!d) return errno == ENOENT ? BEAM_OK : io_error(st, "listing", prefix, errno, err);
  beam_status s = BEAM_OK;
  for (struct dirent *e; s == BEAM_OK && (errno = 0, e = readdir(d)) != NULL;) {
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
    if (snprintf(name, sizeof name, "%s%s", prefix, e->d_name) >= (int)sizeof name) continue;
    if ((from && strcmp(name, from) < 0) || (to && strcmp(name, to) >= 0)) continue;
    s = each(ctx, name, err);
  }
  if (s == BEAM_OK && errno) s = io_error(st, "listing", prefix, errno, err);
  closedir(d);
  return s;
}

static void dir_free(beam_object_store *st) {
  if (!st) return;
  free(st->root);
  free(st);
}

static const beam_object_store_ops dir_ops = {
    .put_if_absent = dir_put,
    .get = dir_get,
    .remove = dir_remove,
    .list = dir_list,
    .free = dir_free,
};

beam_status beam_object_store_dir_open(const char *dir, bool no_sync, beam_object_store **out,
                                       beam_error *err) {
  *out = NULL;
  if (!dir || !*dir) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "file sink: empty directory");
  dir_store *d = calloc(1, sizeof *d);
  if (!d) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  d->base.ops = &dir_ops;
  d->base.no_sync = no_sync;
  d->base.root = strdup(dir);
  if (!d->base.root) {
    free(d);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  size_t n = strlen(d->base.root);
  while (n > 1 && d->base.root[n - 1] == '/') d->base.root[--n] = '\0';
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s/.tmp", d->base.root);
  int e = beam_local_make_dirs(tmp);
  if (e) {
    beam_status s = beam_error_set(err, BEAM_ERR_IO, "file sink %s: creating the directory: %s", dir, strerror(e));
    dir_free(&d->base);
    return s;
  }
  *out = &d->base;
  return BEAM_OK;
}
