/* Builds the file ETL pipeline (see etl_pipeline.h). */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "beam/transforms/etl_element.h"
#include "beam/transforms/etl_pipeline.h"
#include "beam/transforms/etl_stream.h"

/* {"spec": <spec>, "spec_name": ..., extra...} as text (caller frees). */
static char *stage_config(const beam_etl_file_pipeline_config *cfg, json_t *spec, json_t *extra) {
  json_t *o = extra ? extra : json_object();
  if (spec) {
    json_object_set(o, "spec", spec);
    json_object_set_new(o, "spec_name", json_string(cfg->spec_name ? cfg->spec_name : "spec"));
  }
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return text;
}

typedef struct builder {
  beam_pipeline *p;
  const beam_etl_file_pipeline_config *cfg;
  json_t *spec;
  beam_coder_spec *value, *stats;
  char **configs;
  size_t n_configs;
  const beam_etl_destination *dests;
  size_t n_dests;
  bool stream; /* the input is a Pub/Sub subscription */
  beam_etl_file_pipeline_outputs outputs;
} builder;

/* Keeps text until the pipeline is built (the pipeline copies it); NULL when out of memory. */
static const char *keep(builder *b, char *text) {
  char **grown = text ? realloc(b->configs, (b->n_configs + 1) * sizeof *grown) : NULL;
  if (!grown) {
    free(text);
    return NULL;
  }
  b->configs = grown;
  return b->configs[b->n_configs++] = text;
}

const char *beam_etl_file_pipeline_step(const char *step, size_t dest, size_t n_dests, char *buf, size_t cap) {
  if (n_dests <= 1) snprintf(buf, cap, "%s", step);
  else snprintf(buf, cap, "%s-%zu", step, dest + 1);
  return buf;
}

/* The name of step for destination d. */
static const char *step_name(const builder *b, const char *step, size_t d, char buf[64]) {
  return beam_etl_file_pipeline_step(step, d, b->n_dests, buf, 64);
}

/* ReadAndProcess. With units (no GroupByKey after it) each unit's dead letters and report go
 * on "rows" with its rows; otherwise on outputs of their own ("reports" for side inputs). */
static void read_stage(builder *b, beam_pcollection *files, bool units, beam_pcollection **outs) {
  json_t *extra = json_pack("{s:s,s:b,s:s,s:I,s:I}", "progress", b->cfg->progress ? b->cfg->progress : "auto", "units",
                            units, "runner", b->cfg->runner ? b->cfg->runner : "local", "split_size",
                            (json_int_t)b->cfg->split_size, "parallelism", (json_int_t)b->cfg->parallelism);
  static const char *const tags[] = {"rows", "dead", "stats", "reports"}, *const unit_tags[] = {"rows", "stats"};
  beam_coder_spec *coders[] = {b->value, b->value, b->stats, b->value}, *unit_coders[] = {b->value, b->stats};
  beam_pardo_spec spec = {"etl_read", keep(b, stage_config(b->cfg, b->spec, extra)), units ? 2 : 4,
                          units ? unit_tags : tags, units ? unit_coders : coders, NULL, 0, NULL, 0};
  beam_splittable_pardo(b->p, "ReadAndProcess", files, &spec, outs);
}

static beam_pcollection *dedupe_stage(builder *b, beam_pcollection *rows, beam_pcollection *reports,
                                      beam_pcollection **stats) {
  beam_coder_spec *keyed_coder = beam_coder_spec_kv(b->p, beam_coder_spec_bytes(b->p), b->value);
  beam_pcollection *keyed =
      beam_pardo1(b->p, "DedupeKey", rows, "etl_dedupe_key", keep(b, stage_config(b->cfg, b->spec, NULL)), keyed_coder);
  /* A combine, so that runners (and the local one) fold each key's rows before the shuffle. */
  beam_pcollection *grouped =
      beam_combine_per_key(b->p, "DedupeGroup", keyed, "etl_dedupe_first", NULL, b->value, b->value);
  static const char *const tags[] = {"rows", "stats"};
  beam_coder_spec *coders[] = {b->value, b->stats};
  beam_side_input_spec side = {"reports", reports, BEAM_SIDE_INPUT_ITERABLE};
  beam_pardo_spec spec = {"etl_dedupe_pick", keep(b, stage_config(b->cfg, b->spec, NULL)), 2, tags, coders, &side, 1,
                          NULL, 0};
  beam_pcollection *outs[2] = {0};
  beam_pardo(b->p, "DedupePick", grouped, &spec, outs);
  *stats = outs[1];
  return outs[0];
}

/* Destination d's sink and selection, and its label among several, into a writer's config. */
static json_t *destination_config(const builder *b, size_t d, json_t *extra) {
  const beam_etl_destination *dest = &b->dests[d];
  json_object_set_new(extra, "sink", json_string(dest->sink));
  if (dest->tables) {
    json_t *tables = json_array();
    for (size_t i = 0; i < dest->n_tables; i++) json_array_append_new(tables, json_string(dest->tables[i]));
    json_object_set_new(extra, "tables", tables);
  }
  if (dest->where) json_object_set_new(extra, "where", json_string(dest->where));
  if (b->n_dests > 1) {
    char label[1200];
    snprintf(label, sizeof label, "destination %zu (%.1100s)", d + 1, dest->sink);
    json_object_set_new(extra, "label", json_string(label));
  }
  return extra;
}

/* Destination d's writer: outputs "stats" (per-file counts), "files" (the _files rows it
 * wrote) and, with units, "ranges" (the reports of split files' ranges it committed,
 * KV<file, report>). */
static beam_pcollection *write_stage(builder *b, const char *name, size_t d, beam_pcollection *rows, bool units,
                                     beam_pcollection **files, beam_pcollection **ranges) {
  json_t *extra = destination_config(b, d, json_pack("{s:b,s:b,s:b,s:b,s:i}", "no_sync", b->cfg->no_sync, "units", units,
                                                     "reload", b->cfg->reload, "stream", b->stream,
                                                     "message_ledger_days", b->cfg->message_ledger_days));
  static const char *const tags[] = {"stats", "files", "ranges"};
  beam_coder_spec *coders[] = {b->stats, b->value, beam_coder_spec_kv(b->p, beam_coder_spec_string(b->p), b->value)};
  beam_pardo_spec spec = {"etl_write", keep(b, stage_config(b->cfg, b->spec, extra)), ranges ? 3 : 2, tags, coders,
                          NULL, 0, NULL, 0};
  beam_pcollection *outs[3] = {0};
  beam_pardo(b->p, name, rows, &spec, outs);
  if (files) *files = outs[1];
  if (ranges) *ranges = outs[2];
  return outs[0];
}

/* Without a GroupByKey: each file, or each byte range of a split file, is a unit the writer
 * commits with its ledger entry (and a whole file's _files row). A split file's _files row
 * is made once all its ranges are in: FinishFile, after grouping the ranges by file. Every
 * destination has its own chain of the four steps on the rows read once. */
static void build_units(builder *b, beam_pcollection *files) {
  beam_pcollection *read[2] = {0};
  read_stage(b, files, true, read);
  b->outputs.rows = read[0];
  beam_pcollection **written = calloc(2 * b->n_dests, sizeof *written);
  if (!written) return;
  char name[64];
  for (size_t d = 0; d < b->n_dests; d++) {
    beam_pcollection *ranges = NULL;
    write_stage(b, step_name(b, "Write", d, name), d, b->outputs.rows, true, &written[2 * d], &ranges);
    beam_pcollection *by_file = beam_group_by_key(b->p, step_name(b, "RangesByFile", d, name), ranges);
    beam_pcollection *finished = beam_pardo1(b->p, step_name(b, "FinishFile", d, name), by_file, "etl_finish_file",
                                             NULL, b->value);
    /* The _files rows as written: a failed file's shows what its retraction left (written 0). */
    write_stage(b, step_name(b, "WriteFiles", d, name), d, finished, false, &written[2 * d + 1], NULL);
  }
  b->outputs.files = beam_flatten(b->p, "FilesWritten", written, 2 * b->n_dests);
  free(written);
}

/* With dedupe: rows and dead letters meet in the GroupByKey; _files rows are made from the
 * statistics of every stage and written last, with the files' ledger entries. Each
 * destination has its own writer, and its own _files rows (its sink may refuse rows). */
static void build_grouped(builder *b, beam_pcollection *files) {
  beam_pipeline *p = b->p;
  beam_pcollection *read[4] = {0}, *stats[3];
  read_stage(b, files, false, read);
  beam_pcollection *both[] = {read[0], read[1]};
  beam_pcollection *all = beam_flatten(p, "RowsAndDeadLetters", both, 2);
  stats[0] = read[2];
  b->outputs.rows = dedupe_stage(b, all, read[3], &stats[1]);
  beam_pcollection **file_rows = calloc(b->n_dests, sizeof *file_rows);
  if (!file_rows) return;
  char name[64];
  for (size_t d = 0; d < b->n_dests; d++) {
    stats[2] = write_stage(b, step_name(b, "Write", d, name), d, b->outputs.rows, false, NULL, NULL);
    beam_pcollection *all_stats = beam_flatten(p, step_name(b, "FileStats", d, name), stats, 3);
    beam_pcollection *per_file = beam_combine_per_key(p, step_name(b, "SumFileStats", d, name), all_stats,
                                                      "etl_file_stats", NULL, b->value, b->value);
    json_t *files_extra = json_pack("{s:s}", "runner", b->cfg->runner ? b->cfg->runner : "local");
    beam_side_input_spec side = {"reports", read[3], BEAM_SIDE_INPUT_ITERABLE};
    beam_pardo_spec spec = {"etl_files_row", keep(b, stage_config(b->cfg, NULL, files_extra)), 1, NULL, &b->value,
                            &side, 1, NULL, 0};
    beam_pardo(p, step_name(b, "FilesRow", d, name), per_file, &spec, &file_rows[d]);
    write_stage(b, step_name(b, "WriteFiles", d, name), d, file_rows[d], false, NULL, NULL);
  }
  b->outputs.files = b->n_dests == 1 ? file_rows[0] : beam_flatten(p, "FilesWritten", file_rows, b->n_dests);
  free(file_rows);
}

/* A stream: the subscription's messages (with attributes, as Dataflow's native read gives
 * them) -> ReadMessages -> each destination's Write; no GroupByKey (it would never fire on
 * an unbounded input in the global window), bookkeeping per bundle in _stream_bundles. */
static void build_stream(builder *b) {
  const char *sub = beam_etl_input_subscription(b->cfg->inputs[0]);
  beam_pubsub_read_spec read = {.subscription = sub, .with_attributes = true};
  beam_pcollection *messages = beam_pubsub_read(b->p, "ReadPubSub", &read);
  const char *cfg = keep(b, stage_config(b->cfg, b->spec, json_pack("{s:s}", "subscription", sub)));
  static const char *const tags[] = {"rows"};
  beam_pardo_spec spec = {"etl_read_messages", cfg, 1, tags, &b->value, NULL, 0, NULL, 0};
  beam_pardo(b->p, "ReadMessages", messages, &spec, &b->outputs.rows);
  beam_pcollection **written = calloc(b->n_dests, sizeof *written);
  if (!written) return;
  char name[64];
  for (size_t d = 0; d < b->n_dests; d++)
    write_stage(b, step_name(b, "Write", d, name), d, b->outputs.rows, false, &written[d], NULL);
  b->outputs.files = b->n_dests == 1 ? written[0] : beam_flatten(b->p, "StreamBundlesWritten", written, b->n_dests);
  free(written);
}

static void build(builder *b) {
  beam_pipeline *p = b->p;
  if (b->stream) {
    build_stream(b);
    return;
  }
  json_t *inputs = json_array();
  for (size_t i = 0; i < b->cfg->n_inputs; i++) json_array_append_new(inputs, json_string(b->cfg->inputs[i]));
  const char *list_cfg = keep(b, stage_config(b->cfg, NULL, json_pack("{s:o}", "inputs", inputs)));
  beam_pcollection *impulse = beam_impulse(p, "Impulse");
  beam_coder_spec *indexed = beam_coder_spec_kv(p, beam_coder_spec_varint(p), beam_coder_spec_string(p));
  beam_pcollection *files = beam_pardo1(p, "ListFiles", impulse, "etl_list_files", list_cfg, indexed);
  if (json_object_get(json_object_get(b->spec, "clean"), "dedupe_on")) build_grouped(b, files);
  else build_units(b, files);
}

beam_status beam_etl_file_pipeline_build(beam_pipeline *p, const beam_etl_file_pipeline_config *cfg,
                                         beam_error *err) {
  beam_etl_file_pipeline_outputs ignored;
  return beam_etl_file_pipeline_build_outputs(p, cfg, &ignored, err);
}

beam_status beam_etl_file_pipeline_destinations(const beam_etl_file_pipeline_config *cfg, const beam_etl_spec *spec,
                                                beam_arena *arena, const beam_etl_destination **out, size_t *n_out,
                                                beam_error *err) {
  size_t n_uris = cfg->n_sink_uris + (cfg->sink_uri ? 1 : 0);
  const char **uris = calloc(n_uris ? n_uris : 1, sizeof *uris);
  if (!uris) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t n = 0;
  if (cfg->sink_uri) uris[n++] = cfg->sink_uri;
  for (size_t i = 0; i < cfg->n_sink_uris; i++) uris[n++] = cfg->sink_uris[i];
  beam_etl_destination *all = NULL;
  beam_status s = beam_etl_destinations_collect(spec->outputs, spec->n_outputs, uris, n, &spec->schema, &spec->route,
                                                arena, &all, n_out, err);
  free(uris);
  if (s == BEAM_OK && *n_out == 0)
    s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "no destination: give a sink (--sink) or the spec's \"outputs\"");
  *out = all;
  return s;
}

beam_status beam_etl_file_pipeline_build_outputs(beam_pipeline *p, const beam_etl_file_pipeline_config *cfg,
                                                 beam_etl_file_pipeline_outputs *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  beam_status s = beam_etl_register_fns();
  if (s != BEAM_OK) return beam_error_set(err, s, "cannot register the ETL functions");
  if (!cfg->n_inputs || !cfg->spec_json)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "the file ETL needs inputs and a spec");
  beam_etl_spec *parsed = NULL;
  beam_arena arena = {0};
  builder b = {.p = p, .cfg = cfg};
  s = beam_etl_spec_parse(cfg->spec_json, strlen(cfg->spec_json), cfg->spec_name, &parsed, err);
  if (s == BEAM_OK) s = beam_etl_inputs_check_stream(cfg->inputs, cfg->n_inputs, &b.stream, err);
  if (s == BEAM_OK) s = b.stream ? beam_etl_spec_check_stream(parsed, err) : beam_etl_spec_check_files(parsed, err);
  if (s == BEAM_OK) s = beam_etl_file_pipeline_destinations(cfg, parsed, &arena, &b.dests, &b.n_dests, err);
  json_error_t jerr;
  if (s == BEAM_OK && !(b.spec = json_loads(cfg->spec_json, 0, &jerr)))
    s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: %s", cfg->spec_name, jerr.text);
  if (s == BEAM_OK) {
    b.value = beam_coder_spec_value(p);
    b.stats = beam_coder_spec_kv(p, beam_coder_spec_string(p), b.value);
    build(&b);
  }
  json_decref(b.spec);
  for (size_t i = 0; i < b.n_configs; i++) free(b.configs[i]);
  free(b.configs);
  beam_arena_free(&arena);
  beam_etl_spec_free(parsed);
  if (s != BEAM_OK) return s;
  const beam_error *perr = beam_pipeline_error(p);
  if (perr) {
    if (err) *err = *perr;
    return perr->code;
  }
  *out = b.outputs;
  return BEAM_OK;
}
