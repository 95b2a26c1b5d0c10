/* The testing kit's DoFns, found by name without registration (the registry's extra lookup,
 * builtin_fns.h), and the registry of predicates that beam_assert_all names. */
#include <string.h>

#include "builtin_fns.h"
#include "testing_internal.h"

extern const beam_dofn_def beam_test_create_dofn;
extern const beam_dofn_def beam_test_reify_dofn;
extern const beam_dofn_def beam_test_sentinel_dofn;
extern const beam_dofn_def beam_test_check_dofn;

static const beam_dofn_def *builtin_dofn(const char *name) {
  const beam_dofn_def *fns[] = {&beam_test_create_dofn, &beam_test_reify_dofn, &beam_test_sentinel_dofn,
                                &beam_test_check_dofn};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
    if (strcmp(fns[i]->name, name) == 0) return fns[i];
  return NULL;
}

void beam_test_install_dofns(void) { beam_dofn_set_extra_lookup(builtin_dofn); }

enum { MAX_PREDICATES = 128 };

/* Registered at program start (constructors or before the worker starts), read afterwards. */
static struct {
  const char *name;
  beam_test_predicate fn;
} predicates[MAX_PREDICATES];
static size_t n_predicates;

beam_status beam_test_register_predicate(const char *name, beam_test_predicate fn) {
  if (!name || !fn) return BEAM_ERR_INVALID_ARG;
  for (size_t i = 0; i < n_predicates; i++)
    if (strcmp(predicates[i].name, name) == 0) return predicates[i].fn = fn, BEAM_OK;
  if (n_predicates == MAX_PREDICATES) return BEAM_ERR_NOMEM;
  predicates[n_predicates].name = name;
  predicates[n_predicates++].fn = fn;
  return BEAM_OK;
}

beam_test_predicate beam_test_predicate_lookup(const char *name) {
  for (size_t i = 0; i < n_predicates; i++)
    if (strcmp(predicates[i].name, name) == 0) return predicates[i].fn;
  return NULL;
}
