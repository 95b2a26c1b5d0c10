/* Route-to-table: template parsing at spec load, name rendering per row. */
#include "beam/transforms/etl_route.h"

#include <string.h>
#include <strings.h>

#include "beam/transforms/etl_value.h"
#include "etl_text.h"

static bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool beam_etl_table_name_valid(const char *name, size_t len) {
  if (len == 0 || len > BEAM_ETL_TABLE_NAME_MAX) return false;
  return beam_etl_is_identifier(name, len);
}

const char *beam_etl_table_name_reserved(const char *name, size_t len) {
  /* "_": the pipeline's own tables; "sqlite_": SQLite's catalog (sqlite_master, ...), which
   * SQLite refuses to create; "pg_": PostgreSQL's catalogs and system schemas. Compared
   * without case, as both databases fold or match these names. */
  static const char *const prefixes[] = {"_", "sqlite_", "pg_"};
  /* Every routed row asks: most names start with none of the prefixes' first letters. */
  int first = len ? (unsigned char)name[0] | 0x20 : 0;
  if (first != ('_' | 0x20) && first != 's' && first != 'p') return NULL;
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
    size_t n = strlen(prefixes[i]);
    if (len >= n && strncasecmp(name, prefixes[i], n) == 0) return prefixes[i];
  }
  return NULL;
}

beam_status beam_etl_route_parse(const char *tmpl, const char *default_table, const beam_etl_schema *schema,
                                 beam_arena *arena, beam_etl_route *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  char q[BEAM_ETL_QUOTE_MAX];
  size_t len = strlen(tmpl);
  if (len == 0) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "route.table: must not be empty");
  out->template_text = beam_arena_strndup(arena, tmpl, len);
  /* Every part is bounded by a brace or the end, so len + 1 parts always suffice. */
  out->parts = beam_arena_calloc(arena, len + 1, sizeof *out->parts);
  if (!out->template_text || !out->parts) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  const char *s = out->template_text;
  size_t i = 0;
  while (i < len) {
    beam_etl_route_part *part = &out->parts[out->n_parts];
    if (s[i] == '{') {
      const char *close = memchr(s + i + 1, '}', len - i - 1);
      if (!close)
        return beam_error_set(err, BEAM_ERR_INVALID_ARG, "route.table: \"%s\": unclosed \"{\" at offset %zu",
                              beam_etl_quote(s, len, q), i);
      size_t nlen = (size_t)(close - (s + i + 1));
      char name[256];
      if (nlen == 0 || nlen >= sizeof name)
        return beam_error_set(err, BEAM_ERR_INVALID_ARG, "route.table: \"%s\": empty or overlong placeholder at offset %zu",
                              beam_etl_quote(s, len, q), i);
      memcpy(name, s + i + 1, nlen);
      name[nlen] = '\0';
      int fi = beam_etl_schema_find(schema, name);
      if (fi < 0) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "route.table: no field \"%s\" in schema", name);
      beam_etl_type t = schema->fields[fi].type;
      if (t != BEAM_ETL_STRING && t != BEAM_ETL_INT64 && t != BEAM_ETL_BOOL)
        return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                              "route.table: field \"%s\" is %s: only STRING, INT64 and BOOL fields can name tables",
                              name, beam_etl_type_name(t));
      if (++out->n_placeholders > BEAM_ETL_ROUTE_MAX_PLACEHOLDERS)
        return beam_error_set(err, BEAM_ERR_INVALID_ARG, "route.table: more than %d placeholders",
                              BEAM_ETL_ROUTE_MAX_PLACEHOLDERS);
      part->field = fi;
      part->text = s + i;
      part->len = nlen + 2;
      i += nlen + 2;
    } else {
      size_t j = i;
      while (j < len && s[j] != '{') {
        if (!name_char(s[j]))
          return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                                "route.table: \"%s\": character '%c' at offset %zu is not allowed in table names "
                                "(letters, digits, _)",
                                beam_etl_quote(s, len, q), s[j] >= 0x20 && s[j] < 0x7f ? s[j] : '?', j);
        j++;
      }
      part->field = -1;
      part->text = s + i;
      part->len = j - i;
      i = j;
    }
    out->n_parts++;
  }
  const beam_etl_route_part *p0 = &out->parts[0];
  /* A leading literal long enough to hold a reserved prefix decides for every row. */
  const char *reserved = p0->field < 0 ? beam_etl_table_name_reserved(p0->text, p0->len) : NULL;
  if (reserved)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "route.table: \"%s\": table names starting with \"%s\" are reserved",
                          beam_etl_quote(s, len, q), reserved);
  if (p0->field < 0 && p0->text[0] >= '0' && p0->text[0] <= '9')
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "route.table: \"%s\": table names must not start with a digit",
                          beam_etl_quote(s, len, q));
  if (out->n_placeholders == 0 && len > BEAM_ETL_TABLE_NAME_MAX)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "route.table: longer than %d bytes", BEAM_ETL_TABLE_NAME_MAX);
  if (default_table) {
    size_t dlen = strlen(default_table);
    if (!beam_etl_table_name_valid(default_table, dlen))
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "route.default: \"%s\" is not a valid table name",
                            beam_etl_quote(default_table, dlen, q));
    if ((reserved = beam_etl_table_name_reserved(default_table, dlen)))
      return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                            "route.default: \"%s\": table names starting with \"%s\" are reserved",
                            beam_etl_quote(default_table, dlen, q), reserved);
    out->default_table = beam_arena_strndup(arena, default_table, dlen);
    if (!out->default_table) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  return BEAM_OK;
}

beam_status beam_etl_route_table(const beam_etl_route *route, const beam_etl_row *row, beam_arena *arena,
                                 const char **table, beam_error *err) {
  if (route->n_placeholders == 0) {
    *table = route->template_text;
    return BEAM_OK;
  }
  /* Pass 1: the text of each placeholder value, and the total length. */
  char bufs[BEAM_ETL_ROUTE_MAX_PLACEHOLDERS][BEAM_ETL_VALUE_TEXT_MAX];
  const char *texts[BEAM_ETL_ROUTE_MAX_PLACEHOLDERS];
  size_t lens[BEAM_ETL_ROUTE_MAX_PLACEHOLDERS];
  size_t total = 0, k = 0;
  for (size_t i = 0; i < route->n_parts; i++) {
    const beam_etl_route_part *p = &route->parts[i];
    if (p->field < 0) {
      total += p->len;
      continue;
    }
    const beam_etl_field *f = &row->schema->fields[p->field];
    const beam_value *v = &row->values[p->field];
    if (v->kind == BEAM_VALUE_NULL) {
      if (route->default_table) {
        *table = route->default_table;
        return BEAM_OK;
      }
      return beam_error_set(err, BEAM_ERR_USER, "route: field \"%s\" is null and route.default is not set", f->name);
    }
    texts[k] = beam_etl_value_text(f->type, v, bufs[k], &lens[k]);
    total += lens[k];
    k++;
  }
  char *name = beam_arena_alloc(arena, total + 1);
  if (!name) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  /* Pass 2: assemble, remembering which placeholder the first bad byte came from. */
  size_t o = 0;
  k = 0;
  int bad_part = -1;
  for (size_t i = 0; i < route->n_parts; i++) {
    const beam_etl_route_part *p = &route->parts[i];
    const char *src = p->field < 0 ? p->text : texts[k];
    size_t n = p->field < 0 ? p->len : lens[k];
    if (p->field >= 0) {
      for (size_t j = 0; j < n && bad_part < 0; j++)
        if (!name_char(src[j]) || (o + j == 0 && src[j] >= '0' && src[j] <= '9')) bad_part = (int)i;
      k++;
    }
    memcpy(name + o, src, n);
    o += n;
  }
  name[o] = '\0';
  const char *why = NULL, *reserved = NULL;
  if (bad_part >= 0) why = "invalid";
  else if (o == 0) why = "empty";
  else if ((reserved = beam_etl_table_name_reserved(name, o))) why = "reserved";
  else if (o > BEAM_ETL_TABLE_NAME_MAX) why = "overlong";
  if (!why) {
    *table = name;
    return BEAM_OK;
  }
  /* Name the offending placeholder: the bad one, else the first. */
  size_t idx = 0;
  if (bad_part >= 0) {
    for (size_t i = 0; i < (size_t)bad_part; i++)
      if (route->parts[i].field >= 0) idx++;
  } else {
    bad_part = 0;
    while (route->parts[bad_part].field < 0) bad_part++;
  }
  const beam_etl_field *f = &row->schema->fields[route->parts[bad_part].field];
  char qv[BEAM_ETL_QUOTE_MAX], qn[BEAM_ETL_QUOTE_MAX];
  beam_etl_quote(texts[idx], lens[idx], qv);
  beam_etl_quote(name, o, qn);
  if (why[0] == 'r')
    return beam_error_set(err, BEAM_ERR_USER,
                          "route: value \"%s\" of field \"%s\" makes reserved table name \"%s\" (names starting "
                          "with \"%s\" are reserved)",
                          qv, f->name, qn, reserved);
  if (why[0] == 'o')
    return beam_error_set(err, BEAM_ERR_USER,
                          "route: value \"%s\" of field \"%s\" makes a table name longer than %d bytes", qv, f->name,
                          BEAM_ETL_TABLE_NAME_MAX);
  return beam_error_set(err, BEAM_ERR_USER, "route: value \"%s\" of field \"%s\" makes invalid table name \"%s\"", qv,
                        f->name, qn);
}

/* Whether name[at..len) matches route parts [part, n_parts): literals exactly, a STRING
 * placeholder any run of name characters (an empty value too), INT64 a run of digits (a
 * negative number makes no valid name), BOOL "true" or "false". Backtracks over the runs;
 * templates have at most 16 placeholders and table names 1024 bytes. */
static bool parts_match(const beam_etl_route *route, const beam_etl_schema *schema, size_t part, const char *name,
                        size_t at, size_t len) {
  if (part == route->n_parts) return at == len;
  const beam_etl_route_part *p = &route->parts[part];
  if (p->field < 0)
    return len - at >= p->len && memcmp(name + at, p->text, p->len) == 0 &&
           parts_match(route, schema, part + 1, name, at + p->len, len);
  beam_etl_type type = schema->fields[p->field].type;
  if (type == BEAM_ETL_BOOL) {
    static const char *const words[] = {"true", "false"};
    for (size_t w = 0; w < 2; w++) {
      size_t n = strlen(words[w]);
      if (len - at >= n && memcmp(name + at, words[w], n) == 0 &&
          parts_match(route, schema, part + 1, name, at + n, len))
        return true;
    }
    return false;
  }
  for (size_t end = at;; end++) {
    if ((type == BEAM_ETL_STRING || end > at) && parts_match(route, schema, part + 1, name, end, len)) return true;
    if (end == len) return false;
    char c = name[end];
    if (type == BEAM_ETL_INT64 ? !(c >= '0' && c <= '9') : !name_char(c)) return false;
  }
}

bool beam_etl_route_may_produce(const beam_etl_route *route, const beam_etl_schema *schema, const char *name) {
  size_t len = strlen(name);
  if (route->default_table && strcmp(route->default_table, name) == 0) return true;
  if (!beam_etl_table_name_valid(name, len) || beam_etl_table_name_reserved(name, len)) return false;
  if (route->n_placeholders == 0) return strcmp(route->template_text, name) == 0;
  return parts_match(route, schema, 0, name, 0, len);
}
