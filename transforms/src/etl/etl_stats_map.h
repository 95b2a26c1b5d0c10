/* File name -> beam_etl_file_stats, for DoFns that count per file within a bundle and emit
 * the counts at finish_bundle (dedupe, writer). Open addressing; names are copied. */
#ifndef BEAM_ETL_STATS_MAP_H
#define BEAM_ETL_STATS_MAP_H

#include "beam/dofn.h"
#include "beam/transforms/etl_element.h"

typedef struct beam_etl_stats_entry {
  char *file;
  beam_etl_file_stats stats;
} beam_etl_stats_entry;

typedef struct beam_etl_stats_map {
  beam_etl_stats_entry *slots;
  size_t cap, len;
  beam_etl_stats_entry *last; /* rows arrive grouped by file: a one-entry cache hits most */
} beam_etl_stats_map;

/* The entry for file, created zeroed; NULL when out of memory. */
beam_etl_file_stats *beam_etl_stats_map_get(beam_etl_stats_map *m, const char *file);
/* Emits every entry as a stats KV on the DoFn's output (memory from its bundle arena) and
 * empties the map. */
beam_status beam_etl_stats_map_drain(beam_etl_stats_map *m, beam_dofn_ctx *ctx, int output, beam_error *err);
void beam_etl_stats_map_free(beam_etl_stats_map *m);

#endif
