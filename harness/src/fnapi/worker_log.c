/* The worker's log (see worker_log.h). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fn_names.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "time_after.h"
#include "worker_log.h"
#include "worker_stream.h"

/* Past this many queued entries new ones are dropped (and counted): a runner that stopped
 * reading logs must not grow the worker without bound. */
enum { MAX_QUEUED = 10000, BATCH = 500, FLUSH_MS = 200 };

typedef struct entry {
  beam_log_level level;
  struct timespec when;
  char *message, *instruction_id, *transform_id;
  struct entry *next;
} entry;

struct beam_worker_log {
  beam_worker_stream stream; /* its thread is the sender */
  bool sender_started, closing; /* no sender: stderr only */
  pthread_mutex_t lock;
  pthread_cond_t wake;
  entry *head, *tail;
  size_t queued, dropped;
};

static _Thread_local const char *thread_instruction;

void beam_worker_log_set_instruction(const char *instruction_id) { thread_instruction = instruction_id; }

static void entry_free(entry *e) {
  free(e->message);
  free(e->instruction_id);
  free(e->transform_id);
  free(e);
}

static const char *level_name(beam_log_level level) {
  return level >= BEAM_LOG_ERROR ? "error" : level >= BEAM_LOG_WARN ? "warn" : level >= BEAM_LOG_INFO ? "info" : "debug";
}

/* Sends up to BATCH entries taken from the queue; false when the stream failed. */
static bool send_batch(beam_worker_log *l, entry *batch, size_t n) {
  FN(LogEntry) *entries = calloc(n ? n : 1, sizeof *entries);
  FN(LogEntry) **ptrs = calloc(n ? n : 1, sizeof *ptrs);
  Google__Protobuf__Timestamp *stamps = calloc(n ? n : 1, sizeof *stamps);
  bool ok = entries && ptrs && stamps;
  size_t i = 0;
  for (entry *e = batch; ok && e && i < n; e = e->next, i++) {
    entries[i] = (FN(LogEntry))FN_INIT(LOG_ENTRY);
    stamps[i] = (Google__Protobuf__Timestamp)GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    stamps[i].seconds = e->when.tv_sec;
    stamps[i].nanos = (int32_t)e->when.tv_nsec;
    entries[i].severity = (FN(LogEntry__Severity__Enum))e->level;
    entries[i].timestamp = &stamps[i];
    entries[i].message = e->message;
    if (e->instruction_id) entries[i].instruction_id = e->instruction_id;
    if (e->transform_id) entries[i].transform_id = e->transform_id;
    ptrs[i] = &entries[i];
  }
  if (ok) {
    FN(LogEntry__List) list = FN_INIT(LOG_ENTRY__LIST);
    list.n_log_entries = i;
    list.log_entries = ptrs;
    size_t size = protobuf_c_message_get_packed_size(&list.base);
    uint8_t *bytes = malloc(size ? size : 1);
    beam_error err = {0};
    if (bytes) protobuf_c_message_pack(&list.base, bytes);
    ok = bytes && beam_grpc_stream_send(l->stream.call, bytes, size, &err) == BEAM_OK;
    free(bytes);
  }
  free(entries);
  free(ptrs);
  free(stamps);
  return ok;
}

static void *sender_loop(void *arg) {
  beam_worker_log *l = arg;
  bool stream_ok = true;
  pthread_mutex_lock(&l->lock);
  for (;;) {
    if (!l->head && !l->closing) {
      struct timespec deadline = beam_time_after_ms(CLOCK_REALTIME, FLUSH_MS);
      pthread_cond_timedwait(&l->wake, &l->lock, &deadline);
    }
    if (!l->head && l->closing) break;
    entry *batch = l->head;
    size_t n = 0;
    entry *last = NULL;
    for (entry *e = batch; e && n < BATCH; e = e->next) last = e, n++;
    if (!batch) continue;
    l->head = last->next;
    if (!l->head) l->tail = NULL;
    last->next = NULL;
    l->queued -= n;
    pthread_mutex_unlock(&l->lock);
    if (stream_ok) stream_ok = send_batch(l, batch, n);
    for (entry *e = batch, *next; e; e = next) next = e->next, entry_free(e);
    pthread_mutex_lock(&l->lock);
  }
  pthread_mutex_unlock(&l->lock);
  return NULL;
}

beam_status beam_worker_log_open(const char *endpoint, const char *worker_id, beam_worker_log **out,
                                 beam_error *err) {
  beam_worker_log *l = calloc(1, sizeof *l);
  if (!l) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&l->lock, NULL);
  pthread_cond_init(&l->wake, NULL);
  *out = l;
  if (!endpoint || !endpoint[0]) return BEAM_OK;
  if (beam_worker_stream_open(&l->stream, endpoint, worker_id, FN_LOGGING_METHOD, err) != BEAM_OK) {
    /* Logs still reach stderr; a logging service we cannot reach does not stop the work. */
    fprintf(stderr, "beam-c worker: logging service %s unavailable (%s); logging to stderr\n", endpoint,
            err ? err->message : "");
    beam_error_clear(err);
    return BEAM_OK;
  }
  /* Without a sender, entries go to stderr only (as with no logging service); the stream
   * stays open and is half-closed at the end. */
  beam_error no_sender = {0};
  l->sender_started =
      beam_worker_stream_start_thread(&l->stream, sender_loop, l, "log sender", &no_sender) == BEAM_OK;
  return BEAM_OK;
}

void beam_worker_log_close(beam_worker_log *l) {
  if (!l) return;
  pthread_mutex_lock(&l->lock);
  l->closing = true;
  pthread_cond_signal(&l->wake);
  pthread_mutex_unlock(&l->lock);
  /* The sender flushes what is queued before it ends; only then is the stream half-closed. */
  beam_worker_stream_join(&l->stream);
  beam_worker_stream_half_close(&l->stream);
  beam_worker_stream_close(&l->stream);
  for (entry *e = l->head, *next; e; e = next) next = e->next, entry_free(e);
  if (l->dropped) fprintf(stderr, "beam-c worker: %zu log entries dropped (logging service too slow)\n", l->dropped);
  pthread_cond_destroy(&l->wake);
  pthread_mutex_destroy(&l->lock);
  free(l);
}

__attribute__((format(printf, 5, 0))) static void vwrite(beam_worker_log *l, beam_log_level level,
                                                        const char *instruction_id, const char *transform_id,
                                                        const char *fmt, va_list ap) {
  char message[4096];
  vsnprintf(message, sizeof message, fmt, ap);
  if (level >= BEAM_LOG_WARN || !l || !l->sender_started)
    if (level >= BEAM_LOG_WARN || getenv("BEAM_C_WORKER_VERBOSE"))
      fprintf(stderr, "beam-c worker %s%s%s: %s\n", level_name(level), instruction_id ? " " : "",
              instruction_id ? instruction_id : "", message);
  if (!l || !l->sender_started) return;
  entry *e = calloc(1, sizeof *e);
  if (!e) return;
  clock_gettime(CLOCK_REALTIME, &e->when);
  e->level = level;
  e->message = strdup(message);
  e->instruction_id = instruction_id ? strdup(instruction_id) : NULL;
  e->transform_id = transform_id ? strdup(transform_id) : NULL;
  pthread_mutex_lock(&l->lock);
  if (l->queued >= MAX_QUEUED || !e->message) {
    l->dropped++;
    pthread_mutex_unlock(&l->lock);
    entry_free(e);
    return;
  }
  if (l->tail) l->tail->next = e;
  else l->head = e;
  l->tail = e;
  if (++l->queued >= BATCH) pthread_cond_signal(&l->wake);
  pthread_mutex_unlock(&l->lock);
}

void beam_worker_log_write(beam_worker_log *l, beam_log_level level, const char *instruction_id,
                           const char *transform_id, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vwrite(l, level, instruction_id, transform_id, fmt, ap);
  va_end(ap);
}

void beam_worker_log_sink(void *self, beam_log_level level, const char *message) {
  beam_worker_log_write(self, level, thread_instruction, NULL, "%s", message);
}
