/* The data channel of the Fn API: one BeamFnData/Data stream per data endpoint, shared by
 * every bundle. A receiver thread demultiplexes the runner's Elements by instruction id into
 * per-bundle inboxes; bundles send their outputs on the same stream. */
#ifndef BEAM_WORKER_DATA_H
#define BEAM_WORKER_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/status.h"

typedef struct beam_data_channel beam_data_channel;
typedef struct beam_data_inbox beam_data_inbox;

typedef struct beam_data_chunk {
  char *transform_id;
  uint8_t *data;
  size_t len;
  bool is_last;
} beam_data_chunk;

beam_status beam_data_channel_open(const char *endpoint, const char *worker_id, beam_data_channel **out,
                                   beam_error *err);
const char *beam_data_channel_endpoint(const beam_data_channel *ch);
/* Breaks the stream: every waiting bundle fails promptly. */
void beam_data_channel_cancel(beam_data_channel *ch);
/* Ends the stream (half-close, then cancel) and frees everything. */
void beam_data_channel_free(beam_data_channel *ch);

/* The inbox of one instruction: data that arrived before the bundle asked is kept there. */
beam_data_inbox *beam_data_channel_inbox(beam_data_channel *ch, const char *instruction_id);
/* Blocks for the next chunk (the caller frees it with beam_data_chunk_free). Fails when the
 * stream broke, or after timeout_ms without data (0: wait forever). */
beam_status beam_data_inbox_next(beam_data_inbox *in, beam_data_chunk *out, int timeout_ms, beam_error *err);
/* Drops the inbox and anything still queued; later data for the instruction is discarded. */
void beam_data_channel_release(beam_data_channel *ch, beam_data_inbox *in);
void beam_data_chunk_free(beam_data_chunk *c);

/* Sends one data entry (is_last closes the (instruction, transform) stream). */
beam_status beam_data_channel_send(beam_data_channel *ch, const char *instruction_id, const char *transform_id,
                                   const uint8_t *data, size_t len, bool is_last, beam_error *err);

#endif
