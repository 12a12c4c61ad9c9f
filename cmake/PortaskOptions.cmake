# Compiler settings as INTERFACE targets, linked by every Portask target (no global flags).

add_library(portask_warnings INTERFACE)
add_library(portask::warnings ALIAS portask_warnings)
target_compile_options(portask_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  $<$<BOOL:${PORTASK_WERROR}>:-Werror>)

add_library(portask_sanitizers INTERFACE)
add_library(portask::sanitizers ALIAS portask_sanitizers)
if(PORTASK_SANITIZE)
  target_compile_options(portask_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  # Executables are linked at a fixed address (-no-pie): the sanitizers give every check
  # site and global a record holding pointers, which in a position-independent executable
  # the loader relocates at each start (some 10 million relocations in actors_tests, about
  # a second per process). ctest starts one process per test case.
  target_link_options(portask_sanitizers INTERFACE -fsanitize=address,undefined
    $<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:-no-pie>)
endif()

# Fuzz builds instrument the library code for coverage (the targets add the fuzzer main).
if(PORTASK_FUZZ)
  target_compile_options(portask_sanitizers INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_link_options(portask_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

# Every Portask target links both.
add_library(portask_options INTERFACE)
add_library(portask::options ALIAS portask_options)
target_link_libraries(portask_options INTERFACE portask_warnings portask_sanitizers)
