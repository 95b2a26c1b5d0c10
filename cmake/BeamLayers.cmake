# Layers: a layer is a folder of sources compiled as one object library. Its folder is on the
# include path of the layers that link it (those above it), never of the layers below it; the
# public headers come through HEADERS, an INTERFACE target. A library is its group's layers
# assembled (see harness/ and transforms/CMakeLists.txt; ARCHITECTURE.md draws them).

# beam_layer(GROUP TARGET DIR HEADERS DEPENDENCIES...): the object library TARGET from DIR/*.c,
# recorded in GROUP (a global list) with its dependencies (tests/layers checks the symbols).
function(beam_layer group target dir headers)
  file(GLOB srcs CONFIGURE_DEPENDS "${dir}/*.c")
  add_library(${target} OBJECT ${srcs})
  target_include_directories(${target} PUBLIC "$<BUILD_INTERFACE:${dir}>")
  target_link_libraries(${target} PUBLIC ${headers} ${ARGN})
  beam_target_warnings(${target})
  set_property(GLOBAL APPEND PROPERTY ${group} ${target})
  set_property(GLOBAL PROPERTY BEAM_LAYER_DEPS_${target} ${ARGN})
endfunction()

# beam_layer_objects(OUT GROUP EXTRA_OBJECT_LIBRARIES...): the object files of GROUP's layers
# (and of the extra object libraries, such as generated protos), to assemble a library from.
function(beam_layer_objects out group)
  get_property(layers GLOBAL PROPERTY ${group})
  set(objects)
  foreach(lib ${ARGN} ${layers})
    list(APPEND objects $<TARGET_OBJECTS:${lib}>)
  endforeach()
  set(${out} ${objects} PARENT_SCOPE)
endfunction()

# beam_layer_internal_headers(TARGET GROUP EXTRA...): an INTERFACE target with every layer's
# folder of GROUP on its include path: for white-box tests only, nothing else may link it.
function(beam_layer_internal_headers target group)
  get_property(layers GLOBAL PROPERTY ${group})
  add_library(${target} INTERFACE)
  foreach(layer ${layers})
    target_include_directories(${target} INTERFACE $<TARGET_PROPERTY:${layer},INTERFACE_INCLUDE_DIRECTORIES>)
  endforeach()
  target_link_libraries(${target} INTERFACE ${ARGN})
endfunction()
