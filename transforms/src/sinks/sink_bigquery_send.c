/* Sending a table's rows to BigQuery: tabledata.insertAll requests, or one load job.
 *
 * insertAll: requests of at most rows_per_request rows and request_bytes bytes, each row
 * with an insertId: "rec-<record id>" for a row read from a file (beam_sink_record_id: table,
 * file identity, byte offset), else <bundle hash>-<row's position in
 * the bundle>-<hash of the row's JSON>. A request repeated by the HTTP layer (503, dropped
 * connection) or by a retried bundle - under the same bundle id, or for record ids under any
 * - carries the same ids, and BigQuery drops rows whose insertId it saw recently in the
 * table (best-effort). The row hash keeps two runs that happen to reuse a bundle id (runners
 * number bundles per job) from deduplicating each other's different rows.
 * skipInvalidRows is false, so a request with an invalid row inserts nothing: the invalid
 * rows come back in insertErrors with their reason (rejected: the caller dead-letters
 * them), the others with reason "stopped" and are sent again without the bad ones. Other
 * per-row reasons (backendError, timeout) are sent again a bounded number of times. A
 * request refused whole (400, 413: e.g. a row the service cannot parse) is split in two
 * until the offending row is alone, then that row is rejected with the service's message.
 *
 * Load job: at or above load_threshold rows the table's rows go as one
 * NEWLINE_DELIMITED_JSON load job (WRITE_APPEND, CREATE_NEVER, maxBadRecords 0), with the
 * jobId derived from the bundle id, the table and the data (a retry finds its job). A load
 * job that fails because of invalid data changes nothing in the table, and the rows are
 * then streamed with insertAll, which names the bad rows one by one. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "sink_bigquery_internal.h"

enum { TRANSIENT_ATTEMPTS = 5 };

static size_t row_begin(const bq_table *t, size_t i) { return i ? t->ends[i - 1] : 0; }
static size_t row_len(const bq_table *t, size_t i) { return t->ends[i] - 1 - row_begin(t, i); }
static const char *row_text(const bq_table *t, size_t i) { return (const char *)t->rows.data + row_begin(t, i); }

static uint64_t fnv1a64(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

static beam_status append_body(bq_sink *q, const bq_table *t, const size_t *idx, size_t k) {
  beam_buf *b = &q->body;
  beam_buf_reset(b);
  beam_status s = beam_buf_append_str(b, "{\"skipInvalidRows\":false,\"ignoreUnknownValues\":false,\"rows\":[");
  char id[96];
  for (size_t j = 0; s == BEAM_OK && j < k; j++) {
    size_t i = idx[j];
    const char *record_id = t->record_ids + i * (BEAM_SINK_RECORD_ID_LEN + 1);
    if (record_id[0])
      snprintf(id, sizeof id, "%s{\"insertId\":\"rec-%s\",\"json\":", j ? "," : "", record_id);
    else
      snprintf(id, sizeof id, "%s{\"insertId\":\"%.16s-%zu-%016" PRIx64 "\",\"json\":", j ? "," : "",
               q->bundle_hash, t->seqs[i], fnv1a64(row_text(t, i), row_len(t, i)));
    s = beam_buf_append_str(b, id);
    if (s == BEAM_OK) s = beam_buf_append(b, row_text(t, i), row_len(t, i));
    if (s == BEAM_OK) s = beam_buf_append_byte(b, '}');
  }
  if (s == BEAM_OK) s = beam_buf_append_str(b, "]}");
  if (s == BEAM_OK) s = beam_buf_terminate(b);
  return s;
}

static beam_status reject(beam_sink_row_errors *rejected, const bq_table *t, size_t i, const char *why) {
  return beam_sink_row_errors_add_row(rejected, t->seqs[i], row_text(t, i), row_len(t, i), "bigquery: %s", why);
}

/* The first error of an insertErrors entry as "reason: message (location)". */
static const char *describe(const json_t *errors, char *buf, size_t cap, bool *stopped, bool *invalid) {
  *stopped = true;
  *invalid = false;
  buf[0] = '\0';
  for (size_t e = 0; e < json_array_size(errors); e++) {
    const json_t *x = json_array_get(errors, e);
    const char *reason = json_string_value(json_object_get(x, "reason"));
    if (reason && strcmp(reason, "stopped") == 0) continue;
    *stopped = false;
    /* Anything but a transient server trouble says the row itself is bad. */
    bool transient = reason && (strcmp(reason, "backendError") == 0 || strcmp(reason, "internalError") == 0 ||
                                strcmp(reason, "timeout") == 0 || strcmp(reason, "rateLimitExceeded") == 0);
    if (!transient) *invalid = true;
    if (!buf[0]) {
      const char *msg = json_string_value(json_object_get(x, "message"));
      const char *loc = json_string_value(json_object_get(x, "location"));
      snprintf(buf, cap, "%s: %s%s%s%s", reason ? reason : "error", msg ? msg : "(no message)", loc && *loc ? " (field " : "",
               loc && *loc ? loc : "", loc && *loc ? ")" : "");
    }
  }
  return buf;
}

static beam_status send_rows(bq_sink *q, bq_table *t, size_t *idx, size_t k, beam_sink_row_errors *rejected,
                             beam_error *err);

/* A request refused whole: halve it, or reject the one row. */
static beam_status refused_whole(bq_sink *q, bq_table *t, size_t *idx, size_t k, beam_sink_row_errors *rejected,
                                 beam_error *err) {
  if (k == 1 && q->refusal_fails) return beam_error_prefix(err, "bigquery: table %s refused a row: ", t->name);
  if (k == 1) {
    beam_status s = reject(rejected, t, idx[0], err->message);
    beam_error_clear(err);
    return s == BEAM_OK ? BEAM_OK : beam_error_set(err, s, "out of memory");
  }
  beam_error_clear(err);
  beam_status s = send_rows(q, t, idx, k / 2, rejected, err);
  return s == BEAM_OK ? send_rows(q, t, idx + k / 2, k - k / 2, rejected, err) : s;
}

/* Sends rows idx[0..k) (within the request limits) until each is inserted or rejected.
 * idx is reordered: the rows to send again are compacted to its front. */
static beam_status send_rows(bq_sink *q, bq_table *t, size_t *idx, size_t k, beam_sink_row_errors *rejected,
                             beam_error *err) {
  int transient_rounds = 0;
  while (k > 0) {
    beam_status s = append_body(q, t, idx, k);
    if (s != BEAM_OK) return beam_error_set(err, s, "out of memory");
    json_t *resp = NULL;
    long status = 0;
    q->requests++;
    s = beam_bq_insert_all(q->bq, q->dataset, t->name, (const char *)q->body.data, q->body.len, &resp, &status, err);
    if (s != BEAM_OK && (status == 400 || status == 413)) return refused_whole(q, t, idx, k, rejected, err);
    if (s != BEAM_OK) return s;
    const json_t *errs = json_object_get(resp, "insertErrors");
    size_t again = 0, n_rejected = 0;
    bool transient = false;
    char why[600] = "";
    for (size_t e = 0; s == BEAM_OK && e < json_array_size(errs); e++) {
      const json_t *x = json_array_get(errs, e);
      json_int_t at = json_integer_value(json_object_get(x, "index"));
      if (at < 0 || (size_t)at >= k) continue;
      bool stopped, invalid;
      describe(json_object_get(x, "errors"), why, sizeof why, &stopped, &invalid);
      if (invalid) {
        s = reject(rejected, t, idx[at], why);
        n_rejected++;
        idx[at] = SIZE_MAX;
      } else {
        transient = transient || !stopped;
      }
    }
    /* Rows named in insertErrors but not rejected go again (to the front of idx, in order);
     * rows not named were inserted. */
    size_t n_errs = json_array_size(errs);
    size_t *next = n_errs ? malloc(n_errs * sizeof *next) : NULL;
    if (n_errs && !next) s = BEAM_ERR_NOMEM;
    for (size_t e = 0; s == BEAM_OK && e < n_errs; e++) {
      json_int_t at = json_integer_value(json_object_get(json_array_get(errs, e), "index"));
      if (at >= 0 && (size_t)at < k && idx[at] != SIZE_MAX) {
        next[again++] = idx[at];
        idx[at] = SIZE_MAX;
      }
    }
    if (again) memcpy(idx, next, again * sizeof *idx);
    free(next);
    json_decref(resp);
    if (s != BEAM_OK) return beam_error_set(err, s, "out of memory");
    if (n_rejected && q->refusal_fails)
      return beam_error_set(err, BEAM_ERR_IO, "bigquery: table %s refused a row: %s", t->name,
                            rejected->items[rejected->len - 1].reason);
    if (again && !n_rejected) {
      /* No progress this round: only transient trouble (or a server answering "stopped"
       * for no reason). Back off, give up after a few rounds: the bundle fails, is retried. */
      if (++transient_rounds >= TRANSIENT_ATTEMPTS || !transient)
        return beam_error_set(err, BEAM_ERR_IO, "bigquery: table %s: %zu rows not accepted after %d attempts: %s",
                              t->name, again, transient_rounds, why);
      struct timespec ts = {0, 100000000L << (transient_rounds > 3 ? 3 : transient_rounds)};
      nanosleep(&ts, NULL);
    }
    k = again;
  }
  return BEAM_OK;
}

static beam_status stream_table(bq_sink *q, bq_table *t, beam_sink_row_errors *rejected, beam_error *err) {
  size_t *idx = malloc((t->n ? t->n : 1) * sizeof *idx);
  if (!idx) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = BEAM_OK;
  size_t i = 0;
  while (s == BEAM_OK && i < t->n) {
    size_t k = 0, bytes = 128;
    while (i + k < t->n && k < q->rows_per_request) {
      size_t more = row_len(t, i + k) + 64; /* the row and its insertId wrapper */
      if (k > 0 && bytes + more > q->request_bytes) break;
      idx[k] = i + k;
      bytes += more;
      k++;
    }
    s = send_rows(q, t, idx, k, rejected, err);
    i += k;
  }
  free(idx);
  return s;
}

static void job_id(const bq_sink *q, const bq_table *t, char out[64]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, q->bundle_id, strlen(q->bundle_id) + 1) &&
      EVP_DigestUpdate(c, t->name, strlen(t->name) + 1) && EVP_DigestUpdate(c, t->rows.data, t->rows.len))
    EVP_DigestFinal_ex(c, md, &len);
  EVP_MD_CTX_free(c);
  int w = snprintf(out, 64, "beam_c_load_");
  for (unsigned i = 0; i < 20 && i < len; i++) w += snprintf(out + w, (size_t)(64 - w), "%02x", md[i]);
}

/* One load job for the table's rows. *fallback: the job failed on the data (nothing was
 * loaded): stream the rows instead, to learn which ones are bad. */
static beam_status load_table(bq_sink *q, bq_table *t, bool *fallback, beam_error *err) {
  char id[64];
  job_id(q, t, id);
  *fallback = false;
  json_t *config = json_pack("{s:{s:{s:s,s:s,s:s},s:s,s:s,s:s,s:i}}", "load", "destinationTable", "projectId",
                             q->project, "datasetId", q->dataset, "tableId", t->name, "sourceFormat",
                             "NEWLINE_DELIMITED_JSON", "writeDisposition", "WRITE_APPEND", "createDisposition",
                             "CREATE_NEVER", "maxBadRecords", 0);
  if (!config) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  json_t *job = NULL;
  q->load_jobs++;
  beam_status s = beam_bq_load(q->bq, id, q->location, config, t->rows.data, t->rows.len, &job, err);
  json_decref(config);
  const json_t *result = json_object_get(json_object_get(job, "status"), "errorResult");
  if (s == BEAM_OK && result) {
    const char *reason = json_string_value(json_object_get(result, "reason"));
    const char *msg = json_string_value(json_object_get(result, "message"));
    if (reason && strcmp(reason, "invalid") == 0) *fallback = true;
    else
      s = beam_error_set(err, BEAM_ERR_IO, "bigquery: load job %s into %s failed: %s: %s", id, t->name,
                         reason ? reason : "error", msg ? msg : "(no message)");
  }
  json_decref(job);
  return s;
}

beam_status beam_bq_send_table(bq_sink *q, bq_table *t, beam_sink_row_errors *rejected, beam_error *err) {
  if (t->n == 0) return BEAM_OK;
  beam_status s = BEAM_OK;
  bool stream = true;
  if (t->n >= q->load_threshold) {
    s = load_table(q, t, &stream, err);
  }
  if (s == BEAM_OK && stream) s = stream_table(q, t, rejected, err);
  beam_buf_reset(&t->rows);
  t->n = 0;
  return s;
}
