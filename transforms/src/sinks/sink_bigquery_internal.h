/* Shared by the BigQuery sink's files: sink_bigquery.c (bundles, the sink interface),
 * sink_bigquery_table.c (table resources and schema comparison), sink_bigquery_send.c
 * (insertAll requests and load jobs). */
#ifndef BEAM_SINK_BIGQUERY_INTERNAL_H
#define BEAM_SINK_BIGQUERY_INTERNAL_H

#include <jansson.h>

#include "beam/bigquery.h"
#include "beam/buf.h"
#include "beam/transforms/json_row_writer.h"
#include "sink_int.h"

/* One ensured table and the rows of the open bundle not yet sent. */
typedef struct bq_table bq_table;
struct bq_table {
  char *name;
  const beam_etl_schema *schema;
  beam_json_row_writer writer;
  beam_buf rows;     /* each row's JSON object followed by '\n' (also the load job's data) */
  size_t *ends;      /* row i is rows.data[ends[i-1] (or 0) .. ends[i]-1), newline excluded */
  size_t *seqs;      /* row i's position among the bundle's rows of this table */
  char *record_ids;  /* row i's beam_sink_record_id at [i * (BEAM_SINK_RECORD_ID_LEN + 1)], "" if none */
  size_t n, cap;
  size_t next_seq;   /* rows written to this table in the open bundle */
  beam_sink_row_errors refused; /* refused by a send made before beam_sink_send asked */
  /* A stream's table partitioned by ingestion day (timePartitioning without a field): a row
   * with an event time goes to the partition of its day through a partition decorator, into
   * the child "name$YYYYMMDD" for that day (rows, ends, seqs, record_ids and refused of its
   * own; the parent's writer; seqs the parent's). */
  bool by_event_day;
  bq_table *days;
  size_t n_days, cap_days;
  int64_t day; /* a child's: days since the epoch */
};

typedef struct bq_sink {
  beam_sink base;
  beam_bq *bq;
  char *project, *dataset, *location;
  bool dataset_ready;
  bq_table *tables;
  size_t n_tables, cap_tables;
  char *partition_field;
  char **cluster_fields;
  size_t n_cluster_fields;
  size_t rows_per_request;  /* insertAll rows per request (<= 50,000) */
  size_t request_bytes;     /* insertAll body budget (BigQuery's limit is 10 MB) */
  size_t max_row_bytes;     /* a row larger than this can never be sent: rejected */
  size_t load_threshold;    /* a table's unsent rows at or above this go by a load job */
  size_t bundle_bytes;      /* a table's unsent rows beyond this are sent before the bundle ends */
  char *bundle_id;
  char bundle_hash[33];     /* 128-bit hex of the bundle id: insertIds and jobIds */
  char **committed;         /* bundle ids committed by this sink (a retry writes nothing) */
  size_t n_committed, cap_committed;
  beam_buf body;            /* request body scratch */
  uint64_t requests, load_jobs; /* for tests and logs */
  bool refusal_fails;       /* commit: a refused row stops the send (the others are not resent) */
  bool stream;              /* opts.stream_ledger: the rows are a stream's, with event times */
} bq_sink;

/* "INTEGER" for INT64 ...: the names tables.get answers with. */
const char *beam_bq_type_name(beam_etl_type t);
/* The sink-wide partitioning and clustering (beam_sink_options at open) as they apply to a
 * table of schema: the partition field when the table has it as TIMESTAMP or DATE, the
 * clustering when it has every field. out aliases q's strings. */
void beam_bq_sink_wide_options(const bq_sink *q, const beam_etl_schema *schema, beam_sink_table_options *out);
/* The Table resource tables.insert takes for table, with topts' partitioning (type and field)
 * and clustering. NULL when out of memory. */
json_t *beam_bq_table_resource(const bq_sink *q, const char *table, const beam_etl_schema *schema,
                               const beam_sink_table_options *topts);
/* Compares an existing table (a tables.get answer) with the spec's schema
 * (sink_tables.h: beam_sink_columns_plan, modes compared too): BEAM_OK with add[i] set for
 * each NULLABLE field the table lacks, else BEAM_ERR_INVALID_ARG listing the differences. */
beam_status beam_bq_schema_plan(const bq_sink *q, const char *table, const beam_etl_schema *schema,
                                const json_t *existing, bool *add, beam_error *err);
/* The tables.patch body adding the fields marked in add to the existing table's fields (all
 * of them kept: a patched schema replaces the list). NULL when out of memory. */
json_t *beam_bq_schema_patch(const json_t *existing, const beam_etl_schema *schema, const bool *add);

/* Sends t's unsent rows (insertAll in requests within the sink's limits, or one load job
 * at or above the threshold) and empties t. Rows BigQuery refuses as invalid go to
 * rejected (index = seq, row = JSON); rows it stopped because another row was invalid are
 * sent again; whole requests refused with 400/413 are split until the bad row is alone.
 * With q->refusal_fails (commit: nobody to hand a refusal to) the first refusal is an error
 * and the request's stopped rows are not sent again. */
beam_status beam_bq_send_table(bq_sink *q, bq_table *t, beam_sink_row_errors *rejected, beam_error *err);

#endif
