/* google.protobuf.Struct <-> JSON (see proto_struct.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proto_struct.h"

static Google__Protobuf__Value *value_from_json(const json_t *j, beam_arena *a, int depth);

static Google__Protobuf__Struct *struct_from_json(const json_t *obj, beam_arena *a, int depth, bool option_keys) {
  Google__Protobuf__Struct *s = beam_arena_alloc(a, sizeof *s);
  if (!s) return NULL;
  *s = (Google__Protobuf__Struct)GOOGLE__PROTOBUF__STRUCT__INIT;
  s->fields = beam_arena_calloc(a, json_object_size(obj) + 1, sizeof *s->fields);
  if (!s->fields) return NULL;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    Google__Protobuf__Struct__FieldsEntry *e = beam_arena_alloc(a, sizeof *e);
    if (!e) return NULL;
    *e = (Google__Protobuf__Struct__FieldsEntry)GOOGLE__PROTOBUF__STRUCT__FIELDS_ENTRY__INIT;
    if (option_keys) {
      size_t n = strlen(key) + sizeof "beam:option::v1";
      char *k = beam_arena_alloc(a, n);
      if (!k) return NULL;
      snprintf(k, n, "beam:option:%s:v1", key);
      e->key = k;
    } else if (!(e->key = beam_arena_strdup(a, key))) {
      return NULL;
    }
    if (!(e->value = value_from_json(v, a, depth + 1))) return NULL;
    s->fields[s->n_fields++] = e;
  }
  return s;
}

static Google__Protobuf__Value *value_from_json(const json_t *j, beam_arena *a, int depth) {
  Google__Protobuf__Value *v = beam_arena_alloc(a, sizeof *v);
  if (!v || depth > 64) return NULL;
  *v = (Google__Protobuf__Value)GOOGLE__PROTOBUF__VALUE__INIT;
  switch (json_typeof(j)) {
    case JSON_OBJECT:
      v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
      return (v->struct_value = struct_from_json(j, a, depth, false)) ? v : NULL;
    case JSON_ARRAY: {
      Google__Protobuf__ListValue *l = beam_arena_alloc(a, sizeof *l);
      if (!l) return NULL;
      *l = (Google__Protobuf__ListValue)GOOGLE__PROTOBUF__LIST_VALUE__INIT;
      l->values = beam_arena_calloc(a, json_array_size(j) + 1, sizeof *l->values);
      if (!l->values) return NULL;
      size_t i;
      json_t *item;
      json_array_foreach((json_t *)j, i, item) {
        if (!(l->values[l->n_values++] = value_from_json(item, a, depth + 1))) return NULL;
      }
      v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
      v->list_value = l;
      return v;
    }
    case JSON_STRING:
      v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
      return (v->string_value = beam_arena_strndup(a, json_string_value(j), json_string_length(j))) ? v : NULL;
    case JSON_INTEGER:
    case JSON_REAL:
      v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
      v->number_value = json_number_value(j);
      return v;
    case JSON_TRUE:
    case JSON_FALSE:
      v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
      v->bool_value = json_is_true(j);
      return v;
    default:
      v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
      return v;
  }
}

Google__Protobuf__Struct *beam_options_to_struct(const json_t *options, beam_arena *a) {
  if (!options || !json_is_object(options)) {
    Google__Protobuf__Struct *s = beam_arena_alloc(a, sizeof *s);
    if (s) *s = (Google__Protobuf__Struct)GOOGLE__PROTOBUF__STRUCT__INIT;
    return s;
  }
  return struct_from_json(options, a, 0, true);
}

static json_t *value_to_json(const Google__Protobuf__Value *v, int depth);

static json_t *struct_to_json(const Google__Protobuf__Struct *s, int depth, bool option_keys) {
  json_t *obj = json_object();
  for (size_t i = 0; obj && s && i < s->n_fields; i++) {
    const char *key = s->fields[i]->key;
    char plain[512];
    size_t n = strlen(key);
    /* beam:option:NAME:v1 -> NAME */
    if (option_keys && n > 15 && strncmp(key, "beam:option:", 12) == 0 && strcmp(key + n - 3, ":v1") == 0 &&
        n - 15 < sizeof plain) {
      memcpy(plain, key + 12, n - 15);
      plain[n - 15] = '\0';
      key = plain;
    }
    json_object_set_new(obj, key, value_to_json(s->fields[i]->value, depth + 1));
  }
  return obj;
}

static json_t *value_to_json(const Google__Protobuf__Value *v, int depth) {
  if (!v || depth > 64) return json_null();
  switch (v->kind_case) {
    case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE: {
      double d = v->number_value;
      /* Integral numbers come back as JSON integers, as they were given. */
      if (d == (double)(json_int_t)d && d > -9e15 && d < 9e15) return json_integer((json_int_t)d);
      return json_real(d);
    }
    case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE: return json_string(v->string_value);
    case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE: return json_boolean(v->bool_value);
    case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE: return struct_to_json(v->struct_value, depth, false);
    case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE: {
      json_t *arr = json_array();
      for (size_t i = 0; arr && v->list_value && i < v->list_value->n_values; i++)
        json_array_append_new(arr, value_to_json(v->list_value->values[i], depth + 1));
      return arr;
    }
    default: return json_null();
  }
}

json_t *beam_options_from_struct(const Google__Protobuf__Struct *s) { return struct_to_json(s, 0, true); }
