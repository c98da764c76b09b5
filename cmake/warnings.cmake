# One place for compiler warnings: every target of ours calls rdp_set_warnings().
function(rdp_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wconversion -Wsign-conversion -Wshadow
                                           -Wold-style-cast)
  if(RDP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
