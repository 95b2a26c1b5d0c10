/* The tables a sink has ensured (sink_tables.h). */
#include "sink_tables.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The name of table i: the first member of every sink's table struct. */
static const char *table_name(const void *tables, size_t item_size, size_t i) {
  const char *name;
  memcpy(&name, (const unsigned char *)tables + i * item_size, sizeof name);
  return name;
}

size_t beam_sink_table_index(const void *tables, size_t n, size_t item_size, size_t *last,
                             const char *name) {
  if (last && *last < n && strcmp(table_name(tables, item_size, *last), name) == 0) return *last;
  for (size_t i = 0; i < n; i++)
    if (strcmp(table_name(tables, item_size, i), name) == 0) {
      if (last) *last = i;
      return i;
    }
  return n;
}

beam_status beam_sink_table_reensure(const beam_etl_schema *ensured, const beam_etl_schema *schema,
                                     bool with_modes, const char *kind, const char *where,
                                     const char *table, beam_error *err) {
  if (beam_etl_schema_equal(ensured, schema, with_modes)) return BEAM_OK;
  return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                        "%s%s%s: table %s already ensured on this sink with another schema", kind,
                        where ? " " : "", where ? where : "", table);
}

bool beam_sink_columns_any_added(const bool *add, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (add[i]) return true;
  return false;
}

void *beam_sink_tables_reserve(void *tables, size_t n, size_t *cap, size_t item_size) {
  if (n < *cap) return tables;
  size_t grown_cap = *cap ? *cap * 2 : 8;
  if (grown_cap > SIZE_MAX / item_size) return NULL;
  void *grown = realloc(tables, grown_cap * item_size);
  if (grown) *cap = grown_cap;
  return grown;
}

/* Appends "; " (after the first) and a formatted difference to diff, bounded by cap. */
static void add_difference(char *diff, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_difference(char *diff, size_t cap, const char *fmt, ...) {
  size_t used = strlen(diff);
  if (used + 4 >= cap) return;
  if (used) used += (size_t)snprintf(diff + used, cap - used, "; ");
  va_list ap;
  va_start(ap, fmt);
  if (used < cap) vsnprintf(diff + used, cap - used, fmt, ap);
  va_end(ap);
}

static bool same_text(const char *a, const char *b, bool fold_case) {
  if (!a || !b) return a == b;
  return fold_case ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

static const beam_sink_column *column_named(const beam_sink_column *cols, size_t n_cols, const char *name,
                                            bool fold_case) {
  for (size_t c = 0; c < n_cols; c++)
    if (same_text(cols[c].name, name, fold_case)) return &cols[c];
  return NULL;
}

static bool field_named(const beam_etl_schema *schema, const char *name, bool fold_case) {
  for (size_t i = 0; i < schema->n_fields; i++)
    if (same_text(schema->fields[i].name, name, fold_case)) return true;
  return false;
}

/* Compares one schema field with its existing column (NULL: missing); true when it fits
 * (sets *add when it must be added). */
static bool plan_field(const beam_etl_field *f, const beam_sink_column *col, const char *want, bool fold_case,
                       bool *add, char *diff, size_t cap) {
  const char *want_mode = f->mode == BEAM_ETL_REQUIRED ? "REQUIRED" : "NULLABLE";
  *add = false;
  if (!col) {
    /* A missing NULLABLE column is added; named here in case something else fails. */
    *add = f->mode != BEAM_ETL_REQUIRED;
    add_difference(diff, cap, "missing %scolumn %s %s", *add ? "" : "REQUIRED ", f->name, want);
    return *add;
  }
  bool fits = true;
  if (!same_text(col->type, want, fold_case)) {
    add_difference(diff, cap, "column %s is %s, the schema wants %s", f->name, col->type ? col->type : "?", want);
    fits = false;
  }
  if (col->mode && strcmp(col->mode, want_mode) != 0) {
    add_difference(diff, cap, "column %s is %s, the schema wants %s", f->name, col->mode, want_mode);
    fits = false;
  }
  return fits;
}

bool beam_sink_columns_plan(const beam_sink_column *cols, size_t n_cols, const beam_etl_schema *schema,
                            const char *(*type_name)(beam_etl_type), bool fold_case, bool *add, char *diff,
                            size_t cap) {
  diff[0] = '\0';
  bool fits = true;
  for (size_t i = 0; i < schema->n_fields; i++) {
    const beam_etl_field *f = &schema->fields[i];
    const beam_sink_column *col = column_named(cols, n_cols, f->name, fold_case);
    if (!plan_field(f, col, type_name(f->type), fold_case, &add[i], diff, cap)) fits = false;
  }
  for (size_t c = 0; c < n_cols; c++) {
    if (field_named(schema, cols[c].name, fold_case)) continue;
    add_difference(diff, cap, "extra column %s %s", cols[c].name ? cols[c].name : "?", cols[c].type ? cols[c].type : "?");
    fits = false;
  }
  if (fits) diff[0] = '\0'; /* only additions: not a difference worth a message */
  return fits;
}
