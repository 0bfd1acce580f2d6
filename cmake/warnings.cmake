# Project-wide warnings, sanitizers and the Release flags.
add_library(nautilus_options INTERFACE)
target_compile_options(nautilus_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wno-missing-field-initializers)
if(NAUTILUS_WERROR)
  target_compile_options(nautilus_options INTERFACE -Werror)
endif()
if(NAUTILUS_SANITIZE)
  target_compile_options(nautilus_options INTERFACE -fsanitize=${NAUTILUS_SANITIZE}
    -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(nautilus_options INTERFACE -fsanitize=${NAUTILUS_SANITIZE})
endif()
if(CMAKE_BUILD_TYPE STREQUAL "Release")
  target_compile_options(nautilus_options INTERFACE -O2)
endif()
