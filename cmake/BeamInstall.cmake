# `cmake --install` puts libbeam, its headers (include/beam/), the generated proto headers
# (include/beam/proto/) and beam-c.pc where another project finds them.
install(TARGETS beam EXPORT beam-c-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY harness/include/beam transforms/include/beam
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(DIRECTORY "${BEAM_PROTO_GEN_DIR}/"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/beam/proto FILES_MATCHING PATTERN "*.h")

file(RELATIVE_PATH BEAM_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
configure_file(cmake/beam-c.pc.in "${CMAKE_BINARY_DIR}/beam-c.pc" @ONLY)
install(FILES "${CMAKE_BINARY_DIR}/beam-c.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

include(CMakePackageConfigHelpers)
install(EXPORT beam-c-targets NAMESPACE beam:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/beam-c)
configure_package_config_file(cmake/beam-c-config.cmake.in
  "${CMAKE_BINARY_DIR}/beam-c-config.cmake"
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/beam-c)
write_basic_package_version_file("${CMAKE_BINARY_DIR}/beam-c-config-version.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_BINARY_DIR}/beam-c-config.cmake" "${CMAKE_BINARY_DIR}/beam-c-config-version.cmake"
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/beam-c)
