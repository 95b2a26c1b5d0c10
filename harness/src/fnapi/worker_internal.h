/* The Fn API worker's shared state: what the control loop, the bundle threads and the
 * channels see of each other. */
#ifndef BEAM_WORKER_INTERNAL_H
#define BEAM_WORKER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "exec_nodes.h"
#include "fn_names.h"
#include "beam/grpc_client.h"
#include "worker_data.h"
#include "worker_log.h"
#include "worker_metrics.h"
#include "worker_state.h"
#include "worker_stream.h"

typedef struct beam_worker_flags {
  const char *id;
  const char *provision_endpoint;
  const char *control_endpoint;
  const char *logging_endpoint;
  const char *artifact_endpoint;
  const char *semi_persist_dir;
} beam_worker_flags;

/* A ProcessBundleDescriptor, its Components view for the execution graph, and graphs built
 * from it that are idle (a graph runs one bundle at a time; DoFn setup is paid once). */
typedef struct beam_worker_descriptor {
  char *id;
  FN(ProcessBundleDescriptor) *proto;
  PIPE(Components) components;
  beam_arena arena;          /* the view's arrays */
  const char **transform_ids;
  size_t n_transform_ids;
  char *data_endpoint;       /* of its RemoteGrpcPorts; NULL when it has none */
  beam_exec_graph **idle;
  size_t n_idle, cap_idle;
  struct beam_worker_descriptor *next;
} beam_worker_descriptor;

/* A bundle being processed, visible to progress and split requests. */
typedef struct beam_worker_bundle {
  const char *instruction_id;
  beam_exec_graph *graph;
  struct beam_worker_bundle *next;
} beam_worker_bundle;

typedef struct beam_worker_task {
  FN(InstructionRequest) *request;
  struct beam_worker_task *next;
} beam_worker_task;

typedef struct beam_worker {
  char *id;
  char *control_endpoint;
  json_t *options;          /* pipeline options from ProvisionInfo */
  bool runner_short_ids;    /* the runner reads monitoring_data short ids */
  beam_worker_stream control; /* read by the control loop, not a thread of its own */
  beam_worker_log *log;
  beam_metric_ids *metric_ids;

  pthread_mutex_t lock;     /* everything below */
  beam_worker_descriptor *descriptors;
  beam_data_channel **data_channels;
  size_t n_data_channels;
  beam_state_channel **state_channels;
  size_t n_state_channels;
  beam_worker_bundle *bundles;

  /* The bundle thread pool: grows on demand up to a limit, then queues. */
  pthread_cond_t work_ready, work_done;
  beam_worker_task *queue_head, *queue_tail;
  pthread_t *threads;
  size_t n_threads, n_idle_threads, n_running;
  bool stopping;
  int64_t bundles_done, bundles_failed;
  struct timespec started;   /* CLOCK_MONOTONIC at process start, for stats */
  double first_bundle_ms;    /* start to the first bundle's response; 0 until then */
  bool print_stats;          /* BEAM_C_WORKER_STATS=1 */
  /* Makes bundle ids unique beyond this worker: runners number instructions per worker
   * (Flink restarts at 1 in every worker), and sinks commit idempotently per bundle id. */
  char bundle_id_nonce[48];
} beam_worker;

/* One stats line on stderr (CPU, bundles, start-to-first-bundle); runners may kill workers
 * without warning, so it is printed after every bundle when asked for. */
void beam_worker_print_stats(beam_worker *w);

/* What a bundle's graph reaches the runner through. */
typedef struct beam_worker_bundle_ctx {
  beam_worker *w;
  const char *instruction_id;
  beam_worker_descriptor *d;
  beam_data_channel *data;
  beam_exec_graph *g;
} beam_worker_bundle_ctx;

/* Points the bundle's graph at the runner's state: side inputs (iterable, multimap) and
 * bag user state, over the descriptor's state endpoint (worker_state_access.c). */
void beam_worker_attach_state(beam_worker_bundle_ctx *b);

/* Sends one InstructionResponse on the control stream (thread-safe). */
beam_status beam_worker_respond(beam_worker *w, const FN(InstructionResponse) *resp, beam_error *err);

/* Descriptors (worker_descriptors.c). */
beam_status beam_worker_descriptor_get(beam_worker *w, const char *id, beam_worker_descriptor **out, beam_error *err);
beam_status beam_worker_descriptor_register(beam_worker *w, const FN(ProcessBundleDescriptor) *pbd, beam_error *err);
beam_status beam_worker_graph_take(beam_worker *w, beam_worker_descriptor *d, beam_exec_graph **out, beam_error *err);
void beam_worker_graph_return(beam_worker *w, beam_worker_descriptor *d, beam_exec_graph *g, bool healthy);
void beam_worker_descriptors_free(beam_worker *w);
beam_status beam_worker_data_channel(beam_worker *w, const char *endpoint, beam_data_channel **out, beam_error *err);
beam_status beam_worker_state_channel(beam_worker *w, const char *endpoint, beam_state_channel **out, beam_error *err);

/* Instructions (worker_bundle.c): each fills resp (memory from a). */
void beam_worker_process_bundle(beam_worker *w, const FN(InstructionRequest) *req, FN(InstructionResponse) *resp,
                                beam_arena *a);
void beam_worker_progress(beam_worker *w, const FN(ProcessBundleProgressRequest) *req, FN(InstructionResponse) *resp,
                          beam_arena *a);
void beam_worker_split(beam_worker *w, const FN(ProcessBundleSplitRequest) *req, FN(InstructionResponse) *resp,
                       beam_arena *a);

/* Splits a bundle whose data source src feeds a splittable ParDo (worker_sdf_split.c): fills
 * the channel split cs and adds the split element's roots to out (room for one more each).
 * *split false: nothing was split. */
beam_status beam_worker_sdf_split(beam_exec_node *src, const FN(ProcessBundleSplitRequest__DesiredSplit) *want,
                                  FN(ProcessBundleSplitResponse) *out, FN(ProcessBundleSplitResponse__ChannelSplit) *cs,
                                  bool *split, beam_arena *a, beam_error *err);

/* Reads instructions until the runner ends the stream; BEAM_OK is a clean end. */
beam_status beam_worker_control_loop(beam_worker *w, beam_error *err);
/* Runs one instruction, sends its response and frees req (worker_control.c). */
void beam_worker_execute(beam_worker *w, FN(InstructionRequest) *req);

/* Makes every bundle blocked on a data or state channel fail now (shutdown). */
void beam_worker_channels_cancel(beam_worker *w);

/* The bundle thread pool (worker_threads.c). */
beam_status beam_worker_submit(beam_worker *w, FN(InstructionRequest) *req, beam_error *err);
void beam_worker_threads_stop(beam_worker *w);

#endif
