/* The version of beam-c this library was built as (CMake's project version). */
#ifndef BEAM_VERSION_H
#define BEAM_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* "MAJOR.MINOR.PATCH", e.g. "0.1.0": what every program's --version prints. */
const char *beam_version(void);

#ifdef __cplusplus
}
#endif
#endif
