/* Registers the ETL DoFns and CombineFns by name (see etl_element.h). Explicit rather than
 * constructor-based: the library is static, and an object file nobody references would
 * never run its constructor. */
#include "beam/combinefn.h"
#include "beam/dofn.h"
#include "beam/transforms/etl_element.h"
#include "beam/transforms/pubsub_stream_source.h"

extern const beam_dofn_def beam_etl_list_files_dofn;
extern const beam_splittable_dofn_def beam_etl_read_dofn;
extern const beam_dofn_def beam_etl_dedupe_key_dofn;
extern const beam_dofn_def beam_etl_dedupe_pick_dofn;
extern const beam_dofn_def beam_etl_write_dofn;
extern const beam_dofn_def beam_etl_files_row_dofn;
extern const beam_dofn_def beam_etl_finish_file_dofn;
extern const beam_dofn_def beam_etl_read_messages_dofn;
extern const beam_combinefn_def beam_etl_file_stats_combinefn;
extern const beam_combinefn_def beam_etl_dedupe_first_combinefn;

beam_status beam_etl_register_fns(void) {
  beam_status rs = beam_dofn_register_splittable(&beam_etl_read_dofn);
  if (rs != BEAM_OK) return rs;
  const beam_dofn_def *dofns[] = {&beam_etl_list_files_dofn, &beam_etl_dedupe_key_dofn,
                                  &beam_etl_dedupe_pick_dofn, &beam_etl_write_dofn, &beam_etl_files_row_dofn,
                                  &beam_etl_finish_file_dofn, &beam_etl_read_messages_dofn};
  for (size_t i = 0; i < sizeof dofns / sizeof dofns[0]; i++) {
    beam_status s = beam_dofn_register(dofns[i]);
    if (s != BEAM_OK) return s;
  }
  /* The local runner's source for a pubsub: input. */
  if (beam_pubsub_stream_source_register(NULL) != BEAM_OK) return BEAM_ERR_INTERNAL;
  beam_status cs = beam_combinefn_register(&beam_etl_file_stats_combinefn);
  return cs == BEAM_OK ? beam_combinefn_register(&beam_etl_dedupe_first_combinefn) : cs;
}
