/* A unary gRPC server over the C core (see grpc_server.h).
 *
 * One completion queue, one thread. Every call is a small state machine driven by the
 * events of that queue: REQUESTED (a call arrived) -> READING (its request message is in)
 * -> FINISHING (response and status sent, client close seen) -> freed. The serve thread
 * counts the operations it has in flight; it shuts the queue down only once the server's
 * shutdown tag has come back and nothing is in flight, so no operation is ever started on
 * a queue that is shutting down, and no call or request is leaked. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>

#include "grpc_server.h"

typedef struct method_entry {
  char *name;
  beam_grpc_handler handler;
  void *user;
} method_entry;

typedef enum { CALL_REQUESTED, CALL_READING, CALL_FINISHING } call_state;

typedef struct server_call {
  call_state state;
  grpc_call *call;
  grpc_call_details details;
  grpc_metadata_array metadata;
  grpc_byte_buffer *request;
  grpc_byte_buffer *response;
  grpc_slice status_details;
  int cancelled;
} server_call;

struct beam_grpc_server {
  grpc_server *server;
  grpc_completion_queue *cq;
  pthread_t thread;
  bool thread_started;
  method_entry *methods;
  size_t n_methods;
  int port;
  char shutdown_tag;  /* its address is the tag of grpc_server_shutdown_and_notify */
  size_t outstanding; /* operations in flight; the serve thread's alone */
  atomic_bool stopping;
};

static gpr_timespec forever(void) { return gpr_inf_future(GPR_CLOCK_REALTIME); }

static void call_free(server_call *c) {
  if (c->call) grpc_call_unref(c->call);
  grpc_call_details_destroy(&c->details);
  grpc_metadata_array_destroy(&c->metadata);
  if (c->request) grpc_byte_buffer_destroy(c->request);
  if (c->response) grpc_byte_buffer_destroy(c->response);
  grpc_slice_unref(c->status_details);
  free(c);
}

/* Asks the server for the next incoming call. */
static void request_next(beam_grpc_server *s) {
  server_call *c = calloc(1, sizeof *c);
  if (!c) return; /* out of memory: no more calls are served; shutdown still completes */
  c->state = CALL_REQUESTED;
  grpc_call_details_init(&c->details);
  grpc_metadata_array_init(&c->metadata);
  c->status_details = grpc_empty_slice();
  if (grpc_server_request_call(s->server, &c->call, &c->details, &c->metadata, s->cq, s->cq, c) != GRPC_CALL_OK) {
    call_free(c);
    return;
  }
  s->outstanding++;
}

static bool start_batch(beam_grpc_server *s, server_call *c, const grpc_op *ops, size_t n) {
  if (grpc_call_start_batch(c->call, ops, n, c, NULL) != GRPC_CALL_OK) return false;
  s->outstanding++;
  return true;
}

static const method_entry *find_method(const beam_grpc_server *s, grpc_slice name) {
  size_t len = GRPC_SLICE_LENGTH(name);
  const char *p = (const char *)GRPC_SLICE_START_PTR(name);
  for (size_t i = 0; i < s->n_methods; i++)
    if (strlen(s->methods[i].name) == len && memcmp(s->methods[i].name, p, len) == 0) return &s->methods[i];
  return NULL;
}

/* Sends the response (when code is OK) and the status, and waits for the client's close. */
static void finish(beam_grpc_server *s, server_call *c, grpc_status_code code, const char *details,
                   const beam_buf *resp) {
  c->state = CALL_FINISHING;
  if (code == GRPC_STATUS_OK) {
    grpc_slice slice = grpc_slice_from_copied_buffer(resp->len ? (const char *)resp->data : "", resp->len);
    c->response = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
  }
  grpc_slice_unref(c->status_details);
  c->status_details = grpc_slice_from_copied_string(details ? details : "");
  grpc_op ops[4];
  memset(ops, 0, sizeof ops);
  size_t n = 0;
  ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
  if (c->response) {
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = c->response;
  }
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.status = code;
  ops[n++].data.send_status_from_server.status_details = details && *details ? &c->status_details : NULL;
  ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;
  if (!start_batch(s, c, ops, n)) call_free(c);
}

/* Runs the handler on the request that arrived and answers. */
static void handle(beam_grpc_server *s, server_call *c) {
  const method_entry *m = find_method(s, c->details.method);
  if (!c->request) {
    finish(s, c, GRPC_STATUS_INVALID_ARGUMENT, "a unary call needs one request message", NULL);
    return;
  }
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, c->request)) {
    finish(s, c, GRPC_STATUS_INTERNAL, "cannot read the request message", NULL);
    return;
  }
  grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  beam_buf resp = BEAM_BUF_INIT;
  beam_error err = {0};
  grpc_status_code code = m->handler(m->user, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all), &resp, &err);
  grpc_slice_unref(all);
  finish(s, c, code, code == GRPC_STATUS_OK ? NULL : err.message, &resp);
  beam_buf_free(&resp);
}

/* One event for call c: moves it to its next state. */
static void advance(beam_grpc_server *s, server_call *c, bool ok) {
  switch (c->state) {
    case CALL_REQUESTED: {
      if (!ok) { /* the server is shutting down: the request was dropped */
        call_free(c);
        return;
      }
      if (!atomic_load(&s->stopping)) request_next(s);
      if (!find_method(s, c->details.method)) {
        char *name = grpc_slice_to_c_string(c->details.method);
        char details[320];
        snprintf(details, sizeof details, "unknown method %s", name ? name : "?");
        gpr_free(name);
        finish(s, c, GRPC_STATUS_UNIMPLEMENTED, details, NULL);
        return;
      }
      c->state = CALL_READING;
      grpc_op op;
      memset(&op, 0, sizeof op);
      op.op = GRPC_OP_RECV_MESSAGE;
      op.data.recv_message.recv_message = &c->request;
      if (!start_batch(s, c, &op, 1)) call_free(c);
      return;
    }
    case CALL_READING:
      if (!ok) { /* the client went away or the call was cancelled */
        call_free(c);
        return;
      }
      handle(s, c);
      return;
    case CALL_FINISHING:
      call_free(c);
      return;
  }
}

static void *serve(void *arg) {
  beam_grpc_server *s = arg;
  bool shut_down = false;
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(s->cq, forever(), NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
    if (ev.type != GRPC_OP_COMPLETE) continue;
    if (ev.tag == &s->shutdown_tag) {
      shut_down = true;
    } else {
      s->outstanding--;
      advance(s, ev.tag, ev.success != 0);
    }
    if (shut_down && s->outstanding == 0) grpc_completion_queue_shutdown(s->cq);
  }
  return NULL;
}

static void begin_shutdown(beam_grpc_server *s) {
  atomic_store(&s->stopping, true);
  grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
  grpc_server_cancel_all_calls(s->server);
}

static void free_parts(beam_grpc_server *s) {
  if (s->server) grpc_server_destroy(s->server);
  if (s->cq) grpc_completion_queue_destroy(s->cq);
  for (size_t i = 0; i < s->n_methods; i++) free(s->methods[i].name);
  free(s->methods);
  free(s);
  grpc_shutdown();
}

beam_status beam_grpc_server_start(const char *address, const beam_grpc_method *methods, size_t n,
                                   beam_grpc_server **out, beam_error *err) {
  *out = NULL;
  grpc_init();
  beam_grpc_server *s = calloc(1, sizeof *s);
  if (!s) {
    grpc_shutdown();
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  s->methods = calloc(n ? n : 1, sizeof *s->methods);
  if (!s->methods) {
    free_parts(s);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    if (!methods[i].name || methods[i].name[0] != '/' || !methods[i].handler) {
      free_parts(s);
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "gRPC method %zu: needs a /Service/Method name and a handler",
                            i);
    }
    s->methods[i].name = strdup(methods[i].name);
    s->methods[i].handler = methods[i].handler;
    s->methods[i].user = methods[i].user;
    s->n_methods = i + 1;
    if (!s->methods[i].name) {
      free_parts(s);
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    }
  }
  /* No SO_REUSEPORT (gRPC's default on Linux): a second server on a busy port must fail, not
   * share the port's connections with the first. */
  grpc_arg args[3] = {
      {.type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = -1},
      {.type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, .value.integer = -1},
      {.type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_ALLOW_REUSEPORT, .value.integer = 0},
  };
  grpc_channel_args sargs = {3, args};
  s->cq = grpc_completion_queue_create_for_next(NULL);
  s->server = grpc_server_create(&sargs, NULL);
  grpc_server_register_completion_queue(s->server, s->cq, NULL);
  grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
  s->port = grpc_server_add_http2_port(s->server, address, creds);
  grpc_server_credentials_release(creds);
  if (s->port <= 0) {
    /* Never started and no listener: destroying needs no shutdown. */
    free_parts(s);
    return beam_error_set(err, BEAM_ERR_IO, "gRPC server: cannot listen on %s", address);
  }
  grpc_server_start(s->server);
  request_next(s);
  if (pthread_create(&s->thread, NULL, serve, s) != 0) {
    begin_shutdown(s);
    serve(s); /* here, to drain the queue */
    free_parts(s);
    return beam_error_set(err, BEAM_ERR_INTERNAL, "gRPC server: cannot start the serve thread");
  }
  s->thread_started = true;
  *out = s;
  return BEAM_OK;
}

int beam_grpc_server_port(const beam_grpc_server *s) { return s->port; }

void beam_grpc_server_stop_and_free(beam_grpc_server *s) {
  if (!s) return;
  begin_shutdown(s);
  if (s->thread_started) pthread_join(s->thread, NULL);
  free_parts(s);
}
