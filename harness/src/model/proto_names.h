/* Short names for the protoc-c generated Beam types, private to the library.
 * PIPE(PTransform) is Org__Apache__Beam__Model__Pipeline__V1__PTransform, and so on. */
#ifndef BEAM_PROTO_NAMES_H
#define BEAM_PROTO_NAMES_H

#include "org/apache/beam/model/pipeline/v1/beam_runner_api.pb-c.h"
#include "org/apache/beam/model/pipeline/v1/schema.pb-c.h"
#include "org/apache/beam/model/pipeline/v1/standard_window_fns.pb-c.h"

#define PIPE(name) Org__Apache__Beam__Model__Pipeline__V1__##name
#define PIPE_FN(name) org__apache__beam__model__pipeline__v1__##name
#define PIPE_INIT(NAME) ORG__APACHE__BEAM__MODEL__PIPELINE__V1__##NAME##__INIT
#define PIPE_ENUM(NAME) ORG__APACHE__BEAM__MODEL__PIPELINE__V1__##NAME

#endif
