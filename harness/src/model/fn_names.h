/* Short names for the generated fn_execution types (private to the library). */
#ifndef BEAM_FN_NAMES_H
#define BEAM_FN_NAMES_H

#include "org/apache/beam/model/fn_execution/v1/beam_fn_api.pb-c.h"
#include "org/apache/beam/model/fn_execution/v1/beam_provision_api.pb-c.h"

#define FN(name) Org__Apache__Beam__Model__FnExecution__V1__##name
#define FN_FN(name) org__apache__beam__model__fn_execution__v1__##name
#define FN_INIT(NAME) ORG__APACHE__BEAM__MODEL__FN_EXECUTION__V1__##NAME##__INIT
#define FN_ENUM(NAME) ORG__APACHE__BEAM__MODEL__FN_EXECUTION__V1__##NAME

#define FN_CONTROL_SERVICE "/org.apache.beam.model.fn_execution.v1.BeamFnControl/"
#define FN_DATA_METHOD "/org.apache.beam.model.fn_execution.v1.BeamFnData/Data"
#define FN_STATE_METHOD "/org.apache.beam.model.fn_execution.v1.BeamFnState/State"
#define FN_LOGGING_METHOD "/org.apache.beam.model.fn_execution.v1.BeamFnLogging/Logging"
#define FN_PROVISION_METHOD "/org.apache.beam.model.fn_execution.v1.ProvisionService/GetProvisionInfo"
#define FN_WORKER_POOL_SERVICE "/org.apache.beam.model.fn_execution.v1.BeamFnExternalWorkerPool/"

#endif
