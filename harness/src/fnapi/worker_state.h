/* The Fn API state channel: side inputs and user state read and written through the runner
 * (BeamFnState/State). Requests from any bundle thread share one stream; responses are
 * matched back to their request by id. */
#ifndef BEAM_WORKER_STATE_H
#define BEAM_WORKER_STATE_H

#include "beam/buf.h"
#include "beam/status.h"
#include "fn_names.h"

typedef struct beam_state_channel beam_state_channel;

beam_status beam_state_channel_open(const char *endpoint, const char *worker_id, beam_state_channel **out,
                                    beam_error *err);
const char *beam_state_channel_endpoint(const beam_state_channel *ch);
/* Breaks the stream: every waiting request fails promptly. */
void beam_state_channel_cancel(beam_state_channel *ch);
void beam_state_channel_free(beam_state_channel *ch);

/* Reads the whole value under key, following continuation tokens; appends it to out. */
beam_status beam_state_get(beam_state_channel *ch, const char *instruction_id, const FN(StateKey) *key,
                           beam_buf *out, beam_error *err);
beam_status beam_state_append(beam_state_channel *ch, const char *instruction_id, const FN(StateKey) *key,
                              const uint8_t *data, size_t len, beam_error *err);
beam_status beam_state_clear(beam_state_channel *ch, const char *instruction_id, const FN(StateKey) *key,
                             beam_error *err);

#endif
