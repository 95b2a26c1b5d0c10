/* Blocking gRPC client calls over the C core (see grpc_client.h).
 *
 * Every call gets its own completion queue used with pluck, so the send and receive sides of
 * a stream can wait at the same time on their own tags. Messages are copied into and out of
 * gRPC byte buffers: the Fn API's messages are large and few, so the copy is not the cost. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>

#include "beam/grpc_client.h"

struct beam_grpc_channel {
  grpc_channel *channel;
  char *target;
  char *worker_id;
};

struct beam_grpc_stream {
  beam_grpc_channel *ch;
  grpc_call *call;
  grpc_completion_queue *cq;
  pthread_mutex_t send_lock;
  pthread_mutex_t status_lock; /* one thread plucks TAG_STATUS; the others wait for it here */
  bool got_initial_metadata;
  bool send_closed;
  atomic_bool cancelled;
  /* RECV_STATUS_ON_CLIENT, started at open, completes when the call ends. */
  grpc_metadata_array trailing;
  grpc_metadata_array initial;
  grpc_status_code status;
  grpc_slice details;
  bool status_started; /* the RECV_STATUS batch is in flight, so TAG_STATUS will come */
  bool status_done;
  char method[256];
};

enum { TAG_START = 1, TAG_SEND, TAG_RECV, TAG_STATUS, TAG_UNARY, TAG_CLOSE };

static pthread_once_t grpc_once = PTHREAD_ONCE_INIT;
static void grpc_start(void) { grpc_init(); }

static void *tag_of(int t) { return (void *)(intptr_t)t; }

/* Waits for tag on cq; false when the operation failed or the deadline passed. */
static bool wait_tag(grpc_completion_queue *cq, int tag, gpr_timespec deadline) {
  grpc_event ev = grpc_completion_queue_pluck(cq, tag_of(tag), deadline, NULL);
  return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static gpr_timespec forever(void) { return gpr_inf_future(GPR_CLOCK_REALTIME); }

static gpr_timespec after_ms(int ms) {
  return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static beam_status channel_open(const char *target, const char *worker_id, const beam_grpc_channel_options *o,
                                beam_grpc_channel **out, beam_error *err) {
  bool tls = o->tls;
  pthread_once(&grpc_once, grpc_start);
  beam_grpc_channel *ch = calloc(1, sizeof *ch);
  if (!ch) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  ch->target = strdup(target);
  ch->worker_id = worker_id ? strdup(worker_id) : NULL;
  /* Elements and descriptors can exceed gRPC's 4 MB default: Beam peers send up to their
   * own flush size, so accept any size. */
  grpc_arg args[4] = {
      {.type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = -1},
      {.type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, .value.integer = -1},
      {.type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_KEEPALIVE_TIME_MS, .value.integer = o->keepalive_time_ms},
      {.type = GRPC_ARG_INTEGER,
       .key = (char *)GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
       .value.integer = o->keepalive_timeout_ms > 0 ? o->keepalive_timeout_ms : 20000},
  };
  grpc_channel_args cargs = {o->keepalive_time_ms > 0 ? 4 : 2, args};
  grpc_channel_credentials *creds = tls ? grpc_ssl_credentials_create(NULL, NULL, NULL, NULL)
                                        : grpc_insecure_credentials_create();
  ch->channel = creds ? grpc_channel_create(target, creds, &cargs) : NULL;
  if (creds) grpc_channel_credentials_release(creds);
  if (!ch->target || (worker_id && !ch->worker_id) || !ch->channel) {
    beam_grpc_channel_close(ch);
    return beam_error_set(err, BEAM_ERR_IO, "cannot create a gRPC %schannel to %s", tls ? "TLS " : "", target);
  }
  *out = ch;
  return BEAM_OK;
}

beam_status beam_grpc_channel_open(const char *target, const char *worker_id, beam_grpc_channel **out,
                                   beam_error *err) {
  beam_grpc_channel_options o = {0};
  return channel_open(target, worker_id, &o, out, err);
}

beam_status beam_grpc_channel_open_tls(const char *target, beam_grpc_channel **out, beam_error *err) {
  beam_grpc_channel_options o = {.tls = true};
  return channel_open(target, NULL, &o, out, err);
}

beam_status beam_grpc_channel_open_with(const char *target, const beam_grpc_channel_options *opts,
                                        beam_grpc_channel **out, beam_error *err) {
  beam_grpc_channel_options none = {0};
  return channel_open(target, NULL, opts ? opts : &none, out, err);
}

void beam_grpc_channel_close(beam_grpc_channel *ch) {
  if (!ch) return;
  if (ch->channel) grpc_channel_destroy(ch->channel);
  free(ch->target);
  free(ch->worker_id);
  free(ch);
}

const char *beam_grpc_channel_target(const beam_grpc_channel *ch) { return ch->target; }

static grpc_call *new_call(beam_grpc_channel *ch, grpc_completion_queue *cq, const char *method,
                           gpr_timespec deadline) {
  grpc_slice m = grpc_slice_from_copied_string(method);
  grpc_call *call = grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL, deadline, NULL);
  grpc_slice_unref(m);
  return call;
}

/* The worker_id metadata every Beam runner checks. */
static void fill_metadata(beam_grpc_channel *ch, grpc_metadata *md, size_t *n) {
  *n = 0;
  if (!ch->worker_id) return;
  memset(md, 0, sizeof *md);
  md->key = grpc_slice_from_static_string("worker_id");
  md->value = grpc_slice_from_copied_string(ch->worker_id);
  *n = 1;
}

/* worker_id (if any) then the call's extras; md has room for 1 + BEAM_GRPC_MAX_CALL_METADATA. */
static void fill_call_metadata(beam_grpc_channel *ch, const beam_grpc_metadata *extra, size_t n_extra,
                               grpc_metadata *md, size_t *n) {
  fill_metadata(ch, md, n);
  for (size_t i = 0; i < n_extra; i++) {
    memset(&md[*n], 0, sizeof md[*n]);
    md[*n].key = grpc_slice_from_copied_string(extra[i].key);
    md[*n].value = grpc_slice_from_copied_string(extra[i].value);
    (*n)++;
  }
}

static void free_metadata(grpc_metadata *md, size_t n) {
  for (size_t i = 0; i < n; i++) {
    grpc_slice_unref(md[i].key);
    grpc_slice_unref(md[i].value);
  }
}

static grpc_byte_buffer *to_buffer(const void *data, size_t len) {
  grpc_slice slice = grpc_slice_from_copied_buffer((const char *)data, len);
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  return bb;
}

static beam_status from_buffer(grpc_byte_buffer *bb, beam_buf *out, beam_error *err) {
  beam_buf_reset(out);
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, bb))
    return beam_error_set(err, BEAM_ERR_IO, "cannot read a gRPC message");
  grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  beam_status s = beam_buf_append(out, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all));
  grpc_slice_unref(all);
  return s == BEAM_OK ? BEAM_OK : beam_error_set(err, s, "out of memory");
}

static beam_status status_error(beam_error *err, const char *method, const char *target, grpc_status_code code,
                                grpc_slice details) {
  char *text = grpc_slice_to_c_string(details);
  beam_status s = beam_error_set(err, BEAM_ERR_IO, "%s on %s: gRPC status %d: %s", method, target, (int)code,
                                 text && *text ? text : "(no details)");
  gpr_free(text);
  return s;
}

beam_status beam_grpc_unary(beam_grpc_channel *ch, const char *method, const void *req, size_t len,
                            int timeout_ms, beam_buf *resp, beam_error *err) {
  return beam_grpc_unary_ex(ch, method, req, len, NULL, 0, timeout_ms, resp, NULL, err);
}

beam_status beam_grpc_unary_ex(beam_grpc_channel *ch, const char *method, const void *req, size_t len,
                               const beam_grpc_metadata *extra, size_t n_extra, int timeout_ms, beam_buf *resp,
                               int *code_out, beam_error *err) {
  if (code_out) *code_out = -1;
  if (n_extra > BEAM_GRPC_MAX_CALL_METADATA)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: %zu metadata entries, at most %d", method, n_extra,
                          (int)BEAM_GRPC_MAX_CALL_METADATA);
  gpr_timespec deadline = timeout_ms > 0 ? after_ms(timeout_ms) : forever();
  grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
  grpc_call *call = new_call(ch, cq, method, deadline);
  grpc_metadata md[1 + BEAM_GRPC_MAX_CALL_METADATA];
  size_t n_md;
  fill_call_metadata(ch, extra, n_extra, md, &n_md);
  grpc_byte_buffer *send = to_buffer(req, len), *recv = NULL;
  grpc_metadata_array initial, trailing;
  grpc_metadata_array_init(&initial);
  grpc_metadata_array_init(&trailing);
  grpc_status_code code = GRPC_STATUS_UNKNOWN;
  grpc_slice details = grpc_empty_slice();
  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].data.send_initial_metadata.count = n_md;
  ops[0].data.send_initial_metadata.metadata = n_md ? md : NULL;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &recv;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.status = &code;
  ops[5].data.recv_status_on_client.status_details = &details;
  ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
  beam_status s = BEAM_OK;
  bool completed = grpc_call_start_batch(call, ops, 6, tag_of(TAG_UNARY), NULL) == GRPC_CALL_OK &&
                   wait_tag(cq, TAG_UNARY, forever());
  if (completed && code_out) *code_out = (int)code;
  if (!completed)
    s = beam_error_set(err, BEAM_ERR_IO, "%s on %s: the call did not complete", method, ch->target);
  else if (code != GRPC_STATUS_OK)
    s = status_error(err, method, ch->target, code, details);
  else if (!recv)
    s = beam_error_set(err, BEAM_ERR_IO, "%s on %s: no response message", method, ch->target);
  else
    s = from_buffer(recv, resp, err);
  free_metadata(md, n_md);
  grpc_byte_buffer_destroy(send);
  if (recv) grpc_byte_buffer_destroy(recv);
  grpc_metadata_array_destroy(&initial);
  grpc_metadata_array_destroy(&trailing);
  grpc_slice_unref(details);
  grpc_call_unref(call);
  grpc_completion_queue_shutdown(cq);
  while (grpc_completion_queue_pluck(cq, NULL, forever(), NULL).type != GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(cq);
  return s;
}

beam_status beam_grpc_stream_open(beam_grpc_channel *ch, const char *method, beam_grpc_stream **out,
                                  beam_error *err) {
  return beam_grpc_stream_open_timeout(ch, method, 0, out, err);
}

beam_status beam_grpc_stream_open_timeout(beam_grpc_channel *ch, const char *method, int timeout_ms,
                                          beam_grpc_stream **out, beam_error *err) {
  return beam_grpc_stream_open_ex(ch, method, NULL, 0, timeout_ms, out, err);
}

beam_status beam_grpc_stream_open_ex(beam_grpc_channel *ch, const char *method, const beam_grpc_metadata *extra,
                                     size_t n_extra, int timeout_ms, beam_grpc_stream **out, beam_error *err) {
  if (n_extra > BEAM_GRPC_MAX_CALL_METADATA)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: %zu metadata entries, at most %d", method, n_extra,
                          (int)BEAM_GRPC_MAX_CALL_METADATA);
  beam_grpc_stream *s = calloc(1, sizeof *s);
  if (!s) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  s->ch = ch;
  snprintf(s->method, sizeof s->method, "%s", method);
  pthread_mutex_init(&s->send_lock, NULL);
  pthread_mutex_init(&s->status_lock, NULL);
  grpc_metadata_array_init(&s->initial);
  grpc_metadata_array_init(&s->trailing);
  s->details = grpc_empty_slice();
  s->cq = grpc_completion_queue_create_for_pluck(NULL);
  s->call = new_call(ch, s->cq, method, timeout_ms > 0 ? after_ms(timeout_ms) : forever());
  grpc_metadata md[1 + BEAM_GRPC_MAX_CALL_METADATA];
  size_t n_md;
  fill_call_metadata(ch, extra, n_extra, md, &n_md);
  grpc_op start = {0};
  start.op = GRPC_OP_SEND_INITIAL_METADATA;
  start.data.send_initial_metadata.count = n_md;
  start.data.send_initial_metadata.metadata = n_md ? md : NULL;
  grpc_op status = {0};
  status.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  status.data.recv_status_on_client.status = &s->status;
  status.data.recv_status_on_client.status_details = &s->details;
  status.data.recv_status_on_client.trailing_metadata = &s->trailing;
  bool ok = grpc_call_start_batch(s->call, &start, 1, tag_of(TAG_START), NULL) == GRPC_CALL_OK &&
            wait_tag(s->cq, TAG_START, forever()) &&
            grpc_call_start_batch(s->call, &status, 1, tag_of(TAG_STATUS), NULL) == GRPC_CALL_OK;
  s->status_started = ok;
  free_metadata(md, n_md);
  if (!ok) {
    beam_grpc_stream_free(s);
    return beam_error_set(err, BEAM_ERR_IO, "%s on %s: cannot start the stream", method, ch->target);
  }
  *out = s;
  return BEAM_OK;
}

/* The call's final status, once it ended (waits for it). */
static void wait_status(beam_grpc_stream *s) {
  pthread_mutex_lock(&s->status_lock);
  if (!s->status_done && s->status_started) {
    wait_tag(s->cq, TAG_STATUS, forever());
    s->status_done = true;
  }
  pthread_mutex_unlock(&s->status_lock);
}

static beam_status stream_status(beam_grpc_stream *s, beam_error *err) {
  wait_status(s);
  if (s->status == GRPC_STATUS_OK) return BEAM_OK;
  if (atomic_load(&s->cancelled))
    return beam_error_set(err, BEAM_ERR_CANCELLED, "%s on %s: cancelled", s->method, s->ch->target);
  return status_error(err, s->method, s->ch->target, s->status, s->details);
}

int beam_grpc_stream_status_code(beam_grpc_stream *s) {
  pthread_mutex_lock(&s->status_lock);
  int code = s->status_done ? (int)s->status : -1;
  pthread_mutex_unlock(&s->status_lock);
  return code;
}

beam_status beam_grpc_stream_send(beam_grpc_stream *s, const void *msg, size_t len, beam_error *err) {
  grpc_byte_buffer *bb = to_buffer(msg, len);
  grpc_op op = {0};
  op.op = GRPC_OP_SEND_MESSAGE;
  op.data.send_message.send_message = bb;
  pthread_mutex_lock(&s->send_lock);
  bool ok = !s->send_closed && grpc_call_start_batch(s->call, &op, 1, tag_of(TAG_SEND), NULL) == GRPC_CALL_OK &&
            wait_tag(s->cq, TAG_SEND, forever());
  pthread_mutex_unlock(&s->send_lock);
  grpc_byte_buffer_destroy(bb);
  if (ok) return BEAM_OK;
  beam_status st = stream_status(s, err);
  return st != BEAM_OK ? st
                       : beam_error_set(err, BEAM_ERR_IO, "%s on %s: the stream ended", s->method, s->ch->target);
}

beam_status beam_grpc_stream_recv(beam_grpc_stream *s, beam_buf *msg, bool *eof, beam_error *err) {
  grpc_byte_buffer *bb = NULL;
  grpc_op ops[2];
  memset(ops, 0, sizeof ops);
  size_t n = 0;
  if (!s->got_initial_metadata) {
    ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[n++].data.recv_initial_metadata.recv_initial_metadata = &s->initial;
    s->got_initial_metadata = true;
  }
  ops[n].op = GRPC_OP_RECV_MESSAGE;
  ops[n++].data.recv_message.recv_message = &bb;
  *eof = false;
  bool ok = grpc_call_start_batch(s->call, ops, n, tag_of(TAG_RECV), NULL) == GRPC_CALL_OK &&
            wait_tag(s->cq, TAG_RECV, forever());
  if (ok && bb) {
    beam_status st = from_buffer(bb, msg, err);
    grpc_byte_buffer_destroy(bb);
    return st;
  }
  if (bb) grpc_byte_buffer_destroy(bb);
  /* No message: the stream is over; its status says whether cleanly. */
  beam_status st = stream_status(s, err);
  if (st == BEAM_OK) *eof = true;
  return st;
}

beam_status beam_grpc_stream_close_send(beam_grpc_stream *s, beam_error *err) {
  grpc_op op = {0};
  op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  pthread_mutex_lock(&s->send_lock);
  bool ok = s->send_closed || (grpc_call_start_batch(s->call, &op, 1, tag_of(TAG_CLOSE), NULL) == GRPC_CALL_OK &&
                               wait_tag(s->cq, TAG_CLOSE, forever()));
  s->send_closed = true;
  pthread_mutex_unlock(&s->send_lock);
  return ok ? BEAM_OK : beam_error_set(err, BEAM_ERR_IO, "%s on %s: cannot half-close", s->method, s->ch->target);
}

void beam_grpc_stream_cancel(beam_grpc_stream *s) {
  if (!s || !s->call) return;
  atomic_store(&s->cancelled, true);
  grpc_call_cancel(s->call, NULL);
}

void beam_grpc_stream_free(beam_grpc_stream *s) {
  if (!s) return;
  if (s->call) {
    grpc_call_cancel(s->call, NULL); /* no-op when the call already ended */
    wait_status(s);
    grpc_call_unref(s->call);
  }
  grpc_completion_queue_shutdown(s->cq);
  while (grpc_completion_queue_pluck(s->cq, NULL, forever(), NULL).type != GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(s->cq);
  grpc_metadata_array_destroy(&s->initial);
  grpc_metadata_array_destroy(&s->trailing);
  grpc_slice_unref(s->details);
  pthread_mutex_destroy(&s->send_lock);
  pthread_mutex_destroy(&s->status_lock);
  free(s);
}
