# Release toolchain: zig's clang and libc++ (both linked statically into the module),
# targeting an old glibc, so that the wheel runs on any manylinux_2_28 system whatever
# glibc and libstdc++ the build machine has. scripts/build_wheel.sh sets:
#   FASTSBERT_ZIG         the zig binary (from the ziglang package)
#   FASTSBERT_ZIG_TARGET  <arch>-linux-gnu.<glibc>, e.g. x86_64-linux-gnu.2.28
# The compiler wrappers in scripts/zig/ read them, so every compile and link sees the target.
if(NOT DEFINED ENV{FASTSBERT_ZIG} OR NOT DEFINED ENV{FASTSBERT_ZIG_TARGET})
  message(FATAL_ERROR "cmake/zig-toolchain.cmake needs FASTSBERT_ZIG and FASTSBERT_ZIG_TARGET "
                      "in the environment (scripts/build_wheel.sh sets them)")
endif()
set(_zig_wrappers "${CMAKE_CURRENT_LIST_DIR}/../scripts/zig")
get_filename_component(_zig_wrappers "${_zig_wrappers}" ABSOLUTE)
set(CMAKE_CXX_COMPILER "${_zig_wrappers}/zig-c++")
set(CMAKE_AR "${_zig_wrappers}/zig-ar" CACHE FILEPATH "zig ar")
set(CMAKE_RANLIB "${_zig_wrappers}/zig-ranlib" CACHE FILEPATH "zig ranlib")

# The target's processor drives the per-file SIMD flags (csrc/topk/CMakeLists.txt): x86
# kernels only on x86. Naming the system makes CMake treat any other arch as a cross build.
string(REGEX MATCH "^[^-]+" _zig_arch "$ENV{FASTSBERT_ZIG_TARGET}")
if(NOT _zig_arch STREQUAL CMAKE_HOST_SYSTEM_PROCESSOR)
  set(CMAKE_SYSTEM_NAME Linux)
  set(CMAKE_SYSTEM_PROCESSOR "${_zig_arch}")
endif()
