/* BigQuery's REST API v2 (https://bigquery.googleapis.com/bigquery/v2/...): the calls the
 * BigQuery sink needs, on the shared HTTP layer (retries on 429/5xx/resets) and credentials.
 *
 * Endpoint: options.endpoint when given, else BIGQUERY_EMULATOR_HOST ("host:port" or a URL),
 * else https://bigquery.googleapis.com. Against an emulator (either override) no
 * credentials are sent; otherwise Application Default Credentials (beam/gcp_auth.h).
 *
 * Every call that can be repeated safely is: datasets.insert and tables.insert answer 409
 * when a first attempt already created the resource (reported as existed = true),
 * insertAll rows carry insertIds (BigQuery deduplicates them best-effort), and a load job
 * has the caller's jobId, so a repeated jobs.insert finds the first job (409) and waits for
 * it instead of loading twice.
 *
 * A client is NOT thread-safe (one HTTP connection); credentials may be shared. */
#ifndef BEAM_BIGQUERY_H
#define BEAM_BIGQUERY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "beam/gcp_auth.h"
#include "beam/http.h"
#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_bq beam_bq;

typedef struct beam_bq_options {
  const char *endpoint;          /* NULL: BIGQUERY_EMULATOR_HOST or the real service */
  beam_gcp_auth *auth;           /* borrowed; NULL: ADC (anonymous against an emulator) */
  const beam_http_options *http; /* NULL: defaults */
  long job_timeout_ms;           /* how long to wait for a load job; default 600000 */
} beam_bq_options;

beam_status beam_bq_new(const char *project, const beam_bq_options *opts, beam_bq **out,
                        beam_error *err);
/* Releases the client (NULL is fine). */
void beam_bq_free(beam_bq *b);
/* The API root requests go to (the default, or the emulator/fake given in the options). */
const char *beam_bq_endpoint(const beam_bq *b);
/* The project jobs and tables belong to. */
const char *beam_bq_project(const beam_bq *b);

/* Creates the dataset unless it exists (datasets.get, then datasets.insert; 409 = exists).
 * location NULL: the service's default. */
beam_status beam_bq_ensure_dataset(beam_bq *b, const char *dataset, const char *location,
                                   beam_error *err);

/* tables.get: *table receives the Table resource (caller json_decref's), or NULL with
 * BEAM_OK when the table does not exist. */
beam_status beam_bq_get_table(beam_bq *b, const char *dataset, const char *table, json_t **out,
                              beam_error *err);

/* tables.insert of a Table resource; *existed = true when the service answered 409. */
beam_status beam_bq_insert_table(beam_bq *b, const char *dataset, const json_t *resource,
                                 bool *existed, beam_error *err);

/* tables.patch: replaces the members of the table given in patch (a partial Table
 * resource; a "schema" replaces the whole field list, so it must hold every existing field).
 * On BEAM_OK *out (may be NULL) receives the updated Table; on failure *status (may be NULL)
 * is the HTTP status (400: the service refused the change). */
beam_status beam_bq_patch_table(beam_bq *b, const char *dataset, const char *table, const json_t *patch,
                                json_t **out, long *status, beam_error *err);

/* tabledata.insertAll with a ready TableDataInsertAllRequest body. On BEAM_OK *out is the
 * response (insertErrors inside, if any). A request the service refuses as a whole
 * (HTTP 4xx after the HTTP layer's retries) is an error with *status set (400, 413, ...) so
 * the caller can split it; *out is then NULL. */
beam_status beam_bq_insert_all(beam_bq *b, const char *dataset, const char *table,
                               const char *body, size_t len, json_t **out, long *status,
                               beam_error *err);

/* A load job: jobs.insert with a multipart upload of data (the bytes of the load, e.g.
 * NEWLINE_DELIMITED_JSON) under job_id, then jobs.get until DONE. configuration is the
 * JobConfiguration ({"load": {...}}). A job that already exists under job_id (a retry) is
 * waited for, not loaded again. BEAM_OK when the job is DONE; *job (may be NULL) receives
 * the final Job resource, errorResult included: the caller decides what a failed job
 * means. A job still running at job_timeout_ms is BEAM_ERR_IO. */
beam_status beam_bq_load(beam_bq *b, const char *job_id, const char *location,
                         const json_t *configuration, const void *data, size_t len,
                         json_t **job, beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
