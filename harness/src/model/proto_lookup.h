/* Finding an entry of a Pipeline's (or a ProcessBundleDescriptor's) Components by id.
 * protoc-c hands proto maps over as arrays of key/value entries, so a lookup is a walk over
 * them; the execution graph, the coders, the worker and the local runner all look up the
 * same maps, hence one helper per map here. The first entry with the id wins (runners and
 * this SDK write each key once). */
#ifndef BEAM_PROTO_LOOKUP_H
#define BEAM_PROTO_LOOKUP_H

#include <stddef.h>

#include "proto_names.h"

/* The PTransform with that id in c->transforms, or NULL. */
const PIPE(PTransform) *beam_proto_find_transform(const PIPE(Components) *c, const char *id);
/* The PCollection with that id in c->pcollections, or NULL. */
const PIPE(PCollection) *beam_proto_find_pcollection(const PIPE(Components) *c, const char *id);
/* The WindowingStrategy with that id in c->windowing_strategies, or NULL. */
const PIPE(WindowingStrategy) *beam_proto_find_windowing_strategy(const PIPE(Components) *c, const char *id);
/* The Coder with that id in c->coders, or NULL. */
const PIPE(Coder) *beam_proto_find_coder(const PIPE(Components) *c, const char *id);
/* Where the coder with that id is in c->coders, or -1: for tables kept index-aligned with
 * c->coders (the coder builder's cache). */
ptrdiff_t beam_proto_coder_index(const PIPE(Components) *c, const char *id);

#endif
