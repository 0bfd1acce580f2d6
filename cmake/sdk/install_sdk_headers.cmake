# Install-time half of cmake/sdk.cmake: copies the SDK headers to
# <prefix>/include/nautilus/ with their project includes ("core/x.h") rewritten
# to the installed prefix ("nautilus/core/x.h"), and writes nautilus.pc with
# the prefix actually used.
set(dest "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${NAUTILUS_SDK_INCLUDEDIR}/nautilus")
foreach(h IN LISTS NAUTILUS_SDK_HEADERS)
  file(READ "${NAUTILUS_SDK_LIB_DIR}/${h}" text)
  string(REGEX REPLACE "#include \"(core|bus|engines)/" "#include \"nautilus/\\1/" text "${text}")
  message(STATUS "Installing: ${dest}/${h}")
  file(WRITE "${dest}/${h}" "${text}")
endforeach()
message(STATUS "Installing: ${dest}/version.h")
file(INSTALL "${NAUTILUS_SDK_VERSION_H}" DESTINATION "${dest}" MESSAGE_NEVER)

set(prefix "${CMAKE_INSTALL_PREFIX}")
set(includedir "\${prefix}/${NAUTILUS_SDK_INCLUDEDIR}")
set(PROJECT_VERSION "${NAUTILUS_SDK_PROJECT_VERSION}")
set(pc "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${NAUTILUS_SDK_LIBDIR}/pkgconfig/nautilus.pc")
message(STATUS "Installing: ${pc}")
configure_file("${NAUTILUS_SDK_PC_IN}" "${pc}" @ONLY)
