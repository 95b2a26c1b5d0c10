/* Worker mode: boot flags, provisioning, and the worker's life from the control stream's
 * first instruction to the runner's goodbye. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "beam/worker.h"
#include "flag_take.h"
#include "proto_struct.h"
#include "worker_internal.h"

enum { PROVISION_TIMEOUT_MS = 60000 };
#define SHORT_IDS_CAPABILITY "beam:protocol:monitoring_info_short_ids:v1"

bool beam_worker_requested(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--worker") == 0) return true;
  const char *env = getenv(BEAM_WORKER_ENV);
  return env && strcmp(env, "1") == 0;
}

static bool parse_flags(int argc, char **argv, beam_worker_flags *f) {
  f->semi_persist_dir = "/tmp";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--worker") == 0) continue;
    if (beam_flag_take(argc, argv, &i, "id", false, &f->id) ||
        beam_flag_take(argc, argv, &i, "worker_id", false, &f->id) ||
        beam_flag_take(argc, argv, &i, "provision_endpoint", false, &f->provision_endpoint) ||
        beam_flag_take(argc, argv, &i, "control_endpoint", false, &f->control_endpoint) ||
        beam_flag_take(argc, argv, &i, "logging_endpoint", false, &f->logging_endpoint) ||
        beam_flag_take(argc, argv, &i, "artifact_endpoint", false, &f->artifact_endpoint) ||
        beam_flag_take(argc, argv, &i, "semi_persist_dir", false, &f->semi_persist_dir))
      continue;
    /* Runners add flags over time; an unknown one is worth a note, not a refusal. */
    fprintf(stderr, "beam-c worker: ignoring unknown flag %s\n", argv[i]);
  }
  if (!f->provision_endpoint && !f->control_endpoint) {
    fprintf(stderr,
            "beam-c worker: --provision_endpoint (or --control_endpoint) is required\n"
            "usage: %s --worker --id=ID --provision_endpoint=HOST:PORT [--control_endpoint=...] "
            "[--logging_endpoint=...] [--artifact_endpoint=...] [--semi_persist_dir=DIR]\n",
            argv[0]);
    return false;
  }
  return true;
}

/* Asks the provision service for endpoints and pipeline options; its endpoints win over flags. */
static beam_status provision(beam_worker *w, beam_worker_flags *f, char **logging, beam_error *err) {
  beam_grpc_channel *ch = NULL;
  beam_status s = beam_grpc_channel_open(f->provision_endpoint, f->id, &ch, err);
  uint8_t empty[1];
  beam_buf resp = BEAM_BUF_INIT;
  if (s == BEAM_OK) s = beam_grpc_unary(ch, FN_PROVISION_METHOD, empty, 0, PROVISION_TIMEOUT_MS, &resp, err);
  beam_grpc_channel_close(ch);
  FN(GetProvisionInfoResponse) *r = s == BEAM_OK ? FN_FN(get_provision_info_response__unpack)(NULL, resp.len, resp.data) : NULL;
  beam_buf_free(&resp);
  if (s != BEAM_OK) return beam_error_prefix(err, "GetProvisionInfo from %s: ", f->provision_endpoint);
  if (!r) return beam_error_set(err, BEAM_ERR_MALFORMED, "GetProvisionInfo: undecodable response");
  const FN(ProvisionInfo) *info = r->info;
  if (info && info->control_endpoint && info->control_endpoint->url[0])
    w->control_endpoint = strdup(info->control_endpoint->url);
  if (info && info->logging_endpoint && info->logging_endpoint->url[0]) *logging = strdup(info->logging_endpoint->url);
  if (info && info->pipeline_options) {
    json_decref(w->options);
    w->options = beam_options_from_struct(info->pipeline_options);
  }
  for (size_t i = 0; info && i < info->n_runner_capabilities; i++)
    if (strcmp(info->runner_capabilities[i], SHORT_IDS_CAPABILITY) == 0) w->runner_short_ids = true;
  FN_FN(get_provision_info_response__free_unpacked)(r, NULL);
  return BEAM_OK;
}

static double seconds_since(const struct timespec *t0) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static beam_status connect_worker(beam_worker *w, beam_worker_flags *f, beam_error *err) {
  char *logging = NULL;
  beam_status s = f->provision_endpoint ? provision(w, f, &logging, err) : BEAM_OK;
  if (s == BEAM_OK && !w->control_endpoint && f->control_endpoint) w->control_endpoint = strdup(f->control_endpoint);
  if (s == BEAM_OK && !w->control_endpoint)
    s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "no control endpoint from the provision service or flags");
  const char *log_ep = logging ? logging : f->logging_endpoint;
  if (s == BEAM_OK) s = beam_worker_log_open(log_ep, w->id, &w->log, err);
  free(logging);
  if (s == BEAM_OK) beam_log_set_sink(beam_worker_log_sink, w->log);
  if (s == BEAM_OK)
    s = beam_worker_stream_open(&w->control, w->control_endpoint, w->id, FN_CONTROL_SERVICE "Control", err);
  return s;
}

static void worker_free(beam_worker *w) {
  /* Bundles still waiting on the runner fail now; then the threads can be joined. */
  beam_worker_channels_cancel(w);
  beam_worker_threads_stop(w);
  beam_worker_descriptors_free(w);
  beam_worker_stream_half_close(&w->control);
  beam_worker_stream_close(&w->control);
  beam_log_set_sink(NULL, NULL);
  beam_worker_log_close(w->log);
  beam_metric_ids_free(w->metric_ids);
  json_decref(w->options);
  pthread_cond_destroy(&w->work_ready);
  pthread_cond_destroy(&w->work_done);
  pthread_mutex_destroy(&w->lock);
  free(w->control_endpoint);
  free(w->id);
}

void beam_worker_print_stats(beam_worker *w) {
  if (!w->print_stats) return;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  pthread_mutex_lock(&w->lock);
  fprintf(stderr,
          "beam-c worker stats: id=%s cpu_user=%.3f cpu_sys=%.3f wall=%.3f bundles=%lld failed=%lld "
          "first_bundle_ms=%.1f\n",
          w->id, (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, seconds_since(&w->started),
          (long long)w->bundles_done, (long long)w->bundles_failed, w->first_bundle_ms);
  pthread_mutex_unlock(&w->lock);
}

int beam_worker_main(int argc, char **argv) {
  beam_worker w = {0};
  clock_gettime(CLOCK_MONOTONIC, &w.started);
  w.print_stats = getenv("BEAM_C_WORKER_STATS") != NULL;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  snprintf(w.bundle_id_nonce, sizeof w.bundle_id_nonce, "%lld%09ld-%ld", (long long)now.tv_sec, now.tv_nsec,
           (long)getpid());
  beam_worker_flags f = {0};
  if (!parse_flags(argc, argv, &f)) return 2;
  pthread_mutex_init(&w.lock, NULL);
  pthread_cond_init(&w.work_ready, NULL);
  pthread_cond_init(&w.work_done, NULL);
  w.id = strdup(f.id ? f.id : "");
  w.options = json_object();
  w.metric_ids = beam_metric_ids_new();
  beam_error err = {0};
  beam_status s = (w.id && w.options && w.metric_ids) ? BEAM_OK : beam_error_set(&err, BEAM_ERR_NOMEM, "out of memory");
  if (s == BEAM_OK) s = connect_worker(&w, &f, &err);
  if (s == BEAM_OK) {
    beam_worker_log_write(w.log, BEAM_LOG_INFO, NULL, NULL, "worker %s connected to %s in %.1f ms", w.id,
                          w.control_endpoint, seconds_since(&w.started) * 1e3);
    s = beam_worker_control_loop(&w, &err);
  }
  if (s == BEAM_OK)
    beam_worker_log_write(w.log, BEAM_LOG_INFO, NULL, NULL,
                          "the runner ended the control stream; worker %s stops (%lld bundles, %lld failed)", w.id,
                          (long long)w.bundles_done, (long long)w.bundles_failed);
  else
    fprintf(stderr, "beam-c worker %s: %s; stopping\n", w.id ? w.id : "", err.message);
  beam_worker_print_stats(&w);
  worker_free(&w);
  return s == BEAM_OK ? 0 : 1;
}
