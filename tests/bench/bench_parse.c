/* Per-row parse cost of the ETL input path.
 *
 *   bench_parse [rows]
 *
 * Generates ~150-byte JSON lines and CSV rows in memory and reports ns/row for:
 *   json_parse   beam_json_record_parse on a fresh copy of each line (the parser alone);
 *   jsonl_reader line split + arena copies + parse (what beam_input does per row);
 *   csv_reader   the same for CSV.
 * Build without sanitizers for meaningful numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beam/transforms/csv_reader.h"
#include "beam/transforms/json_record.h"
#include "beam/transforms/jsonl_reader.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static beam_etl_field fields[] = {
    {"event_id", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},  {"event_type", BEAM_ETL_STRING, BEAM_ETL_REQUIRED},
    {"user_id", BEAM_ETL_INT64, BEAM_ETL_NULLABLE},    {"amount", BEAM_ETL_NUMERIC, BEAM_ETL_NULLABLE},
    {"country", BEAM_ETL_STRING, BEAM_ETL_NULLABLE},   {"ts", BEAM_ETL_TIMESTAMP, BEAM_ETL_NULLABLE},
    {"ok", BEAM_ETL_BOOL, BEAM_ETL_NULLABLE},
};
static const beam_etl_schema schema = {fields, sizeof fields / sizeof fields[0]};

static const char *types[] = {"purchase", "page_view", "signup", "refund"};
static const char *countries[] = {"DE", "US", "FR", "JP", "BR"};

int main(int argc, char **argv) {
  size_t rows = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
  size_t cap = rows * 200 + 64;
  char *jsonl = malloc(cap), *csv = malloc(cap);
  if (!jsonl || !csv) return 1;
  size_t jl = 0, cl = (size_t)sprintf(csv, "event_id,event_type,user_id,amount,country,ts,ok\n");
  size_t line_bytes = 0;
  for (size_t i = 0; i < rows; i++) {
    const char *t = types[i % 4], *c = countries[i % 5];
    int n = sprintf(jsonl + jl,
                    "{\"event_id\":\"evt-%08zu-a1b2c3\",\"event_type\":\"%s\",\"user_id\":%zu,"
                    "\"amount\":%zu.%02zu,\"country\":\"%s\",\"ts\":\"2024-05-%02zuT12:34:56Z\",\"ok\":%s}\n",
                    i, t, 100000 + i * 7, i % 1000, i % 100, c, 1 + i % 28, i % 3 ? "true" : "false");
    jl += (size_t)n;
    line_bytes += (size_t)n - 1;
    cl += (size_t)sprintf(csv + cl, "evt-%08zu-a1b2c3,%s,%zu,%zu.%02zu,%s,2024-05-%02zuT12:34:56Z,%s\n", i, t,
                          100000 + i * 7, i % 1000, i % 100, c, 1 + i % 28, i % 3 ? "true" : "false");
  }
  printf("rows: %zu, avg JSON line: %.0f bytes\n", rows, (double)line_bytes / (double)rows);
  beam_error err;
  beam_etl_parse_error perr;
  beam_etl_cell cells[8];

  /* 1. Parser alone: copy each line into a work buffer (as the reader does), parse. */
  beam_json_record_parser *jp;
  if (beam_json_record_parser_create(&schema, &jp, &err) != BEAM_OK) return 1;
  char work[512];
  size_t bad = 0;
  double best = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now_s();
    const char *p = jsonl, *end = jsonl + jl;
    while (p < end) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      size_t n = (size_t)(nl - p);
      memcpy(work, p, n);
      work[n] = '\0';
      if (beam_json_record_parse(jp, work, n, cells, &perr) != BEAM_OK) bad++;
      p = nl + 1;
    }
    double dt = now_s() - t0;
    if (dt < best) best = dt;
  }
  printf("json_parse:   %6.1f ns/row (%.0f MB/s)  bad=%zu\n", best * 1e9 / (double)rows,
         (double)line_bytes / best / 1e6, bad);
  beam_json_record_parser_free(jp);

  /* 2./3. Full readers over an in-memory source, arena reset per 1024 rows. */
  for (int which = 0; which < 2; which++) {
    best = 1e9;
    size_t got_rows = 0;
    for (int rep = 0; rep < 3; rep++) {
      beam_byte_source *src;
      const char *data = which ? csv : jsonl;
      size_t len = which ? cl : jl;
      if (beam_memory_source_open(which ? "bench.csv" : "bench.jsonl", data, len, &src, &err) != BEAM_OK) return 1;
      beam_jsonl_reader *jr = NULL;
      beam_csv_reader *cr = NULL;
      if (which) beam_csv_reader_open(src, NULL, &schema, 0, 0, &cr, &err);
      else beam_jsonl_reader_open(src, &schema, 0, 0, &jr, &err);
      beam_arena arena = BEAM_ARENA_INIT;
      got_rows = 0;
      bad = 0;
      double t0 = now_s();
      for (;;) {
        beam_etl_record rec;
        beam_read_result res;
        beam_status st = which ? beam_csv_reader_next(cr, &arena, &rec, &res, &perr, &err)
                               : beam_jsonl_reader_next(jr, &arena, &rec, &res, &perr, &err);
        if (st != BEAM_OK) {
          fprintf(stderr, "%s\n", err.message);
          return 1;
        }
        if (res == BEAM_READ_EOF) break;
        if (res == BEAM_READ_BAD_RECORD) bad++;
        if ((++got_rows & 1023) == 0) beam_arena_reset(&arena);
      }
      double dt = now_s() - t0;
      if (dt < best) best = dt;
      beam_arena_free(&arena);
      beam_jsonl_reader_close(jr);
      beam_csv_reader_close(cr);
      beam_byte_source_close(src);
    }
    printf("%s  %6.1f ns/row (%.0f MB/s)  rows=%zu bad=%zu\n", which ? "csv_reader:  " : "jsonl_reader:",
           best * 1e9 / (double)got_rows, (double)(which ? cl : jl) / best / 1e6, got_rows, bad);
  }
  free(jsonl);
  free(csv);
  return 0;
}
