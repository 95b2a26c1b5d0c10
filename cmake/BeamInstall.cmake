# `cmake --install` puts the two libraries (shared and static), their public headers and their
# pkg-config and CMake package files where another project finds them:
#   beam-c              libbeam-c            beam::beam (shared), beam::beam_static
#   beam-c-transforms   libbeam-c-transforms beam::transforms (shared), beam::transforms_static
# Generated proto headers are not installed: no public header needs them.
install(TARGETS beam beam_static EXPORT beam-c-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS beam_transforms beam_transforms_static EXPORT beam-c-transforms-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY harness/include/beam transforms/include/beam
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

file(RELATIVE_PATH BEAM_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
foreach(pc beam-c beam-c-transforms)
  configure_file(cmake/${pc}.pc.in "${CMAKE_BINARY_DIR}/${pc}.pc" @ONLY)
  install(FILES "${CMAKE_BINARY_DIR}/${pc}.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

include(CMakePackageConfigHelpers)
install(EXPORT beam-c-targets NAMESPACE beam:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/beam-c)
install(EXPORT beam-c-transforms-targets NAMESPACE beam:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/beam-c)
configure_package_config_file(cmake/beam-c-config.cmake.in
  "${CMAKE_BINARY_DIR}/beam-c-config.cmake"
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/beam-c)
write_basic_package_version_file("${CMAKE_BINARY_DIR}/beam-c-config-version.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_BINARY_DIR}/beam-c-config.cmake" "${CMAKE_BINARY_DIR}/beam-c-config-version.cmake"
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/beam-c)
