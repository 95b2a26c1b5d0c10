/* The spec's "tables": per-table schemas parsed into a union, options per table, the row in
 * its table's shape after routing (a REQUIRED field of its table dead-letters it naming both),
 * elements and dedupe keys in that shape, the spec errors naming the key, and the sinks given
 * each table's own options (beam_sink_ensure_table_with; the object sink's paths). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include "beam/combinefn.h"
#include "beam/transforms/etl_dedupe.h"
#include "beam/transforms/etl_element.h"
#include "beam/transforms/etl_process.h"
#include "beam/transforms/etl_table.h"
#include "etl_test_util.h"

/* Specs are written with ' for " (no filter here quotes a string). */
static char *dq(const char *s) {
  char *o = strdup(s);
  for (char *p = o; *p; p++)
    if (*p == '\'') *p = '"';
  return o;
}

#define F(n, t) "{'name': '" n "', 'type': '" t "'}"
#define R(n, t) "{'name': '" n "', 'type': '" t "', 'mode': 'REQUIRED'}"
#define ORDER_SCHEMA                                                                                   \
  "[" R("event_id", "STRING") ", " F("event_type", "STRING") ", " R("order_date", "DATE") ", " F("status", "STRING") \
  ", " F("customer_id", "STRING") ", " F("amount", "NUMERIC") "]"
#define INVENTORY_SCHEMA                                                                             \
  "[" R("event_id", "STRING") ", " F("event_type", "STRING") ", " R("ts", "TIMESTAMP") ", " F("product_id", "STRING") \
  ", " F("warehouse_id", "STRING") ", " F("quantity", "INT64") "]"
#define ACTIVITY_SCHEMA                                                                          \
  "[" R("event_id", "STRING") ", " F("event_type", "STRING") ", " R("ts", "TIMESTAMP") ", " R("user_id", "STRING") \
  ", " F("activity_type", "STRING") "]"
#define TOP_SCHEMA "'schema': [" R("event_id", "STRING") ", " F("event_type", "STRING") ", " F("ts", "TIMESTAMP") "]"
#define TABLES3                                                                                                      \
  "'tables': {'events_order': {'schema': " ORDER_SCHEMA                                                              \
  ", 'partition_field': 'order_date', 'partition_granularity': 'MONTH', 'cluster_fields': ['status', 'customer_id']}," \
  " 'events_inventory': {'schema': " INVENTORY_SCHEMA                                                                \
  ", 'partition_field': 'ts', 'partition_granularity': 'HOUR', 'cluster_fields': ['product_id', 'warehouse_id']},"  \
  " 'events_user_activity': {'schema': " ACTIVITY_SCHEMA                                                             \
  ", 'partition_field': 'ts', 'partition_granularity': 'YEAR', 'cluster_fields': ['activity_type', 'user_id']}}"
#define ROUTE3 "'route': {'table': 'events_{event_type}', 'default': 'events_other'}"
#define SPEC3 "{'format': 'jsonl', " TOP_SCHEMA ", " TABLES3 ", 'clean': {'dedupe_on': 'event_id'}, " ROUTE3 "}"

/* The union of SPEC3, in order. */
enum { U_EVENT_ID, U_EVENT_TYPE, U_TS, U_ORDER_DATE, U_STATUS, U_CUSTOMER, U_AMOUNT, U_PRODUCT, U_WAREHOUSE, U_QUANTITY,
       U_USER, U_ACTIVITY, U_N };

static beam_etl_spec *parse(const char *squoted, beam_error *err) {
  char *text = dq(squoted);
  beam_etl_spec *spec = NULL;
  beam_etl_spec_parse(text, strlen(text), "spec.json", &spec, err);
  free(text);
  return spec;
}

static beam_etl_spec *load3(void) {
  beam_error err = {0};
  beam_etl_spec *spec = parse(SPEC3, &err);
  if (!spec) fail_msg("%s", err.message);
  return spec;
}

static void spec_tables_parse_into_a_union(void **state) {
  (void)state;
  beam_etl_spec *spec = load3();
  assert_int_equal(spec->n_tables, 3);
  assert_int_equal(spec->schema.n_fields, U_N);
  const char *names[U_N] = {"event_id", "event_type", "ts", "order_date", "status", "customer_id", "amount",
                            "product_id", "warehouse_id", "quantity", "user_id", "activity_type"};
  for (int i = 0; i < U_N; i++) {
    assert_string_equal(spec->schema.fields[i].name, names[i]);
    assert_int_equal(spec->schema.fields[i].mode, BEAM_ETL_NULLABLE); /* REQUIRED is each table's */
  }
  assert_int_equal(spec->top_schema.n_fields, 3);
  assert_int_equal(spec->top_schema.fields[0].mode, BEAM_ETL_REQUIRED);
  const beam_etl_table_spec *o = beam_etl_spec_table(spec, "events_order");
  assert_non_null(o);
  assert_string_equal(o->name, "events_order");
  assert_int_equal(o->schema.n_fields, 6);
  assert_int_equal(o->schema.fields[2].mode, BEAM_ETL_REQUIRED);
  assert_int_equal(o->from_union[2], U_ORDER_DATE);
  assert_int_equal(o->from_union[5], U_AMOUNT);
  assert_int_equal(o->partition_field, 2);
  assert_int_equal(o->partition_granularity, BEAM_ETL_PARTITION_MONTH);
  assert_int_equal(o->n_cluster_fields, 2);
  assert_int_equal(o->cluster_fields[1], 4);
  const beam_etl_table_spec *inv = beam_etl_spec_table(spec, "events_inventory");
  assert_int_equal(inv->partition_granularity, BEAM_ETL_PARTITION_HOUR);
  assert_int_equal(inv->from_union[2], U_TS);
  assert_int_equal(beam_etl_spec_table(spec, "events_user_activity")->partition_granularity, BEAM_ETL_PARTITION_YEAR);
  assert_null(beam_etl_spec_table(spec, "events_other"));
  assert_ptr_equal(beam_etl_table_schema(spec, "events_order"), &o->schema);
  assert_ptr_equal(beam_etl_table_schema(spec, "events_other"), &spec->top_schema);
  assert_int_equal(beam_etl_table_field_index(spec, &inv->schema, U_QUANTITY), 5);
  assert_int_equal(beam_etl_table_field_index(spec, &o->schema, U_QUANTITY), -1);
  assert_string_equal(beam_etl_partition_granularity_name(BEAM_ETL_PARTITION_YEAR), "YEAR");
  beam_etl_spec_free(spec);

  /* Without tables nothing changes: one schema, top_schema the same. */
  beam_error err = {0};
  spec = parse("{" TOP_SCHEMA ", 'route': {'table': 't'}, 'partition_field': 'ts', 'partition_granularity': 'HOUR'}", &err);
  assert_non_null(spec);
  assert_int_equal(spec->n_tables, 0);
  assert_ptr_equal(spec->schema.fields, spec->top_schema.fields);
  assert_ptr_equal(beam_etl_table_schema(spec, "t"), &spec->schema);
  assert_int_equal(spec->partition_granularity, BEAM_ETL_PARTITION_HOUR);
  assert_int_equal(spec->schema.fields[0].mode, BEAM_ETL_REQUIRED);
  beam_etl_spec_free(spec);

  /* No top-level schema: every table the route can reach has an entry. A table reached only as
   * route.default needs none of the template's fields; a filter may name any table's field. */
  spec = parse("{'tables': {'events_order': {'schema': " ORDER_SCHEMA "}, 'other_events': {'schema': [" F("note", "STRING")
               "]}}, 'filter': 'amount >= 0 || amount is null', 'route': {'table': 'events_{event_type}', 'default': 'other_events'}}",
               &err);
  if (!spec) fail_msg("%s", err.message);
  assert_int_equal(spec->top_schema.n_fields, 0);
  assert_int_equal(spec->schema.n_fields, 7);
  assert_null(beam_etl_table_schema(spec, "events_inventory"));
  beam_etl_spec_free(spec);
}

/* Cells in union order; NULL = absent. */
static beam_etl_outcome run(const beam_etl_spec *spec, beam_arena *arena, int64_t line, const char *const v[U_N]) {
  beam_etl_cell *cells = beam_arena_alloc(arena, spec->schema.n_fields * sizeof *cells);
  for (size_t i = 0; i < spec->schema.n_fields; i++) cells[i] = v[i] ? etl_text(v[i]) : etl_absent();
  beam_etl_record rec = {&spec->schema, cells, {.source = "in.jsonl", .line = line, .offset = line * 10, .file_id = "f1"}};
  beam_etl_outcome out;
  assert_int_equal(beam_etl_process_record(spec, &rec, arena, &out), BEAM_OK);
  return out;
}

static void expect_dead(const beam_etl_outcome *o, const char *stage, const char *error) {
  assert_int_equal(o->kind, BEAM_ETL_OUTCOME_DEAD_LETTER);
  assert_string_equal(o->stage, stage);
  assert_string_equal(o->error, error);
}

/* Event e-1, an order: a row of table events_order. */
static beam_etl_outcome order_row(const beam_etl_spec *spec, beam_arena *arena) {
  const char *order[U_N] = {"e-1", "order", NULL, "2024-03-05", "shipped", "c-9", "12.50"};
  beam_etl_outcome o = run(spec, arena, 1, order);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_ROW);
  return o;
}

static void rows_take_their_tables_shape(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_spec *spec = load3();
  beam_etl_outcome o = order_row(spec, &arena);
  assert_string_equal(o.table, "events_order");
  assert_ptr_equal(o.row.schema, &beam_etl_spec_table(spec, "events_order")->schema);
  assert_int_equal(o.row.values[2].kind, BEAM_VALUE_INT64); /* order_date, days */
  assert_memory_equal(o.row.values[3].u.bytes.data, "shipped", 7);
  assert_memory_equal(o.row.values[5].u.bytes.data, "12.5", 4);

  /* The element carries the table's columns; viewing it gives the table's schema back. */
  beam_value elem;
  assert_int_equal(beam_etl_element_make(&arena, o.table, "in.jsonl", &o.row, false, &elem), BEAM_OK);
  assert_int_equal(elem.u.list.len, BEAM_ETL_ELEMENT_HEADER + 6);
  const char *table, *file;
  beam_etl_row back;
  beam_error err = {0};
  assert_int_equal(beam_etl_element_view(&elem, spec, &arena, &table, &file, &back, &err), BEAM_OK);
  assert_ptr_equal(back.schema, o.row.schema);

  /* A source that is the file itself travels as NULL and comes back as the file's name; an
   * archive member's stays. */
  o.row.origin.source = "in.jsonl";
  assert_int_equal(beam_etl_element_make(&arena, o.table, "in.jsonl", &o.row, false, &elem), BEAM_OK);
  assert_int_equal(elem.u.list.items[2].kind, BEAM_VALUE_NULL);
  assert_int_equal(beam_etl_element_view(&elem, spec, &arena, &table, &file, &back, &err), BEAM_OK);
  assert_string_equal(back.origin.source, "in.jsonl");
  o.row.origin.source = "in.zip!m.jsonl";
  assert_int_equal(beam_etl_element_make(&arena, o.table, "in.zip", &o.row, false, &elem), BEAM_OK);
  assert_int_equal(elem.u.list.items[2].kind, BEAM_VALUE_STRING);
  assert_int_equal(beam_etl_element_view(&elem, spec, &arena, &table, &file, &back, &err), BEAM_OK);
  assert_string_equal(back.origin.source, "in.zip!m.jsonl");
  assert_string_equal(file, "in.zip");

  /* Dedupe keys come from each table's own column: the same event_id keys alike. */
  beam_buf k1 = {0}, k2 = {0};
  assert_int_equal(beam_etl_dedupe_key(spec, &o.row, &k1), BEAM_OK);
  const char *inv[U_N] = {"e-1", "inventory", "2024-03-05T07:08:09Z", NULL, NULL, NULL, NULL, "p-1", "w-2", "5"};
  beam_etl_outcome i = run(spec, &arena, 2, inv);
  assert_int_equal(i.kind, BEAM_ETL_OUTCOME_ROW);
  assert_int_equal(i.row.schema->n_fields, 6);
  assert_int_equal(i.row.values[5].u.i64, 5);
  assert_int_equal(beam_etl_dedupe_key(spec, &i.row, &k2), BEAM_OK);
  assert_int_equal(k1.len, k2.len);
  assert_memory_equal(k1.data, k2.data, k1.len);
  beam_buf_free(&k1);
  beam_buf_free(&k2);

  /* A REQUIRED field of the row's table: dead-lettered naming the table and the field. */
  const char *no_date[U_N] = {"e-2", "order", NULL, NULL, "new"};
  expect_dead((o = run(spec, &arena, 3, no_date), &o), BEAM_ETL_STAGE_TABLE,
              "table \"events_order\": field \"order_date\": required but missing");
  const char *null_user[U_N] = {"e-3", "user_activity", "2024-03-05T07:08:09Z", NULL, NULL, NULL, NULL, NULL, NULL, NULL, "NULL", "login"};
  expect_dead((o = run(spec, &arena, 4, null_user), &o), BEAM_ETL_STAGE_TABLE,
              "table \"events_user_activity\": field \"user_id\": required but null");
  /* The same columns are optional in other tables: user_id is absent from this inventory row. */
  assert_int_equal(run(spec, &arena, 5, inv).kind, BEAM_ETL_OUTCOME_ROW);

  /* A table without an entry: the top-level schema (a prefix of the union, not copied). */
  const char *other[U_N] = {"e-4", "refund", "2024-03-05T07:08:09Z", NULL, "x"};
  o = run(spec, &arena, 6, other);
  assert_int_equal(o.kind, BEAM_ETL_OUTCOME_ROW);
  assert_string_equal(o.table, "events_refund");
  assert_ptr_equal(o.row.schema, &spec->top_schema);
  const char *other_no_id[U_N] = {NULL, "refund"};
  expect_dead((o = run(spec, &arena, 7, other_no_id), &o), BEAM_ETL_STAGE_TABLE,
              "table \"events_refund\": field \"event_id\": required but missing");
  beam_etl_spec_free(spec);

  /* Without a top-level schema a table without an entry has no shape. */
  spec = parse("{'tables': {'events_order': {'schema': " ORDER_SCHEMA "}}, 'route': {'table': 'events_{event_type}'}}", &err);
  if (!spec) fail_msg("%s", err.message);
  const char *misc[U_N] = {"e-5", "misc"};
  expect_dead((o = run(spec, &arena, 8, misc), &o), BEAM_ETL_STAGE_TABLE,
              "table \"events_misc\": no entry in tables and the spec has no top-level schema");
  beam_etl_spec_free(spec);
  beam_arena_free(&arena);
}

typedef struct bad_spec {
  const char *json;
  const char *message; /* exact, after "spec.json: " */
} bad_spec;

#define ORDER_ONLY(entry) "{" TOP_SCHEMA ", 'tables': {'events_order': " entry "}, " ROUTE3 "}"
static const bad_spec bad_specs[] = {
    {"{'tables': {'events_order': {'schema': " ORDER_SCHEMA "}, 'events_inventory': {'schema': [" F("event_type", "STRING")
     ", " F("amount", "FLOAT64") "]}}, 'route': {'table': 'events_{event_type}'}}",
     "tables.events_inventory.schema[1].type: field \"amount\" is FLOAT64 here but NUMERIC in tables.events_order (a "
     "field has one type across tables)"},
    {ORDER_ONLY("{'schema': [" F("event_type", "STRING") ", " F("ts", "DATE") "]}"),
     "tables.events_order.schema[1].type: field \"ts\" is DATE here but TIMESTAMP in the top-level schema (a field has "
     "one type across tables)"},
    {ORDER_ONLY("{'schema': [" F("Event_Type", "STRING") "]}"),
     "tables.events_order.schema[0].name: field \"Event_Type\" is spelled \"event_type\" in the top-level schema; spell "
     "it one way in every table"},
    {ORDER_ONLY("{'schema': " ORDER_SCHEMA ", 'partition': 'order_date'}"),
     "tables.events_order: unknown key \"partition\" (expected one of: schema, partition_field, partition_granularity, "
     "cluster_fields, description)"},
    {ORDER_ONLY("{'partition_field': 'order_date'}"), "tables.events_order.schema: missing"},
    {ORDER_ONLY("{'schema': " ORDER_SCHEMA ", 'partition_field': 'status'}"),
     "tables.events_order.partition_field: field \"status\" is STRING; partitioning needs a TIMESTAMP or DATE field"},
    {ORDER_ONLY("{'schema': " ORDER_SCHEMA ", 'partition_field': 'ts'}"),
     "tables.events_order.partition_field: no field \"ts\" in tables.events_order.schema"},
    {ORDER_ONLY("{'schema': " ORDER_SCHEMA ", 'partition_field': 'order_date', 'partition_granularity': 'HOUR'}"),
     "tables.events_order.partition_granularity: HOUR partitioning needs a TIMESTAMP field; \"order_date\" is DATE"},
    {ORDER_ONLY("{'schema': " ORDER_SCHEMA ", 'partition_field': 'order_date', 'partition_granularity': 'WEEK'}"),
     "tables.events_order.partition_granularity: must be \"DAY\", \"HOUR\", \"MONTH\" or \"YEAR\""},
    {ORDER_ONLY("{'schema': " ORDER_SCHEMA ", 'partition_granularity': 'DAY'}"),
     "tables.events_order.partition_granularity: needs a partition_field"},
    {ORDER_ONLY("{'schema': " ORDER_SCHEMA ", 'cluster_fields': ['status', 'customer_id', 'event_id', 'event_type', 'order_date']}"),
     "tables.events_order.cluster_fields: at most 4 fields (BigQuery)"},
    {ORDER_ONLY("{'schema': " ORDER_SCHEMA ", 'cluster_fields': ['status', 'product_id']}"),
     "tables.events_order.cluster_fields[1]: no field \"product_id\" in tables.events_order.schema"},
    {ORDER_ONLY("{'schema': [" F("event_type", "STRING") ", " F("score", "FLOAT64") "], 'cluster_fields': ['score']}"),
     "tables.events_order.cluster_fields[0]: field \"score\" is FLOAT64, which BigQuery cannot cluster on"},
    {ORDER_ONLY("{'schema': [" F("status", "STRING") "]}"),
     "tables.events_order.schema: no field \"event_type\", which route.table \"events_{event_type}\" names this table by"},
    {"{" TOP_SCHEMA ", 'tables': {'orders': {'schema': " ORDER_SCHEMA "}}, " ROUTE3 "}",
     "tables.orders: the route never sends rows to this table (route.table \"events_{event_type}\", route.default "
     "\"events_other\")"},
    {"{" TOP_SCHEMA ", 'tables': {'orders': {'schema': " ORDER_SCHEMA "}}, 'route': {'table': 'events'}}",
     "tables.orders: the route never sends rows to this table (route.table \"events\")"},
    {"{'tables': {'events_order': {'schema': " ORDER_SCHEMA "}}, " ROUTE3 "}",
     "route.default: \"events_other\" has no entry in tables and the spec has no top-level schema"},
    {"{'tables': {'events_order': {'schema': " ORDER_SCHEMA "}}, 'route': {'table': 'events'}}",
     "route.table: \"events\" has no entry in tables and the spec has no top-level schema"},
    {"{'tables': {'events_order': {'schema': " ORDER_SCHEMA "}}, 'route': {'table': 'events_{event_type}'}, "
     "'partition_field': 'order_date'}",
     "partition_field: needs the top-level schema (it applies to the tables without an entry in tables)"},
    {"{" TOP_SCHEMA ", 'tables': {'events_order': {'schema': [" F("event_type", "STRING") "]}}, " ROUTE3
     ", 'clean': {'dedupe_on': 'event_id'}}",
     "clean.dedupe_on: field \"event_id\" is not in tables.events_order.schema (rows are deduplicated in their table's "
     "shape, so every table needs it)"},
    {"{'schema': [" F("a", "STRING") "], 'tables': {'events_order': {'schema': " ORDER_SCHEMA "}}, " ROUTE3
     ", 'clean': {'dedupe_on': 'event_id'}}",
     "clean.dedupe_on: field \"event_id\" is not in the top-level schema (rows are deduplicated in their table's shape, "
     "so every table needs it)"},
    {"{" TOP_SCHEMA ", 'tables': {}, " ROUTE3 "}",
     "tables: must be a non-empty object (table name: {\"schema\": [...], ...})"},
    {"{" TOP_SCHEMA ", 'tables': {'events order': {'schema': " ORDER_SCHEMA "}}, " ROUTE3 "}",
     "tables: \"events order\" is not a valid table name (letters, digits, _; not starting with a digit; at most 128 "
     "bytes)"},
    {"{" TOP_SCHEMA ", 'tables': {'_events': {'schema': " ORDER_SCHEMA "}}, " ROUTE3 "}",
     "tables._events: table names starting with \"_\" are reserved"},
    {"{" TOP_SCHEMA ", 'tables': {'events_order': []}, " ROUTE3 "}", "tables.events_order: must be an object, not an array"},
    {"{'tables': {'events_order': {'schema': " ORDER_SCHEMA "}}, 'route': {'table': 'events_{event_type}'}, "
     "'filter': 'quantity > 1'}",
     "filter: column 1: no field \"quantity\" in schema"},
    {"{'route': {'table': 't'}}", "schema: missing"},
};

/* The dedupe CombineFn: a key's lone row is its own accumulator (no list around it to
 * shuffle), and it becomes a list entry of its file as soon as a second row or accumulator
 * meets it; the first row in record order is kept, each file's rows counted. */
static void dedupe_first_keeps_a_lone_row_as_itself(void **state) {
  (void)state;
  beam_arena arena = BEAM_ARENA_INIT;
  beam_etl_spec *spec = load3();
  beam_etl_outcome o = order_row(spec, &arena);
  beam_value e[3];
  const int64_t offsets[3] = {10, 5, 7};
  const char *files[3] = {"a.jsonl", "a.jsonl", "b.jsonl"};
  for (int i = 0; i < 3; i++) {
    o.row.origin.offset = offsets[i];
    o.row.origin.file_index = i == 2;
    o.row.origin.source = files[i];
    assert_int_equal(beam_etl_element_make(&arena, o.table, files[i], &o.row, false, &e[i]), BEAM_OK);
  }
  assert_int_equal(beam_etl_register_fns(), BEAM_OK);
  const beam_combinefn_def *fn = beam_combinefn_lookup("etl_dedupe_first");
  assert_non_null(fn);
  beam_error err = {0};
  beam_value acc, other, lone;
  assert_int_equal(fn->create(NULL, &arena, &acc, &err), BEAM_OK);
  assert_int_equal(fn->add(NULL, &arena, &acc, &e[0], &err), BEAM_OK);
  assert_int_equal(acc.kind, BEAM_VALUE_ROW);
  assert_int_equal(acc.u.list.items[5].u.i64, 10);
  assert_int_equal(fn->create(NULL, &arena, &other, &err), BEAM_OK);
  assert_int_equal(fn->add(NULL, &arena, &other, &e[1], &err), BEAM_OK);
  assert_int_equal(fn->add(NULL, &arena, &other, &e[2], &err), BEAM_OK);
  assert_int_equal(other.kind, BEAM_VALUE_LIST);
  assert_int_equal(other.u.list.len, 2);
  assert_int_equal(fn->merge(NULL, &arena, &acc, &other, &err), BEAM_OK);
  assert_int_equal(acc.kind, BEAM_VALUE_LIST);
  assert_int_equal(acc.u.list.len, 2);
  const beam_value *a = &acc.u.list.items[0], *b = &acc.u.list.items[1];
  assert_int_equal(a->u.kv.key->u.i64, 2);                     /* a.jsonl: two rows */
  assert_int_equal(a->u.kv.value->u.list.items[5].u.i64, 5);   /* the first in record order */
  assert_int_equal(b->u.kv.key->u.i64, 1);                     /* b.jsonl: one */
  assert_memory_equal(b->u.kv.value->u.list.items[1].u.bytes.data, "b.jsonl", 7);
  /* A lone accumulator merged into an empty one stays a lone row. */
  assert_int_equal(fn->create(NULL, &arena, &lone, &err), BEAM_OK);
  assert_int_equal(fn->merge(NULL, &arena, &lone, &e[2], &err), BEAM_OK);
  assert_int_equal(lone.kind, BEAM_VALUE_ROW);
  beam_etl_spec_free(spec);
  beam_arena_free(&arena);
}

static void bad_table_specs_name_the_key(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_specs / sizeof bad_specs[0]; i++) {
    beam_error err = {0};
    beam_etl_spec *spec = parse(bad_specs[i].json, &err);
    if (spec) fail_msg("spec %zu parsed but should fail: %s", i, bad_specs[i].json);
    char want[1024];
    snprintf(want, sizeof want, "spec.json: %s", bad_specs[i].message);
    if (strcmp(err.message, want) != 0) fail_msg("spec %zu: got  [%s]\nwant [%s]", i, err.message, want);
  }
  /* INT64 and BOOL placeholders render digits and true/false only. */
  beam_error err = {0};
  beam_etl_spec *spec = parse("{'schema': [" F("n", "INT64") ", " F("b", "BOOL") "], 'tables': {'t_7_true': {'schema': ["
                              F("n", "INT64") ", " F("b", "BOOL") "]}}, 'route': {'table': 't_{n}_{b}'}}",
                              &err);
  if (!spec) fail_msg("%s", err.message);
  beam_etl_spec_free(spec);
  spec = parse("{'schema': [" F("n", "INT64") "], 'tables': {'t_x': {'schema': [" F("n", "INT64") "]}}, 'route': {'table': "
               "'t_{n}'}}",
               &err);
  assert_null(spec);
  assert_non_null(strstr(err.message, "tables.t_x: the route never sends rows to this table"));
}

/* The sink front checks a table's own options; the object sink names paths by its field. */
static void sinks_take_each_tables_options(void **state) {
  (void)state;
  char dir[] = "/tmp/beam_etl_tablesXXXXXX";
  assert_non_null(mkdtemp(dir));
  char uri[128];
  snprintf(uri, sizeof uri, "file:%s", dir);
  beam_sink *sink = NULL;
  beam_error err = {0};
  assert_int_equal(beam_sink_open(uri, NULL, &sink, &err), BEAM_OK);
  beam_etl_spec *spec = load3();
  const beam_etl_table_spec *o = beam_etl_spec_table(spec, "events_order");
  const char *bad_cluster[] = {"status", "nope"};
  beam_sink_table_options bad = {.cluster_fields = bad_cluster, .n_cluster_fields = 2};
  assert_int_equal(beam_sink_ensure_table_with(sink, "events_order", &o->schema, &bad, &err), BEAM_ERR_INVALID_ARG);
  assert_string_equal(err.message, "table events_order: clustering field \"nope\" is not in its schema");
  bad = (beam_sink_table_options){.partition_field = "order_date", .partition_granularity = BEAM_SINK_PARTITION_HOUR};
  assert_int_equal(beam_sink_ensure_table_with(sink, "events_order", &o->schema, &bad, &err), BEAM_ERR_INVALID_ARG);
  assert_string_equal(err.message, "table events_order: HOUR partitioning needs a TIMESTAMP field, \"order_date\" is DATE");
  bad = (beam_sink_table_options){.partition_field = "status"};
  assert_int_equal(beam_sink_ensure_table_with(sink, "events_order", &o->schema, &bad, &err), BEAM_ERR_INVALID_ARG);
  assert_string_equal(err.message, "table events_order: partition field \"status\" is STRING, not TIMESTAMP or DATE");

  /* events_order by order_date (a DATE: hour 00), the top-level table by nothing (ingestion). */
  beam_arena arena = BEAM_ARENA_INIT;
  const char *order[U_N] = {"e-1", "order", "2030-01-01T05:00:00Z", "2024-03-05", "new"};
  beam_etl_outcome out = run(spec, &arena, 1, order);
  assert_int_equal(beam_etl_ensure_table(sink, spec, out.table, out.row.schema, &err), BEAM_OK);
  assert_int_equal(beam_sink_begin(sink, "b1", &err), BEAM_OK);
  assert_int_equal(beam_sink_write_rows(sink, out.table, &out.row, 1, NULL, &err), BEAM_OK);
  assert_int_equal(beam_sink_commit(sink, &err), BEAM_OK);
  char path[256];
  snprintf(path, sizeof path, "%s/events_order/2024/03/05/00", dir);
  DIR *d = opendir(path);
  if (!d) fail_msg("no directory %s: the table's partition field must name the path", path);
  closedir(d);
  beam_sink_free(sink);
  beam_etl_spec_free(spec);
  beam_arena_free(&arena);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(spec_tables_parse_into_a_union),
      cmocka_unit_test(rows_take_their_tables_shape),
      cmocka_unit_test(dedupe_first_keeps_a_lone_row_as_itself),
      cmocka_unit_test(bad_table_specs_name_the_key),
      cmocka_unit_test(sinks_take_each_tables_options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
