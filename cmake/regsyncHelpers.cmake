# regsync_add_sync_layer(NAME SOURCES file... [DEFINITIONS def...])
#
# Builds a sync-layer plugin: a shared object with only the two symbols
# regsync looks for exported (REGSYNC_PLUGIN() in <regsync/regsync.h>), to
# load with `regsync --policy-plugin $<TARGET_FILE:NAME>`. It links nothing of
# regsync: the plugin reaches regsync only through the services table.
function(regsync_add_sync_layer name)
  cmake_parse_arguments(RSL "" "" "SOURCES;DEFINITIONS" ${ARGN})
  if(NOT RSL_SOURCES)
    message(FATAL_ERROR "regsync_add_sync_layer(${name}): give SOURCES")
  endif()
  add_library(${name} MODULE ${RSL_SOURCES})
  target_link_libraries(${name} PRIVATE regsync::headers)
  target_compile_definitions(${name} PRIVATE ${RSL_DEFINITIONS})
  set_target_properties(${name} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden
                                           C_STANDARD 99 C_EXTENSIONS ON)
endfunction()
