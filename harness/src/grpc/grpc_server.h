/* A small unary gRPC server over the gRPC C core, for the one place the SDK is the server:
 * BeamFnExternalWorkerPool (EXTERNAL environments).
 *
 * Methods are fixed when the server starts. One thread serves every call: it reads the
 * request, runs the method's handler, and sends the response, one call at a time, so a
 * handler must not block for long (starting or signalling a process is fine). Calls to a
 * method that was not registered get UNIMPLEMENTED. */
#ifndef BEAM_GRPC_SERVER_H
#define BEAM_GRPC_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>

#include "beam/buf.h"
#include "beam/status.h"

typedef struct beam_grpc_server beam_grpc_server;

/* Handles one request (the serialized request message, len bytes). On success fills resp
 * (empty on entry) with the serialized response and returns GRPC_STATUS_OK; otherwise
 * returns another gRPC status and may describe it in err->message (sent as the details). */
typedef grpc_status_code (*beam_grpc_handler)(void *user, const uint8_t *req, size_t len, beam_buf *resp,
                                              beam_error *err);

typedef struct beam_grpc_method {
  const char *name; /* "/package.Service/Method" (copied) */
  beam_grpc_handler handler;
  void *user;
} beam_grpc_method;

/* Binds address ("127.0.0.1:0" picks a free port, "[::]:50000" listens everywhere), registers
 * the n methods, and starts serving on a thread of its own. */
beam_status beam_grpc_server_start(const char *address, const beam_grpc_method *methods, size_t n,
                                   beam_grpc_server **out, beam_error *err);

/* The port the server is bound to. */
int beam_grpc_server_port(const beam_grpc_server *s);

/* Stops admitting calls, cancels the calls in flight, waits for the serve thread to finish
 * (a handler that is running completes first) and frees everything. NULL is a no-op. Must
 * not be called from a handler. */
void beam_grpc_server_stop_and_free(beam_grpc_server *s);

#endif
