# The engine SDK (docs/sdk.md): the public headers under include/nautilus/, a
# CMake package (find_package(nautilus) -> nautilus::sdk, nautilus_add_engine_plugin)
# and a pkg-config file, all in the install component `sdk`:
#   cmake --install build --prefix P                    (everything)
#   cmake --install build --prefix P --component sdk    (the SDK alone)
# The headers are the Engine base and what it includes, nothing of the
# daemon's internals; their includes are rewritten to the nautilus/ prefix on
# install (install_sdk_headers.cmake), so the installed tree needs only -IP/include.
include(CMakePackageConfigHelpers)

set(NAUTILUS_SDK_HEADERS
  core/clock.h core/histogram.h core/message.h core/message_type.h core/periodic_timer.h
  core/priority.h core/status.h core/topic_pattern.h
  bus/bus.h bus/delivery_latency.h bus/router.h
  engines/config_reader.h engines/engine.h engines/payload_fields.h engines/plugin.h)

set(sdk_gen ${CMAKE_BINARY_DIR}/sdk)
configure_file(${CMAKE_CURRENT_LIST_DIR}/sdk/version.h.in ${sdk_gen}/version.h @ONLY)

# The imported target's build-tree twin, so the in-tree test plugins use the
# same target name as an out-of-tree one.
add_library(nautilus_sdk INTERFACE)
add_library(nautilus::sdk ALIAS nautilus_sdk)
target_include_directories(nautilus_sdk INTERFACE $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/lib>
                           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(nautilus_sdk INTERFACE nlohmann_json::nlohmann_json)
target_compile_features(nautilus_sdk INTERFACE cxx_std_20)
set_target_properties(nautilus_sdk PROPERTIES EXPORT_NAME sdk)

install(TARGETS nautilus_sdk EXPORT nautilusTargets COMPONENT sdk)
install(EXPORT nautilusTargets NAMESPACE nautilus:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/nautilus COMPONENT sdk)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/sdk/nautilusConfig.cmake.in ${sdk_gen}/nautilusConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/nautilus)
# 0.x: a new minor version may change the ABI (docs/sdk.md), so only the same
# major.minor satisfies find_package(nautilus 0.1).
write_basic_package_version_file(${sdk_gen}/nautilusConfigVersion.cmake VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${sdk_gen}/nautilusConfig.cmake ${sdk_gen}/nautilusConfigVersion.cmake
        ${CMAKE_CURRENT_LIST_DIR}/sdk/nautilusPlugin.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/nautilus COMPONENT sdk)
install(CODE "set(NAUTILUS_SDK_LIB_DIR \"${CMAKE_SOURCE_DIR}/lib\")
set(NAUTILUS_SDK_HEADERS \"${NAUTILUS_SDK_HEADERS}\")
set(NAUTILUS_SDK_VERSION_H \"${sdk_gen}/version.h\")
set(NAUTILUS_SDK_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
set(NAUTILUS_SDK_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
set(NAUTILUS_SDK_PC_IN \"${CMAKE_CURRENT_LIST_DIR}/sdk/nautilus.pc.in\")
set(NAUTILUS_SDK_PROJECT_VERSION \"${PROJECT_VERSION}\")" COMPONENT sdk)
install(SCRIPT ${CMAKE_CURRENT_LIST_DIR}/sdk/install_sdk_headers.cmake COMPONENT sdk)
