/* The process step's state, shared by exec_sdf_process.c (processing) and exec_sdf_split.c
 * (splitting it from the control thread). */
#ifndef BEAM_EXEC_SDF_INT_H
#define BEAM_EXEC_SDF_INT_H

#include <pthread.h>

#include "exec_pardo.h"
#include "offset_tracker.h"

struct beam_sdf_process {
  /* current and current_elem: set by the bundle thread around each process() call, read by
   * a split. Lock order: the data source's lock, then this one, then the tracker's. */
  pthread_mutex_t lock;
  const beam_windowed_value *current; /* the sized input being processed, NULL between */
  beam_windowed_value current_elem;   /* its element, as process() sees it */
  beam_offset_tracker tracker;        /* of current's restriction */
  const char *input_id;               /* the main input's local name (graph arena) */
  /* A split took work away but could not describe it to the runner (out of memory encoding
   * the residual): the bundle must fail, or that work would be lost. */
  bool split_lost;
};

#endif
