# hookd_embed(<out_var> <namespace> <base_dir> GLOB <patterns...>)
# Embeds the matching files (relative to base_dir) into a generated .cc that defines
#   std::span<const hookd::EmbeddedFile> <namespace>()
# (see src/core/embedded.h). The files become build dependencies.
function(hookd_embed out_var namespace base_dir)
  cmake_parse_arguments(E "" "" "GLOB" ${ARGN})
  set(globs)
  foreach(p ${E_GLOB})
    list(APPEND globs ${base_dir}/${p})
  endforeach()
  file(GLOB_RECURSE files CONFIGURE_DEPENDS ${globs})
  list(SORT files)
  string(REPLACE "::" "_" stem ${namespace})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/embed_${stem}.cc)
  string(REPLACE ";" "|" files_arg "${files}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNS=${namespace} -DBASE=${base_dir}
            "-DFILES=${files_arg}" -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/EmbedGen.cmake
    DEPENDS ${files} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/EmbedGen.cmake
    COMMENT "Embedding ${namespace}"
    VERBATIM)
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()
