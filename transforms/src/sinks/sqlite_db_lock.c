/* The per-database mutexes (sqlite_db_lock.h): a list of (device, inode, mutex, holders),
 * guarded by one mutex; an entry lives while a sink holds it. */
#include "sqlite_db_lock.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

struct sq_db_lock {
  dev_t dev;
  ino_t ino;
  pthread_mutex_t mutex;
  int holders;
  sq_db_lock *next;
};

static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static sq_db_lock *locks;

sq_db_lock *beam_sqlite_db_lock_get(const char *path) {
  struct stat sb;
  if (stat(path, &sb) != 0) return NULL;
  pthread_mutex_lock(&registry);
  sq_db_lock *l = locks;
  while (l && !(l->dev == sb.st_dev && l->ino == sb.st_ino)) l = l->next;
  if (!l && (l = calloc(1, sizeof *l)) != NULL) {
    l->dev = sb.st_dev;
    l->ino = sb.st_ino;
    pthread_mutex_init(&l->mutex, NULL);
    l->next = locks;
    locks = l;
  }
  if (l) l->holders++;
  pthread_mutex_unlock(&registry);
  return l;
}

void beam_sqlite_db_lock_put(sq_db_lock *l) {
  if (!l) return;
  pthread_mutex_lock(&registry);
  if (--l->holders == 0) {
    sq_db_lock **at = &locks;
    while (*at != l) at = &(*at)->next;
    *at = l->next;
    pthread_mutex_destroy(&l->mutex);
    free(l);
  }
  pthread_mutex_unlock(&registry);
}

bool beam_sqlite_db_lock_enter(sq_db_lock *l, int timeout_ms) {
  if (!l) return true;
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  return pthread_mutex_timedlock(&l->mutex, &deadline) == 0;
}

void beam_sqlite_db_lock_leave(sq_db_lock *l) {
  if (l) pthread_mutex_unlock(&l->mutex);
}
