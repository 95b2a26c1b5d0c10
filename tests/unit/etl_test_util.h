/* Helpers shared by the ETL transform tests (header-only; tests/unit/test_*.c include it). */
#ifndef BEAM_TESTS_ETL_TEST_UTIL_H
#define BEAM_TESTS_ETL_TEST_UTIL_H

#include <string.h>

#include "beam/transforms/etl_types.h"

static inline beam_etl_cell etl_text(const char *s) {
  beam_etl_cell c = {BEAM_ETL_CELL_TEXT, s, strlen(s)};
  return c;
}
static inline beam_etl_cell etl_lit(const char *s) {
  beam_etl_cell c = {BEAM_ETL_CELL_LITERAL, s, strlen(s)};
  return c;
}
static inline beam_etl_cell etl_nested(const char *s) {
  beam_etl_cell c = {BEAM_ETL_CELL_NESTED, s, strlen(s)};
  return c;
}
static inline beam_etl_cell etl_null(void) {
  beam_etl_cell c = {BEAM_ETL_CELL_NULL, "", 0};
  return c;
}
static inline beam_etl_cell etl_absent(void) {
  beam_etl_cell c = {BEAM_ETL_CELL_ABSENT, "", 0};
  return c;
}

/* The spec from the design brief (comments removed), used by several tests. */
#define ETL_EXAMPLE_SPEC                                                                              \
  "{\"format\": \"jsonl\",\n"                                                                         \
  " \"csv\": {\"delimiter\": \",\", \"quote\": \"\\\"\", \"header\": true},\n"                        \
  " \"schema\": [{\"name\": \"event_id\", \"type\": \"STRING\", \"mode\": \"REQUIRED\"},\n"           \
  "            {\"name\": \"event_type\", \"type\": \"STRING\", \"mode\": \"REQUIRED\"},\n"           \
  "            {\"name\": \"amount\", \"type\": \"FLOAT64\"},\n"                                      \
  "            {\"name\": \"ts\", \"type\": \"TIMESTAMP\", \"mode\": \"REQUIRED\"},\n"                \
  "            {\"name\": \"email\", \"type\": \"STRING\"},\n"                                        \
  "            {\"name\": \"x\", \"type\": \"STRING\"}],\n"                                           \
  " \"clean\": {\"trim\": true, \"lowercase\": [\"event_type\"], \"uppercase\": [],\n"                \
  "           \"null_tokens\": [\"\", \"NULL\", \"N/A\"], \"dedupe_on\": \"event_id\"},\n"            \
  " \"validate\": {\"mode\": \"soft\", \"rules\": [\n"                                                \
  "    {\"field\": \"amount\", \"min\": 0, \"max\": 100000},\n"                                       \
  "    {\"field\": \"event_type\", \"enum\": [\"order\", \"inventory\", \"user_activity\", \"ord er\", \"misc\"]},\n" \
  "    {\"field\": \"event_id\", \"regex\": \"^[A-Za-z0-9-]+$\"},\n"                                  \
  "    {\"field\": \"email\", \"required\": true},\n"                                                 \
  "    {\"field\": \"x\", \"type\": \"INT64\"}]},\n"                                                  \
  " \"filter\": \"event_type != 'misc' && (amount >= 1 || amount is null)\",\n"                                                 \
  " \"route\": {\"table\": \"events_{event_type}\", \"default\": \"events_other\"},\n"                \
  " \"partition_field\": \"ts\", \"cluster_fields\": [\"event_type\"]}\n"

#endif
