/* Destinations and their selection (see etl_destination.h). */
#include "beam/transforms/etl_destination.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/etl_element.h"
#include "etl_message_fields.h"
#include "sink_uri_options.h"

/* The first table name in "a,b,c" from *at (advanced past it), in arena; NULL at the end. */
static char *next_listed(const char **at, beam_arena *arena) {
  while (**at == ',' || **at == ' ') (*at)++;
  if (!**at) return NULL;
  size_t n = strcspn(*at, ", ");
  char *name = beam_arena_strndup(arena, *at, n);
  *at += n;
  return name;
}

static beam_status check_table(const char *name, const beam_etl_schema *schema, const beam_etl_route *route,
                               beam_error *err) {
  if (beam_etl_is_bookkeeping_table(name)) return BEAM_OK;
  if (beam_etl_route_may_produce(route, schema, name)) return BEAM_OK;
  return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                        "tables: \"%.200s\" is not a table the route writes (route.table \"%.200s\"%s%.200s%s; "
                        "also " BEAM_ETL_DEAD_LETTER_TABLE ", " BEAM_ETL_FILES_TABLE " and "
                        BEAM_ETL_STREAM_BUNDLES_TABLE ")",
                        name, route->template_text, route->default_table ? ", route.default \"" : "",
                        route->default_table ? route->default_table : "", route->default_table ? "\"" : "");
}

/* The tables of a "a,b" list or an explicit array, checked, into out. */
static beam_status set_tables(const char *listed, const char *const *tables, size_t n_tables,
                              const beam_etl_schema *schema, const beam_etl_route *route, beam_arena *arena,
                              beam_etl_destination *out, beam_error *err) {
  size_t cap = n_tables;
  /* Names are separated by commas or spaces (next_listed): count both, so no name overflows. */
  for (const char *c = listed; c && *c; c++) cap += *c == ',' || *c == ' ';
  if (listed) cap++;
  const char **names = beam_arena_calloc(arena, cap ? cap : 1, sizeof *names);
  if (!names) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t n = 0;
  for (size_t i = 0; i < n_tables; i++)
    if (!(names[n++] = beam_arena_strdup(arena, tables[i]))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (const char *at = listed; at && *at;) {
    char *name = next_listed(&at, arena);
    if (!name && *at) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    if (name) names[n++] = name;
  }
  if (n == 0) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "tables: names no table (leave it out to take every table)");
  for (size_t i = 0; i < n; i++) {
    beam_status s = check_table(names[i], schema, route, err);
    if (s != BEAM_OK) return s;
  }
  out->tables = names;
  out->n_tables = n;
  return BEAM_OK;
}

static beam_status set_where(const char *where, const beam_etl_schema *schema, beam_arena *arena, beam_etl_destination *out,
                             beam_error *err) {
  size_t pos = 0, at, len;
  if (beam_etl_message_ref_next(where, false, &pos, &at, &len))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "where: \"%.*s\": a destination selects rows by their columns; message fields are for "
                          "route and filter (or a field's \"source\")",
                          (int)len, where + at);
  if (!(out->where = beam_arena_strdup(arena, where))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = beam_etl_filter_parse(out->where, schema, arena, &out->where_filter, err);
  if (s != BEAM_OK && s != BEAM_ERR_NOMEM) beam_error_prefix(err, "where: \"%.200s\": ", where);
  return s;
}

beam_status beam_etl_destination_make(const char *uri, const char *const *tables, size_t n_tables, const char *where,
                                 const beam_etl_schema *schema, const beam_etl_route *route, beam_arena *arena,
                                 beam_etl_destination *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  static const char *const take[] = {"tables", "where", NULL};
  char *taken[2] = {NULL, NULL}, *rest = NULL;
  beam_status s = beam_sink_uri_take_options(uri, take, taken, &rest, err);
  if (s != BEAM_OK) return s;
  if ((taken[0] && tables) || (taken[1] && where))
    s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: given both in the sink URI and beside it", taken[0] && tables ? "tables" : "where");
  if (s == BEAM_OK && !(out->sink = beam_arena_strdup(arena, rest))) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (s == BEAM_OK && (taken[0] || tables)) s = set_tables(taken[0], tables, n_tables, schema, route, arena, out, err);
  if (s == BEAM_OK && (taken[1] || where)) s = set_where(taken[1] ? taken[1] : where, schema, arena, out, err);
  free(taken[0]);
  free(taken[1]);
  free(rest);
  return s;
}

bool beam_etl_destination_takes_table(const beam_etl_destination *o, const char *table) {
  if (!o->tables) return true;
  for (size_t i = 0; i < o->n_tables; i++)
    if (strcmp(o->tables[i], table) == 0) return true;
  return false;
}

bool beam_etl_destination_takes_row(const beam_etl_destination *o, const char *table, const beam_etl_row *row) {
  if (!beam_etl_destination_takes_table(o, table)) return false;
  if (!o->where_filter || table[0] == '_') return true; /* routed tables never start with '_' */
  return beam_etl_filter_eval(o->where_filter, row) == BEAM_ETL_TRUE;
}

const char *beam_etl_destination_describe(const beam_etl_destination *o, char *buf, size_t cap) {
  size_t used = 0;
  buf[0] = '\0';
  if (!o->tables && !o->where) snprintf(buf, cap, "every table");
  for (size_t i = 0; i < o->n_tables && used < cap; i++) {
    int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "tables ", o->tables[i]);
    if (w < 0) break;
    used += (size_t)w;
  }
  if (o->where && used < cap) snprintf(buf + used, cap - used, "%swhere %s", used ? "; " : "", o->where);
  return buf;
}

beam_status beam_etl_destinations_collect(const beam_etl_destination *spec_outputs, size_t n_spec_outputs,
                                     const char *const *uris, size_t n_uris, const beam_etl_schema *schema,
                                     const beam_etl_route *route, beam_arena *arena, beam_etl_destination **out,
                                     size_t *n_out, beam_error *err) {
  *out = NULL;
  *n_out = 0;
  size_t n = n_spec_outputs + n_uris;
  beam_etl_destination *all = beam_arena_calloc(arena, n ? n : 1, sizeof *all);
  if (!all) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n_spec_outputs; i++) all[i] = spec_outputs[i];
  for (size_t i = 0; i < n_uris; i++) {
    beam_status s = beam_etl_destination_make(uris[i], NULL, 0, NULL, schema, route, arena, &all[n_spec_outputs + i], err);
    if (s != BEAM_OK) return s == BEAM_ERR_NOMEM ? s : beam_error_prefix(err, "sink \"%.300s\": ", uris[i]);
  }
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < i; k++)
      if (strcmp(all[i].sink, all[k].sink) == 0)
        return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                              "sink \"%.300s\" is named twice (a destination has one ledger: name it once, with "
                              "every table it takes)",
                              all[i].sink);
  *out = all;
  *n_out = n;
  return BEAM_OK;
}
