/* The PostgreSQL sink's connection: opening with timeouts, reconnecting with backoff,
 * running statements, and turning server errors into beam_status (private to transforms/src).
 *
 * Never hang: connect_timeout bounds a connect, TCP keepalives and tcp_user_timeout bound
 * a dead peer, statement_timeout bounds a statement (a COPY, or a wait on another worker's
 * commit of the same bundle), idle_in_transaction_session_timeout lets the server end the
 * transaction of a worker that vanished. Each is only a default: the same key in the
 * user's CONNINFO wins. */
#ifndef BEAM_TRANSFORMS_SINK_PG_CONN_H
#define BEAM_TRANSFORMS_SINK_PG_CONN_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "beam/status.h"

/* Connects; on failure *out is NULL and err carries libpq's message. no_sync adds
 * synchronous_commit=off to the session options (kept across reconnects). */
beam_status beam_sink_pg_connect(const char *conninfo, bool no_sync, PGconn **out, beam_error *err);

/* Re-establishes a lost connection, retrying with exponential backoff and jitter for up to
 * about 20 seconds (a server restart); err names the last failure. */
beam_status beam_sink_pg_reconnect(PGconn *conn, const char *who, beam_error *err);

/* True when the connection is gone (the socket closed, the server shutting down, ...):
 * the work in flight is lost, and a new connection can succeed. */
bool beam_sink_pg_connection_lost(PGconn *conn, const PGresult *res);

/* True for errors caused by a row's values (SQLSTATE classes 22 data exception and 23
 * integrity constraint violation): the row is rejected, the rest can commit. */
bool beam_sink_pg_row_level(const PGresult *res);

/* True when SQLSTATE is the given 5-character code. */
bool beam_sink_pg_sqlstate_is(const PGresult *res, const char *code);

/* "message (detail)" from a failed result, else the connection's last message, with the
 * trailing newline removed, into buf. */
const char *beam_sink_pg_message(PGconn *conn, const PGresult *res, char *buf, size_t cap);

/* BEAM_ERR_IO for connection and server trouble, BEAM_ERR_INVALID_ARG for errors a retry
 * cannot fix (bad SQL, missing privileges, wrong types). */
beam_status beam_sink_pg_status(PGconn *conn, const PGresult *res);

/* Runs sql (no parameters); true when the result has the expected status. On failure the
 * result is kept in *failed (caller clears) when failed != NULL, else cleared. */
bool beam_sink_pg_exec(PGconn *conn, const char *sql, ExecStatusType want, PGresult **failed);

#endif
