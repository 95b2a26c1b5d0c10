/* What crosses a stage boundary of the local runner, and the hidden nodes that collect it.
 *
 * A collector node is attached as one more consumer of a PCollection in a stage's graph: it
 * encodes each element into a shuffle writer (a GroupByKey's input, by (key, window); or a
 * materialized PCollection, whole windowed elements) or copies it into the side-input store.
 * The feed functions decode what a shuffle reader hands out and emit it into a graph. */
#ifndef BEAM_LOCAL_COLLECT_H
#define BEAM_LOCAL_COLLECT_H

#include "exec.h"
#include "local_shuffle.h"
#include "local_side.h"
#include "local_stages.h"

typedef struct beam_local_collect beam_local_collect;

/* A collector of kind for pcollection_id in graph g: into writer (GROUP, SPOOL) or into
 * item of side (SIDE). The node is in *node, ready to be added to the producer's consumers. */
beam_status beam_local_collect_new(beam_exec_graph *g, beam_local_collect_kind kind, const char *pcollection_id,
                                   beam_shuffle_writer *writer, beam_local_side *side, size_t item,
                                   beam_exec_node **node, beam_error *err);
/* The writer it fills (NULL for side inputs); frees the collector (not the writer). */
beam_shuffle_writer *beam_local_collect_writer(const beam_exec_node *node);
void beam_local_collect_free(beam_exec_node *node);

/* Decodes one chunk of a reader of a GroupByKey's shuffle (grouped: true) or a materialized
 * PCollection's (false) and emits each element to out. input_pcollection is what the
 * shuffle's writers received (its coders decode); decoded values live in arena. */
beam_status beam_local_feed(beam_exec_graph *g, const char *input_pcollection, bool grouped, const beam_buf *chunk,
                            beam_arena *arena, beam_exec_output *out, beam_error *err);

#endif
