# One place for compiler warnings: every target of ours calls rdp_set_warnings().
function(rdp_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wconversion -Wsign-conversion -Wshadow -Wold-style-cast)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 at -O2 reports Asio's coroutine frame allocator (awaitable_frame_base::operator new/delete) as
    # mismatched: a false positive of its inlining, not a bug in Asio or in our code.
    target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete)
  endif()
  if(RDP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
