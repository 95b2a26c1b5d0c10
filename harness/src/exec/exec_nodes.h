/* Node kinds of the execution graph, looked up by transform URN. */
#ifndef BEAM_EXEC_NODES_H
#define BEAM_EXEC_NODES_H

#include "exec.h"

typedef struct beam_exec_node_factory {
  const char *urn;
  /* Fills node->ops and node->impl for transform t; outputs are already set up. */
  beam_status (*create)(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t,
                        beam_error *err);
} beam_exec_node_factory;

const beam_exec_node_factory *beam_exec_find_factory(const char *urn);
/* The harness adds data source / sink factories; the local runner adds impulse and GBK. */
beam_status beam_exec_register_factory(const beam_exec_node_factory *f);

beam_status beam_exec_graph_build(const PIPE(Components) *components, const char *const *ids,
                                  size_t n_ids, const json_t *options, beam_exec_graph **out,
                                  beam_error *err);
void beam_exec_graph_free(beam_exec_graph *g);
beam_exec_output *beam_exec_graph_output_of(beam_exec_graph *g, const char *pcollection_id);
beam_status beam_exec_graph_start(beam_exec_graph *g, const char *bundle_id, beam_error *err);
beam_status beam_exec_graph_finish(beam_exec_graph *g, beam_error *err);

/* During beam_exec_graph_finish: true when the node producing pcollection_id has finished (so
 * a side input read from it is complete). False outside finish and for unknown ids. */
bool beam_exec_graph_pcollection_complete(beam_exec_graph *g, const char *pcollection_id);

/* Built-in node factories. */
extern const beam_exec_node_factory beam_exec_pardo_factory;
extern const beam_exec_node_factory beam_exec_flatten_factory;
extern const beam_exec_node_factory beam_exec_window_into_factory;
extern const beam_exec_node_factory beam_exec_impulse_factory;
extern const beam_exec_node_factory beam_exec_gbk_factory;
extern const beam_exec_node_factory beam_exec_data_source_factory;
extern const beam_exec_node_factory beam_exec_data_sink_factory;
extern const beam_exec_node_factory beam_exec_precombine_factory;
extern const beam_exec_node_factory beam_exec_merge_accumulators_factory;
extern const beam_exec_node_factory beam_exec_extract_outputs_factory;
extern const beam_exec_node_factory beam_exec_sdf_pair_factory;     /* exec_sdf.c */
extern const beam_exec_node_factory beam_exec_sdf_split_factory;
extern const beam_exec_node_factory beam_exec_sdf_truncate_factory;
extern const beam_exec_node_factory beam_exec_sdf_process_factory;  /* exec_sdf_process.c */

#endif
