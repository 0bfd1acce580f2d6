# The dashboard (web/): scripts/build-web.sh runs `npm ci` on the pinned
# lockfile into ${CMAKE_BINARY_DIR}/web-npm and bundles with esbuild into
# ${CMAKE_BINARY_DIR}/web, which nautilusd serves from the build tree (and
# `cmake --install` puts in share/nautilus/web). Rebuilt when a source changes.
option(NAUTILUS_WEB "Build the dashboard (web/; needs node and npm)" ON)
if(NOT NAUTILUS_WEB)
  return()
endif()
find_program(NAUTILUS_NODE node)
find_program(NAUTILUS_NPM npm)
if(NOT NAUTILUS_NODE OR NOT NAUTILUS_NPM)
  message(FATAL_ERROR "The dashboard needs node and npm (scripts/install-deps.sh installs them); "
                      "or configure with -DNAUTILUS_WEB=OFF")
endif()

set(NAUTILUS_WEB_OUTPUT ${CMAKE_BINARY_DIR}/web)
set(NAUTILUS_WEB_NPM ${CMAKE_BINARY_DIR}/web-npm)
file(GLOB nautilus_web_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/web/src/*)
set(nautilus_web_stamp ${NAUTILUS_WEB_NPM}/build.stamp)
add_custom_command(
  OUTPUT ${nautilus_web_stamp}
  COMMAND ${CMAKE_SOURCE_DIR}/scripts/build-web.sh ${NAUTILUS_WEB_OUTPUT} ${NAUTILUS_WEB_NPM}
  COMMAND ${CMAKE_COMMAND} -E touch ${nautilus_web_stamp}
  DEPENDS ${nautilus_web_sources} ${CMAKE_SOURCE_DIR}/web/build.mjs ${CMAKE_SOURCE_DIR}/web/package.json
          ${CMAKE_SOURCE_DIR}/web/package-lock.json ${CMAKE_SOURCE_DIR}/scripts/build-web.sh
  COMMENT "Building the dashboard (web/ -> ${NAUTILUS_WEB_OUTPUT})"
  USES_TERMINAL VERBATIM)
add_custom_target(web ALL DEPENDS ${nautilus_web_stamp})
# Building the daemon builds what it serves.
if(TARGET nautilusd)
  add_dependencies(nautilusd web)
endif()
install(DIRECTORY ${NAUTILUS_WEB_OUTPUT}/ DESTINATION ${CMAKE_INSTALL_DATADIR}/nautilus/web)
