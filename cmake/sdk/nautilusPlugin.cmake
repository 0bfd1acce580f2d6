# nautilus_add_engine_plugin(<name> <source>...): an engine plugin, lib<name>.so,
# for `plugin = "/path/lib<name>.so"` in an nautilusd engine section.
# Only the entry point (nautilus_plugin_v1) is exported; the SDK's non-inline
# code is left undefined and resolved against the loading nautilusd.
function(nautilus_add_engine_plugin name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE nautilus::sdk)
  set_target_properties(${name} PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
                                           POSITION_INDEPENDENT_CODE ON)
endfunction()
