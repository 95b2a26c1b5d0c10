/* DoFn "etl_list_files": on the impulse, emits every input file name. Config
 * {"inputs": ["a.jsonl", "landing/"]}: a directory contributes its regular files, recursively,
 * in name order (hidden files skipped), so reruns see the same order. A missing input is an
 * error naming it: a typo must not become an empty, "successful" run. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "etl_dofn_common.h"

typedef struct list_state {
  const json_t *inputs;
  int c_files;
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
  beam_value v = beam_value_string(path, strlen(path));
  beam_dofn_counter_add(ctx, st->c_files, 1);
  return beam_dofn_emit(ctx, 0, &v, err);
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static beam_status list_path(beam_dofn_ctx *ctx, list_state *st, const char *path, int depth, beam_error *err);

static beam_status list_dir(beam_dofn_ctx *ctx, list_state *st, const char *dir, int depth, beam_error *err) {
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
        s = list_path(ctx, st, child, depth + 1, err);
        free(child);
      }
    }
    free(names[i]);
  }
  free(names);
  return s;
}

static beam_status list_path(beam_dofn_ctx *ctx, list_state *st, const char *path, int depth, beam_error *err) {
  struct stat sb;
  if (stat(path, &sb) != 0) return beam_error_set(err, BEAM_ERR_IO, "input %s: %s", path, strerror(errno));
  if (S_ISDIR(sb.st_mode)) {
    if (depth > 32) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "input %s: directories nested too deep", path);
    return list_dir(ctx, st, path, depth, err);
  }
  if (!S_ISREG(sb.st_mode)) return depth ? BEAM_OK : beam_error_set(err, BEAM_ERR_INVALID_ARG, "input %s: not a file", path);
  return emit_path(ctx, st, path, err);
}

static beam_status list_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  list_state *st = state;
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < json_array_size(st->inputs); i++) {
    const char *path = json_string_value(json_array_get(st->inputs, i));
    if (!path || !*path) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_list_files: inputs[%zu] is not a path", i);
    s = list_path(ctx, st, path, 0, err);
  }
  return s;
}

const beam_dofn_def beam_etl_list_files_dofn = {
    .name = "etl_list_files",
    .state_size = sizeof(list_state),
    .setup = list_setup,
    .process = list_process,
};
