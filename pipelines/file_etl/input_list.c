/* Input files and sizes for the per-file size dispatch (see input_list.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "beam/gcs.h"
#include "beam/transforms/dir_walk.h"
#include "input_list.h"

static beam_status add(file_etl_input_list *l, const char *path, size_t path_len, int64_t size, beam_error *err) {
  char **grown = realloc(l->paths, (l->n + 1) * sizeof *grown);
  if (grown) l->paths = grown;
  int64_t *sgrown = realloc(l->sizes, (l->n + 1) * sizeof *sgrown);
  if (sgrown) l->sizes = sgrown;
  char *copy = grown && sgrown ? strndup(path, path_len) : NULL;
  if (!copy) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory listing inputs");
  l->paths[l->n] = copy;
  l->sizes[l->n++] = size;
  return BEAM_OK;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static beam_status list_local(file_etl_input_list *l, const char *path, int depth, const beam_dir_chain *up,
                              beam_error *err) {
  struct stat sb;
  /* A directory's entry that cannot be looked at (a dangling symlink) is listed, as the
   * pipeline's ListFiles lists it, so that every run reports it failed. */
  if (stat(path, &sb) != 0) return depth ? add(l, path, strlen(path), 0, err) : BEAM_OK;
  if (S_ISREG(sb.st_mode)) return add(l, path, strlen(path), (int64_t)sb.st_size, err);
  /* A symlink loop is skipped, as ListFiles skips it. */
  DIR *d = S_ISDIR(sb.st_mode) && depth < 32 && !beam_dir_chain_has(up, &sb) ? opendir(path) : NULL;
  beam_dir_chain here = {sb.st_dev, sb.st_ino, up};
  if (!d) return BEAM_OK;
  char **names = NULL;
  size_t n = 0;
  beam_status s = BEAM_OK;
  for (struct dirent *e; s == BEAM_OK && (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char **grown = realloc(names, (n + 1) * sizeof *grown);
    if (!grown || !(grown[n] = strdup(e->d_name))) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    if (grown) names = grown;
    if (s == BEAM_OK) n++;
  }
  closedir(d);
  if (n) qsort(names, n, sizeof *names, compare_names); /* the order the pipeline reads in */
  for (size_t i = 0; i < n; i++) {
    char child[4096];
    int len = snprintf(child, sizeof child, "%s/%s", path, names[i]);
    if (s == BEAM_OK && len > 0 && (size_t)len < sizeof child) s = list_local(l, child, depth + 1, &here, err);
    free(names[i]);
  }
  free(names);
  return s;
}

typedef struct gcs_lister {
  file_etl_input_list *l;
  const char *bucket;
  const char *prefix;
} gcs_lister;

static beam_status on_object(void *ctx, const char *name, int64_t size, beam_error *err) {
  gcs_lister *g = ctx;
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  if (base[0] == '.' || !base[0]) return BEAM_OK; /* hidden objects and "directory" markers */
  /* gs://b/data matches data and data/...; not data2/... */
  size_t pn = strlen(g->prefix);
  if (pn && name[pn] != '\0' && name[pn] != '/' && g->prefix[pn - 1] != '/') return BEAM_OK;
  char uri[4096];
  int len = snprintf(uri, sizeof uri, "gs://%s/%s", g->bucket, name);
  if (len <= 0 || (size_t)len >= sizeof uri) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "object name too long");
  return add(g->l, uri, (size_t)len, size, err);
}

static beam_status list_gcs(file_etl_input_list *l, beam_gcs **gcs, const char *uri, beam_error *err) {
  beam_gcs_options go = {0};
  if (!*gcs && beam_gcs_new(&go, gcs, err) != BEAM_OK) return BEAM_ERR_IO;
  char *bucket = NULL, *object = NULL;
  beam_status s = beam_gcs_parse_uri(uri, &bucket, &object, err);
  gcs_lister g = {l, bucket, object};
  if (s == BEAM_OK) s = beam_gcs_list(*gcs, bucket, object, on_object, &g, err);
  free(bucket);
  free(object);
  return s == BEAM_OK ? s : beam_error_prefix(err, "listing %s: ", uri);
}

beam_status file_etl_list_inputs(const char *const *inputs, size_t n_inputs, file_etl_input_list *out,
                                 beam_error *err) {
  memset(out, 0, sizeof *out);
  beam_gcs *gcs = NULL;
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < n_inputs; i++) {
    size_t before = out->n;
    s = strncmp(inputs[i], "gs://", 5) == 0 ? list_gcs(out, &gcs, inputs[i], err)
                                            : list_local(out, inputs[i], 0, NULL, err);
    if (s == BEAM_OK && out->n == before) s = add(out, inputs[i], strlen(inputs[i]), 0, err);
  }
  beam_gcs_free(gcs);
  if (s != BEAM_OK) file_etl_input_list_free(out);
  return s;
}

void file_etl_input_list_free(file_etl_input_list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->paths[i]);
  free(l->paths);
  free(l->sizes);
  memset(l, 0, sizeof *l);
}

beam_status file_etl_check_inputs(const char *const *inputs, size_t n_inputs, beam_error *err) {
  for (size_t i = 0; i < n_inputs; i++) {
    struct stat sb;
    if (strstr(inputs[i], "://") || stat(inputs[i], &sb) == 0) continue;
    return beam_error_set(err, errno == ENOENT ? BEAM_ERR_NOT_FOUND : BEAM_ERR_IO, "--input %s: %s", inputs[i],
                          strerror(errno));
  }
  return BEAM_OK;
}

int64_t file_etl_local_input_bytes(const char *const *inputs, size_t n_inputs) {
  int64_t total = 0;
  beam_error err = {0};
  for (size_t i = 0; i < n_inputs; i++) {
    if (strncmp(inputs[i], "gs://", 5) == 0) continue;
    file_etl_input_list l = {0};
    if (list_local(&l, inputs[i], 0, NULL, &err) == BEAM_OK)
      for (size_t k = 0; k < l.n; k++) total += l.sizes[k];
    file_etl_input_list_free(&l);
  }
  return total;
}
