/* Validation rules: parsed and compiled once from the spec, checked per typed row. */
#include "beam/transforms/etl_validate.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "beam/transforms/etl_coerce.h"
#include "beam/transforms/etl_value.h"
#include "etl_regex.h"
#include "etl_spec_internal.h"
#include "etl_text.h"

const char *beam_etl_rule_kind_name(beam_etl_rule_kind k) {
  switch (k) {
    case BEAM_ETL_RULE_REQUIRED: return "required";
    case BEAM_ETL_RULE_TYPE: return "type";
    case BEAM_ETL_RULE_REGEX: return "regex";
    case BEAM_ETL_RULE_MIN: return "min";
    case BEAM_ETL_RULE_MAX: return "max";
    case BEAM_ETL_RULE_MIN_LENGTH: return "min_length";
    case BEAM_ETL_RULE_MAX_LENGTH: return "max_length";
    case BEAM_ETL_RULE_ENUM: return "enum";
  }
  return "?";
}

/* ---- parsing ---------------------------------------------------------------------- */

static const char *const rule_keys[] = {"field", "required", "type", "regex", "min", "max",
                                        "min_length", "max_length", "enum", NULL};

static beam_status parse_length_bound(json_t *j, const char *path, beam_etl_rule *r, beam_arena *arena,
                                      beam_error *err) {
  if (!json_is_integer(j) || json_integer_value(j) < 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: must be a non-negative integer, not %s", path,
                          beam_etl_json_kind(j));
  r->bound = beam_value_int64(json_integer_value(j));
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRId64, r->bound.u.i64);
  r->bound_text = beam_arena_strdup(arena, buf);
  return r->bound_text ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

static beam_status parse_bound(json_t *j, const char *path, const beam_etl_field *f, beam_etl_rule *r,
                               beam_arena *arena, beam_error *err) {
  switch (f->type) {
    case BEAM_ETL_NUMERIC:
      /* A string keeps an exact decimal that a JSON number (a double) might not. */
      if (!json_is_number(j) && !json_is_string(j))
        return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                              "%s: field \"%s\" is NUMERIC: the bound must be a number or a decimal string, not %s",
                              path, f->name, beam_etl_json_kind(j));
      break;
    case BEAM_ETL_INT64:
    case BEAM_ETL_FLOAT64:
      if (!json_is_number(j))
        return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: field \"%s\" is %s: the bound must be a number, not %s",
                              path, f->name, beam_etl_type_name(f->type), beam_etl_json_kind(j));
      break;
    case BEAM_ETL_TIMESTAMP:
    case BEAM_ETL_DATE:
      if (!json_is_string(j))
        return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: field \"%s\" is %s: the bound must be a string, not %s",
                              path, f->name, beam_etl_type_name(f->type), beam_etl_json_kind(j));
      break;
    default:
      return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                            "%s: field \"%s\" is %s: min/max apply to numbers, TIMESTAMP and DATE%s", path, f->name,
                            beam_etl_type_name(f->type),
                            f->type == BEAM_ETL_STRING || f->type == BEAM_ETL_BYTES ? " (use min_length/max_length)" : "");
  }
  beam_status st = beam_etl_json_to_value(j, f, arena, &r->bound, path, err);
  if (st != BEAM_OK) return st;
  char buf[BEAM_ETL_VALUE_TEXT_MAX];
  size_t n;
  const char *t = beam_etl_value_text(f->type, &r->bound, buf, &n);
  r->bound_text = beam_arena_strndup(arena, t, n);
  return r->bound_text ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

/* Room for a pattern in a spec error, in bytes: the message (512) must keep the position. */
#define PATTERN_SHOWN_MAX 240

/* Compiles j (a string) into r; a syntax error names the rule, the pattern, the field and
 * PCRE2's reason with its position: validate.rules[1].regex: invalid regex "(": missing
 * closing parenthesis at offset 1 (field "event_id"). */
static beam_status parse_regex(json_t *j, const char *path, const beam_etl_field *f, beam_etl_rule *r,
                               beam_arena *arena, beam_error *err) {
  r->pattern = beam_arena_strdup(arena, json_string_value(j));
  if (!r->pattern) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_error why;
  beam_status st = beam_etl_regex_compile(r->pattern, &r->regex, &why);
  if (st == BEAM_ERR_NOMEM) return beam_error_set(err, st, "out of memory");
  if (st != BEAM_OK) {
    size_t len = strlen(r->pattern), shown = len;
    if (shown > PATTERN_SHOWN_MAX) {
      shown = PATTERN_SHOWN_MAX; /* cut at a character boundary: the message stays UTF-8 */
      while (shown > 0 && ((unsigned char)r->pattern[shown] & 0xC0) == 0x80) shown--;
    }
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: invalid regex \"%.*s%s\": %s (field \"%s\")", path,
                          (int)shown, r->pattern, shown < len ? "..." : "", why.message, f->name);
  }
  return BEAM_OK;
}

/* Parses rules[i] into out[*n...], one beam_etl_rule per check. */
static beam_status parse_rule(json_t *obj, size_t i, const beam_etl_schema *schema, beam_arena *arena,
                              beam_etl_rule *out, size_t *n, beam_error *err) {
  char path[64], sub[96];
  snprintf(path, sizeof path, "validate.rules[%zu]", i);
  if (!json_is_object(obj))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: must be an object, not %s", path, beam_etl_json_kind(obj));
  beam_status st = beam_etl_json_check_keys(obj, path, rule_keys, err);
  if (st != BEAM_OK) return st;
  json_t *jf = json_object_get(obj, "field");
  if (!json_is_string(jf))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s.field: %s", path,
                          jf ? "must be a string" : "missing (every rule names a schema field)");
  int fi = beam_etl_schema_find(schema, json_string_value(jf));
  if (fi < 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s.field: no field \"%s\" in schema", path,
                          json_string_value(jf));
  const beam_etl_field *f = &schema->fields[fi];
#define NEW_RULE(k) (out[*n] = (beam_etl_rule){.kind = (k), .field = fi, .index = i}, &out[(*n)++])

  json_t *j;
  if ((j = json_object_get(obj, "required"))) {
    if (!json_is_boolean(j))
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s.required: must be true or false", path);
    if (json_is_true(j)) NEW_RULE(BEAM_ETL_RULE_REQUIRED);
  }
  if ((j = json_object_get(obj, "type"))) {
    beam_etl_type t;
    if (!json_is_string(j) || beam_etl_type_parse(json_string_value(j), &t) != BEAM_OK)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s.type: unknown type \"%s\"", path,
                            json_is_string(j) ? json_string_value(j) : "?");
    if (f->type != BEAM_ETL_STRING && t != f->type)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                            "%s.type: rule type %s conflicts with schema type %s of field \"%s\"", path,
                            beam_etl_type_name(t), beam_etl_type_name(f->type), f->name);
    /* Same type as the schema: coercion already enforces it; keep no runtime check. */
    if (t != f->type) NEW_RULE(BEAM_ETL_RULE_TYPE)->type = t;
  }
  if ((j = json_object_get(obj, "regex"))) {
    snprintf(sub, sizeof sub, "%s.regex", path);
    if (!json_is_string(j))
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: must be a string", sub);
    if (f->type != BEAM_ETL_STRING && f->type != BEAM_ETL_NUMERIC)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: field \"%s\" is %s: regex applies to STRING and NUMERIC",
                            sub, f->name, beam_etl_type_name(f->type));
    beam_etl_rule *r = NEW_RULE(BEAM_ETL_RULE_REGEX);
    if ((st = parse_regex(j, sub, f, r, arena, err)) != BEAM_OK) return st;
  }
  static const char *const bound_keys[2] = {"min", "max"};
  for (int b = 0; b < 2; b++) {
    if (!(j = json_object_get(obj, bound_keys[b]))) continue;
    snprintf(sub, sizeof sub, "%s.%s", path, bound_keys[b]);
    beam_etl_rule *r = NEW_RULE(b == 0 ? BEAM_ETL_RULE_MIN : BEAM_ETL_RULE_MAX);
    if ((st = parse_bound(j, sub, f, r, arena, err)) != BEAM_OK) return st;
  }
  static const char *const len_keys[2] = {"min_length", "max_length"};
  for (int b = 0; b < 2; b++) {
    if (!(j = json_object_get(obj, len_keys[b]))) continue;
    snprintf(sub, sizeof sub, "%s.%s", path, len_keys[b]);
    if (f->type != BEAM_ETL_STRING && f->type != BEAM_ETL_BYTES)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: field \"%s\" is %s: lengths apply to STRING and BYTES",
                            sub, f->name, beam_etl_type_name(f->type));
    beam_etl_rule *r = NEW_RULE(b == 0 ? BEAM_ETL_RULE_MIN_LENGTH : BEAM_ETL_RULE_MAX_LENGTH);
    if ((st = parse_length_bound(j, sub, r, arena, err)) != BEAM_OK) return st;
  }
  if ((j = json_object_get(obj, "enum"))) {
    snprintf(sub, sizeof sub, "%s.enum", path);
    if (!json_is_array(j) || json_array_size(j) == 0)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: must be a non-empty array", sub);
    beam_etl_rule *r = NEW_RULE(BEAM_ETL_RULE_ENUM);
    r->n_values = json_array_size(j);
    r->values = beam_arena_calloc(arena, r->n_values, sizeof *r->values);
    if (!r->values) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < r->n_values; k++) {
      char item[160];
      snprintf(item, sizeof item, "%s[%zu]", sub, k);
      json_t *v = json_array_get(j, k);
      if (json_is_null(v) || json_is_array(v) || json_is_object(v))
        return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: must be a scalar, not %s", item, beam_etl_json_kind(v));
      if ((st = beam_etl_json_to_value(v, f, arena, &r->values[k], item, err)) != BEAM_OK) return st;
    }
  }
#undef NEW_RULE
  /* "field" plus at least one check key; "required": false alone checks nothing. */
  size_t n_keys = json_object_size(obj) - 1;
  if (json_is_false(json_object_get(obj, "required"))) n_keys--;
  if (n_keys == 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "%s: rule has no check (one of required, type, regex, min, max, min_length, max_length, enum)",
                          path);
  return BEAM_OK;
}

/* validate.max_bad_records (an integer >= 0) and validate.max_bad_ratio (a number in 0..1). */
static beam_status parse_limits(json_t *section, beam_etl_validation *out, beam_error *err) {
  json_t *records = json_object_get(section, "max_bad_records");
  if (records && (!json_is_integer(records) || json_integer_value(records) < 0))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "validate.max_bad_records: must be an integer >= 0, not %s",
                          json_is_integer(records) ? "a negative number" : beam_etl_json_kind(records));
  if (records) out->max_bad_records = json_integer_value(records);
  json_t *ratio = json_object_get(section, "max_bad_ratio");
  if (ratio && (!json_is_number(ratio) || json_number_value(ratio) < 0 || json_number_value(ratio) > 1))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "validate.max_bad_ratio: must be a number from 0 to 1, not %s",
                          json_is_number(ratio) ? "one outside that range" : beam_etl_json_kind(ratio));
  if (ratio) out->max_bad_ratio = json_number_value(ratio);
  return BEAM_OK;
}

beam_status beam_etl_validation_parse(json_t *section, const beam_etl_schema *schema, beam_arena *arena,
                                      beam_etl_validation *out, beam_error *err) {
  static const char *const keys[] = {"mode", "rules", "max_bad_records", "max_bad_ratio", NULL};
  memset(out, 0, sizeof *out);
  out->max_bad_records = -1;
  out->max_bad_ratio = -1;
  if (!json_is_object(section))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "validate: must be an object, not %s", beam_etl_json_kind(section));
  beam_status st = beam_etl_json_check_keys(section, "validate", keys, err);
  if (st != BEAM_OK) return st;
  json_t *mode = json_object_get(section, "mode");
  if (mode) {
    const char *m = json_string_value(mode);
    if (m && strcmp(m, "hard") == 0) out->hard = true;
    else if (!m || strcmp(m, "soft") != 0)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "validate.mode: must be \"soft\" or \"hard\"");
  }
  if ((st = parse_limits(section, out, err)) != BEAM_OK) return st;
  json_t *rules = json_object_get(section, "rules");
  if (!rules) return BEAM_OK;
  if (!json_is_array(rules))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "validate.rules: must be an array, not %s",
                          beam_etl_json_kind(rules));
  /* At most 8 checks per rule object (one of each kind). */
  size_t cap = json_array_size(rules) * 8;
  out->rules = beam_arena_calloc(arena, cap ? cap : 1, sizeof *out->rules);
  if (!out->rules) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < json_array_size(rules); i++) {
    st = parse_rule(json_array_get(rules, i), i, schema, arena, out->rules, &out->n_rules, err);
    if (st != BEAM_OK) return st;
  }
  return BEAM_OK;
}

void beam_etl_validation_free(beam_etl_validation *v) {
  if (!v || !v->rules) return;
  for (size_t i = 0; i < v->n_rules; i++) {
    beam_etl_regex_free(v->rules[i].regex);
    v->rules[i].regex = NULL;
  }
  v->n_rules = 0;
}

/* ---- checking --------------------------------------------------------------------- */

static size_t utf8_length(const uint8_t *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += (s[i] & 0xC0) != 0x80;
  return n;
}

static beam_status rule_failed(const beam_etl_rule *r, const beam_etl_row *row, const char *detail,
                               beam_error *err) {
  const beam_etl_field *f = &row->schema->fields[r->field];
  const beam_value *v = &row->values[r->field];
  char tb[BEAM_ETL_VALUE_TEXT_MAX], q[BEAM_ETL_QUOTE_MAX];
  size_t n;
  const char *t = beam_etl_value_text(f->type, v, tb, &n);
  if (v->kind == BEAM_VALUE_NULL)
    return beam_error_set(err, BEAM_ERR_USER, "field \"%s\": null fails rule %s (validate.rules[%zu])", f->name,
                          detail, r->index);
  return beam_error_set(err, BEAM_ERR_USER, "field \"%s\": \"%s\" fails rule %s (validate.rules[%zu])", f->name,
                        beam_etl_quote(t, n, q), detail, r->index);
}

/* The value must contain a match of the rule's pattern. A search that gives up (runaway
 * backtracking) fails the rule too, saying so: the value could not be shown to match. */
static beam_status check_regex(const beam_etl_rule *r, const beam_etl_row *row, const beam_value *v, beam_error *err) {
  char why[96];
  beam_etl_regex_result m =
      beam_etl_regex_search(r->regex, (const char *)v->u.bytes.data, v->u.bytes.len, why, sizeof why);
  if (m == BEAM_ETL_REGEX_MATCH) return BEAM_OK;
  if (m == BEAM_ETL_REGEX_NOMEM) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  char q[BEAM_ETL_QUOTE_MAX], detail[BEAM_ETL_QUOTE_MAX + sizeof why + 32];
  int n = snprintf(detail, sizeof detail, "regex \"%s\"", beam_etl_quote(r->pattern, strlen(r->pattern), q));
  if (m == BEAM_ETL_REGEX_GAVE_UP) snprintf(detail + n, sizeof detail - (size_t)n, " (gave up: %s)", why);
  return rule_failed(r, row, detail, err);
}

beam_status beam_etl_validate_row(const beam_etl_validation *val, const beam_etl_row *row, beam_arena *arena,
                                  beam_error *err) {
  for (size_t i = 0; i < val->n_rules; i++) {
    const beam_etl_rule *r = &val->rules[i];
    const beam_etl_field *f = &row->schema->fields[r->field];
    const beam_value *v = &row->values[r->field];
    if (v->kind == BEAM_VALUE_NULL) {
      if (r->kind == BEAM_ETL_RULE_REQUIRED) return rule_failed(r, row, "required", err);
      continue;
    }
    char detail[BEAM_ETL_QUOTE_MAX + 32];
    switch (r->kind) {
      case BEAM_ETL_RULE_REQUIRED:
        break;
      case BEAM_ETL_RULE_TYPE: {
        beam_etl_field as = {f->name, r->type, BEAM_ETL_NULLABLE};
        beam_etl_cell cell = {BEAM_ETL_CELL_TEXT, (const char *)v->u.bytes.data, v->u.bytes.len};
        beam_value typed;
        beam_status st = beam_etl_coerce_cell(&as, &cell, arena, &typed, NULL);
        if (st == BEAM_ERR_NOMEM) return beam_error_set(err, st, "out of memory");
        if (st != BEAM_OK) {
          snprintf(detail, sizeof detail, "type %s", beam_etl_type_name(r->type));
          return rule_failed(r, row, detail, err);
        }
        break;
      }
      case BEAM_ETL_RULE_REGEX: {
        beam_status st = check_regex(r, row, v, err);
        if (st != BEAM_OK) return st;
        break;
      }
      case BEAM_ETL_RULE_MIN:
      case BEAM_ETL_RULE_MAX: {
        int c;
        bool ordered = beam_etl_value_compare(f->type, v, &r->bound, &c);
        bool ok = ordered && (r->kind == BEAM_ETL_RULE_MIN ? c >= 0 : c <= 0);
        if (!ok) {
          snprintf(detail, sizeof detail, "%s %s", beam_etl_rule_kind_name(r->kind), r->bound_text);
          return rule_failed(r, row, detail, err);
        }
        break;
      }
      case BEAM_ETL_RULE_MIN_LENGTH:
      case BEAM_ETL_RULE_MAX_LENGTH: {
        size_t len = f->type == BEAM_ETL_STRING ? utf8_length(v->u.bytes.data, v->u.bytes.len) : v->u.bytes.len;
        bool ok = r->kind == BEAM_ETL_RULE_MIN_LENGTH ? (int64_t)len >= r->bound.u.i64 : (int64_t)len <= r->bound.u.i64;
        if (!ok) {
          snprintf(detail, sizeof detail, "%s %s (length %zu)", beam_etl_rule_kind_name(r->kind), r->bound_text, len);
          return rule_failed(r, row, detail, err);
        }
        break;
      }
      case BEAM_ETL_RULE_ENUM: {
        bool found = false;
        for (size_t k = 0; k < r->n_values && !found; k++) {
          int c;
          found = beam_etl_value_compare(f->type, v, &r->values[k], &c) && c == 0;
        }
        if (!found) return rule_failed(r, row, "enum", err);
        break;
      }
    }
  }
  return BEAM_OK;
}
