/* The spec's "tables" section: each entry's schema and options, the union of the schemas
 * records are parsed against, and the checks of the entries against the route and dedupe
 * (etl_spec.h, "Tables"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "beam/transforms/etl_route.h"
#include "beam/transforms/etl_table.h"
#include "etl_spec_internal.h"
#include "etl_text.h"

#define NOMEM(err) beam_error_set((err), BEAM_ERR_NOMEM, "out of memory")
#define BAD(err, ...) beam_error_set((err), BEAM_ERR_INVALID_ARG, __VA_ARGS__)

static beam_status parse_entry(const char *name, json_t *entry, beam_etl_spec *spec, beam_etl_table_spec *t,
                               beam_error *err) {
  static const char *const keys[] = {"schema", "partition_field", "partition_granularity", "cluster_fields",
                                     "description", NULL};
  char q[BEAM_ETL_QUOTE_MAX], path[1200], prefix[1200], schema_path[1200];
  size_t len = strlen(name);
  if (!beam_etl_table_name_valid(name, len) || (name[0] >= '0' && name[0] <= '9'))
    return BAD(err, "tables: \"%s\" is not a valid table name (letters, digits, _; not starting with a digit; at most %d "
                    "bytes)",
               beam_etl_quote(name, len, q), BEAM_ETL_TABLE_NAME_MAX);
  const char *reserved = beam_etl_table_name_reserved(name, len);
  if (reserved) return BAD(err, "tables.%s: table names starting with \"%s\" are reserved", name, reserved);
  snprintf(path, sizeof path, "tables.%s", name);
  snprintf(prefix, sizeof prefix, "tables.%s.", name);
  snprintf(schema_path, sizeof schema_path, "tables.%s.schema", name);
  if (!json_is_object(entry)) return BAD(err, "%s: must be an object, not %s", path, beam_etl_json_kind(entry));
  beam_status st = beam_etl_json_check_keys(entry, path, keys, err);
  if (st != BEAM_OK) return st;
  json_t *v = json_object_get(entry, "description");
  if (v && !json_is_string(v)) return BAD(err, "%s.description: must be a string", path);
  if (!(v = json_object_get(entry, "schema"))) return BAD(err, "%s: missing", schema_path);
  if (!(t->name = beam_arena_strndup(&spec->arena, name, len))) return NOMEM(err);
  t->partition_field = -1;
  if ((st = beam_etl_schema_parse(v, schema_path, &spec->arena, &t->schema, &t->sources, err))) return st;
  for (size_t i = 0; t->sources && i < t->schema.n_fields && !spec->message_key; i++) {
    char key[1300];
    snprintf(key, sizeof key, "%s[%zu].source", schema_path, i);
    if (t->sources[i] && !(spec->message_key = beam_arena_strdup(&spec->arena, key))) return NOMEM(err);
  }
  if ((st = beam_etl_partition_parse(entry, prefix, &t->schema, schema_path, &t->partition_field,
                                     &t->partition_granularity, err)))
    return st;
  return beam_etl_cluster_parse(entry, prefix, &t->schema, schema_path, &spec->arena, &t->cluster_fields,
                                &t->n_cluster_fields, err);
}

/* Adds table t's fields to the union u (owner[k]: where field k came from, for messages). */
static beam_status merge(beam_etl_schema *u, const char **owner, beam_etl_table_spec *t, beam_arena *arena,
                         beam_error *err) {
  if (!(t->from_union = beam_arena_calloc(arena, t->schema.n_fields, sizeof *t->from_union))) return NOMEM(err);
  for (size_t i = 0; i < t->schema.n_fields; i++) {
    const beam_etl_field *f = &t->schema.fields[i];
    size_t k = 0;
    while (k < u->n_fields && strcasecmp(u->fields[k].name, f->name) != 0) k++;
    if (k == u->n_fields) {
      u->fields[k] = *f;
      u->fields[k].mode = BEAM_ETL_NULLABLE; /* REQUIRED is a table's, checked after routing */
      owner[k] = t->name;
      u->n_fields++;
    } else if (strcmp(u->fields[k].name, f->name) != 0) {
      return BAD(err, "tables.%s.schema[%zu].name: field \"%s\" is spelled \"%s\" in %s%s; spell it one way in every table",
                 t->name, i, f->name, u->fields[k].name, owner[k] ? "tables." : "the top-level schema",
                 owner[k] ? owner[k] : "");
    } else if (u->fields[k].type != f->type) {
      return BAD(err, "tables.%s.schema[%zu].type: field \"%s\" is %s here but %s in %s%s (a field has one type across "
                      "tables)",
                 t->name, i, f->name, beam_etl_type_name(f->type), beam_etl_type_name(u->fields[k].type),
                 owner[k] ? "tables." : "the top-level schema", owner[k] ? owner[k] : "");
    }
    t->from_union[i] = (int)k;
  }
  return BEAM_OK;
}

beam_status beam_etl_tables_parse(json_t *tables, beam_etl_spec *spec, beam_error *err) {
  if (!json_is_object(tables) || json_object_size(tables) == 0)
    return BAD(err, "tables: must be a non-empty object (table name: {\"schema\": [...], ...})");
  size_t n = json_object_size(tables), total = spec->top_schema.n_fields;
  if (!(spec->tables = beam_arena_calloc(&spec->arena, n, sizeof *spec->tables))) return NOMEM(err);
  const char *name;
  json_t *entry;
  beam_status st;
  json_object_foreach(tables, name, entry) {
    beam_etl_table_spec *t = &spec->tables[spec->n_tables];
    if ((st = parse_entry(name, entry, spec, t, err))) return st;
    spec->n_tables++;
    total += t->schema.n_fields;
  }
  /* The union: the top-level fields first (so top_schema's indexes are the union's), then each
   * table's new fields in spec order. */
  beam_etl_schema u = {beam_arena_calloc(&spec->arena, total, sizeof(beam_etl_field)), 0};
  const char **owner = calloc(total ? total : 1, sizeof *owner);
  if (!u.fields || !owner) {
    free(owner);
    return NOMEM(err);
  }
  for (size_t i = 0; i < spec->top_schema.n_fields; i++) {
    u.fields[i] = spec->top_schema.fields[i];
    u.fields[i].mode = BEAM_ETL_NULLABLE;
  }
  u.n_fields = spec->top_schema.n_fields;
  st = BEAM_OK;
  for (size_t t = 0; st == BEAM_OK && t < spec->n_tables; t++) st = merge(&u, owner, &spec->tables[t], &spec->arena, err);
  free(owner);
  if (st == BEAM_OK) spec->schema = u;
  return st;
}

static bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* True when the route's template can render name: its literal parts in place, each
 * placeholder a value a row can give it (STRING: name characters; INT64: digits; BOOL: true
 * or false). reach[i][p]: parts i.. can render name[p..]. */
static beam_status template_renders(const beam_etl_route *r, const beam_etl_schema *u, const char *name, bool *out) {
  size_t len = strlen(name), w = len + 1;
  bool *reach = calloc((r->n_parts + 1) * w, sizeof *reach);
  if (!reach) return BEAM_ERR_NOMEM;
  reach[r->n_parts * w + len] = true;
  for (size_t i = r->n_parts; i-- > 0;) {
    const beam_etl_route_part *part = &r->parts[i];
    for (size_t p = 0; p <= len; p++) {
      bool ok = false;
      if (part->field < 0) {
        ok = part->len <= len - p && memcmp(name + p, part->text, part->len) == 0 && reach[(i + 1) * w + p + part->len];
      } else if (u->fields[part->field].type == BEAM_ETL_BOOL) {
        for (const char *const *b = (const char *const[]){"true", "false", NULL}; *b && !ok; b++)
          ok = strlen(*b) <= len - p && memcmp(name + p, *b, strlen(*b)) == 0 && reach[(i + 1) * w + p + strlen(*b)];
      } else {
        bool digits = u->fields[part->field].type == BEAM_ETL_INT64;
        for (size_t e = p; e < len && !ok; e++) {
          char c = name[e];
          if (digits ? !(c >= '0' && c <= '9') : !name_char(c)) break;
          ok = reach[(i + 1) * w + e + 1];
        }
      }
      reach[i * w + p] = ok;
    }
  }
  *out = reach[0];
  free(reach);
  return BEAM_OK;
}

beam_status beam_etl_tables_check(const beam_etl_spec *spec, beam_error *err) {
  const beam_etl_route *r = &spec->route;
  bool top = spec->top_schema.n_fields > 0;
  char q[BEAM_ETL_QUOTE_MAX];
  if (!top && r->n_placeholders == 0 && !beam_etl_spec_table(spec, r->template_text))
    return BAD(err, "route.table: \"%s\" has no entry in tables and the spec has no top-level schema",
               beam_etl_quote(r->template_text, strlen(r->template_text), q));
  if (!top && r->default_table && !beam_etl_spec_table(spec, r->default_table))
    return BAD(err, "route.default: \"%s\" has no entry in tables and the spec has no top-level schema", r->default_table);
  const char *dedupe = spec->dedupe_field >= 0 ? spec->schema.fields[spec->dedupe_field].name : NULL;
  if (dedupe && top && beam_etl_schema_find(&spec->top_schema, dedupe) < 0)
    return BAD(err, "clean.dedupe_on: field \"%s\" is not in the top-level schema (rows are deduplicated in their "
                    "table's shape, so every table needs it)",
               dedupe);
  for (size_t i = 0; i < spec->n_tables; i++) {
    const beam_etl_table_spec *t = &spec->tables[i];
    bool by_template = false, by_default = r->default_table && strcmp(r->default_table, t->name) == 0;
    if (template_renders(r, &spec->schema, t->name, &by_template) != BEAM_OK) return NOMEM(err);
    if (!by_template && !by_default)
      return BAD(err, "tables.%s: the route never sends rows to this table (route.table \"%s\"%s%s%s)", t->name,
                 beam_etl_quote(r->template_text, strlen(r->template_text), q), r->default_table ? ", route.default \"" : "",
                 r->default_table ? r->default_table : "", r->default_table ? "\"" : "");
    /* Rows the template sends here carry the values that named the table; a table reached only
     * as route.default gets rows whose placeholder fields are null, and needs none of them. */
    for (size_t k = 0; by_template && k < r->n_parts; k++) {
      /* Message fields (the last n_hidden) are no table's columns. */
      if (r->parts[k].field < 0 || (size_t)r->parts[k].field >= spec->schema.n_fields - spec->n_hidden) continue;
      const char *f = spec->schema.fields[r->parts[k].field].name;
      if (beam_etl_schema_find(&t->schema, f) < 0)
        return BAD(err, "tables.%s.schema: no field \"%s\", which route.table \"%s\" names this table by", t->name, f,
                   beam_etl_quote(r->template_text, strlen(r->template_text), q));
    }
    if (dedupe && beam_etl_schema_find(&t->schema, dedupe) < 0)
      return BAD(err, "clean.dedupe_on: field \"%s\" is not in tables.%s.schema (rows are deduplicated in their "
                      "table's shape, so every table needs it)",
                 dedupe, t->name);
  }
  return BEAM_OK;
}
