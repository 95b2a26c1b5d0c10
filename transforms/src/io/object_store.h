/* A flat namespace of immutable objects: a GCS bucket prefix or a local directory. The
 * object-file sinks (sinks/sink_objects.c) are written once against this and run on both.
 *
 * Names are relative ("events/2024/01/02/03/part-x.jsonl") and joined to the store's root.
 * put_if_absent never overwrites: an existing name reports created = false, so writes keyed
 * by deterministic names are idempotent. A put makes the object visible whole or not at all
 * (GCS: resumable upload finalized at the end; directory: a complete temporary file linked
 * into place). */
#ifndef BEAM_OBJECT_STORE_H
#define BEAM_OBJECT_STORE_H

#include <stdbool.h>

#include "beam/buf.h"
#include "beam/http.h"
#include "beam/status.h"

typedef struct beam_object_store beam_object_store;

typedef struct beam_object_store_ops {
  beam_status (*put_if_absent)(beam_object_store *st, const char *name, beam_http_read_fn read,
                               beam_http_rewind_fn rewind, void *ctx, bool *created,
                               beam_error *err);
  /* Whole content of a small object; BEAM_ERR_NOT_FOUND when absent. */
  beam_status (*get)(beam_object_store *st, const char *name, beam_buf *out, beam_error *err);
  /* BEAM_ERR_NOT_FOUND when absent. */
  beam_status (*remove)(beam_object_store *st, const char *name, beam_error *err);
  /* Calls each(ctx, name) for every object directly under the folder prefix ("a/b/", ending
   * in '/'; names are relative to the root, like the others) whose name is from from
   * (included) to to (excluded), either NULL for no bound, in no promised order. GCS sends
   * only those names; a directory reads all. A missing folder lists nothing. A non-OK return
   * from each stops and is returned. */
  beam_status (*list)(beam_object_store *st, const char *prefix, const char *from, const char *to,
                      beam_status (*each)(void *ctx, const char *name, beam_error *err), void *ctx,
                      beam_error *err);
  void (*free)(beam_object_store *st);
} beam_object_store_ops;

struct beam_object_store {
  const beam_object_store_ops *ops;
  char *root;   /* "gs://bucket/prefix" or the directory, for messages */
  bool no_sync; /* directory: skip fsync */
};

/* put_if_absent of a NUL-terminated text (a marker, a ledger segment). */
beam_status beam_object_store_put_text(beam_object_store *st, const char *name, const char *text, bool *created,
                                       beam_error *err);

/* "gs://BUCKET[/PREFIX]" (STORAGE_EMULATOR_HOST honoured). */
beam_status beam_object_store_gcs_open(const char *uri, beam_object_store **out, beam_error *err);
/* A directory, created (with parents) if missing. */
beam_status beam_object_store_dir_open(const char *dir, bool no_sync, beam_object_store **out,
                                       beam_error *err);

#endif
