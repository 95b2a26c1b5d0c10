/* The boot program's parts (beam/boot.h), separated so tests can drive each one. */
#ifndef BEAM_BOOT_INTERNAL_H
#define BEAM_BOOT_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "beam/status.h"
#include "fn_names.h"
#include "beam/sha256.h"

typedef struct beam_boot_flags {
  const char *id;
  const char *provision_endpoint;
  const char *logging_endpoint;
  const char *artifact_endpoint;
  const char *control_endpoint;
  const char *semi_persist_dir; /* default /tmp */
  const char *worker_binary;    /* NULL: the staged artifact, the environment, the image */
} beam_boot_flags;

/* Accepts --name=value, --name value and Go's single-dash forms. Unknown flags are written
 * to note (may be NULL) and skipped; a missing --provision_endpoint is BEAM_ERR_INVALID_ARG. */
beam_status beam_boot_parse_flags(int argc, char **argv, beam_boot_flags *f, FILE *note, beam_error *err);

/* One artifact being written: to <path>.part-<pid>, renamed to path once the bytes match the
 * expected sha256 (when the artifact carries one). */
typedef struct beam_boot_download {
  char *path;
  char *part;
  FILE *f;
  beam_sha256 hash;
  char *expected_sha256;
  const char *what; /* for messages: the artifact's name */
  size_t bytes;
} beam_boot_download;

beam_status beam_boot_download_begin(beam_boot_download *d, const char *dir, const char *name,
                                     const char *expected_sha256, beam_error *err);
beam_status beam_boot_download_write(beam_boot_download *d, const void *data, size_t len, beam_error *err);
/* Checks the digest and renames; a mismatch removes the file and is BEAM_ERR_MALFORMED. Frees d.
 * fd (may be NULL) receives a read-only descriptor of the checked file: workers of other jobs
 * sharing the directory may rename their own download over path, the descriptor stays ours. */
beam_status beam_boot_download_finish(beam_boot_download *d, int *fd, beam_error *err);
void beam_boot_download_abort(beam_boot_download *d);

/* A materialized artifact. */
typedef struct beam_boot_staged {
  char *path;        /* <dir>/<name> */
  char *staged_name; /* from the staging_to role, NULL when it had none */
  int fd;            /* read-only, of the checked file; -1 once taken */
  size_t bytes;
  bool sha256_checked; /* false: the artifact carried no sha256 (the Python job service drops it) */
} beam_boot_staged;

/* Fetches info's dependencies from the artifact retrieval service at endpoint (ResolveArtifacts
 * first when one is of a kind GetArtifact may not serve) into dir, which must exist. */
beam_status beam_boot_materialize(const char *endpoint, const char *worker_id, FN(ProvisionInfo) *info,
                                  const char *dir, beam_boot_staged **out, size_t *n_out, beam_error *err);
void beam_boot_staged_free(beam_boot_staged *staged, size_t n);

/* Everything up to the exec: the worker binary and its argv (NULL-terminated). */
typedef struct beam_boot_plan {
  char *worker;
  int worker_fd; /* a staged worker: exec'd through this descriptor; -1: exec the path */
  char **argv;
  size_t argc;
} beam_boot_plan;

/* Provisioning, materialization and the choice of worker binary (made executable). */
beam_status beam_boot_prepare(const beam_boot_flags *f, beam_boot_plan *plan, beam_error *err);
void beam_boot_plan_free(beam_boot_plan *plan);

#endif
