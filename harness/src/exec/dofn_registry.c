/* Registries of DoFns and CombineFns by name.
 *
 * Registration happens at program start (constructors or explicit calls) before any thread
 * runs bundles; lookups afterwards are read-only, so no lock is needed on the hot path. */
#include <string.h>

#include "beam/combinefn.h"
#include "beam/dofn.h"
#include "builtin_fns.h"

enum { MAX_FNS = 256 };

static const beam_dofn_def *dofns[MAX_FNS];
static size_t n_dofns;
static const beam_splittable_dofn_def *splittables[MAX_FNS];
static size_t n_splittables;
static const beam_combinefn_def *combinefns[MAX_FNS];
static size_t n_combinefns;
/* Atomic: a test may install it while an earlier test's runner threads still look names up. */
static _Atomic(beam_dofn_lookup_fn) extra_lookup;

void beam_dofn_set_extra_lookup(beam_dofn_lookup_fn lookup) { extra_lookup = lookup; }

beam_status beam_dofn_register(const beam_dofn_def *def) {
  if (!def || !def->name || !def->process) return BEAM_ERR_INVALID_ARG;
  for (size_t i = 0; i < n_dofns; i++)
    if (strcmp(dofns[i]->name, def->name) == 0) {
      dofns[i] = def; /* re-registering replaces: a user may override a built-in */
      return BEAM_OK;
    }
  if (n_dofns == MAX_FNS) return BEAM_ERR_NOMEM;
  dofns[n_dofns++] = def;
  return BEAM_OK;
}

const beam_dofn_def *beam_dofn_lookup(const char *name) {
  for (size_t i = 0; i < n_dofns; i++)
    if (strcmp(dofns[i]->name, name) == 0) return dofns[i];
  const beam_dofn_def *builtin = beam_builtin_dofn(name);
  beam_dofn_lookup_fn extra = extra_lookup;
  return builtin ? builtin : extra ? extra(name) : NULL;
}

beam_status beam_dofn_register_splittable(const beam_splittable_dofn_def *def) {
  if (!def || !def->initial_restriction) return BEAM_ERR_INVALID_ARG;
  beam_status s = beam_dofn_register(&def->dofn);
  if (s != BEAM_OK) return s;
  for (size_t i = 0; i < n_splittables; i++)
    if (strcmp(splittables[i]->dofn.name, def->dofn.name) == 0) {
      splittables[i] = def;
      return BEAM_OK;
    }
  if (n_splittables == MAX_FNS) return BEAM_ERR_NOMEM;
  splittables[n_splittables++] = def;
  return BEAM_OK;
}

const beam_splittable_dofn_def *beam_dofn_lookup_splittable(const char *name) {
  const beam_dofn_def *def = beam_dofn_lookup(name);
  for (size_t i = 0; def && i < n_splittables; i++)
    if (&splittables[i]->dofn == def) return splittables[i]; /* not replaced by a plain DoFn */
  return NULL;
}

beam_status beam_combinefn_register(const beam_combinefn_def *def) {
  if (!def || !def->name || !def->create || !def->add || !def->merge || !def->extract)
    return BEAM_ERR_INVALID_ARG;
  for (size_t i = 0; i < n_combinefns; i++)
    if (strcmp(combinefns[i]->name, def->name) == 0) {
      combinefns[i] = def;
      return BEAM_OK;
    }
  if (n_combinefns == MAX_FNS) return BEAM_ERR_NOMEM;
  combinefns[n_combinefns++] = def;
  return BEAM_OK;
}

const beam_combinefn_def *beam_combinefn_lookup(const char *name) {
  for (size_t i = 0; i < n_combinefns; i++)
    if (strcmp(combinefns[i]->name, name) == 0) return combinefns[i];
  return beam_builtin_combinefn(name);
}
