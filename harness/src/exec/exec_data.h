/* Data source and sink nodes: how the harness feeds a bundle and where its outputs go. */
#ifndef BEAM_EXEC_DATA_H
#define BEAM_EXEC_DATA_H

#include "exec.h"

bool beam_exec_is_data_source(const beam_exec_node *n);
/* Readies the source for a new bundle: nothing read, no split. Call before the bundle is
 * visible to split requests (not in start_bundle: a split accepted between the bundle's
 * registration and its start would be forgotten, and the runner would process the residual
 * a second time). */
void beam_exec_data_source_rearm(beam_exec_node *n);
/* Decodes and emits the complete elements in data; a partial element waits for the next
 * chunk. is_last: no more data for this source in this bundle. */
beam_status beam_exec_data_source_feed(beam_exec_node *n, const uint8_t *data, size_t len, bool is_last,
                                       beam_error *err);
/* Elements claimed so far: the read index progress reports. Thread-safe. */
int64_t beam_exec_data_source_index(beam_exec_node *n);
/* Splits the unread input: keeps `fraction` of what remains of estimated_total (restricted to
 * allowed split points when given) and stops before *split_at. False: no split possible.
 * Thread-safe against the bundle feeding the source. */
bool beam_exec_data_source_split(beam_exec_node *n, double fraction, int64_t estimated_total,
                                 const int64_t *allowed, size_t n_allowed, int64_t *split_at);
/* The coder of the source's elements (a windowed value coder). */
const beam_coder *beam_exec_data_source_coder(const beam_exec_node *n);
/* Decides a split under the source's lock, so no element is claimed meanwhile: decide gets
 * the index of the last element claimed (-1: none) and the end of the input (the runner's
 * estimate, or an earlier split's stop) and returns the first index to leave unread (at
 * most end), or -1 to refuse. False: no split (the source is done, or decide refused). */
typedef int64_t (*beam_exec_split_decider)(void *self, int64_t last_claimed, int64_t end);
bool beam_exec_data_source_split_with(beam_exec_node *n, int64_t estimated_total, beam_exec_split_decider decide,
                                      void *self, int64_t *split_at);

#endif
