/* The stage-based local runner: the same results for every --parallelism, GroupByKey spilling
 * under a tiny --memory_budget, temporary files that never outlive the run (kill -9
 * included), a full temp dir named in the error, a failing bundle failing the run, and the
 * shuffle and option parsing underneath. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "beam/coder.h"
#include "beam/dofn.h"
#include "beam/pipeline.h"
#include "beam/runner.h"
#include "exec_nodes.h"
#include "local_options.h"
#include "local_shuffle.h"
#include "local_shuffle_sort.h"
#include "local_stages.h"
#include "proto_names.h"

/* --- DoFns ------------------------------------------------------------------------------- */

/* Emits config.n integers 0..n-1. */
static beam_status numbers_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  *(int64_t *)state = json_integer_value(json_object_get(beam_dofn_config(ctx), "n"));
  return BEAM_OK;
}
static beam_status numbers_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)elem;
  for (int64_t i = 0; i < *(int64_t *)state; i++) {
    beam_value v = beam_value_int64(i);
    beam_status s = beam_dofn_emit(ctx, 0, &v, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}
static const beam_dofn_def numbers = {"par_numbers", sizeof(int64_t), numbers_setup, NULL, numbers_process, NULL, NULL};

/* i -> KV<"k%05d" of i mod config.k, i>. */
static beam_status key_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  char key[16];
  int n = snprintf(key, sizeof key, "k%05lld", (long long)(elem->value->u.i64 % *(int64_t *)state));
  beam_value k = beam_value_string(key, (size_t)n);
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&k, elem->value}};
  return beam_dofn_emit(ctx, 0, &kv, err);
}
static beam_status key_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  *(int64_t *)state = json_integer_value(json_object_get(beam_dofn_config(ctx), "k"));
  return BEAM_OK;
}
static const beam_dofn_def keyer = {"par_key", sizeof(int64_t), key_setup, NULL, key_process, NULL, NULL};

/* Spill files of the run: descriptors of this process on deleted files under the temp dir. */
static char temp_dir[256];
static atomic_int max_spill_fds;
static int count_spill_fds(pid_t pid, const char *dir) {
  char path[64], link[512];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    char fd_path[600];
    snprintf(fd_path, sizeof fd_path, "%s/%s", path, e->d_name);
    ssize_t len = readlink(fd_path, link, sizeof link - 1);
    if (len <= 0) continue;
    link[len] = '\0';
    if (strncmp(link, dir, strlen(dir)) == 0 && link[strlen(dir)] == '/' && strstr(link, "(deleted)")) n++;
  }
  if (d) closedir(d);
  return n;
}

/* KV<key, [values]> -> KV<key, sum * 100 + weight * 10 + |sizes|>, reading both side inputs;
 * notes how many spill files are open while groups are read back. */
typedef struct sum_state { int groups, values; } sum_state; /* counter ids, per instance */
static beam_status sum_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  sum_state *st = state;
  st->groups = beam_dofn_declare_counter(ctx, "groups");
  st->values = beam_dofn_declare_counter(ctx, "values");
  return BEAM_OK;
}
static beam_status sum_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  sum_state *st = state;
  const beam_value *key = elem->value->u.kv.key;
  const beam_value_list *values = &elem->value->u.kv.value->u.list, *sizes, *weight;
  beam_status s = beam_dofn_side_input(ctx, "sizes", &sizes, err);
  if (s == BEAM_OK) s = beam_dofn_side_input_lookup(ctx, "weights", key, &weight, err);
  if (s != BEAM_OK) return s;
  if (temp_dir[0]) {
    int n = count_spill_fds(getpid(), temp_dir);
    for (int seen = atomic_load(&max_spill_fds); n > seen && !atomic_compare_exchange_weak(&max_spill_fds, &seen, n);) {
    }
  }
  int64_t sum = 0;
  for (size_t i = 0; i < values->len; i++) sum += values->items[i].u.i64;
  int64_t w = weight->len == 1 ? weight->items[0].u.i64 : -1;
  beam_value out = beam_value_int64(sum * 100 + w * 10 + (int64_t)sizes->len);
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {(beam_value *)key, &out}};
  beam_dofn_counter_add(ctx, st->groups, 1);
  beam_dofn_counter_add(ctx, st->values, (int64_t)values->len);
  return beam_dofn_emit(ctx, 0, &kv, err);
}
static const beam_dofn_def summer = {"par_sum", sizeof(sum_state), sum_setup, NULL, sum_process, NULL, NULL};

/* i -> KV<"k%05d" of i, i mod 7>: the weights side input (one per key). */
static beam_status weight_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  char key[16];
  int n = snprintf(key, sizeof key, "k%05lld", (long long)elem->value->u.i64);
  beam_value k = beam_value_string(key, (size_t)n), w = beam_value_int64(elem->value->u.i64 % 7);
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&k, &w}};
  return beam_dofn_emit(ctx, 0, &kv, err);
}
static const beam_dofn_def weigher = {"par_weight", 0, NULL, NULL, weight_process, NULL, NULL};

/* Sums a hash of every "key=value" it sees: an order-free fingerprint of the multiset. */
static atomic_uint_fast64_t fp_sum, fp_sq, fp_count;
static uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}
static beam_status record_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state, (void)ctx, (void)err;
  const beam_value *k = elem->value->u.kv.key;
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < k->u.bytes.len; i++) h = (h ^ ((const uint8_t *)k->u.bytes.data)[i]) * 1099511628211ULL;
  h = mix(h ^ mix((uint64_t)elem->value->u.kv.value->u.i64));
  atomic_fetch_add(&fp_sum, h);
  atomic_fetch_add(&fp_sq, h * h);
  atomic_fetch_add(&fp_count, 1);
  return BEAM_OK;
}
static const beam_dofn_def recorder = {"par_record", 0, NULL, NULL, record_process, NULL, NULL};

static beam_status fail_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state, (void)ctx;
  const beam_value *k = elem->value->u.kv.key;
  if (k->u.bytes.len == 6 && memcmp(k->u.bytes.data, "k00042", 6) == 0)
    return beam_error_set(err, BEAM_ERR_USER, "group k00042 is not allowed");
  return BEAM_OK;
}
static const beam_dofn_def failer = {"par_fail", 0, NULL, NULL, fail_process, NULL, NULL};

/* Counts bundles and elements: the transform marked as sdf_process gets one element each. */
static atomic_int marked_bundles, marked_elements;
static beam_status count_start(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  (void)state, (void)ctx, (void)err;
  atomic_fetch_add(&marked_bundles, 1);
  return BEAM_OK;
}
static beam_status count_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state, (void)ctx, (void)elem, (void)err;
  atomic_fetch_add(&marked_elements, 1);
  return BEAM_OK;
}
static const beam_dofn_def counter = {"par_count_bundles", 0, NULL, count_start, count_process, NULL, NULL};

static int setup(void **state) {
  (void)state;
  beam_dofn_register(&numbers);
  beam_dofn_register(&keyer);
  beam_dofn_register(&summer);
  beam_dofn_register(&weigher);
  beam_dofn_register(&recorder);
  beam_dofn_register(&failer);
  beam_dofn_register(&counter);
  return 0;
}

/* --- the pipeline ------------------------------------------------------------------------ */

/* Impulse -> n numbers -> keyed by i mod k -> GroupByKey -> Sum (side inputs: weights per key,
 * 5 sizes) -> Flatten with the keyed numbers themselves (a level-0 PCollection meeting a
 * level-1 one: materialized between stages) -> Record. tail: the DoFn after Sum instead. */
static beam_pipeline *build(int64_t n, int64_t k, const char *tail) {
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *imp = beam_impulse(p, "Impulse");
  char cfg[64];
  snprintf(cfg, sizeof cfg, "{\"n\": %lld}", (long long)n);
  beam_pcollection *nums = beam_pardo1(p, "Numbers", imp, "par_numbers", cfg, beam_coder_spec_varint(p));
  beam_coder_spec *kv = beam_coder_spec_kv(p, beam_coder_spec_string(p), beam_coder_spec_varint(p));
  snprintf(cfg, sizeof cfg, "{\"k\": %lld}", (long long)k);
  beam_pcollection *keyed = beam_pardo1(p, "Key", nums, "par_key", cfg, kv);
  beam_pcollection *grouped = beam_group_by_key(p, "Group", keyed);
  snprintf(cfg, sizeof cfg, "{\"n\": %lld}", (long long)k);
  beam_pcollection *ids = beam_pardo1(p, "KeyIds", imp, "par_numbers", cfg, beam_coder_spec_varint(p));
  beam_pcollection *weights = beam_pardo1(p, "Weights", ids, "par_weight", NULL, kv);
  beam_pcollection *sizes = beam_pardo1(p, "Sizes", imp, "par_numbers", "{\"n\": 5}", beam_coder_spec_varint(p));
  beam_side_input_spec sides[] = {{"weights", weights, BEAM_SIDE_INPUT_MULTIMAP}, {"sizes", sizes, BEAM_SIDE_INPUT_ITERABLE}};
  beam_pardo_spec spec = {.dofn = "par_sum", .n_outputs = 1, .output_coders = &kv, .side_inputs = sides, .n_side_inputs = 2};
  beam_pcollection *sums = NULL;
  beam_pardo(p, "Sum", grouped, &spec, &sums);
  if (tail) {
    beam_pardo1(p, "Tail", grouped, tail, NULL, kv);
  } else {
    beam_pcollection *both[] = {sums, keyed};
    beam_pcollection *all = beam_flatten(p, "SumsAndNumbers", both, 2);
    beam_pardo1(p, "Record", all, "par_record", NULL, kv);
  }
  assert_null(beam_pipeline_error(p));
  return p;
}

typedef struct fingerprint {
  uint64_t sum, sq, count;
  int64_t groups, values;
} fingerprint;

static beam_status run(beam_pipeline *p, json_t *opts, fingerprint *fp, beam_error *err) {
  atomic_store(&fp_sum, 0);
  atomic_store(&fp_sq, 0);
  atomic_store(&fp_count, 0);
  beam_run_result r = {0};
  beam_status s = beam_pipeline_run_local(p, opts, &r, err);
  json_decref(opts);
  if (fp) {
    *fp = (fingerprint){atomic_load(&fp_sum), atomic_load(&fp_sq), atomic_load(&fp_count),
                        beam_run_result_counter(&r, "Sum", "groups"), beam_run_result_counter(&r, "Sum", "values")};
  }
  beam_run_result_free(&r);
  return s;
}

static void assert_same(const fingerprint *a, const fingerprint *b) {
  assert_int_equal(a->count, b->count);
  assert_int_equal(a->sum, b->sum);
  assert_int_equal(a->sq, b->sq);
  assert_int_equal(a->groups, b->groups);
  assert_int_equal(a->values, b->values);
}

static void make_temp_dir(void) {
  const char *base = getenv("TMPDIR");
  snprintf(temp_dir, sizeof temp_dir, "%s/beam-par-XXXXXX", base && *base ? base : "/tmp");
  assert_non_null(mkdtemp(temp_dir));
}

static int dir_entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  if (d) closedir(d);
  return n;
}

/* --- tests ------------------------------------------------------------------------------- */

static void same_results_for_every_parallelism(void **state) {
  (void)state;
  beam_pipeline *p = build(20000, 300, NULL);
  beam_error err = {0};
  fingerprint fp[3];
  const int levels[] = {1, 2, 4};
  for (int i = 0; i < 3; i++) {
    /* A small budget makes many bundles per stage input, so threads really share the work. */
    json_t *o = json_pack("{s:i, s:s}", "parallelism", levels[i], "memory_budget", "4M");
    if (run(p, o, &fp[i], &err) != BEAM_OK) fail_msg("parallelism %d: %s", levels[i], err.message);
  }
  assert_int_equal(fp[0].count, 20000 + 300);
  assert_int_equal(fp[0].groups, 300);
  assert_int_equal(fp[0].values, 20000);
  assert_same(&fp[0], &fp[1]);
  assert_same(&fp[0], &fp[2]);
  beam_pipeline_free(p);
}

static void spilling_gives_the_same_groups(void **state) {
  (void)state;
  beam_pipeline *p = build(30000, 1000, NULL);
  beam_error err = {0};
  fingerprint in_memory, spilled;
  if (run(p, json_pack("{s:i}", "parallelism", 2), &in_memory, &err) != BEAM_OK) fail_msg("%s", err.message);
  make_temp_dir();
  atomic_store(&max_spill_fds, 0);
  json_t *o = json_pack("{s:i, s:s, s:s}", "parallelism", 2, "memory_budget", "64K", "temp_dir", temp_dir);
  if (run(p, o, &spilled, &err) != BEAM_OK) fail_msg("%s", err.message);
  int seen = atomic_load(&max_spill_fds);
  int left_open = count_spill_fds(getpid(), temp_dir);
  int left_named = dir_entries(temp_dir);
  rmdir(temp_dir);
  temp_dir[0] = '\0';
  assert_same(&in_memory, &spilled);
  assert_true(seen >= 1);          /* runs were spilled, into deleted files under temp_dir */
  assert_int_equal(left_open, 0);  /* every spill file closed after the run */
  assert_int_equal(left_named, 0); /* and none ever had a name there */
  beam_pipeline_free(p);
}

static void kill_mid_spill_leaves_nothing(void **state) {
  (void)state;
  make_temp_dir();
  char dir[256];
  snprintf(dir, sizeof dir, "%s", temp_dir);
  temp_dir[0] = '\0';
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    beam_pipeline *p = build(3000000, 100000, NULL);
    beam_error err = {0};
    run(p, json_pack("{s:i, s:s, s:s}", "parallelism", 2, "memory_budget", "64K", "temp_dir", dir), NULL, &err);
    _exit(0);
  }
  int spilling = 0;
  for (int i = 0; i < 2000 && !spilling; i++) { /* up to 20 s */
    spilling = count_spill_fds(pid, dir);
    if (!spilling) usleep(10000);
  }
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  int left = dir_entries(dir);
  rmdir(dir);
  assert_true(spilling >= 1);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(left, 0);
}

static void full_temp_dir_is_named_in_the_error(void **state) {
  (void)state;
  make_temp_dir();
  char dir[256];
  snprintf(dir, sizeof dir, "%s", temp_dir);
  temp_dir[0] = '\0';
  if (mount("tmpfs", dir, "tmpfs", 0, "size=64k") != 0) {
    int e = errno;
    rmdir(dir);
    print_message("skipped: cannot mount a small tmpfs here (%s)\n", strerror(e));
    skip();
  }
  beam_pipeline *p = build(200000, 50000, "par_fail"); /* no Flatten: the GroupByKey spills */
  beam_error err = {0};
  beam_status s = run(p, json_pack("{s:i, s:s, s:s}", "parallelism", 2, "memory_budget", "64K", "temp_dir", dir), NULL, &err);
  umount(dir);
  rmdir(dir);
  beam_pipeline_free(p);
  assert_int_equal(s, BEAM_ERR_IO);
  char want[400];
  snprintf(want, sizeof want, "no space left on %s while spilling GroupByKey Group: set --temp_dir", dir);
  if (!strstr(err.message, want)) fail_msg("message: %s", err.message);
}

static void failing_bundle_fails_the_run(void **state) {
  (void)state;
  beam_pipeline *p = build(20000, 300, "par_fail");
  beam_error err = {0};
  beam_status s = run(p, json_pack("{s:i, s:s}", "parallelism", 4, "memory_budget", "1M"), NULL, &err);
  assert_int_equal(s, BEAM_ERR_USER);
  assert_non_null(strstr(err.message, "group k00042 is not allowed"));
  beam_pipeline_free(p);
}

static void bad_options_are_refused(void **state) {
  (void)state;
  beam_pipeline *p = build(10, 3, NULL);
  beam_error err = {0};
  assert_int_equal(run(p, json_pack("{s:i}", "parallelism", 0), NULL, &err), BEAM_ERR_INVALID_ARG);
  assert_int_equal(run(p, json_pack("{s:s}", "memory_budget", "lots"), NULL, &err), BEAM_ERR_INVALID_ARG);
  fingerprint fp;
  if (run(p, json_pack("{s:s, s:s}", "parallelism", "3", "memory_budget", "1G"), &fp, &err) != BEAM_OK)
    fail_msg("%s", err.message);
  assert_int_equal(fp.count, 13);
  beam_pipeline_free(p);
}

static void sizes_and_cpus(void **state) {
  (void)state;
  int64_t v = 0;
  assert_true(beam_local_parse_bytes("256M", &v) && v == 256LL << 20);
  assert_true(beam_local_parse_bytes("1G", &v) && v == 1LL << 30);
  assert_true(beam_local_parse_bytes("64KiB", &v) && v == 64 << 10);
  assert_true(beam_local_parse_bytes("4096", &v) && v == 4096);
  assert_false(beam_local_parse_bytes("12Q", &v));
  assert_false(beam_local_parse_bytes("-1", &v));
  assert_true(beam_local_cpu_count() >= 1);
  beam_local_options o;
  beam_error err = {0};
  assert_int_equal(beam_local_options_read(NULL, &o, &err), BEAM_OK);
  assert_int_equal(o.memory_budget, 256 << 20);
  assert_int_equal(o.parallelism, beam_local_cpu_count());
}

/* Two writers with tiny budgets, many runs each: merged down to the fan-in of the read
 * buffers, the merge yields every key once, in order, with all its values. */
static void shuffle_merges_spilled_runs(void **state) {
  (void)state;
  make_temp_dir();
  beam_shuffle *sh = NULL;
  beam_error err = {0};
  assert_int_equal(beam_shuffle_new("GroupByKey T", true, temp_dir, &sh, &err), BEAM_OK);
  beam_shuffle_writer *w[2];
  for (int i = 0; i < 2; i++) assert_int_equal(beam_shuffle_writer_new(sh, 512, &w[i], &err), BEAM_OK);
  enum { N = 5000, K = 97 };
  for (int i = 0; i < N; i++) {
    char key[8], val[16];
    snprintf(key, sizeof key, "%03d", (i * 31) % K);
    int vl = snprintf(val, sizeof val, "%d", i);
    assert_int_equal(beam_shuffle_write(w[i % 2], (const uint8_t *)key, 3, (const uint8_t *)val, (size_t)vl, &err), BEAM_OK);
  }
  assert_true(beam_shuffle_spilled_runs(sh) > 10);
  assert_int_equal(beam_shuffle_writer_close(w[0], true, &err), BEAM_OK);
  assert_int_equal(beam_shuffle_writer_close(w[1], false, &err), BEAM_OK);
  for (int pass = 0; pass < 2; pass++) { /* a shuffle can be read twice */
    beam_shuffle_reader *r = NULL;
    assert_int_equal(beam_shuffle_reader_open(sh, 8192, &r, &err), BEAM_OK);
    assert_true(beam_shuffle_spilled_runs(sh) <= 8); /* merged down to the fan-in first */
    beam_buf chunk = BEAM_BUF_INIT;
    int groups = 0, values = 0, last[K][2];
    bool seen[K] = {false};
    memset(last, -1, sizeof last);
    for (;;) {
      size_t n = 0;
      beam_buf_reset(&chunk);
      assert_int_equal(beam_shuffle_reader_next(r, &chunk, 100, SIZE_MAX, &n, &err), BEAM_OK);
      if (!n) break;
      const uint8_t *p = chunk.data, *end = chunk.data + chunk.len;
      while (p < end) {
        uint64_t kl, vl;
        assert_true(beam_shuffle_varint(&p, end, &kl));
        char key[8];
        snprintf(key, sizeof key, "%.*s", (int)kl, (const char *)p);
        assert_false(seen[atoi(key)]); /* each key in one group */
        seen[atoi(key)] = true;
        p += kl;
        groups++;
        while (*p++) {
          assert_true(beam_shuffle_varint(&p, end, &vl));
          char val[16];
          snprintf(val, sizeof val, "%.*s", (int)vl, (const char *)p);
          int v = atoi(val), *prev = &last[atoi(key)][v % 2];
          assert_true(v > *prev); /* one writer's values of a key come back in its write order */
          *prev = v;
          p += vl;
          values++;
        }
      }
    }
    assert_int_equal(groups, K);
    assert_int_equal(values, N);
    beam_buf_free(&chunk);
    beam_shuffle_reader_free(r);
  }
  beam_shuffle_free(sh);
  assert_int_equal(count_spill_fds(getpid(), temp_dir), 0);
  rmdir(temp_dir);
  temp_dir[0] = '\0';
}

/* Inputs of sdf_process_sized_element_and_restrictions are materialized and each element is a
 * bundle of its own: checked on an ordinary ParDo given that URN (run by the ParDo node). */
static void sdf_process_inputs_are_one_element_bundles(void **state) {
  (void)state;
  static beam_exec_node_factory as_pardo = {BEAM_LOCAL_URN_SDF_PROCESS, NULL};
  as_pardo.create = beam_exec_pardo_factory.create;
  assert_int_equal(beam_exec_register_factory(&as_pardo), BEAM_OK);
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *nums = beam_pardo1(p, "Numbers", beam_impulse(p, "Impulse"), "par_numbers", "{\"n\": 50}",
                                       beam_coder_spec_varint(p));
  beam_pardo1(p, "Mark", nums, "par_count_bundles", NULL, beam_coder_spec_varint(p));
  beam_buf proto = BEAM_BUF_INIT;
  beam_error err = {0};
  assert_int_equal(beam_pipeline_encode(p, &proto, &err), BEAM_OK);
  PIPE(Pipeline) *pl = PIPE_FN(pipeline__unpack)(NULL, proto.len, proto.data);
  assert_non_null(pl);
  int marked = 0;
  for (size_t i = 0; i < pl->components->n_transforms; i++) {
    PIPE(PTransform) *t = pl->components->transforms[i]->value;
    if (strcmp(t->unique_name, "Mark") != 0) continue;
    free(t->spec->urn);
    t->spec->urn = strdup(BEAM_LOCAL_URN_SDF_PROCESS);
    marked++;
  }
  assert_int_equal(marked, 1);
  beam_buf_reset(&proto);
  assert_int_equal(beam_buf_reserve(&proto, PIPE_FN(pipeline__get_packed_size)(pl)), BEAM_OK);
  proto.len = PIPE_FN(pipeline__pack)(pl, proto.data);
  PIPE_FN(pipeline__free_unpacked)(pl, NULL);
  atomic_store(&marked_bundles, 0);
  atomic_store(&marked_elements, 0);
  json_t *o = json_pack("{s:i}", "parallelism", 2);
  beam_run_result r = {0};
  if (beam_run_local(proto.data, proto.len, o, &r, &err) != BEAM_OK) fail_msg("%s", err.message);
  json_decref(o);
  beam_run_result_free(&r);
  beam_buf_free(&proto);
  beam_pipeline_free(p);
  assert_int_equal(atomic_load(&marked_elements), 50);
  assert_int_equal(atomic_load(&marked_bundles), 50);
}


/* The shuffle order is (hash, key bytes, write order) whichever sort runs (a comparison sort
 * below 512 entries, a radix sort above): hashes are forced to collide here, so that keys of
 * equal hash must still be told apart by their bytes and one key keeps its write order. */
static void shuffle_sort_orders_by_hash_key_and_write_order(void **state) {
  (void)state;
  for (size_t n = 100; n <= 5000; n += 4900) {
    beam_buf records = BEAM_BUF_INIT;
    beam_shuffle_entry *e = calloc(n, sizeof *e);
    assert_non_null(e);
    for (size_t i = 0; i < n; i++) {
      char key[16];
      int kl = snprintf(key, sizeof key, "k%zu", (i * 7919) % 97);
      e[i].offset = records.len;
      e[i].hash = (uint64_t)((i * 7919) % 97 % 5) << 40; /* 97 keys, 5 hashes */
      assert_int_equal(beam_coder_encode_varint(&records, (uint64_t)kl), BEAM_OK);
      assert_int_equal(beam_buf_append(&records, key, (size_t)kl), BEAM_OK);
    }
    beam_error err = {0};
    assert_int_equal(beam_shuffle_sort(e, n, records.data, &err), BEAM_OK);
    for (size_t i = 1; i < n; i++) {
      uint64_t al, bl;
      const uint8_t *a = beam_shuffle_record_key(records.data + e[i - 1].offset, &al);
      const uint8_t *b = beam_shuffle_record_key(records.data + e[i].offset, &bl);
      int c = beam_shuffle_key_order(e[i - 1].hash, a, al, e[i].hash, b, bl);
      assert_true(c < 0 || (c == 0 && e[i - 1].offset < e[i].offset));
    }
    free(e);
    beam_buf_free(&records);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(same_results_for_every_parallelism, setup),
      cmocka_unit_test_setup(spilling_gives_the_same_groups, setup),
      cmocka_unit_test_setup(kill_mid_spill_leaves_nothing, setup),
      cmocka_unit_test_setup(full_temp_dir_is_named_in_the_error, setup),
      cmocka_unit_test_setup(failing_bundle_fails_the_run, setup),
      cmocka_unit_test_setup(bad_options_are_refused, setup),
      cmocka_unit_test_setup(sdf_process_inputs_are_one_element_bundles, setup),
      cmocka_unit_test(sizes_and_cpus),
      cmocka_unit_test(shuffle_merges_spilled_runs),
      cmocka_unit_test(shuffle_sort_orders_by_hash_key_and_write_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
