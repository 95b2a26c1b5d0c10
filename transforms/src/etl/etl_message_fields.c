/* Message fields: the spec's hidden and sourced fields, a message spread over them
 * (etl_message_fields.h). */
#include "etl_message_fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/etl_time.h"
#include "beam/transforms/pubsub_message.h"
#include "beam/transforms/etl_table.h"

#define NOMEM(err) beam_error_set((err), BEAM_ERR_NOMEM, "out of memory")
#define BAD(err, ...) beam_error_set((err), BEAM_ERR_INVALID_ARG, __VA_ARGS__)

static bool ident_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Attribute names: what a filter token or a table-name placeholder can hold unquoted. */
static bool attribute_char(char c) { return ident_char(c) || c == '-' || c == '.'; }

size_t beam_etl_message_ref_len(const char *s, size_t len) {
  size_t pt = sizeof BEAM_ETL_PUBLISH_TIME - 1, ap = sizeof BEAM_ETL_ATTRIBUTES_PREFIX - 1;
  if (len >= pt && memcmp(s, BEAM_ETL_PUBLISH_TIME, pt) == 0 && (len == pt || !ident_char(s[pt]))) return pt;
  if (len <= ap || memcmp(s, BEAM_ETL_ATTRIBUTES_PREFIX, ap) != 0) return 0;
  size_t n = ap;
  while (n < len && attribute_char(s[n])) n++;
  return n > ap ? n : 0;
}

beam_status beam_etl_source_check(const char *text, const beam_etl_field *f, const char *path, beam_error *err) {
  size_t len = strlen(text);
  if (beam_etl_message_ref_len(text, len) != len)
    return BAD(err, "%s: must be \"_publish_time\" or \"_attributes.NAME\" (NAME: letters, digits, _ - .), not \"%.200s\"",
               path, text);
  if (strcmp(text, BEAM_ETL_PUBLISH_TIME) == 0 && f->type != BEAM_ETL_TIMESTAMP && f->type != BEAM_ETL_STRING)
    return BAD(err, "%s: field \"%s\" is %s; the publish time fills a TIMESTAMP or STRING field", path, f->name,
               beam_etl_type_name(f->type));
  return BEAM_OK;
}

/* One message field named in the spec: a hidden field unless the schema has it already. */
static beam_status add_ref(beam_etl_spec *spec, const char *name, size_t len, const char *key, beam_error *err) {
  if (!spec->message_key && !(spec->message_key = beam_arena_strdup(&spec->arena, key))) return NOMEM(err);
  beam_etl_schema *s = &spec->schema;
  for (size_t i = 0; i < s->n_fields; i++)
    if (strlen(s->fields[i].name) == len && memcmp(s->fields[i].name, name, len) == 0) {
      if (i < s->n_fields - spec->n_hidden)
        return BAD(err, "%s: \"%.*s\" names both a schema field and the message's publish time; rename the field "
                        "(a field takes the publish time with \"source\": \"_publish_time\")",
                   key, (int)len, name);
      return BEAM_OK;
    }
  /* The array is the spec arena's and small: grown by copying (nothing holds field pointers yet). */
  beam_etl_field *grown = beam_arena_calloc(&spec->arena, s->n_fields + 1, sizeof *grown);
  char *copy = beam_arena_strndup(&spec->arena, name, len);
  if (!grown || !copy) return NOMEM(err);
  memcpy(grown, s->fields, s->n_fields * sizeof *grown);
  bool publish_time = name[1] == 'p';
  grown[s->n_fields] = (beam_etl_field){copy, publish_time ? BEAM_ETL_TIMESTAMP : BEAM_ETL_STRING, BEAM_ETL_NULLABLE};
  s->fields = grown;
  s->n_fields++;
  spec->n_hidden++;
  return BEAM_OK;
}

bool beam_etl_message_ref_next(const char *text, bool template, size_t *pos, size_t *start, size_t *n) {
  size_t len = strlen(text);
  for (size_t i = *pos; i < len;) {
    char c = text[i];
    size_t at = i, m = 0;
    if (template) {
      const char *close = c == '{' ? memchr(text + i, '}', len - i) : NULL;
      if (!close) {
        i++;
        continue;
      }
      at = i + 1;
      m = (size_t)(close - text) - at;
      if (!m || beam_etl_message_ref_len(text + at, m) != m) m = 0;
      i = (size_t)(close - text) + 1;
    } else if (c == '\'' || c == '"') { /* a literal: skip it, escapes included */
      i++;
      while (i < len && text[i] != c) i += text[i] == '\\' && i + 1 < len ? 2 : 1;
      i++;
    } else if (i == 0 || !ident_char(text[i - 1])) {
      m = beam_etl_message_ref_len(text + i, len - i);
      i += m ? m : 1;
    } else {
      i++;
    }
    if (m) {
      *pos = i;
      *start = at;
      *n = m;
      return true;
    }
  }
  *pos = len;
  return false;
}

beam_status beam_etl_message_refs_add(beam_etl_spec *spec, const char *text, bool template, const char *key,
                                      beam_error *err) {
  size_t pos = 0, at, n;
  while (beam_etl_message_ref_next(text, template, &pos, &at, &n)) {
    beam_status s = add_ref(spec, text + at, n, key, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

/* "_publish_time" or "_attributes.NAME" (checked by beam_etl_source_check) as a source. */
static beam_etl_field_source source_of(const char *text) {
  if (strcmp(text, BEAM_ETL_PUBLISH_TIME) == 0) return (beam_etl_field_source){BEAM_ETL_SOURCE_PUBLISH_TIME, NULL};
  return (beam_etl_field_source){BEAM_ETL_SOURCE_ATTRIBUTE, text + sizeof BEAM_ETL_ATTRIBUTES_PREFIX - 1};
}

beam_status beam_etl_message_sources_finish(beam_etl_spec *spec, const char **top, beam_error *err) {
  size_t n = spec->schema.n_fields, data = n - spec->n_hidden;
  const char **text = calloc(n ? n : 1, sizeof *text);
  if (!text) return NOMEM(err);
  bool any = spec->n_hidden > 0;
  for (size_t i = 0; top && i < spec->top_schema.n_fields; i++) any |= (text[i] = top[i]) != NULL;
  for (size_t t = 0; t < spec->n_tables; t++) {
    const beam_etl_table_spec *ts = &spec->tables[t];
    for (size_t k = 0; k < ts->schema.n_fields; k++) {
      const char *mine = ts->sources ? ts->sources[k] : NULL;
      int u = ts->from_union[k];
      if (!text[u]) text[u] = mine; /* a field's source, said once, holds for every table */
      else if (mine && strcmp(text[u], mine) != 0) {
        BAD(err, "tables.%s.schema[%zu].source: field \"%s\" takes its value from %s here but from %s elsewhere (a "
                 "field has one source across tables)",
            ts->name, k, ts->schema.fields[k].name, mine, text[u]);
        free(text);
        return BEAM_ERR_INVALID_ARG;
      }
      any |= mine != NULL;
    }
  }
  if (any && !(spec->sources = beam_arena_calloc(&spec->arena, n, sizeof *spec->sources))) {
    free(text);
    return NOMEM(err);
  }
  for (size_t i = 0; any && i < n; i++) {
    const char *t = i < data ? text[i] : spec->schema.fields[i].name;
    if (t) spec->sources[i] = source_of(t);
  }
  free(text);
  return BEAM_OK;
}

beam_status beam_etl_message_fields_init(const beam_etl_spec *spec, beam_etl_message_fields *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  out->data_schema = spec->schema;
  if (!spec->sources) return BEAM_OK;
  size_t n = spec->schema.n_fields;
  out->data_schema.fields = calloc(n, sizeof *out->data_schema.fields);
  out->data_to_spec = calloc(n, sizeof *out->data_to_spec);
  if (!out->data_schema.fields || !out->data_to_spec) {
    beam_etl_message_fields_free(out);
    return NOMEM(err);
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (spec->sources[i].kind == BEAM_ETL_SOURCE_DATA) {
      out->data_schema.fields[k] = spec->schema.fields[i];
      out->data_to_spec[k++] = (int)i;
    }
  out->data_schema.n_fields = k;
  return BEAM_OK;
}

void beam_etl_message_fields_free(beam_etl_message_fields *mf) {
  if (mf->data_to_spec) free(mf->data_schema.fields);
  free(mf->data_to_spec);
  memset(mf, 0, sizeof *mf);
}

beam_status beam_etl_message_cells(const beam_etl_spec *spec, const beam_etl_message_fields *mf,
                                   const beam_pubsub_message *m, beam_arena *arena, beam_etl_record *rec) {
  if (!mf->data_to_spec) return BEAM_OK;
  size_t n = spec->schema.n_fields;
  beam_etl_cell *cells = beam_arena_calloc(arena, n + 1, sizeof *cells);
  if (!cells) return BEAM_ERR_NOMEM;
  for (size_t k = 0; rec->cells && k < mf->data_schema.n_fields; k++) cells[mf->data_to_spec[k]] = rec->cells[k];
  const char *publish_time = NULL;
  for (size_t i = 0; i < n; i++) {
    const beam_etl_field_source *src = &spec->sources[i];
    const char *text = NULL;
    if (src->kind == BEAM_ETL_SOURCE_ATTRIBUTE) {
      text = beam_pubsub_message_attribute(m, src->attribute);
    } else if (src->kind == BEAM_ETL_SOURCE_PUBLISH_TIME) {
      if (!publish_time && m->publish_time_us) {
        char buf[32];
        size_t len = beam_etl_format_timestamp(m->publish_time_us, buf);
        if (!(publish_time = beam_arena_strndup(arena, buf, len))) return BEAM_ERR_NOMEM;
      }
      text = publish_time;
    }
    if (text) cells[i] = (beam_etl_cell){BEAM_ETL_CELL_TEXT, text, strlen(text)};
  }
  rec->schema = &spec->schema;
  rec->cells = cells;
  return BEAM_OK;
}

const char *beam_etl_route_missing_attribute(const beam_etl_spec *spec, const beam_etl_record *rec) {
  if (!spec->sources || !rec->cells) return NULL;
  for (size_t i = 0; i < spec->route.n_parts; i++) {
    int f = spec->route.parts[i].field;
    if (f >= 0 && spec->sources[f].kind == BEAM_ETL_SOURCE_ATTRIBUTE && rec->cells[f].state == BEAM_ETL_CELL_ABSENT)
      return spec->sources[f].attribute;
  }
  return NULL;
}
