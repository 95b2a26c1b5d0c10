# beam_protoc_c(OUT_SRCS OUT_HDRS GEN_DIR PROTO_ROOT FILES...)
# Runs protoc-c on each .proto (paths relative to PROTO_ROOT) into GEN_DIR.
function(beam_protoc_c out_srcs out_hdrs gen_dir proto_root)
  set(srcs)
  set(hdrs)
  foreach(rel ${ARGN})
    string(REGEX REPLACE "\\.proto$" "" stem "${rel}")
    set(c "${gen_dir}/${stem}.pb-c.c")
    set(h "${gen_dir}/${stem}.pb-c.h")
    add_custom_command(
      OUTPUT "${c}" "${h}"
      COMMAND "${CMAKE_COMMAND}" -E make_directory "${gen_dir}"
      COMMAND "${PROTOC_C}" "--c_out=${gen_dir}" "-I${proto_root}" "-I${PROTOBUF_WKT_DIR}" "${proto_root}/${rel}"
      DEPENDS "${proto_root}/${rel}"
      COMMENT "protoc-c ${rel}"
      VERBATIM)
    list(APPEND srcs "${c}")
    list(APPEND hdrs "${h}")
  endforeach()
  set(${out_srcs} ${srcs} PARENT_SCOPE)
  set(${out_hdrs} ${hdrs} PARENT_SCOPE)
endfunction()
