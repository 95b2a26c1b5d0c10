/* Filter expressions: recursive-descent parser into an arena AST, three-valued evaluation. */
#include "beam/transforms/etl_filter.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "beam/transforms/etl_coerce.h"
#include "beam/transforms/etl_value.h"
#include "etl_message_fields.h"
#include "etl_text.h"

/* Deep nesting in a spec is a mistake, and unbounded recursion would be a crash. */
#define FILTER_MAX_DEPTH 200

typedef enum node_kind { N_OR, N_AND, N_NOT, N_CMP, N_IS_NULL, N_IS_NOT_NULL, N_BOOL_FIELD, N_CONST } node_kind;
typedef enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } cmp_op;

struct beam_etl_filter {
  node_kind kind;
  cmp_op op;
  int field;
  beam_etl_type type;
  beam_value literal;
  beam_etl_truth constant;
  struct beam_etl_filter *a, *b;
};
typedef struct beam_etl_filter node;

typedef enum tok_kind {
  T_END, T_IDENT, T_NUMBER, T_STRING, T_TRUE, T_FALSE, T_NULL, T_IS, T_NOT, T_AND, T_OR,
  T_LPAREN, T_RPAREN, T_OP, T_ERROR
} tok_kind;

typedef struct token {
  tok_kind kind;
  size_t pos; /* byte offset of the first character */
  size_t len;
  cmp_op op;
} token;

typedef struct parser {
  const char *text;
  size_t len;
  size_t pos;
  token tok; /* current lookahead */
  const beam_etl_schema *schema;
  beam_arena *arena;
  beam_error *err;
  int depth;
} parser;

static bool is_ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool keyword(const char *s, size_t n, const char *kw) { return strlen(kw) == n && strncasecmp(s, kw, n) == 0; }

static void lex(parser *p) {
  const char *s = p->text;
  while (p->pos < p->len && beam_etl_is_space(s[p->pos])) p->pos++;
  token t = {T_END, p->pos, 0, OP_EQ};
  if (p->pos >= p->len) {
    p->tok = t;
    return;
  }
  size_t i = p->pos;
  char c = s[i];
  char d = i + 1 < p->len ? s[i + 1] : '\0';
  size_t message_field = beam_etl_message_ref_len(s + i, p->len - i);
  if (message_field) { /* "_attributes.NAME" holds '.' and '-': one name all the same */
    t.kind = T_IDENT;
    t.len = message_field;
  } else if (is_ident_start(c)) {
    size_t j = i;
    while (j < p->len && (is_ident_start(s[j]) || is_digit(s[j]))) j++;
    t.len = j - i;
    t.kind = T_IDENT;
    const char *w = s + i;
    if (keyword(w, t.len, "true")) t.kind = T_TRUE;
    else if (keyword(w, t.len, "false")) t.kind = T_FALSE;
    else if (keyword(w, t.len, "null")) t.kind = T_NULL;
    else if (keyword(w, t.len, "is")) t.kind = T_IS;
    else if (keyword(w, t.len, "not")) t.kind = T_NOT;
    else if (keyword(w, t.len, "and")) t.kind = T_AND;
    else if (keyword(w, t.len, "or")) t.kind = T_OR;
  } else if (is_digit(c) || ((c == '-' || c == '+' || c == '.') && (is_digit(d) || (d == '.' && c != '.')))) {
    size_t j = i;
    if (s[j] == '-' || s[j] == '+') j++;
    while (j < p->len && is_digit(s[j])) j++;
    if (j < p->len && s[j] == '.') {
      j++;
      while (j < p->len && is_digit(s[j])) j++;
    }
    if (j < p->len && (s[j] == 'e' || s[j] == 'E')) {
      size_t k = j + 1;
      if (k < p->len && (s[k] == '+' || s[k] == '-')) k++;
      if (k < p->len && is_digit(s[k])) {
        while (k < p->len && is_digit(s[k])) k++;
        j = k;
      }
    }
    t.kind = T_NUMBER;
    t.len = j - i;
  } else if (c == '\'' || c == '"') {
    size_t j = i + 1;
    while (j < p->len && s[j] != c) j += (s[j] == '\\' && j + 1 < p->len) ? 2 : 1;
    if (j >= p->len) {
      t.kind = T_ERROR; /* unterminated string */
      t.len = p->len - i;
    } else {
      t.kind = T_STRING;
      t.len = j + 1 - i;
    }
  } else {
    t.len = 1;
    t.kind = T_OP;
    switch (c) {
      case '(': t.kind = T_LPAREN; break;
      case ')': t.kind = T_RPAREN; break;
      case '&':
        if (d == '&') t.kind = T_AND, t.len = 2;
        else t.kind = T_ERROR;
        break;
      case '|':
        if (d == '|') t.kind = T_OR, t.len = 2;
        else t.kind = T_ERROR;
        break;
      case '!':
        if (d == '=') t.op = OP_NE, t.len = 2;
        else t.kind = T_NOT;
        break;
      case '=':
        t.op = OP_EQ;
        if (d == '=') t.len = 2;
        break;
      case '<':
        if (d == '=') t.op = OP_LE, t.len = 2;
        else if (d == '>') t.op = OP_NE, t.len = 2;
        else t.op = OP_LT;
        break;
      case '>':
        if (d == '=') t.op = OP_GE, t.len = 2;
        else t.op = OP_GT;
        break;
      default:
        t.kind = T_ERROR;
    }
  }
  p->pos = i + t.len;
  p->tok = t;
}

static beam_status unexpected(parser *p) {
  token *t = &p->tok;
  if (t->kind == T_END)
    return beam_error_set(p->err, BEAM_ERR_INVALID_ARG, "unexpected end of expression at column %zu", t->pos + 1);
  char q[BEAM_ETL_QUOTE_MAX];
  if (t->kind == T_ERROR && (p->text[t->pos] == '\'' || p->text[t->pos] == '"'))
    return beam_error_set(p->err, BEAM_ERR_INVALID_ARG, "unterminated string at column %zu", t->pos + 1);
  return beam_error_set(p->err, BEAM_ERR_INVALID_ARG, "unexpected token '%s' at column %zu",
                        beam_etl_quote(p->text + t->pos, t->len, q), t->pos + 1);
}

static node *new_node(parser *p, node_kind k) {
  node *n = beam_arena_calloc(p->arena, 1, sizeof *n);
  if (n) n->kind = k;
  else beam_error_set(p->err, BEAM_ERR_NOMEM, "out of memory");
  return n;
}

static bool is_literal(tok_kind k) { return k == T_NUMBER || k == T_STRING || k == T_TRUE || k == T_FALSE || k == T_NULL; }

static const char *literal_kind(tok_kind k) {
  switch (k) {
    case T_NUMBER: return "a number";
    case T_STRING: return "a string";
    case T_NULL: return "null";
    default: return "a boolean";
  }
}

/* Types the literal token as field f, checking the literal's kind first. */
static beam_status typed_literal(parser *p, const token *lit, int fi, beam_value *out) {
  const beam_etl_field *f = &p->schema->fields[fi];
  if (lit->kind == T_NULL)
    return beam_error_set(p->err, BEAM_ERR_INVALID_ARG,
                          "column %zu: comparing with null is never true: write \"%s is null\" or \"%s is not null\"",
                          lit->pos + 1, f->name, f->name);
  tok_kind want;
  switch (f->type) {
    case BEAM_ETL_INT64:
    case BEAM_ETL_FLOAT64:
    case BEAM_ETL_NUMERIC: want = T_NUMBER; break;
    case BEAM_ETL_BOOL: want = T_TRUE; break;
    default: want = T_STRING; break;
  }
  tok_kind have = lit->kind == T_FALSE ? T_TRUE : lit->kind;
  if (have != want)
    return beam_error_set(p->err, BEAM_ERR_INVALID_ARG, "column %zu: field \"%s\" is %s and cannot be compared with %s",
                          lit->pos + 1, f->name, beam_etl_type_name(f->type), literal_kind(lit->kind));
  beam_etl_cell cell = {BEAM_ETL_CELL_LITERAL, p->text + lit->pos, lit->len};
  if (lit->kind == T_STRING) {
    /* Unescape into the arena: the literal must outlive the spec text. */
    char *buf = beam_arena_alloc(p->arena, lit->len);
    if (!buf) return beam_error_set(p->err, BEAM_ERR_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = lit->pos + 1; i < lit->pos + lit->len - 1; i++) {
      char c = p->text[i];
      if (c == '\\' && i + 1 < lit->pos + lit->len - 1) c = p->text[++i];
      buf[n++] = c;
    }
    buf[n] = '\0';
    cell = (beam_etl_cell){BEAM_ETL_CELL_TEXT, buf, n};
  } else {
    char *copy = beam_arena_strndup(p->arena, cell.data, cell.len);
    if (!copy) return beam_error_set(p->err, BEAM_ERR_NOMEM, "out of memory");
    cell.data = copy;
  }
  beam_etl_field as = *f;
  as.mode = BEAM_ETL_NULLABLE;
  beam_status st = beam_etl_coerce_cell(&as, &cell, p->arena, out, p->err);
  if (st != BEAM_OK && st != BEAM_ERR_NOMEM) beam_error_prefix(p->err, "column %zu: ", lit->pos + 1);
  return st;
}

static int field_of(parser *p, const token *t) {
  char name[256];
  if (t->len >= sizeof name) {
    beam_error_set(p->err, BEAM_ERR_INVALID_ARG, "column %zu: field name too long", t->pos + 1);
    return -1;
  }
  memcpy(name, p->text + t->pos, t->len);
  name[t->len] = '\0';
  int fi = beam_etl_schema_find(p->schema, name);
  if (fi < 0) beam_error_set(p->err, BEAM_ERR_INVALID_ARG, "column %zu: no field \"%s\" in schema", t->pos + 1, name);
  return fi;
}

static cmp_op flip(cmp_op op) {
  switch (op) {
    case OP_LT: return OP_GT;
    case OP_LE: return OP_GE;
    case OP_GT: return OP_LT;
    case OP_GE: return OP_LE;
    default: return op;
  }
}

static beam_status parse_or(parser *p, node **out);

static beam_status parse_atom(parser *p, node **out) {
  token first = p->tok;
  if (first.kind == T_IDENT) {
    int fi = field_of(p, &first);
    if (fi < 0) return BEAM_ERR_INVALID_ARG;
    lex(p);
    const beam_etl_field *f = &p->schema->fields[fi];
    if (p->tok.kind == T_IS) {
      lex(p);
      bool negate = false;
      if (p->tok.kind == T_NOT) {
        negate = true;
        lex(p);
      }
      if (p->tok.kind != T_NULL) return unexpected(p);
      lex(p);
      node *n = new_node(p, negate ? N_IS_NOT_NULL : N_IS_NULL);
      if (!n) return BEAM_ERR_NOMEM;
      n->field = fi;
      *out = n;
      return BEAM_OK;
    }
    if (p->tok.kind == T_OP) {
      cmp_op op = p->tok.op;
      lex(p);
      token lit = p->tok;
      if (lit.kind == T_IDENT)
        return beam_error_set(p->err, BEAM_ERR_INVALID_ARG,
                              "column %zu: comparisons are between a field and a literal, not two fields", lit.pos + 1);
      if (!is_literal(lit.kind)) return unexpected(p);
      node *n = new_node(p, N_CMP);
      if (!n) return BEAM_ERR_NOMEM;
      n->op = op;
      n->field = fi;
      n->type = f->type;
      beam_status st = typed_literal(p, &lit, fi, &n->literal);
      if (st != BEAM_OK) return st;
      lex(p);
      *out = n;
      return BEAM_OK;
    }
    if (f->type != BEAM_ETL_BOOL)
      return beam_error_set(p->err, BEAM_ERR_INVALID_ARG,
                            "column %zu: field \"%s\" is %s, not BOOL: compare it with a value", first.pos + 1,
                            f->name, beam_etl_type_name(f->type));
    node *n = new_node(p, N_BOOL_FIELD);
    if (!n) return BEAM_ERR_NOMEM;
    n->field = fi;
    *out = n;
    return BEAM_OK;
  }
  if (is_literal(first.kind)) {
    lex(p);
    if (p->tok.kind != T_OP) {
      if (first.kind == T_TRUE || first.kind == T_FALSE) {
        node *n = new_node(p, N_CONST);
        if (!n) return BEAM_ERR_NOMEM;
        n->constant = first.kind == T_TRUE ? BEAM_ETL_TRUE : BEAM_ETL_FALSE;
        *out = n;
        return BEAM_OK;
      }
      return unexpected(p);
    }
    cmp_op op = p->tok.op;
    lex(p);
    token id = p->tok;
    if (id.kind != T_IDENT) {
      if (is_literal(id.kind))
        return beam_error_set(p->err, BEAM_ERR_INVALID_ARG,
                              "column %zu: comparisons are between a field and a literal, not two literals",
                              first.pos + 1);
      return unexpected(p);
    }
    int fi = field_of(p, &id);
    if (fi < 0) return BEAM_ERR_INVALID_ARG;
    node *n = new_node(p, N_CMP);
    if (!n) return BEAM_ERR_NOMEM;
    n->op = flip(op);
    n->field = fi;
    n->type = p->schema->fields[fi].type;
    beam_status st = typed_literal(p, &first, fi, &n->literal);
    if (st != BEAM_OK) return st;
    lex(p);
    *out = n;
    return BEAM_OK;
  }
  return unexpected(p);
}

static beam_status parse_unary(parser *p, node **out) {
  if (++p->depth > FILTER_MAX_DEPTH)
    return beam_error_set(p->err, BEAM_ERR_INVALID_ARG, "expression nested too deeply at column %zu", p->tok.pos + 1);
  beam_status st;
  if (p->tok.kind == T_NOT) {
    lex(p);
    node *n = new_node(p, N_NOT);
    if (!n) return BEAM_ERR_NOMEM;
    if ((st = parse_unary(p, &n->a)) != BEAM_OK) return st;
    *out = n;
  } else if (p->tok.kind == T_LPAREN) {
    lex(p);
    if ((st = parse_or(p, out)) != BEAM_OK) return st;
    if (p->tok.kind != T_RPAREN) return unexpected(p);
    lex(p);
  } else if ((st = parse_atom(p, out)) != BEAM_OK) {
    return st;
  }
  p->depth--;
  return BEAM_OK;
}

static beam_status parse_and(parser *p, node **out) {
  beam_status st = parse_unary(p, out);
  while (st == BEAM_OK && p->tok.kind == T_AND) {
    lex(p);
    node *n = new_node(p, N_AND);
    if (!n) return BEAM_ERR_NOMEM;
    n->a = *out;
    st = parse_unary(p, &n->b);
    *out = n;
  }
  return st;
}

static beam_status parse_or(parser *p, node **out) {
  beam_status st = parse_and(p, out);
  while (st == BEAM_OK && p->tok.kind == T_OR) {
    lex(p);
    node *n = new_node(p, N_OR);
    if (!n) return BEAM_ERR_NOMEM;
    n->a = *out;
    st = parse_and(p, &n->b);
    *out = n;
  }
  return st;
}

beam_status beam_etl_filter_parse(const char *text, const beam_etl_schema *schema, beam_arena *arena,
                                  beam_etl_filter **out, beam_error *err) {
  parser p = {text, strlen(text), 0, {T_END, 0, 0, OP_EQ}, schema, arena, err, 0};
  lex(&p);
  if (p.tok.kind == T_END) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "empty expression");
  node *root = NULL;
  beam_status st = parse_or(&p, &root);
  if (st != BEAM_OK) return st;
  if (p.tok.kind != T_END) return unexpected(&p);
  *out = root;
  return BEAM_OK;
}

static beam_etl_truth not3(beam_etl_truth t) {
  return t == BEAM_ETL_UNKNOWN ? t : (t == BEAM_ETL_TRUE ? BEAM_ETL_FALSE : BEAM_ETL_TRUE);
}

beam_etl_truth beam_etl_filter_eval(const beam_etl_filter *n, const beam_etl_row *row) {
  switch (n->kind) {
    case N_OR: {
      beam_etl_truth a = beam_etl_filter_eval(n->a, row);
      if (a == BEAM_ETL_TRUE) return a;
      beam_etl_truth b = beam_etl_filter_eval(n->b, row);
      if (b == BEAM_ETL_TRUE) return b;
      return a == BEAM_ETL_UNKNOWN || b == BEAM_ETL_UNKNOWN ? BEAM_ETL_UNKNOWN : BEAM_ETL_FALSE;
    }
    case N_AND: {
      beam_etl_truth a = beam_etl_filter_eval(n->a, row);
      if (a == BEAM_ETL_FALSE) return a;
      beam_etl_truth b = beam_etl_filter_eval(n->b, row);
      if (b == BEAM_ETL_FALSE) return b;
      return a == BEAM_ETL_UNKNOWN || b == BEAM_ETL_UNKNOWN ? BEAM_ETL_UNKNOWN : BEAM_ETL_TRUE;
    }
    case N_NOT:
      return not3(beam_etl_filter_eval(n->a, row));
    case N_CONST:
      return n->constant;
    case N_IS_NULL:
      return row->values[n->field].kind == BEAM_VALUE_NULL ? BEAM_ETL_TRUE : BEAM_ETL_FALSE;
    case N_IS_NOT_NULL:
      return row->values[n->field].kind != BEAM_VALUE_NULL ? BEAM_ETL_TRUE : BEAM_ETL_FALSE;
    case N_BOOL_FIELD: {
      const beam_value *v = &row->values[n->field];
      if (v->kind == BEAM_VALUE_NULL) return BEAM_ETL_UNKNOWN;
      return v->u.b ? BEAM_ETL_TRUE : BEAM_ETL_FALSE;
    }
    case N_CMP: {
      const beam_value *v = &row->values[n->field];
      if (v->kind == BEAM_VALUE_NULL) return BEAM_ETL_UNKNOWN;
      int c;
      if (!beam_etl_value_compare(n->type, v, &n->literal, &c)) return n->op == OP_NE ? BEAM_ETL_TRUE : BEAM_ETL_FALSE;
      bool r = false;
      switch (n->op) {
        case OP_EQ: r = c == 0; break;
        case OP_NE: r = c != 0; break;
        case OP_LT: r = c < 0; break;
        case OP_LE: r = c <= 0; break;
        case OP_GT: r = c > 0; break;
        case OP_GE: r = c >= 0; break;
      }
      return r ? BEAM_ETL_TRUE : BEAM_ETL_FALSE;
    }
  }
  return BEAM_ETL_UNKNOWN;
}
