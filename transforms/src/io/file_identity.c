/* File identities (see file_identity.h). XXH3-128 rather than SHA-256: the identity costs a
 * read of the whole file before parsing, and XXH3 keeps that under a few percent of the load
 * (SHA-256 at ~1.3 GB/s would be ~10% of a one-core load); inputs are not adversaries here. */
#include "beam/transforms/file_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "beam/transforms/byte_source.h"

enum { READ_CHUNK = 1 << 20 };

static beam_status hash_fd(int fd, const char *path, XXH3_state_t *h, char *buf, int64_t *size, beam_error *err) {
  *size = 0;
  for (;;) {
    ssize_t n = read(fd, buf, READ_CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return beam_error_set(err, BEAM_ERR_IO, "%s: read: %s", path, strerror(errno));
    if (n == 0) return BEAM_OK;
    XXH3_128bits_update(h, buf, (size_t)n);
    *size += n;
  }
}

static beam_status local_identity(const char *path, beam_file_identity *out, beam_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return beam_error_set(err, errno == ENOENT ? BEAM_ERR_NOT_FOUND : BEAM_ERR_IO, "%s: %s", path, strerror(errno));
  XXH3_state_t *h = XXH3_createState();
  char *buf = malloc(READ_CHUNK);
  beam_status s = h && buf ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (s == BEAM_OK) XXH3_128bits_reset(h);
  if (s == BEAM_OK) s = hash_fd(fd, path, h, buf, &out->size, err);
  if (s == BEAM_OK) {
    XXH128_hash_t d = XXH3_128bits_digest(h);
    snprintf(out->id, sizeof out->id, "%" PRId64 "-xxh3-%016" PRIx64 "%016" PRIx64, out->size, (uint64_t)d.high64,
             (uint64_t)d.low64);
  }
  free(buf);
  XXH3_freeState(h);
  close(fd);
  return s;
}

/* A gs:// object: the source names its identity from the metadata it reads at open. */
static beam_status gcs_identity(const char *uri, beam_file_identity *out, beam_error *err) {
  beam_byte_source *src = NULL;
  beam_status s = beam_gcs_source_open(uri, &src, err);
  if (s == BEAM_OK) s = beam_file_identity_from_source(src, out, err);
  beam_byte_source_close(src);
  return s;
}

beam_status beam_file_identity_from_source(const beam_byte_source *src, beam_file_identity *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  if (!src->identity) return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "%s: no identity without a read", src->name);
  out->size = src->size;
  snprintf(out->id, sizeof out->id, "%s", src->identity);
  return BEAM_OK;
}

beam_status beam_file_identity_of(const char *path, beam_file_identity *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  return strncmp(path, "gs://", 5) == 0 ? gcs_identity(path, out, err) : local_identity(path, out, err);
}
