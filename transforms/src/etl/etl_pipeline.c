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

static beam_pcollection *read_stage(builder *b, beam_pcollection *files, beam_pcollection **dead,
                                    beam_pcollection **stats) {
  json_t *extra = json_pack("{s:s}", "progress", b->cfg->progress ? b->cfg->progress : "auto");
  static const char *const tags[] = {"rows", "dead", "stats"};
  beam_coder_spec *coders[] = {b->value, b->value, b->stats};
  beam_pardo_spec spec = {"etl_read", keep(b, stage_config(b->cfg, b->spec, extra)), 3, tags, coders, NULL, 0, NULL, 0};
  beam_pcollection *outs[3] = {0};
  beam_pardo(b->p, "ReadAndProcess", files, &spec, outs);
  *dead = outs[1];
  *stats = outs[2];
  return outs[0];
}

static beam_pcollection *dedupe_stage(builder *b, beam_pcollection *rows, beam_pcollection **stats) {
  beam_coder_spec *keyed_coder = beam_coder_spec_kv(b->p, beam_coder_spec_bytes(b->p), b->value);
  beam_pcollection *keyed =
      beam_pardo1(b->p, "DedupeKey", rows, "etl_dedupe_key", keep(b, stage_config(b->cfg, b->spec, NULL)), keyed_coder);
  beam_pcollection *grouped = beam_group_by_key(b->p, "DedupeGroup", keyed);
  static const char *const tags[] = {"rows", "stats"};
  beam_coder_spec *coders[] = {b->value, b->stats};
  beam_pardo_spec spec = {"etl_dedupe_pick", keep(b, stage_config(b->cfg, b->spec, NULL)), 2, tags, coders, NULL, 0, NULL, 0};
  beam_pcollection *outs[2] = {0};
  beam_pardo(b->p, "DedupePick", grouped, &spec, outs);
  *stats = outs[1];
  return outs[0];
}

static beam_pcollection *write_stage(builder *b, const char *name, beam_pcollection *rows) {
  json_t *extra = json_pack("{s:s,s:b}", "sink", b->cfg->sink_uri, "no_sync", b->cfg->no_sync);
  static const char *const tags[] = {"stats"};
  beam_coder_spec *coders[] = {b->stats};
  beam_pardo_spec spec = {"etl_write", keep(b, stage_config(b->cfg, b->spec, extra)), 1, tags, coders, NULL, 0, NULL, 0};
  beam_pcollection *out = NULL;
  beam_pardo(b->p, name, rows, &spec, &out);
  return out;
}

static void build(builder *b) {
  beam_pipeline *p = b->p;
  json_t *inputs = json_array();
  for (size_t i = 0; i < b->cfg->n_inputs; i++) json_array_append_new(inputs, json_string(b->cfg->inputs[i]));
  const char *list_cfg = keep(b, stage_config(b->cfg, NULL, json_pack("{s:o}", "inputs", inputs)));
  beam_pcollection *impulse = beam_impulse(p, "Impulse");
  beam_pcollection *files = beam_pardo1(p, "ListFiles", impulse, "etl_list_files", list_cfg, beam_coder_spec_string(p));
  beam_pcollection *dead, *stats[3];
  size_t n_stats = 0;
  beam_pcollection *rows = read_stage(b, files, &dead, &stats[n_stats++]);
  if (json_object_get(json_object_get(b->spec, "clean"), "dedupe_on"))
    rows = dedupe_stage(b, rows, &stats[n_stats++]);
  beam_pcollection *both[] = {rows, dead};
  beam_pcollection *all = beam_flatten(p, "RowsAndDeadLetters", both, 2);
  b->outputs.rows = all;
  stats[n_stats++] = write_stage(b, "Write", all);
  beam_pcollection *all_stats = beam_flatten(p, "FileStats", stats, n_stats);
  beam_pcollection *per_file = beam_combine_per_key(p, "SumFileStats", all_stats, "etl_file_stats", NULL,
                                                    b->value, b->value);
  json_t *files_extra = json_pack("{s:s}", "runner", b->cfg->runner ? b->cfg->runner : "local");
  beam_pcollection *file_rows = beam_pardo1(p, "FilesRow", per_file, "etl_files_row",
                                            keep(b, stage_config(b->cfg, NULL, files_extra)), b->value);
  b->outputs.files = file_rows;
  write_stage(b, "WriteFiles", file_rows);
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
