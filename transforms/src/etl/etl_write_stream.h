/* What a writer (etl_dofn_write.c, config "stream") does for a stream's bundle: exactly once
 * by message id.
 *
 * ReadMessages sends the bundle's header first (etl_stream_header.h); the writer looks all
 * its message units up in its ledger in one call (beam_sink_ledger_find_many), then drops the
 * rows and dead letters of messages the ledger holds (committed by an earlier bundle whose
 * ack was lost: a crash, a redelivery) and of every copy but the first of a message the
 * bundle holds twice (a duplicate delivery), which come in the header's order. At the end it
 * records every other message's unit in the ledger, in the same sink bundle as their rows
 * and the bundle's _stream_bundles row, so a redelivered message is never written twice to
 * this destination. Another writer committing one of the units meanwhile makes the commit a
 * duplicate or a failure (sink.h), and the retried bundle finds it held. */
#ifndef BEAM_ETL_WRITE_STREAM_H
#define BEAM_ETL_WRITE_STREAM_H

#include "beam/latency.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/arena.h"
#include "beam/transforms/etl_types.h"
#include "beam/transforms/sink.h"
#include "etl_stream_header.h"

typedef struct beam_etl_write_stream {
  bool on; /* the writer's input is a stream */
  /* the bundle's header, once it came */
  bool have_header;
  const char *subscription;
  beam_etl_stream_message *messages;
  const char **keys;
  bool *held; /* per message: committed before */
  size_t n;
  size_t next; /* the message of the next routed row or dead letter */
  int64_t held_messages;
  /* of the messages not held */
  int64_t messages_new, dead, filtered, first_us, last_us;
  beam_arena arena; /* the bundle's */
} beam_etl_write_stream;

/* Forgets the bundle (at start_bundle and after the commit). */
void beam_etl_write_stream_reset(beam_etl_write_stream *ws);
void beam_etl_write_stream_free(beam_etl_write_stream *ws);

/* Takes the header (the _stream_bundles element's row) and looks its messages up in sink's
 * ledger. */
beam_status beam_etl_write_stream_header(beam_etl_write_stream *ws, beam_sink *sink, const beam_etl_row *header,
                                         beam_error *err);

/* For a routed row or dead letter of unit file_id: *held when its message was committed
 * before (the row is then not written). Fails when no header came first, or the row is not
 * the next message's. */
beam_status beam_etl_write_stream_next_row(beam_etl_write_stream *ws, const char *file_id, bool *held,
                                           beam_error *err);

/* Records the ledger entry of every message not held, inside the open sink bundle (replace:
 * a reload's). */
beam_status beam_etl_write_stream_record(beam_etl_write_stream *ws, beam_sink *sink, bool replace, beam_error *err);

/* The bundle's _stream_bundles row in arena: written and sink_dead_lettered are what this
 * writer wrote and what its sink refused (dead letters too) of the messages not held. */
beam_status beam_etl_write_stream_row(const beam_etl_write_stream *ws, int64_t written, int64_t sink_dead_lettered,
                                      beam_arena *arena, beam_etl_row *out, beam_error *err);

/* Counts, for each message this bundle committed now (not the redelivered ones), the time
 * from its publishing to committed_us into h. */
void beam_etl_write_stream_latency(const beam_etl_write_stream *ws, int64_t committed_us, beam_latency_histogram *h);

#endif
