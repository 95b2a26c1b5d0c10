/* The ETL spec loader: JSON (jansson, once per run) -> a checked beam_etl_spec. */
#include "beam/transforms/etl_spec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "beam/transforms/etl_coerce.h"
#include "etl_message_fields.h"
#include "etl_spec_internal.h"
#include "etl_text.h"

#define ETL_FIELD_NAME_MAX 300
#define ETL_MAX_CLUSTER_FIELDS 4

#define NOMEM(err) beam_error_set((err), BEAM_ERR_NOMEM, "out of memory")
#define BAD(err, ...) beam_error_set((err), BEAM_ERR_INVALID_ARG, __VA_ARGS__)

const char *beam_etl_format_name(beam_etl_format f) {
  switch (f) {
    case BEAM_ETL_FORMAT_AUTO: return "auto";
    case BEAM_ETL_FORMAT_JSONL: return "jsonl";
    case BEAM_ETL_FORMAT_CSV: return "csv";
  }
  return "?";
}

const char *beam_etl_json_kind(const json_t *j) {
  switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
  }
  return "?";
}

beam_status beam_etl_json_check_keys(json_t *obj, const char *path, const char *const *known, beam_error *err) {
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) {
    bool ok = false;
    for (const char *const *k = known; *k && !ok; k++) ok = strcmp(*k, key) == 0;
    if (ok) continue;
    char expected[256];
    size_t o = 0;
    expected[0] = '\0';
    for (const char *const *k = known; *k; k++) {
      int n = snprintf(expected + o, sizeof expected - o, "%s%s", k == known ? "" : ", ", *k);
      if (n < 0 || (size_t)n >= sizeof expected - o) break;
      o += (size_t)n;
    }
    char q[BEAM_ETL_QUOTE_MAX];
    return BAD(err, "%s%sunknown key \"%s\" (expected one of: %s)", path ? path : "", path ? ": " : "",
               beam_etl_quote(key, strlen(key), q), expected);
  }
  return BEAM_OK;
}

beam_status beam_etl_json_to_value(json_t *j, const beam_etl_field *f, beam_arena *arena, beam_value *out,
                                   const char *path, beam_error *err) {
  char buf[64];
  beam_etl_cell cell = {BEAM_ETL_CELL_LITERAL, buf, 0};
  int n = 0;
  switch (json_typeof(j)) {
    case JSON_STRING:
      cell.state = BEAM_ETL_CELL_TEXT;
      cell.data = json_string_value(j);
      cell.len = json_string_length(j);
      break;
    case JSON_INTEGER:
      n = snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
      break;
    case JSON_REAL: {
      /* Shortest text that reads back the same double: 0.1 stays "0.1" for NUMERIC. */
      double d = json_real_value(j);
      for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
      }
      break;
    }
    case JSON_TRUE:
      n = snprintf(buf, sizeof buf, "true");
      break;
    case JSON_FALSE:
      n = snprintf(buf, sizeof buf, "false");
      break;
    default:
      return BAD(err, "%s: must be a scalar, not %s", path, beam_etl_json_kind(j));
  }
  if (cell.state == BEAM_ETL_CELL_LITERAL) cell.len = n < 0 ? 0 : (size_t)n;
  /* Copy: typed strings alias their cell and must outlive the JSON document. */
  char *copy = beam_arena_strndup(arena, cell.data, cell.len);
  if (!copy) return NOMEM(err);
  cell.data = copy;
  beam_etl_field as = *f;
  as.mode = BEAM_ETL_NULLABLE;
  beam_status st = beam_etl_coerce_cell(&as, &cell, arena, out, err);
  if (st != BEAM_OK && st != BEAM_ERR_NOMEM) {
    beam_error_prefix(err, "%s: ", path);
    if (err) err->code = BEAM_ERR_INVALID_ARG;
    return BEAM_ERR_INVALID_ARG;
  }
  return st;
}

beam_status beam_etl_field_ref(json_t *j, const char *path, const beam_etl_schema *s, const char *schema_path, int *out,
                              beam_error *err) {
  if (!json_is_string(j)) return BAD(err, "%s: must be a field name (string), not %s", path, beam_etl_json_kind(j));
  int fi = beam_etl_schema_find(s, json_string_value(j));
  if (fi < 0) {
    char q[BEAM_ETL_QUOTE_MAX];
    return BAD(err, "%s: no field \"%s\" in %s", path, beam_etl_quote(json_string_value(j), json_string_length(j), q),
               schema_path);
  }
  *out = fi;
  return BEAM_OK;
}

/* A field name listed in a section that sees the record (the union with tables). */
static beam_status field_ref(json_t *j, const char *path, const beam_etl_schema *s, int *out, beam_error *err) {
  return beam_etl_field_ref(j, path, s, "schema", out, err);
}

static beam_status parse_format(json_t *j, beam_etl_spec *spec, beam_error *err) {
  const char *f = json_string_value(j);
  if (f && strcmp(f, "jsonl") == 0) spec->format = BEAM_ETL_FORMAT_JSONL;
  else if (f && strcmp(f, "csv") == 0) spec->format = BEAM_ETL_FORMAT_CSV;
  else if (f && strcmp(f, "auto") == 0) spec->format = BEAM_ETL_FORMAT_AUTO;
  else return BAD(err, "format: must be \"jsonl\", \"csv\" or \"auto\"");
  return BEAM_OK;
}

static beam_status one_byte(json_t *j, const char *path, bool allow_empty, char *out, beam_error *err) {
  if (!json_is_string(j) || json_string_length(j) > 1 || (!allow_empty && json_string_length(j) == 0))
    return BAD(err, "%s: must be a one-character string%s", path, allow_empty ? " (or \"\" for none)" : "");
  *out = json_string_length(j) ? json_string_value(j)[0] : '\0';
  if (*out == '\n' || *out == '\r') return BAD(err, "%s: cannot be a line break", path);
  return BEAM_OK;
}

static beam_status parse_csv(json_t *j, beam_etl_spec *spec, beam_error *err) {
  static const char *const keys[] = {"delimiter", "quote", "header", NULL};
  if (!json_is_object(j)) return BAD(err, "csv: must be an object, not %s", beam_etl_json_kind(j));
  beam_status st = beam_etl_json_check_keys(j, "csv", keys, err);
  json_t *v;
  if (st == BEAM_OK && (v = json_object_get(j, "delimiter"))) st = one_byte(v, "csv.delimiter", false, &spec->csv.delimiter, err);
  if (st == BEAM_OK && (v = json_object_get(j, "quote"))) st = one_byte(v, "csv.quote", true, &spec->csv.quote, err);
  if (st == BEAM_OK && (v = json_object_get(j, "header"))) {
    if (!json_is_boolean(v)) return BAD(err, "csv.header: must be true or false");
    spec->csv.header = json_is_true(v);
  }
  /* No delimiter given: ',' (a tab for a .tsv file). No quote ("") never clashes. */
  if (st == BEAM_OK && spec->csv.quote && (spec->csv.delimiter ? spec->csv.delimiter : ',') == spec->csv.quote)
    return BAD(err, "csv: delimiter and quote must differ");
  return st;
}

beam_status beam_etl_schema_parse(json_t *j, const char *where, beam_arena *arena, beam_etl_schema *out,
                                 const char ***sources, beam_error *err) {
  static const char *const keys[] = {"name", "type", "mode", "description", "source", NULL};
  *sources = NULL;
  if (!json_is_array(j) || json_array_size(j) == 0) return BAD(err, "%s: must be a non-empty array of fields", where);
  size_t n = json_array_size(j);
  beam_etl_field *fields = beam_arena_calloc(arena, n, sizeof *fields);
  if (!fields) return NOMEM(err);
  for (size_t i = 0; i < n; i++) {
    char path[1400], sub[1420];
    snprintf(path, sizeof path, "%s[%zu]", where, i);
    json_t *f = json_array_get(j, i);
    if (!json_is_object(f)) return BAD(err, "%s: must be an object, not %s", path, beam_etl_json_kind(f));
    beam_status st = beam_etl_json_check_keys(f, path, keys, err);
    if (st != BEAM_OK) return st;
    json_t *name = json_object_get(f, "name");
    char q[BEAM_ETL_QUOTE_MAX];
    if (!json_is_string(name)) return BAD(err, "%s.name: %s", path, name ? "must be a string" : "missing");
    const char *nm = json_string_value(name);
    size_t nlen = json_string_length(name);
    if (!beam_etl_is_identifier(nm, nlen) || nlen > ETL_FIELD_NAME_MAX)
      return BAD(err, "%s.name: \"%s\" is not a valid field name (letters, digits, _; not starting with a digit; at "
                      "most %d bytes)",
                 path, beam_etl_quote(nm, nlen, q), ETL_FIELD_NAME_MAX);
    for (size_t k = 0; k < i; k++)
      if (strcasecmp(fields[k].name, nm) == 0)
        return BAD(err, "%s.name: duplicate field \"%s\" (also %s[%zu]; names are case-insensitive)", path, nm, where, k);
    fields[i].name = beam_arena_strndup(arena, nm, nlen);
    if (!fields[i].name) return NOMEM(err);
    json_t *type = json_object_get(f, "type");
    snprintf(sub, sizeof sub, "%s.type", path);
    if (!json_is_string(type)) return BAD(err, "%s: %s", sub, type ? "must be a string" : "missing");
    st = beam_etl_type_parse(json_string_value(type), &fields[i].type);
    if (st == BEAM_ERR_UNSUPPORTED)
      return BAD(err, "%s: type \"%s\" is not supported by the ETL transforms", sub, json_string_value(type));
    if (st != BEAM_OK)
      return BAD(err, "%s: unknown type \"%s\"", sub,
                 beam_etl_quote(json_string_value(type), json_string_length(type), q));
    json_t *mode = json_object_get(f, "mode");
    fields[i].mode = BEAM_ETL_NULLABLE;
    if (mode) {
      const char *m = json_string_value(mode);
      if (m && strcasecmp(m, "REQUIRED") == 0) fields[i].mode = BEAM_ETL_REQUIRED;
      else if (m && strcasecmp(m, "REPEATED") == 0)
        return BAD(err, "%s.mode: REPEATED fields are not supported by the ETL transforms", path);
      else if (!m || strcasecmp(m, "NULLABLE") != 0)
        return BAD(err, "%s.mode: must be \"NULLABLE\" or \"REQUIRED\"", path);
    }
    json_t *desc = json_object_get(f, "description");
    if (desc && !json_is_string(desc)) return BAD(err, "%s.description: must be a string", path);
    json_t *source = json_object_get(f, "source");
    if (!source) continue;
    snprintf(sub, sizeof sub, "%s.source", path);
    if (!json_is_string(source)) return BAD(err, "%s: must be a string (\"_publish_time\" or \"_attributes.NAME\")", sub);
    if ((st = beam_etl_source_check(json_string_value(source), &fields[i], sub, err))) return st;
    if (!*sources && !(*sources = beam_arena_calloc(arena, n, sizeof **sources))) return NOMEM(err);
    if (!((*sources)[i] = beam_arena_strdup(arena, json_string_value(source)))) return NOMEM(err);
  }
  out->fields = fields;
  out->n_fields = n;
  return BEAM_OK;
}

static beam_status parse_case_list(json_t *j, const char *key, uint8_t mode, beam_etl_spec *spec, beam_error *err) {
  if (!json_is_array(j)) return BAD(err, "clean.%s: must be an array of field names", key);
  for (size_t i = 0; i < json_array_size(j); i++) {
    char path[64];
    snprintf(path, sizeof path, "clean.%s[%zu]", key, i);
    int fi = -1;
    beam_status st = field_ref(json_array_get(j, i), path, &spec->schema, &fi, err);
    if (st != BEAM_OK) return st;
    if (spec->clean.case_fold[fi] != BEAM_ETL_CASE_KEEP && spec->clean.case_fold[fi] != mode)
      return BAD(err, "%s: field \"%s\" is in both clean.lowercase and clean.uppercase", path,
                 spec->schema.fields[fi].name);
    spec->clean.case_fold[fi] = mode;
  }
  return BEAM_OK;
}

static beam_status parse_clean(json_t *j, beam_etl_spec *spec, beam_error *err) {
  static const char *const keys[] = {"trim", "lowercase", "uppercase", "null_tokens", "dedupe_on", NULL};
  if (!json_is_object(j)) return BAD(err, "clean: must be an object, not %s", beam_etl_json_kind(j));
  beam_status st = beam_etl_json_check_keys(j, "clean", keys, err);
  if (st != BEAM_OK) return st;
  json_t *v;
  if ((v = json_object_get(j, "trim"))) {
    if (!json_is_boolean(v)) return BAD(err, "clean.trim: must be true or false");
    spec->clean.trim = json_is_true(v);
  }
  if ((v = json_object_get(j, "lowercase")) && (st = parse_case_list(v, "lowercase", BEAM_ETL_CASE_LOWER, spec, err)))
    return st;
  if ((v = json_object_get(j, "uppercase")) && (st = parse_case_list(v, "uppercase", BEAM_ETL_CASE_UPPER, spec, err)))
    return st;
  if ((v = json_object_get(j, "null_tokens"))) {
    if (!json_is_array(v)) return BAD(err, "clean.null_tokens: must be an array of strings");
    size_t n = json_array_size(v);
    beam_etl_null_token *toks = beam_arena_calloc(&spec->arena, n ? n : 1, sizeof *toks);
    if (!toks) return NOMEM(err);
    for (size_t i = 0; i < n; i++) {
      json_t *t = json_array_get(v, i);
      if (!json_is_string(t)) return BAD(err, "clean.null_tokens[%zu]: must be a string, not %s", i, beam_etl_json_kind(t));
      toks[i].len = json_string_length(t);
      toks[i].text = beam_arena_strndup(&spec->arena, json_string_value(t), toks[i].len);
      if (!toks[i].text) return NOMEM(err);
    }
    spec->clean.null_tokens = toks;
    spec->clean.n_null_tokens = n;
  }
  if ((v = json_object_get(j, "dedupe_on")) && (st = field_ref(v, "clean.dedupe_on", &spec->schema, &spec->dedupe_field, err)))
    return st;
  return BEAM_OK;
}

static beam_status parse_route(json_t *j, beam_etl_spec *spec, beam_error *err) {
  static const char *const keys[] = {"table", "default", NULL};
  if (!json_is_object(j)) return BAD(err, "route: must be an object, not %s", beam_etl_json_kind(j));
  beam_status st = beam_etl_json_check_keys(j, "route", keys, err);
  if (st != BEAM_OK) return st;
  json_t *t = json_object_get(j, "table"), *d = json_object_get(j, "default");
  if (!json_is_string(t)) return BAD(err, "route.table: %s", t ? "must be a string" : "missing");
  if (d && !json_is_string(d)) return BAD(err, "route.default: must be a string");
  return beam_etl_route_parse(json_string_value(t), d ? json_string_value(d) : NULL, &spec->schema, &spec->arena,
                              &spec->route, err);
}

const char *beam_etl_partition_granularity_name(beam_etl_partition_granularity g) {
  switch (g) {
    case BEAM_ETL_PARTITION_DAY: return "DAY";
    case BEAM_ETL_PARTITION_HOUR: return "HOUR";
    case BEAM_ETL_PARTITION_MONTH: return "MONTH";
    case BEAM_ETL_PARTITION_YEAR: return "YEAR";
  }
  return "DAY";
}

beam_status beam_etl_cluster_parse(json_t *obj, const char *prefix, const beam_etl_schema *schema,
                                   const char *schema_path, beam_arena *arena, int **out, size_t *n_out,
                                   beam_error *err) {
  json_t *j = json_object_get(obj, "cluster_fields");
  if (!j) return BEAM_OK;
  if (!json_is_array(j)) return BAD(err, "%scluster_fields: must be an array of field names", prefix);
  size_t n = json_array_size(j);
  if (n > ETL_MAX_CLUSTER_FIELDS)
    return BAD(err, "%scluster_fields: at most %d fields (BigQuery)", prefix, ETL_MAX_CLUSTER_FIELDS);
  int *fields = beam_arena_calloc(arena, n ? n : 1, sizeof *fields);
  if (!fields) return NOMEM(err);
  for (size_t i = 0; i < n; i++) {
    char path[1400];
    snprintf(path, sizeof path, "%scluster_fields[%zu]", prefix, i);
    int fi = -1;
    beam_status st = beam_etl_field_ref(json_array_get(j, i), path, schema, schema_path, &fi, err);
    if (st != BEAM_OK) return st;
    beam_etl_type t = schema->fields[fi].type;
    if (t == BEAM_ETL_FLOAT64 || t == BEAM_ETL_BYTES)
      return BAD(err, "%s: field \"%s\" is %s, which BigQuery cannot cluster on", path, schema->fields[fi].name,
                 beam_etl_type_name(t));
    for (size_t k = 0; k < i; k++)
      if (fields[k] == fi) return BAD(err, "%s: field \"%s\" listed twice", path, schema->fields[fi].name);
    fields[i] = fi;
  }
  *out = fields;
  *n_out = n;
  return BEAM_OK;
}

/* One entry of "outputs": {"sink": URI, "tables": [...], "where": EXPR} (etl_destination.h). */
static beam_status parse_output(json_t *j, const char *path, beam_etl_spec *spec, beam_etl_destination *out,
                                beam_error *err) {
  static const char *const keys[] = {"sink", "tables", "where", "description", NULL};
  if (!json_is_object(j)) return BAD(err, "%s: must be an object, not %s", path, beam_etl_json_kind(j));
  beam_status st = beam_etl_json_check_keys(j, path, keys, err);
  if (st != BEAM_OK) return st;
  json_t *sink = json_object_get(j, "sink"), *tables = json_object_get(j, "tables"), *where = json_object_get(j, "where");
  if (!json_is_string(sink) || !json_string_length(sink))
    return BAD(err, "%s.sink: %s", path, sink ? "must be a sink URI string" : "missing (the destination's URI)");
  if (tables && !json_is_array(tables)) return BAD(err, "%s.tables: must be an array of table names", path);
  if (where && !json_is_string(where)) return BAD(err, "%s.where: must be a filter expression string", path);
  size_t n = tables ? json_array_size(tables) : 0;
  const char **names = beam_arena_calloc(&spec->arena, n ? n : 1, sizeof *names);
  if (!names) return NOMEM(err);
  for (size_t i = 0; i < n; i++)
    if (!(names[i] = json_string_value(json_array_get(tables, i))))
      return BAD(err, "%s.tables[%zu]: must be a string", path, i);
  st = beam_etl_destination_make(json_string_value(sink), tables ? names : NULL, n, where ? json_string_value(where) : NULL,
                            &spec->schema, &spec->route, &spec->arena, out, err);
  if (st != BEAM_OK && st != BEAM_ERR_NOMEM) beam_error_prefix(err, "%s.", path);
  return st;
}

static beam_status parse_outputs(json_t *j, beam_etl_spec *spec, beam_error *err) {
  if (!json_is_array(j)) return BAD(err, "outputs: must be an array of {\"sink\": URI, \"tables\": [...], \"where\": EXPR}");
  size_t n = json_array_size(j);
  spec->outputs = beam_arena_calloc(&spec->arena, n ? n : 1, sizeof *spec->outputs);
  if (!spec->outputs) return NOMEM(err);
  for (size_t i = 0; i < n; i++) {
    char path[32];
    snprintf(path, sizeof path, "outputs[%zu]", i);
    beam_status st = parse_output(json_array_get(j, i), path, spec, &spec->outputs[i], err);
    if (st != BEAM_OK) return st;
    spec->n_outputs++;
  }
  return BEAM_OK;
}

beam_status beam_etl_partition_parse(json_t *obj, const char *prefix, const beam_etl_schema *schema,
                                     const char *schema_path, int *field, beam_etl_partition_granularity *granularity,
                                     beam_error *err) {
  json_t *v = json_object_get(obj, "partition_granularity");
  *granularity = BEAM_ETL_PARTITION_DAY;
  if (v) {
    static const char *const names[] = {"DAY", "HOUR", "MONTH", "YEAR"};
    const char *g = json_string_value(v);
    size_t k = 0;
    while (g && k < 4 && strcmp(g, names[k]) != 0) k++;
    if (!g || k == 4) return BAD(err, "%spartition_granularity: must be \"DAY\", \"HOUR\", \"MONTH\" or \"YEAR\"", prefix);
    *granularity = (beam_etl_partition_granularity)k;
  }
  json_t *f = json_object_get(obj, "partition_field");
  char path[1400];
  snprintf(path, sizeof path, "%spartition_field", prefix);
  if (!f) return v ? BAD(err, "%spartition_granularity: needs a partition_field", prefix) : BEAM_OK;
  beam_status st = beam_etl_field_ref(f, path, schema, schema_path, field, err);
  if (st != BEAM_OK) return st;
  const beam_etl_field *pf = &schema->fields[*field];
  if (pf->type != BEAM_ETL_TIMESTAMP && pf->type != BEAM_ETL_DATE)
    return BAD(err, "%s: field \"%s\" is %s; partitioning needs a TIMESTAMP or DATE field", path, pf->name,
               beam_etl_type_name(pf->type));
  if (*granularity == BEAM_ETL_PARTITION_HOUR && pf->type != BEAM_ETL_TIMESTAMP)
    return BAD(err, "%spartition_granularity: HOUR partitioning needs a TIMESTAMP field; \"%s\" is %s", prefix, pf->name,
               beam_etl_type_name(pf->type));
  return BEAM_OK;
}

/* "event_time_field": a TIMESTAMP or DATE field every table has (the partition field of those
 * without one; for a stream, also the time a row's event time is read from). */
static beam_status parse_event_time_field(json_t *v, beam_etl_spec *spec, beam_error *err) {
  beam_status st = field_ref(v, "event_time_field", &spec->schema, &spec->event_time_field, err);
  if (st != BEAM_OK) return st;
  const beam_etl_field *f = &spec->schema.fields[spec->event_time_field];
  if (f->type != BEAM_ETL_TIMESTAMP && f->type != BEAM_ETL_DATE)
    return BAD(err, "event_time_field: field \"%s\" is %s; an event time is a TIMESTAMP or DATE field", f->name,
               beam_etl_type_name(f->type));
  if ((size_t)spec->event_time_field >= spec->schema.n_fields - spec->n_hidden)
    return BAD(err, "event_time_field: \"%s\" is a message field, not a column: the publish time is the default event "
                    "time (or give a field \"source\": \"_publish_time\")",
               f->name);
  if (spec->n_tables && spec->top_schema.n_fields && beam_etl_schema_find(&spec->top_schema, f->name) < 0)
    return BAD(err, "event_time_field: field \"%s\" is not in the top-level schema (every table needs it)", f->name);
  for (size_t i = 0; i < spec->n_tables; i++)
    if (beam_etl_schema_find(&spec->tables[i].schema, f->name) < 0)
      return BAD(err, "event_time_field: field \"%s\" is not in tables.%s.schema (every table needs it)", f->name,
                 spec->tables[i].name);
  return BEAM_OK;
}

static const char *const spec_keys[] = {"format", "csv", "schema", "tables", "clean", "validate", "filter", "route",
                                        "partition_field", "partition_granularity", "cluster_fields", "event_time_field",
                                        "outputs", "description", NULL};

static beam_status parse_doc(json_t *root, beam_etl_spec *spec, beam_error *err) {
  if (!json_is_object(root)) return BAD(err, "must be a JSON object, not %s", beam_etl_json_kind(root));
  beam_status st = beam_etl_json_check_keys(root, NULL, spec_keys, err);
  if (st != BEAM_OK) return st;
  json_t *v;
  if ((v = json_object_get(root, "description")) && !json_is_string(v)) return BAD(err, "description: must be a string");
  if ((v = json_object_get(root, "format")) && (st = parse_format(v, spec, err))) return st;
  if ((v = json_object_get(root, "csv")) && (st = parse_csv(v, spec, err))) return st;
  json_t *tables = json_object_get(root, "tables");
  const char **top_sources = NULL;
  if ((v = json_object_get(root, "schema")) &&
      (st = beam_etl_schema_parse(v, "schema", &spec->arena, &spec->top_schema, &top_sources, err)))
    return st;
  for (size_t i = 0; top_sources && i < spec->top_schema.n_fields && !spec->message_key; i++) {
    char key[64];
    snprintf(key, sizeof key, "schema[%zu].source", i);
    if (top_sources[i] && !(spec->message_key = beam_arena_strdup(&spec->arena, key))) return NOMEM(err);
  }
  if (!v && !tables) return BAD(err, "schema: missing");
  spec->schema = spec->top_schema;
  if (tables && (st = beam_etl_tables_parse(tables, spec, err))) return st; /* spec->schema becomes the union */
  spec->clean.case_fold = beam_arena_calloc(&spec->arena, spec->schema.n_fields, 1);
  if (!spec->clean.case_fold) return NOMEM(err);
  spec->clean.n_fields = spec->schema.n_fields;
  spec->validate.max_bad_records = -1; /* no limits unless validate sets them */
  spec->validate.max_bad_ratio = -1;
  if ((v = json_object_get(root, "clean")) && (st = parse_clean(v, spec, err))) return st;
  if ((v = json_object_get(root, "validate")) &&
      (st = beam_etl_validation_parse(v, &spec->schema, &spec->arena, &spec->validate, err)))
    return st;
  /* The message fields route and filter name join the schema as hidden fields first. */
  if ((v = json_object_get(root, "filter")) && json_is_string(v) &&
      (st = beam_etl_message_refs_add(spec, json_string_value(v), false, "filter", err)))
    return st;
  json_t *route_table = json_object_get(json_object_get(root, "route"), "table");
  if (json_is_string(route_table) &&
      (st = beam_etl_message_refs_add(spec, json_string_value(route_table), true, "route.table", err)))
    return st;
  if ((v = json_object_get(root, "filter"))) {
    if (!json_is_string(v)) return BAD(err, "filter: must be a string, not %s", beam_etl_json_kind(v));
    spec->filter_text = beam_arena_strdup(&spec->arena, json_string_value(v));
    if (!spec->filter_text) return NOMEM(err);
    st = beam_etl_filter_parse(spec->filter_text, &spec->schema, &spec->arena, &spec->filter, err);
    if (st != BEAM_OK) {
      if (st != BEAM_ERR_NOMEM) beam_error_prefix(err, "filter: ");
      return st;
    }
  }
  if (!(v = json_object_get(root, "route"))) return BAD(err, "route: missing (every spec names its destination table)");
  if ((st = parse_route(v, spec, err))) return st;
  /* The top-level options belong to the tables without an entry, which have top_schema. */
  if (!spec->top_schema.n_fields)
    for (const char *const *k = (const char *const[]){"partition_field", "partition_granularity", "cluster_fields", NULL}; *k; k++)
      if (json_object_get(root, *k))
        return BAD(err, "%s: needs the top-level schema (it applies to the tables without an entry in tables)", *k);
  if ((st = beam_etl_partition_parse(root, "", &spec->top_schema, "schema", &spec->partition_field,
                                     &spec->partition_granularity, err)))
    return st;
  if ((st = beam_etl_cluster_parse(root, "", &spec->top_schema, "schema", &spec->arena, &spec->cluster_fields,
                                   &spec->n_cluster_fields, err)))
    return st;
  if (tables && (st = beam_etl_tables_check(spec, err))) return st;
  if ((st = beam_etl_message_sources_finish(spec, top_sources, err))) return st;
  if ((v = json_object_get(root, "event_time_field")) && (st = parse_event_time_field(v, spec, err))) return st;
  /* After the tables: a destination's selection is checked against the union schema. */
  if ((v = json_object_get(root, "outputs")) && (st = parse_outputs(v, spec, err))) return st;
  return BEAM_OK;
}

beam_status beam_etl_spec_parse(const char *json_text, size_t len, const char *spec_name, beam_etl_spec **out,
                                beam_error *err) {
  *out = NULL;
  if (!spec_name) spec_name = "spec";
  beam_etl_spec *spec = calloc(1, sizeof *spec);
  if (!spec) return NOMEM(err);
  spec->name = beam_arena_strdup(&spec->arena, spec_name);
  spec->format = BEAM_ETL_FORMAT_AUTO;
  spec->csv = (beam_etl_csv_options){'\0', '"', true}; /* no delimiter given: by the file's name */
  spec->clean.trim = true;
  spec->clean.null_tokens = beam_etl_default_null_tokens;
  spec->clean.n_null_tokens = beam_etl_default_null_tokens_len;
  spec->dedupe_field = -1;
  spec->partition_field = -1;
  spec->event_time_field = -1;
  if (!spec->name) {
    beam_etl_spec_free(spec);
    return NOMEM(err);
  }
  json_error_t jerr;
  /* Duplicate keys are rejected: the second "filter" would silently win otherwise. */
  json_t *root = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &jerr);
  beam_status st;
  if (!root) {
    st = beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: invalid JSON at line %d column %d: %s", spec_name, jerr.line,
                        jerr.column, jerr.text);
  } else {
    beam_error local;
    beam_error *e = err ? err : &local;
    st = parse_doc(root, spec, e);
    if (st != BEAM_OK) beam_error_prefix(e, "%s: ", spec_name);
    json_decref(root);
  }
  if (st != BEAM_OK) {
    beam_etl_spec_free(spec);
    return st;
  }
  *out = spec;
  return BEAM_OK;
}

beam_status beam_etl_spec_load_file(const char *path, beam_etl_spec **out, beam_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return beam_error_set(err, BEAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  char *data = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (cap - len < 4096) {
      /* Specs are small; refuse anything absurd rather than reading a wrong file forever. */
      if (cap > ((size_t)16 << 20)) {
        free(data);
        fclose(f);
        return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: spec larger than 16 MiB", path);
      }
      size_t ncap = cap ? cap * 2 : 8192;
      char *nd = realloc(data, ncap);
      if (!nd) {
        free(data);
        fclose(f);
        return NOMEM(err);
      }
      data = nd;
      cap = ncap;
    }
    size_t n = fread(data + len, 1, cap - len, f);
    len += n;
    if (n == 0) break;
  }
  bool failed = ferror(f);
  fclose(f);
  if (failed) {
    free(data);
    return beam_error_set(err, BEAM_ERR_IO, "%s: read error", path);
  }
  beam_status st = beam_etl_spec_parse(data, len, path, out, err);
  free(data);
  return st;
}

void beam_etl_spec_free(beam_etl_spec *spec) {
  if (!spec) return;
  beam_etl_validation_free(&spec->validate);
  beam_arena_free(&spec->arena);
  free(spec);
}
