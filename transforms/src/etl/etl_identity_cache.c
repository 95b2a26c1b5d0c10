/* A process-wide cache of local files' identities (see etl_identity_cache.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "etl_identity_cache.h"

enum { CACHE_SLOTS = 64 }; /* files being split at once in one process: a handful */

typedef struct cached_identity {
  char *path;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  beam_file_identity identity;
} cached_identity;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cached_identity cache[CACHE_SLOTS];
static size_t cache_next; /* the slot replaced next (round robin) */

static bool same_file(const cached_identity *c, const char *path, const struct stat *sb) {
  return c->path && strcmp(c->path, path) == 0 && c->dev == sb->st_dev && c->ino == sb->st_ino &&
         c->size == sb->st_size && c->mtime.tv_sec == sb->st_mtim.tv_sec && c->mtime.tv_nsec == sb->st_mtim.tv_nsec;
}

beam_status beam_etl_identity_cached(const char *path, beam_file_identity *out, beam_error *err) {
  struct stat sb;
  if (strncmp(path, "gs://", 5) == 0 || stat(path, &sb) != 0) return beam_file_identity_of(path, out, err);
  /* Hashing under the lock makes the other ranges of the same file wait for one hash rather
   * than each reading the file; ranges of different files wait too, which is rare enough. */
  pthread_mutex_lock(&cache_lock);
  for (size_t i = 0; i < CACHE_SLOTS; i++)
    if (same_file(&cache[i], path, &sb)) {
      *out = cache[i].identity;
      pthread_mutex_unlock(&cache_lock);
      return BEAM_OK;
    }
  beam_status s = beam_file_identity_of(path, out, err);
  /* The hash read the file as it was when stat ran only if its size still matches. */
  if (s == BEAM_OK && out->size == sb.st_size) {
    cached_identity *c = &cache[cache_next++ % CACHE_SLOTS];
    char *copy = strdup(path);
    if (copy) {
      free(c->path);
      *c = (cached_identity){copy, sb.st_dev, sb.st_ino, sb.st_size, sb.st_mtim, *out};
    }
  }
  pthread_mutex_unlock(&cache_lock);
  return s;
}
