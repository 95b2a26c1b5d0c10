/* DoFn "etl_list_files": on the impulse, emits every input file as KV<index, name>, the index
 * its place in input order (0, 1, ...: what dedupe's "first row" is ordered by). Config
 * {"inputs": ["a.jsonl", "landing/", "gs://bucket/landing/"]}: a directory contributes its
 * regular files, recursively, in name order (hidden files skipped), so reruns see the same
 * order, and the entries it cannot look at (a dangling symlink: their read fails them). A gs:// input is an object, or else a prefix taken as a directory ("gs://b/dir"
 * lists "dir/..."; objects whose name ends in '/' or has a component starting with '.'
 * are skipped). A missing input is an error naming it: a typo must not become an empty,
 * "successful" run. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "beam/gcs.h"
#include "beam/log.h"
#include "beam/transforms/dir_walk.h"
#include "etl_dofn_common.h"

typedef struct list_state {
  const json_t *inputs;
  int c_files;
  int64_t next_index; /* of the file emitted next, in this call */
  beam_gcs *gcs; /* opened at the first gs:// input */
} list_state;

static beam_status list_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  list_state *st = state;
  st->inputs = json_object_get(beam_dofn_config(ctx), "inputs");
  if (!json_is_array(st->inputs) || json_array_size(st->inputs) == 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_list_files: config.inputs must be a non-empty list");
  st->c_files = beam_dofn_declare_counter(ctx, "files");
  return BEAM_OK;
}

static beam_status emit_path(beam_dofn_ctx *ctx, list_state *st, const char *path, beam_error *err) {
  beam_value index = beam_value_int64(st->next_index++), name = beam_value_string(path, strlen(path));
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&index, &name}};
  beam_dofn_counter_add(ctx, st->c_files, 1);
  return beam_dofn_emit(ctx, 0, &kv, err);
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static beam_status list_path(beam_dofn_ctx *ctx, list_state *st, const char *path, int depth,
                             const beam_dir_chain *up, beam_error *err);

static beam_status list_dir(beam_dofn_ctx *ctx, list_state *st, const char *dir, int depth, const beam_dir_chain *here,
                            beam_error *err) {
  DIR *d = opendir(dir);
  if (!d) return beam_error_set(err, BEAM_ERR_IO, "input %s: %s", dir, strerror(errno));
  char **names = NULL;
  size_t n = 0, cap = 0;
  beam_status s = BEAM_OK;
  for (struct dirent *e; s == BEAM_OK && (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      char **grown = realloc(names, cap * sizeof *grown);
      if (!grown) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory listing %s", dir);
      else names = grown;
    }
    if (s == BEAM_OK && !(names[n++] = strdup(e->d_name)))
      s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory listing %s", dir);
  }
  closedir(d);
  if (s == BEAM_OK && n) qsort(names, n, sizeof *names, compare_names);
  for (size_t i = 0; i < n; i++) {
    if (s == BEAM_OK && names[i]) {
      size_t len = strlen(dir) + strlen(names[i]) + 2;
      char *child = malloc(len);
      if (!child) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      else {
        snprintf(child, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
        s = list_path(ctx, st, child, depth + 1, here, err);
        free(child);
      }
    }
    free(names[i]);
  }
  free(names);
  return s;
}

static beam_status list_path(beam_dofn_ctx *ctx, list_state *st, const char *path, int depth,
                             const beam_dir_chain *up, beam_error *err) {
  struct stat sb;
  /* An entry that cannot be looked at (a dangling or looping symlink, no permission) goes on
   * as a file: its read fails it alone, with its _files row saying why, and the other files
   * load. A named input that is not there at all fails the run (a typo). */
  if (stat(path, &sb) != 0) {
    int e = errno;
    if (depth || lstat(path, &sb) == 0) return emit_path(ctx, st, path, err);
    return beam_error_set(err, BEAM_ERR_IO, "input %s: %s", path, strerror(e));
  }
  if (S_ISDIR(sb.st_mode)) {
    /* A symlink to a directory above it: its files are listed under their own names. */
    if (beam_dir_chain_has(up, &sb)) {
      beam_log(BEAM_LOG_WARN, "input %s: a symlink loop (a directory it is in): skipped", path);
      return BEAM_OK;
    }
    if (depth > 32) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "input %s: directories nested too deep", path);
    beam_dir_chain here = {sb.st_dev, sb.st_ino, up};
    return list_dir(ctx, st, path, depth, &here, err);
  }
  if (!S_ISREG(sb.st_mode)) return depth ? BEAM_OK : beam_error_set(err, BEAM_ERR_INVALID_ARG, "input %s: not a file", path);
  return emit_path(ctx, st, path, err);
}

/* ---- gs:// inputs ------------------------------------------------------------------- */

typedef struct gcs_listing {
  beam_dofn_ctx *ctx;
  list_state *st;
  const char *bucket;
  size_t found;
} gcs_listing;

static bool hidden_object(const char *name) {
  size_t n = strlen(name);
  if (!n || name[n - 1] == '/') return true; /* a "directory" placeholder */
  for (const char *p = name; *p; p++)
    if (*p == '.' && (p == name || p[-1] == '/')) return true;
  return false;
}

static beam_status emit_object(void *ctx, const char *name, int64_t size, beam_error *err) {
  (void)size;
  gcs_listing *l = ctx;
  if (hidden_object(name)) return BEAM_OK;
  size_t len = strlen(l->bucket) + strlen(name) + 7;
  char *uri = malloc(len);
  if (!uri) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  snprintf(uri, len, "gs://%s/%s", l->bucket, name);
  beam_status s = emit_path(l->ctx, l->st, uri, err);
  free(uri);
  l->found++;
  return s;
}

static beam_status list_gcs(beam_dofn_ctx *ctx, list_state *st, const char *uri, beam_error *err) {
  char *bucket, *object;
  beam_status s = beam_gcs_parse_uri(uri, &bucket, &object, err);
  if (s != BEAM_OK) return s;
  if (!st->gcs) s = beam_gcs_new(NULL, &st->gcs, err);
  beam_gcs_object_info info;
  beam_status found = BEAM_ERR_NOT_FOUND;
  if (s == BEAM_OK && *object && object[strlen(object) - 1] != '/') {
    found = beam_gcs_stat(st->gcs, bucket, object, &info, err);
    if (found == BEAM_OK) s = emit_path(ctx, st, uri, err);
    else if (found != BEAM_ERR_NOT_FOUND) s = found;
  }
  if (s == BEAM_OK && found == BEAM_ERR_NOT_FOUND) {
    size_t n = strlen(object);
    char *prefix = malloc(n + 2);
    if (!prefix) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    else {
      snprintf(prefix, n + 2, "%s%s", object, n && object[n - 1] != '/' ? "/" : "");
      gcs_listing l = {ctx, st, bucket, 0};
      s = beam_gcs_list(st->gcs, bucket, prefix, emit_object, &l, err);
      if (s == BEAM_OK && l.found == 0)
        s = beam_error_set(err, BEAM_ERR_NOT_FOUND, "input %s: no such object, and no objects under it", uri);
      free(prefix);
    }
  }
  if (s != BEAM_OK && s != BEAM_ERR_NOT_FOUND && s != BEAM_ERR_NOMEM) beam_error_prefix(err, "input %s: ", uri);
  free(bucket);
  free(object);
  return s;
}

static beam_status list_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  list_state *st = state;
  beam_status s = BEAM_OK;
  st->next_index = 0;
  for (size_t i = 0; s == BEAM_OK && i < json_array_size(st->inputs); i++) {
    const char *path = json_string_value(json_array_get(st->inputs, i));
    if (!path || !*path) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_list_files: inputs[%zu] is not a path", i);
    s = strncmp(path, "gs://", 5) == 0 ? list_gcs(ctx, st, path, err) : list_path(ctx, st, path, 0, NULL, err);
  }
  return s;
}

static void list_teardown(void *state) {
  list_state *st = state;
  beam_gcs_free(st->gcs);
  st->gcs = NULL;
}

const beam_dofn_def beam_etl_list_files_dofn = {
    .name = "etl_list_files",
    .state_size = sizeof(list_state),
    .setup = list_setup,
    .process = list_process,
    .teardown = list_teardown,
};
