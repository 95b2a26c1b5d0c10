/* The harness benchmark pipeline in C (tests/bench/harness/ has the Go and Python twins and
 * the driver that runs all three against one Prism; its README explains the measurements):
 *   Impulse -> Generate (N int64) -> AddOne -> Double -> Sum (keeps x % 3 != 0, totals in the
 *   DoFn, counters bench:kept / bench:sum and one KV (kept, sum) at finish_bundle)
 *   -> GroupByKey -> Check.
 * Prism fuses Generate..Sum into one stage, so the worker's CPU per element is the SDK's
 * overhead. The one-record GroupByKey tail is there because Prism busy-polls a stage that has
 * no data output (see the driver's README).
 *
 * Usage: bench_harness --job_endpoint=HOST:PORT [--elements=N] [--local]
 * Prints: bench_harness: elements=N kept=K sum=S wall=SECONDS runner=...
 * The DoFns write the driver's `beam-bench worker:` lines (first element, finish) to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "beam/dofn.h"
#include "beam/pipeline.h"
#include "beam/runner.h"
#include "beam/worker.h"

static double boot_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_BOOTTIME, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Process start in CLOCK_BOOTTIME seconds: field 22 of /proc/self/stat, in clock ticks. */
static double process_start_seconds(void) {
  char buf[1024];
  FILE *f = fopen("/proc/self/stat", "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  unsigned long long start = 0;
  for (int field = 2; p && *p; p++)
    if (*p == ' ' && ++field == 22) {
      start = strtoull(p + 1, NULL, 10);
      break;
    }
  return (double)start / (double)sysconf(_SC_CLK_TCK);
}

static beam_status generate_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  *(int64_t *)state = (int64_t)json_integer_value(json_object_get(beam_dofn_config(ctx), "n"));
  return BEAM_OK;
}

static beam_status generate(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)elem;
  int64_t n = *(int64_t *)state;
  double t = boot_seconds();
  fprintf(stderr, "beam-bench worker: event=first_element sdk=c pid=%ld t_boot_s=%.6f since_start_ms=%.1f cpu_s=%.6f\n",
          (long)getpid(), t, (t - process_start_seconds()) * 1e3, cpu_seconds());
  for (int64_t i = 0; i < n; i++) {
    beam_value v = beam_value_int64(i);
    beam_status s = beam_dofn_emit(ctx, 0, &v, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

static beam_status add_one(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  beam_value v = beam_value_int64(elem->value->u.i64 + 1);
  return beam_dofn_emit(ctx, 0, &v, err);
}

static beam_status twice(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  beam_value v = beam_value_int64(elem->value->u.i64 * 2);
  return beam_dofn_emit(ctx, 0, &v, err);
}

typedef struct sum_state {
  int kept_counter, sum_counter;
  int64_t kept, sum;
} sum_state;

static beam_status sum_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  sum_state *k = state;
  k->kept_counter = beam_dofn_declare_counter(ctx, "bench:kept");
  k->sum_counter = beam_dofn_declare_counter(ctx, "bench:sum");
  return BEAM_OK;
}

static beam_status sum_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)ctx, (void)err;
  sum_state *k = state;
  int64_t x = elem->value->u.i64;
  if (x % 3 == 0) return BEAM_OK;
  k->kept++;
  k->sum += x;
  return BEAM_OK;
}

/* Totals leave the DoFn once per bundle, as counters and as one record for the tail. */
static beam_status sum_finish(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  sum_state *k = state;
  fprintf(stderr, "beam-bench worker: event=finish sdk=c pid=%ld t_boot_s=%.6f cpu_s=%.6f kept=%lld sum=%lld\n",
          (long)getpid(), boot_seconds(), cpu_seconds(), (long long)k->kept, (long long)k->sum);
  beam_dofn_counter_add(ctx, k->kept_counter, k->kept);
  beam_dofn_counter_add(ctx, k->sum_counter, k->sum);
  beam_value key = beam_value_int64(k->kept), value = beam_value_int64(k->sum);
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&key, &value}};
  k->kept = k->sum = 0;
  return beam_dofn_emit(ctx, 0, &kv, err);
}

static beam_status check(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state, (void)ctx, (void)err;
  fprintf(stderr, "beam-bench worker: event=check sdk=c kept=%lld\n", (long long)elem->value->u.kv.key->u.i64);
  return BEAM_OK;
}

static const beam_dofn_def generate_fn = {"bench_generate", sizeof(int64_t), generate_setup, NULL, generate, NULL, NULL};
static const beam_dofn_def add_one_fn = {"bench_add_one", 0, NULL, NULL, add_one, NULL, NULL};
static const beam_dofn_def twice_fn = {"bench_double", 0, NULL, NULL, twice, NULL, NULL};
static const beam_dofn_def sum_fn = {"bench_sum", sizeof(sum_state), sum_setup, NULL, sum_process, sum_finish, NULL};
static const beam_dofn_def check_fn = {"bench_check", 0, NULL, NULL, check, NULL, NULL};
BEAM_REGISTER_DOFN(generate_fn)
BEAM_REGISTER_DOFN(add_one_fn)
BEAM_REGISTER_DOFN(twice_fn)
BEAM_REGISTER_DOFN(sum_fn)
BEAM_REGISTER_DOFN(check_fn)

static const char *flag(int argc, char **argv, const char *name) {
  size_t n = strlen(name);
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return argv[i] + n + 1;
  return NULL;
}

int main(int argc, char **argv) {
  if (beam_worker_requested(argc, argv)) return beam_worker_main(argc, argv);
  const char *endpoint = flag(argc, argv, "--job_endpoint");
  const char *elements = flag(argc, argv, "--elements");
  bool local = argc > 1 && strcmp(argv[argc - 1], "--local") == 0;
  if (!endpoint && !local) return fprintf(stderr, "usage: %s --job_endpoint=HOST:PORT [--elements=N] [--local]\n", argv[0]), 2;
  long long n = elements ? atoll(elements) : 10000000LL;
  char cfg[64];
  snprintf(cfg, sizeof cfg, "{\"n\": %lld}", n);
  beam_pipeline *p = beam_pipeline_new();
  beam_coder_spec *ints = beam_coder_spec_varint(p);
  beam_pcollection *c = beam_pardo1(p, "Generate", beam_impulse(p, "Impulse"), "bench_generate", cfg, ints);
  c = beam_pardo1(p, "AddOne", c, "bench_add_one", NULL, ints);
  c = beam_pardo1(p, "Double", c, "bench_double", NULL, ints);
  beam_pcollection *totals = beam_pardo1(p, "Sum", c, "bench_sum", NULL, beam_coder_spec_kv(p, ints, ints));
  beam_pardo1(p, "Check", beam_group_by_key(p, "GroupByKey", totals), "bench_check", NULL, ints);
  beam_buf proto = BEAM_BUF_INIT;
  beam_error err = {0};
  beam_run_result r = {0};
  beam_status s = beam_pipeline_encode(p, &proto, &err);
  beam_portable_options o = {.job_endpoint = endpoint, .job_name = "bench-harness-c", .quiet = true};
  if (s == BEAM_OK) s = local ? beam_run_local(proto.data, proto.len, NULL, &r, &err)
                              : beam_run_portable(proto.data, proto.len, &o, &r, &err);
  if (s == BEAM_OK)
    printf("bench_harness: elements=%lld kept=%lld sum=%lld wall=%.3f runner=%s\n", n,
           (long long)beam_run_result_counter(&r, NULL, "bench:kept"), (long long)beam_run_result_counter(&r, NULL, "bench:sum"),
           r.elapsed_seconds, local ? "local" : endpoint);
  else
    fprintf(stderr, "bench_harness: %s\n", err.message);
  beam_run_result_free(&r);
  beam_buf_free(&proto);
  beam_pipeline_free(p);
  return s == BEAM_OK ? 0 : 1;
}
