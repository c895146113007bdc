# Warnings for every first-party target. Call tensority_target_defaults(<target>).
function(tensority_target_defaults target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    # C++ sources only: nvcc takes its own warning flags.
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow
      -Wconversion -Wno-sign-conversion $<$<CONFIG:Debug>:-O0 -g>>)
  endif()
endfunction()
