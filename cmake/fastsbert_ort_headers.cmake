# ONNX Runtime C/C++ API headers, needed at build time only: the shared library is opened
# at run time (dlopen, csrc/engine/ort_runtime.cpp), so one binary serves the onnxruntime
# and onnxruntime-gpu wheels alike.
#
# FASTSBERT_ORT_API_VERSION is the API the library asks the runtime for: it must match the
# oldest onnxruntime that pyproject.toml allows (onnxruntime>=1.<API>), since newer
# runtimes serve older API versions and older ones refuse newer. Keep the two in step.
# Headers of a newer API work too (the OrtApi table only grows), as long as the code calls
# nothing newer than FASTSBERT_ORT_API_VERSION; older headers are refused.
#
# Sources, first match wins:
#   1. FASTSBERT_ORT_INCLUDE_DIR (CMake cache variable or environment variable);
#   2. FASTSBERT_ORT_FETCH_RELEASE=ON: the official release archive, pinned by URL and
#      SHA-256 (off by default; needs network access at configure time);
#   3. headers installed on the system: Debian/Ubuntu libonnxruntime-dev
#      (/usr/include/onnxruntime), conda ($CONDA_PREFIX/include/onnxruntime), Homebrew
#      (<prefix>/include/onnxruntime), or any prefix in CMAKE_PREFIX_PATH; skipped with a
#      message when their API version is older than the required one;
#   4. scripts/fetch_ort_headers.sh: Debian's libonnxruntime-dev package, pinned by
#      version and SHA-256, unpacked into ~/.cache/fastsbert (no root, system unchanged).
# Sets FASTSBERT_ORT_INCLUDE_DIR to the folder holding onnxruntime_cxx_api.h.

set(FASTSBERT_ORT_API_VERSION 21)
set(FASTSBERT_ORT_INCLUDE_DIR "" CACHE PATH
    "Folder holding onnxruntime_cxx_api.h (empty: fetched release, system headers, then Debian package)")
option(FASTSBERT_ORT_FETCH_RELEASE
       "Download the pinned official ONNX Runtime release archive for its headers" OFF)
# Official release v1.21.0, Linux x86-64 (API 21). The SHA-256 must come from the release
# page (https://github.com/microsoft/onnxruntime/releases/tag/v1.21.0): it is not recorded
# here because it could not be checked from the machines this build is tested on.
set(FASTSBERT_ORT_RELEASE_URL
    "https://github.com/microsoft/onnxruntime/releases/download/v1.21.0/onnxruntime-linux-x64-1.21.0.tgz"
    CACHE STRING "ONNX Runtime release archive for FASTSBERT_ORT_FETCH_RELEASE")
set(FASTSBERT_ORT_RELEASE_SHA256 "" CACHE STRING
    "SHA-256 of FASTSBERT_ORT_RELEASE_URL (required with FASTSBERT_ORT_FETCH_RELEASE)")

# The ORT_API_VERSION of the headers in `dir` (empty when there is none) into `out`.
function(_fastsbert_ort_api_version dir out)
  set(_api "")
  if(EXISTS "${dir}/onnxruntime_c_api.h")
    file(STRINGS "${dir}/onnxruntime_c_api.h" _line REGEX "^#define ORT_API_VERSION [0-9]+" LIMIT_COUNT 1)
    string(REGEX REPLACE "^#define ORT_API_VERSION ([0-9]+).*" "\\1" _api "${_line}")
  endif()
  set(${out} "${_api}" PARENT_SCOPE)
endfunction()

set(_ort_dir "")
set(_ort_source "")
if(FASTSBERT_ORT_INCLUDE_DIR)
  set(_ort_dir "${FASTSBERT_ORT_INCLUDE_DIR}")
  set(_ort_source "FASTSBERT_ORT_INCLUDE_DIR")
elseif(DEFINED ENV{FASTSBERT_ORT_INCLUDE_DIR} AND NOT "$ENV{FASTSBERT_ORT_INCLUDE_DIR}" STREQUAL "")
  set(_ort_dir "$ENV{FASTSBERT_ORT_INCLUDE_DIR}")
  set(_ort_source "the FASTSBERT_ORT_INCLUDE_DIR environment variable")
elseif(FASTSBERT_ORT_FETCH_RELEASE)
  if(NOT FASTSBERT_ORT_RELEASE_SHA256 MATCHES "^[0-9a-fA-F]{64}$")
    message(FATAL_ERROR "FASTSBERT_ORT_FETCH_RELEASE needs FASTSBERT_ORT_RELEASE_SHA256: the "
                        "SHA-256 of ${FASTSBERT_ORT_RELEASE_URL} from its release page")
  endif()
  include(FetchContent)
  FetchContent_Declare(fastsbert_ort_release
    URL "${FASTSBERT_ORT_RELEASE_URL}"
    URL_HASH "SHA256=${FASTSBERT_ORT_RELEASE_SHA256}"
    DOWNLOAD_EXTRACT_TIMESTAMP TRUE)
  FetchContent_MakeAvailable(fastsbert_ort_release)
  set(_ort_dir "${fastsbert_ort_release_SOURCE_DIR}/include")
  set(_ort_source "${FASTSBERT_ORT_RELEASE_URL}")
else()
  find_path(FASTSBERT_ORT_SYSTEM_INCLUDE_DIR onnxruntime_cxx_api.h
    HINTS "$ENV{CONDA_PREFIX}/include"
    PATH_SUFFIXES onnxruntime onnxruntime/core/session
    DOC "ONNX Runtime headers installed on the system")
  if(FASTSBERT_ORT_SYSTEM_INCLUDE_DIR)
    _fastsbert_ort_api_version("${FASTSBERT_ORT_SYSTEM_INCLUDE_DIR}" _api)
    if(_api AND NOT _api VERSION_LESS FASTSBERT_ORT_API_VERSION)
      set(_ort_dir "${FASTSBERT_ORT_SYSTEM_INCLUDE_DIR}")
      set(_ort_source "the system")
    else()
      message(STATUS "fastsbert: skipping the ONNX Runtime headers in "
                     "${FASTSBERT_ORT_SYSTEM_INCLUDE_DIR} (API ${_api}, need ${FASTSBERT_ORT_API_VERSION} or newer)")
    endif()
  endif()
  if(NOT _ort_dir)
    set(_ort_cache "$ENV{HOME}/.cache/fastsbert/ort-headers-api${FASTSBERT_ORT_API_VERSION}")
    execute_process(
      COMMAND bash "${PROJECT_SOURCE_DIR}/scripts/fetch_ort_headers.sh" "${_ort_cache}"
      RESULT_VARIABLE _ort_rc)
    if(NOT _ort_rc EQUAL 0)
      message(FATAL_ERROR "Could not obtain the ONNX Runtime headers (API ${FASTSBERT_ORT_API_VERSION}): "
                          "install libonnxruntime-dev 1.${FASTSBERT_ORT_API_VERSION}, set "
                          "FASTSBERT_ORT_INCLUDE_DIR, or turn on FASTSBERT_ORT_FETCH_RELEASE")
    endif()
    set(_ort_dir "${_ort_cache}/include/onnxruntime")
    set(_ort_source "Debian's libonnxruntime-dev (scripts/fetch_ort_headers.sh)")
  endif()
endif()

if(NOT EXISTS "${_ort_dir}/onnxruntime_cxx_api.h")
  message(FATAL_ERROR "onnxruntime_cxx_api.h not found in ${_ort_dir} (from ${_ort_source})")
endif()
_fastsbert_ort_api_version("${_ort_dir}" _api)
if(NOT _api OR _api VERSION_LESS FASTSBERT_ORT_API_VERSION)
  message(FATAL_ERROR "The ONNX Runtime headers in ${_ort_dir} (from ${_ort_source}) have API "
                      "version '${_api}'; fastsbert needs API ${FASTSBERT_ORT_API_VERSION} or newer "
                      "(onnxruntime 1.${FASTSBERT_ORT_API_VERSION}, the minimum pyproject.toml allows)")
endif()
set(FASTSBERT_ORT_INCLUDE_DIR "${_ort_dir}")
set(FASTSBERT_ORT_HEADERS_USED "${_ort_dir}" CACHE INTERNAL "The ONNX Runtime headers this build uses")
message(STATUS "fastsbert: ONNX Runtime headers (API ${_api}) from ${_ort_source}: ${_ort_dir}")
