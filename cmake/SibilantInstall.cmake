# Installs the library, headers, CLI, a CMake package (find_package(sibilant))
# and a pkg-config file.
include(CMakePackageConfigHelpers)

set(SIBILANT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/sibilant)

install(TARGETS sibilant EXPORT sibilantTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lib/include/sibilant
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/lib/include/sibilant/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sibilant)
if(TARGET sibilant_cli)
  install(TARGETS sibilant_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(EXPORT sibilantTargets NAMESPACE sibilant:: DESTINATION ${SIBILANT_CMAKE_DIR})
get_target_property(SIBILANT_LIBRARY_TYPE sibilant TYPE)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/sibilantConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/sibilantConfig.cmake
                              INSTALL_DESTINATION ${SIBILANT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sibilantConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sibilantConfig.cmake ${PROJECT_BINARY_DIR}/sibilantConfigVersion.cmake
        DESTINATION ${SIBILANT_CMAKE_DIR})

# A static libsibilant needs its dependencies on every link line; a shared one
# only when linking statically (pkg-config --static).
if(SIBILANT_LIBRARY_TYPE STREQUAL "STATIC_LIBRARY")
  set(SIBILANT_PC_REQUIRES_FIELD "Requires")
else()
  set(SIBILANT_PC_REQUIRES_FIELD "Requires.private")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/sibilant.pc.in ${PROJECT_BINARY_DIR}/sibilant.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sibilant.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
