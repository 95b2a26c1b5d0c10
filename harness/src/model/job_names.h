/* Short names for the generated job_management types (private to the library). */
#ifndef BEAM_JOB_NAMES_H
#define BEAM_JOB_NAMES_H

#include "org/apache/beam/model/job_management/v1/beam_artifact_api.pb-c.h"
#include "org/apache/beam/model/job_management/v1/beam_job_api.pb-c.h"

#define JOB(name) Org__Apache__Beam__Model__JobManagement__V1__##name
#define JOB_FN(name) org__apache__beam__model__job_management__v1__##name
#define JOB_INIT(NAME) ORG__APACHE__BEAM__MODEL__JOB_MANAGEMENT__V1__##NAME##__INIT
#define JOB_ENUM(NAME) ORG__APACHE__BEAM__MODEL__JOB_MANAGEMENT__V1__##NAME
#define JOB_SERVICE "/org.apache.beam.model.job_management.v1.JobService/"
#define ARTIFACT_STAGING_SERVICE "/org.apache.beam.model.job_management.v1.ArtifactStagingService/"

#endif
