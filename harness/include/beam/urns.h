/* Beam URNs used by the SDK (facts of the portability model, checked against Prism,
 * the Python portable runner and Flink), and beam-c's own function URNs. */
#ifndef BEAM_URNS_H
#define BEAM_URNS_H

/* Primitive and composite transforms. */
#define BEAM_URN_IMPULSE "beam:transform:impulse:v1"
#define BEAM_URN_PARDO "beam:transform:pardo:v1"
#define BEAM_URN_GBK "beam:transform:group_by_key:v1"
#define BEAM_URN_FLATTEN "beam:transform:flatten:v1"
#define BEAM_URN_WINDOW_INTO "beam:transform:window_into:v1"
#define BEAM_URN_COMBINE_PER_KEY "beam:transform:combine_per_key:v1"
#define BEAM_URN_COMBINE_PRECOMBINE "beam:transform:combine_per_key_precombine:v1"
#define BEAM_URN_COMBINE_MERGE "beam:transform:combine_per_key_merge_accumulators:v1"
#define BEAM_URN_COMBINE_EXTRACT "beam:transform:combine_per_key_extract_outputs:v1"
#define BEAM_URN_COMBINE_GROUPED_VALUES "beam:transform:combine_grouped_values:v1"
/* A splittable ParDo as runners expand it (Beam's SplittableParDoComponents). */
#define BEAM_URN_SDF_PAIR_WITH_RESTRICTION "beam:transform:sdf_pair_with_restriction:v1"
#define BEAM_URN_SDF_SPLIT_AND_SIZE "beam:transform:sdf_split_and_size_restrictions:v1"
#define BEAM_URN_SDF_PROCESS "beam:transform:sdf_process_sized_element_and_restrictions:v1"
#define BEAM_URN_SDF_TRUNCATE "beam:transform:sdf_truncate_sized_restrictions:v1"
/* Pub/Sub read, a runner-native source (Dataflow's streaming Pub/Sub; payload
 * PubSubReadPayload): its PCollection, and everything downstream, is unbounded. */
#define BEAM_URN_PUBSUB_READ "beam:transform:pubsub_read:v1"
#define BEAM_URN_DATA_SOURCE "beam:runner:source:v1"
#define BEAM_URN_DATA_SINK "beam:runner:sink:v1"

/* beam-c's user functions: payload is JSON {"fn": "<registered name>", "config": {...}}. */
#define BEAM_URN_C_DOFN "beam:dofn:c:v1"
#define BEAM_URN_C_COMBINEFN "beam:combinefn:c:v1"

/* Window functions. */
#define BEAM_URN_GLOBAL_WINDOWS "beam:window_fn:global_windows:v1"
#define BEAM_URN_FIXED_WINDOWS "beam:window_fn:fixed_windows:v1"

/* Coders. */
#define BEAM_URN_CODER_BYTES "beam:coder:bytes:v1"
#define BEAM_URN_CODER_STRING_UTF8 "beam:coder:string_utf8:v1"
#define BEAM_URN_CODER_VARINT "beam:coder:varint:v1"
#define BEAM_URN_CODER_BOOL "beam:coder:bool:v1"
#define BEAM_URN_CODER_DOUBLE "beam:coder:double:v1"
#define BEAM_URN_CODER_KV "beam:coder:kv:v1"
#define BEAM_URN_CODER_ITERABLE "beam:coder:iterable:v1"
#define BEAM_URN_CODER_LENGTH_PREFIX "beam:coder:length_prefix:v1"
#define BEAM_URN_CODER_GLOBAL_WINDOW "beam:coder:global_window:v1"
#define BEAM_URN_CODER_INTERVAL_WINDOW "beam:coder:interval_window:v1"
#define BEAM_URN_CODER_WINDOWED_VALUE "beam:coder:windowed_value:v1"
#define BEAM_URN_CODER_ROW "beam:coder:row:v1"
#define BEAM_URN_CODER_NULLABLE "beam:coder:nullable:v1"

/* Environments. */
#define BEAM_URN_ENV_PROCESS "beam:env:process:v1"
#define BEAM_URN_ENV_EXTERNAL "beam:env:external:v1"
#define BEAM_URN_ENV_DOCKER "beam:env:docker:v1"

/* Artifacts (files an environment needs): types and roles. */
#define BEAM_URN_ARTIFACT_FILE "beam:artifact:type:file:v1"         /* ArtifactFilePayload */
#define BEAM_URN_ARTIFACT_URL "beam:artifact:type:url:v1"           /* ArtifactUrlPayload */
#define BEAM_URN_ARTIFACT_EMBEDDED "beam:artifact:type:embedded:v1" /* EmbeddedFilePayload */
#define BEAM_URN_ARTIFACT_ROLE_STAGING_TO "beam:artifact:role:staging_to:v1" /* ArtifactStagingToRolePayload */

/* Side input access pattern. */
#define BEAM_URN_SIDE_INPUT_ITERABLE "beam:side_input:iterable:v1"
#define BEAM_URN_SIDE_INPUT_MULTIMAP "beam:side_input:multimap:v1"

/* User state protocol, and the pipeline requirement a stateful ParDo adds. */
#define BEAM_URN_USER_STATE_BAG "beam:user_state:bag:v1"
#define BEAM_URN_REQUIREMENT_STATEFUL "beam:requirement:pardo:stateful:v1"
/* Declared by a pipeline with a splittable ParDo (its payload names restriction_coder_id). */
#define BEAM_URN_REQUIREMENT_SPLITTABLE "beam:requirement:pardo:splittable_dofn:v1"

#endif
