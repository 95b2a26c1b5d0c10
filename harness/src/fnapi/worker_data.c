/* The Fn API data channel (see worker_data.h).
 *
 * Runners may send a bundle's data before its ProcessBundle request reaches us, so an inbox
 * is created by whichever comes first. Instructions that ended are remembered (a small ring)
 * so late data for them is dropped instead of filling an inbox nobody reads.
 *
 * Backpressure: when the inboxes hold more than QUEUED_BYTES_LIMIT, the receiver stops reading
 * the stream until bundles drain them, so gRPC's flow control slows the runner down instead of
 * the worker's memory growing with a bundle slower than its input. Every queued chunk belongs
 * to a bundle the runner has asked for (or is about to), and bundles get threads on demand,
 * so waiting for space cannot deadlock. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fn_names.h"
#include "time_after.h"
#include "worker_data.h"
#include "worker_stream.h"

enum { RELEASED_RING = 256 };
#define QUEUED_BYTES_LIMIT ((size_t)64 << 20)

typedef struct chunk_node {
  beam_data_chunk chunk;
  struct chunk_node *next;
} chunk_node;

struct beam_data_inbox {
  beam_data_channel *channel;
  char *instruction_id;
  chunk_node *head, *tail;
  pthread_cond_t ready;
  beam_data_inbox *next;
};

struct beam_data_channel {
  char *endpoint;
  beam_worker_stream stream; /* its thread is the receiver */
  pthread_mutex_t lock;
  beam_data_inbox *inboxes;
  char *released[RELEASED_RING];
  size_t next_released;
  size_t queued_bytes;  /* input data waiting in inboxes */
  pthread_cond_t space; /* queued_bytes went down, or the channel broke */
  bool broken;
  char broken_reason[512];
};

void beam_data_chunk_free(beam_data_chunk *c) {
  free(c->transform_id);
  free(c->data);
  memset(c, 0, sizeof *c);
}

static bool was_released(beam_data_channel *ch, const char *id) {
  for (size_t i = 0; i < RELEASED_RING; i++)
    if (ch->released[i] && strcmp(ch->released[i], id) == 0) return true;
  return false;
}

static beam_data_inbox *find_inbox(beam_data_channel *ch, const char *id, bool create) {
  for (beam_data_inbox *in = ch->inboxes; in; in = in->next)
    if (strcmp(in->instruction_id, id) == 0) return in;
  if (!create) return NULL;
  beam_data_inbox *in = calloc(1, sizeof *in);
  if (!in || !(in->instruction_id = strdup(id))) {
    free(in);
    return NULL;
  }
  pthread_cond_init(&in->ready, NULL);
  in->channel = ch;
  in->next = ch->inboxes;
  ch->inboxes = in;
  return in;
}

/* Queues one data entry; called with the lock held. */
static bool enqueue(beam_data_channel *ch, const FN(Elements__Data) *d) {
  if (was_released(ch, d->instruction_id)) return true;
  beam_data_inbox *in = find_inbox(ch, d->instruction_id, true);
  chunk_node *node = in ? calloc(1, sizeof *node) : NULL;
  if (!node) return false;
  node->chunk.transform_id = strdup(d->transform_id);
  node->chunk.data = malloc(d->data.len ? d->data.len : 1);
  if (!node->chunk.transform_id || !node->chunk.data) {
    beam_data_chunk_free(&node->chunk);
    free(node);
    return false;
  }
  if (d->data.len) memcpy(node->chunk.data, d->data.data, d->data.len);
  node->chunk.len = d->data.len;
  node->chunk.is_last = d->is_last;
  ch->queued_bytes += d->data.len;
  if (in->tail) in->tail->next = node;
  else in->head = node;
  in->tail = node;
  pthread_cond_signal(&in->ready);
  return true;
}

static void mark_broken(beam_data_channel *ch, const char *reason) {
  pthread_mutex_lock(&ch->lock);
  if (!ch->broken) {
    ch->broken = true;
    snprintf(ch->broken_reason, sizeof ch->broken_reason, "%s", reason);
  }
  for (beam_data_inbox *in = ch->inboxes; in; in = in->next) pthread_cond_broadcast(&in->ready);
  pthread_cond_broadcast(&ch->space);
  pthread_mutex_unlock(&ch->lock);
}

/* Called with the lock held, after chunks left the inboxes. */
static void dequeued(beam_data_channel *ch, size_t bytes) {
  ch->queued_bytes -= bytes < ch->queued_bytes ? bytes : ch->queued_bytes;
  if (ch->queued_bytes <= QUEUED_BYTES_LIMIT) pthread_cond_broadcast(&ch->space);
}

static void *receive_loop(void *arg) {
  beam_data_channel *ch = arg;
  beam_buf msg = BEAM_BUF_INIT;
  beam_error err = {0};
  for (;;) {
    bool eof = false;
    if (beam_grpc_stream_recv(ch->stream.call, &msg, &eof, &err) != BEAM_OK) {
      mark_broken(ch, err.message);
      break;
    }
    if (eof) {
      mark_broken(ch, "the runner closed the data stream");
      break;
    }
    FN(Elements) *e = FN_FN(elements__unpack)(NULL, msg.len, msg.data);
    if (!e) {
      mark_broken(ch, "undecodable Elements message on the data stream");
      break;
    }
    pthread_mutex_lock(&ch->lock);
    while (ch->queued_bytes > QUEUED_BYTES_LIMIT && !ch->broken) pthread_cond_wait(&ch->space, &ch->lock);
    bool ok = true;
    for (size_t i = 0; ok && i < e->n_data; i++) ok = enqueue(ch, e->data[i]);
    pthread_mutex_unlock(&ch->lock);
    FN_FN(elements__free_unpacked)(e, NULL);
    if (!ok) {
      mark_broken(ch, "out of memory queueing input data");
      break;
    }
  }
  beam_buf_free(&msg);
  return NULL;
}

beam_status beam_data_channel_open(const char *endpoint, const char *worker_id, beam_data_channel **out,
                                   beam_error *err) {
  beam_data_channel *ch = calloc(1, sizeof *ch);
  if (!ch || !(ch->endpoint = strdup(endpoint))) {
    free(ch);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  pthread_mutex_init(&ch->lock, NULL);
  pthread_cond_init(&ch->space, NULL);
  beam_status s = beam_worker_stream_open(&ch->stream, endpoint, worker_id, FN_DATA_METHOD, err);
  if (s == BEAM_OK) s = beam_worker_stream_start_thread(&ch->stream, receive_loop, ch, "data receiver", err);
  if (s != BEAM_OK) {
    beam_data_channel_free(ch);
    return beam_error_prefix(err, "data channel %s: ", endpoint);
  }
  *out = ch;
  return BEAM_OK;
}

const char *beam_data_channel_endpoint(const beam_data_channel *ch) { return ch->endpoint; }

void beam_data_channel_cancel(beam_data_channel *ch) {
  beam_worker_stream_cancel(&ch->stream);
  mark_broken(ch, "the worker is shutting down");
}

/* Returns the bytes of the chunks it dropped. */
static size_t inbox_free(beam_data_inbox *in) {
  size_t bytes = 0;
  for (chunk_node *n = in->head, *next; n; n = next) {
    next = n->next;
    bytes += n->chunk.len;
    beam_data_chunk_free(&n->chunk);
    free(n);
  }
  pthread_cond_destroy(&in->ready);
  free(in->instruction_id);
  free(in);
  return bytes;
}

void beam_data_channel_free(beam_data_channel *ch) {
  if (!ch) return;
  beam_worker_stream_end(&ch->stream);
  mark_broken(ch, "the worker is shutting down"); /* wakes a receiver waiting for space */
  beam_worker_stream_close(&ch->stream);
  for (beam_data_inbox *in = ch->inboxes, *next; in; in = next) {
    next = in->next;
    inbox_free(in);
  }
  for (size_t i = 0; i < RELEASED_RING; i++) free(ch->released[i]);
  pthread_cond_destroy(&ch->space);
  pthread_mutex_destroy(&ch->lock);
  free(ch->endpoint);
  free(ch);
}

beam_data_inbox *beam_data_channel_inbox(beam_data_channel *ch, const char *instruction_id) {
  pthread_mutex_lock(&ch->lock);
  beam_data_inbox *in = find_inbox(ch, instruction_id, true);
  pthread_mutex_unlock(&ch->lock);
  return in;
}

beam_status beam_data_inbox_next(beam_data_inbox *in, beam_data_chunk *out, int timeout_ms, beam_error *err) {
  beam_data_channel *ch = in->channel;
  struct timespec deadline = beam_time_after_ms(CLOCK_REALTIME, timeout_ms);
  beam_status s = BEAM_OK;
  pthread_mutex_lock(&ch->lock);
  while (!in->head && !ch->broken && s == BEAM_OK) {
    if (timeout_ms <= 0) pthread_cond_wait(&in->ready, &ch->lock);
    else if (pthread_cond_timedwait(&in->ready, &ch->lock, &deadline) == ETIMEDOUT)
      s = beam_error_set(err, BEAM_ERR_IO, "no input data from the runner for %d s", timeout_ms / 1000);
  }
  if (in->head) {
    chunk_node *n = in->head;
    in->head = n->next;
    if (!in->head) in->tail = NULL;
    *out = n->chunk;
    free(n);
    dequeued(ch, out->len);
    s = BEAM_OK;
  } else if (s == BEAM_OK) {
    s = beam_error_set(err, BEAM_ERR_IO, "data channel %s: %s", ch->endpoint, ch->broken_reason);
  }
  pthread_mutex_unlock(&ch->lock);
  return s;
}

void beam_data_channel_release(beam_data_channel *ch, beam_data_inbox *in) {
  pthread_mutex_lock(&ch->lock);
  for (beam_data_inbox **p = &ch->inboxes; *p; p = &(*p)->next)
    if (*p == in) {
      *p = in->next;
      break;
    }
  free(ch->released[ch->next_released]);
  ch->released[ch->next_released] = strdup(in->instruction_id);
  ch->next_released = (ch->next_released + 1) % RELEASED_RING;
  dequeued(ch, inbox_free(in));
  pthread_mutex_unlock(&ch->lock);
}

beam_status beam_data_channel_send(beam_data_channel *ch, const char *instruction_id, const char *transform_id,
                                   const uint8_t *data, size_t len, bool is_last, beam_error *err) {
  /* Data and the end of the stream travel as two entries of one message: every runner reads
   * that, whereas data on an is_last entry is not handled alike everywhere. */
  FN(Elements__Data) entries[2] = {FN_INIT(ELEMENTS__DATA), FN_INIT(ELEMENTS__DATA)};
  FN(Elements__Data) *list[2];
  size_t n = 0;
  if (len) {
    entries[n].instruction_id = (char *)instruction_id;
    entries[n].transform_id = (char *)transform_id;
    entries[n].data.data = (uint8_t *)data;
    entries[n].data.len = len;
    list[n] = &entries[n];
    n++;
  }
  if (is_last) {
    entries[n].instruction_id = (char *)instruction_id;
    entries[n].transform_id = (char *)transform_id;
    entries[n].is_last = true;
    list[n] = &entries[n];
    n++;
  }
  if (!n) return BEAM_OK;
  FN(Elements) msg = FN_INIT(ELEMENTS);
  msg.n_data = n;
  msg.data = list;
  size_t size = FN_FN(elements__get_packed_size)(&msg);
  uint8_t *bytes = malloc(size ? size : 1);
  if (!bytes) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory sending %zu bytes", len);
  FN_FN(elements__pack)(&msg, bytes);
  beam_status s = beam_grpc_stream_send(ch->stream.call, bytes, size, err);
  free(bytes);
  if (s != BEAM_OK) return beam_error_prefix(err, "data channel %s: ", ch->endpoint);
  return BEAM_OK;
}
