/* The object store on a GCS bucket prefix (see object_store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/gcs.h"
#include "object_store.h"

typedef struct gcs_store {
  beam_object_store base;
  beam_gcs *gcs;
  char *bucket;
  char *prefix; /* "" or ends with '/' */
} gcs_store;

static char *full_name(const gcs_store *g, const char *name) {
  size_t len = strlen(g->prefix) + strlen(name) + 1;
  char *s = malloc(len);
  if (s) snprintf(s, len, "%s%s", g->prefix, name);
  return s;
}

static beam_status gcs_put(beam_object_store *st, const char *name, beam_http_read_fn read,
                           beam_http_rewind_fn rewind, void *ctx, bool *created, beam_error *err) {
  gcs_store *g = (gcs_store *)st;
  char *obj = full_name(g, name);
  if (!obj) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_gcs_upload_options o = {.content_type = "application/x-ndjson", .only_if_absent = true};
  beam_status s = beam_gcs_upload(g->gcs, g->bucket, obj, &o, read, rewind, ctx, created, NULL, err);
  free(obj);
  return s;
}

/* A get reads markers and ledger segments (a bundle's marker lists its messages: a bundle of
 * 100,000 holds 8 MB of them); the cap keeps a misplaced large object out of memory. */
#define GET_MAX_BYTES ((size_t)64 << 20)

static beam_status collect(void *ctx, const void *data, size_t len, beam_error *err) {
  beam_buf *out = ctx;
  if (out->len + len > GET_MAX_BYTES)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "marker object larger than 64 MiB");
  return beam_buf_append(out, data, len) == BEAM_OK ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

static beam_status gcs_get(beam_object_store *st, const char *name, beam_buf *out, beam_error *err) {
  gcs_store *g = (gcs_store *)st;
  char *obj = full_name(g, name);
  if (!obj) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_buf_reset(out);
  beam_status s = beam_gcs_download(g->gcs, g->bucket, obj, 0, 0, -1, collect, out, err);
  if (s == BEAM_OK && beam_buf_terminate(out) != BEAM_OK) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  free(obj);
  return s;
}

static beam_status gcs_remove(beam_object_store *st, const char *name, beam_error *err) {
  gcs_store *g = (gcs_store *)st;
  char *obj = full_name(g, name);
  if (!obj) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = beam_gcs_delete(g->gcs, g->bucket, obj, err);
  free(obj);
  return s;
}

typedef struct list_ctx {
  const gcs_store *g;
  const char *folder; /* full name of the folder listed */
  beam_status (*each)(void *ctx, const char *name, beam_error *err);
  void *ctx;
} list_ctx;

/* GCS lists every name under the prefix; the folder's direct objects only are passed on. */
static beam_status list_one(void *ctx, const char *name, int64_t size, beam_error *err) {
  (void)size;
  list_ctx *l = ctx;
  const char *rest = name + strlen(l->folder);
  if (!*rest || strchr(rest, '/')) return BEAM_OK;
  return l->each(l->ctx, name + strlen(l->g->prefix), err);
}

static beam_status gcs_list(beam_object_store *st, const char *prefix, const char *from, const char *to,
                            beam_status (*each)(void *ctx, const char *name, beam_error *err), void *ctx,
                            beam_error *err) {
  gcs_store *g = (gcs_store *)st;
  char *folder = full_name(g, prefix), *start = from ? full_name(g, from) : NULL, *end = to ? full_name(g, to) : NULL;
  beam_status s = !folder || (from && !start) || (to && !end) ? beam_error_set(err, BEAM_ERR_NOMEM, "out of memory")
                                                               : BEAM_OK;
  list_ctx l = {g, folder, each, ctx};
  if (s == BEAM_OK) s = beam_gcs_list_range(g->gcs, g->bucket, folder, start, end, list_one, &l, err);
  free(folder);
  free(start);
  free(end);
  return s;
}

static void gcs_free(beam_object_store *st) {
  gcs_store *g = (gcs_store *)st;
  if (!g) return;
  beam_gcs_free(g->gcs);
  free(g->bucket);
  free(g->prefix);
  free(g->base.root);
  free(g);
}

static const beam_object_store_ops gcs_ops = {
    .put_if_absent = gcs_put,
    .get = gcs_get,
    .remove = gcs_remove,
    .list = gcs_list,
    .free = gcs_free,
};

beam_status beam_object_store_gcs_open(const char *uri, beam_object_store **out, beam_error *err) {
  *out = NULL;
  gcs_store *g = calloc(1, sizeof *g);
  if (!g) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  g->base.ops = &gcs_ops;
  char *object = NULL;
  beam_status s = beam_gcs_parse_uri(uri, &g->bucket, &object, err);
  if (s == BEAM_OK) {
    size_t n = strlen(object);
    while (n && object[n - 1] == '/') object[--n] = '\0';
    size_t len = n + 2;
    g->prefix = malloc(len);
    g->base.root = strdup(uri);
    if (!g->prefix || !g->base.root) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    else snprintf(g->prefix, len, "%s%s", object, n ? "/" : "");
  }
  free(object);
  if (s == BEAM_OK) s = beam_gcs_new(NULL, &g->gcs, err);
  if (s != BEAM_OK) {
    gcs_free(&g->base);
    return s;
  }
  *out = &g->base;
  return BEAM_OK;
}
