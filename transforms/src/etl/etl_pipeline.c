/* Builds the file ETL pipeline (see etl_pipeline.h). */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "beam/transforms/etl_element.h"
#include "beam/transforms/etl_pipeline.h"

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
  char *configs[8];
  size_t n_configs;
  beam_etl_file_pipeline_outputs outputs;
} builder;

static const char *keep(builder *b, char *text) {
  if (text && b->n_configs < sizeof b->configs / sizeof b->configs[0]) b->configs[b->n_configs++] = text;
  return text;
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
  beam_pcollection *grouped = beam_group_by_key(b->p, "DedupeGroup", keyed);
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

/* A writer: outputs "stats" (per-file counts), "files" (the _files rows it wrote) and, with
 * units, "ranges" (the reports of split files' ranges it committed, KV<file, report>). */
static beam_pcollection *write_stage(builder *b, const char *name, beam_pcollection *rows, bool units,
                                     beam_pcollection **files, beam_pcollection **ranges) {
  json_t *extra = json_pack("{s:s,s:b,s:b,s:b}", "sink", b->cfg->sink_uri, "no_sync", b->cfg->no_sync, "units", units,
                            "reload", b->cfg->reload);
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
 * is made once all its ranges are in: FinishFile, after grouping the ranges by file. */
static void build_units(builder *b, beam_pcollection *files) {
  beam_pcollection *read[2] = {0}, *written[2] = {0}, *ranges = NULL;
  read_stage(b, files, true, read);
  b->outputs.rows = read[0];
  write_stage(b, "Write", b->outputs.rows, true, &written[0], &ranges);
  beam_pcollection *by_file = beam_group_by_key(b->p, "RangesByFile", ranges);
  beam_pcollection *finished = beam_pardo1(b->p, "FinishFile", by_file, "etl_finish_file", NULL, b->value);
  /* The _files rows as written: a failed file's shows what its retraction left (written 0). */
  write_stage(b, "WriteFiles", finished, false, &written[1], NULL);
  b->outputs.files = beam_flatten(b->p, "FilesWritten", written, 2);
}

/* With dedupe: rows and dead letters meet in the GroupByKey; _files rows are made from the
 * statistics of every stage and written last, with the files' ledger entries. */
static void build_grouped(builder *b, beam_pcollection *files) {
  beam_pipeline *p = b->p;
  beam_pcollection *read[4] = {0}, *stats[3];
  read_stage(b, files, false, read);
  beam_pcollection *both[] = {read[0], read[1]};
  beam_pcollection *all = beam_flatten(p, "RowsAndDeadLetters", both, 2);
  stats[0] = read[2];
  b->outputs.rows = dedupe_stage(b, all, read[3], &stats[1]);
  stats[2] = write_stage(b, "Write", b->outputs.rows, false, NULL, NULL);
  beam_pcollection *all_stats = beam_flatten(p, "FileStats", stats, 3);
  beam_pcollection *per_file = beam_combine_per_key(p, "SumFileStats", all_stats, "etl_file_stats", NULL,
                                                    b->value, b->value);
  json_t *files_extra = json_pack("{s:s}", "runner", b->cfg->runner ? b->cfg->runner : "local");
  beam_side_input_spec side = {"reports", read[3], BEAM_SIDE_INPUT_ITERABLE};
  beam_pardo_spec spec = {"etl_files_row", keep(b, stage_config(b->cfg, NULL, files_extra)), 1, NULL, &b->value,
                          &side, 1, NULL, 0};
  beam_pcollection *file_rows = NULL;
  beam_pardo(p, "FilesRow", per_file, &spec, &file_rows);
  b->outputs.files = file_rows;
  write_stage(b, "WriteFiles", file_rows, false, NULL, NULL);
}

static void build(builder *b) {
  beam_pipeline *p = b->p;
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

beam_status beam_etl_file_pipeline_build_outputs(beam_pipeline *p, const beam_etl_file_pipeline_config *cfg,
                                                 beam_etl_file_pipeline_outputs *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  beam_status s = beam_etl_register_fns();
  if (s != BEAM_OK) return beam_error_set(err, s, "cannot register the ETL functions");
  if (!cfg->n_inputs || !cfg->spec_json || !cfg->sink_uri)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "the file ETL needs inputs, a spec and a sink");
  json_error_t jerr;
  builder b = {p, cfg, json_loads(cfg->spec_json, 0, &jerr), NULL, NULL, {0}, 0, {NULL, NULL}};
  if (!b.spec) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: %s", cfg->spec_name, jerr.text);
  b.value = beam_coder_spec_value(p);
  b.stats = beam_coder_spec_kv(p, beam_coder_spec_string(p), b.value);
  build(&b);
  json_decref(b.spec);
  for (size_t i = 0; i < b.n_configs; i++) free(b.configs[i]);
  const beam_error *perr = beam_pipeline_error(p);
  if (perr) {
    if (err) *err = *perr;
    return perr->code;
  }
  *out = b.outputs;
  return BEAM_OK;
}
