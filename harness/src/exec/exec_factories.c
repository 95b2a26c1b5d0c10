/* URN -> node factory. Built-ins are static; runners register their own at startup. */
#include <string.h>

#include "exec_nodes.h"

enum { MAX_EXTRA_FACTORIES = 16 };
static const beam_exec_node_factory *extra[MAX_EXTRA_FACTORIES];
static size_t n_extra;

static const beam_exec_node_factory *const builtin[] = {
    &beam_exec_pardo_factory,   &beam_exec_flatten_factory, &beam_exec_window_into_factory,
    &beam_exec_impulse_factory, &beam_exec_gbk_factory,     &beam_exec_data_source_factory,
    &beam_exec_data_sink_factory, &beam_exec_precombine_factory, &beam_exec_merge_accumulators_factory,
    &beam_exec_extract_outputs_factory, &beam_exec_sdf_pair_factory, &beam_exec_sdf_split_factory,
    &beam_exec_sdf_truncate_factory, &beam_exec_sdf_process_factory,
};

beam_status beam_exec_register_factory(const beam_exec_node_factory *f) {
  for (size_t i = 0; i < n_extra; i++)
    if (strcmp(extra[i]->urn, f->urn) == 0) {
      extra[i] = f;
      return BEAM_OK;
    }
  if (n_extra == MAX_EXTRA_FACTORIES) return BEAM_ERR_NOMEM;
  extra[n_extra++] = f;
  return BEAM_OK;
}

const beam_exec_node_factory *beam_exec_find_factory(const char *urn) {
  /* Registered factories win, so the harness can replace the local GBK, for example. */
  for (size_t i = 0; i < n_extra; i++)
    if (strcmp(extra[i]->urn, urn) == 0) return extra[i];
  for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
    if (strcmp(builtin[i]->urn, urn) == 0) return builtin[i];
  return NULL;
}
