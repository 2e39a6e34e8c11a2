# Shared CMake helpers for flashgraph's Node addons (one cmake-js project per addon folder).
#
# Usage in native/<addon>/CMakeLists.txt:
#
#   cmake_minimum_required(VERSION 3.24)
#   include(${CMAKE_CURRENT_LIST_DIR}/../cmake/flashgraph.cmake)   # before project(): sets the arch
#   project(flashgraph_<addon> LANGUAGES CXX CUDA)
#   flashgraph_add_addon(NAME flashgraph_<addon>
#     SOURCES src/addon.cc kernels/foo.cu
#     [INCLUDE_DIRS dir...] [DEFINITIONS X=1...] [CUDA_FLAGS --use_fast_math...]
#     [LINK_LIBRARIES lib...] [ARCHITECTURES 90a-real...])
#
# The target builds `<NAME>.node`: C++17/CUDA 17, native/common (the shared N-API argument and
# CUDA error headers, `#include "flashgraph/napi_args.h"`) on the include path with
# FLASHGRAPH_ADDON_NAME="<NAME>", `CUDA_ARCHITECTURES 90a-real` (Hopper), cudart
# linked statically (so an addon loads on a machine without a driver and every addon shares the
# device's primary context), release flags, node-addon-api with C++ exceptions, N-API version 8.
#
# Cache options (pass with `--CD<NAME>=<value>` to cmake-js; build-native.mjs sets the first two):
#   NODE_ADDON_API_DIR        include dir of node-addon-api (napi.h)
#   NODE_API_HEADERS_DIR      include dir of node-api-headers (node_api.h), for a build without
#                             cmake-js (`flashgraph-cuda build-native`); cmake-js sets CMAKE_JS_INC
#   FLASHGRAPH_WERROR         warnings are errors (default: ON when $CI is set)
#   FLASHGRAPH_CUDA_ARCHITECTURES  default arch list for addons ("90a-real")
#   FLASHGRAPH_PTXAS_VERBOSE  print register/smem usage of every kernel (-Xptxas -v)
include_guard(GLOBAL)

set(FLASHGRAPH_COMMON_DIR "${CMAKE_CURRENT_LIST_DIR}/../common")

set(FLASHGRAPH_CUDA_ARCHITECTURES "90a-real" CACHE STRING "CUDA architectures of flashgraph addons")
# Set before project() so CMake does not probe a default architecture.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES "${FLASHGRAPH_CUDA_ARCHITECTURES}")
endif()
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

if(DEFINED ENV{CI} AND NOT "$ENV{CI}" STREQUAL "" AND NOT "$ENV{CI}" STREQUAL "false")
  set(_flashgraph_werror_default ON)
else()
  set(_flashgraph_werror_default OFF)
endif()
option(FLASHGRAPH_WERROR "Treat compiler warnings as errors" ${_flashgraph_werror_default})
option(FLASHGRAPH_PTXAS_VERBOSE "Pass -Xptxas -v to nvcc (register and shared-memory report)" OFF)
set(NODE_ADDON_API_DIR "" CACHE PATH "Include directory of node-addon-api (napi.h)")
set(NODE_API_HEADERS_DIR "" CACHE PATH "Include directory of node-api-headers (node_api.h), when not built by cmake-js")

function(flashgraph_add_addon)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;INCLUDE_DIRS;DEFINITIONS;CUDA_FLAGS;LINK_LIBRARIES;ARCHITECTURES" ${ARGN})
  if(NOT ARG_NAME)
    message(FATAL_ERROR "flashgraph_add_addon: NAME is required")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "flashgraph_add_addon(${ARG_NAME}): SOURCES is required")
  endif()
  if(NOT ARG_ARCHITECTURES)
    set(ARG_ARCHITECTURES ${FLASHGRAPH_CUDA_ARCHITECTURES})
  endif()
  if(NOT NODE_ADDON_API_DIR OR NOT EXISTS "${NODE_ADDON_API_DIR}/napi.h")
    message(FATAL_ERROR "flashgraph_add_addon(${ARG_NAME}): NODE_ADDON_API_DIR='${NODE_ADDON_API_DIR}' does not hold napi.h. "
      "Build through tooling/scripts/build-native.mjs, or pass --CDNODE_ADDON_API_DIR=<node-addon-api dir>.")
  endif()

  set(_node_api_inc ${CMAKE_JS_INC})
  if(NOT _node_api_inc)
    if(NOT NODE_API_HEADERS_DIR OR NOT EXISTS "${NODE_API_HEADERS_DIR}/node_api.h")
      message(FATAL_ERROR "flashgraph_add_addon(${ARG_NAME}): not built by cmake-js and NODE_API_HEADERS_DIR='${NODE_API_HEADERS_DIR}' does not hold node_api.h. "
        "Pass --CDNODE_API_HEADERS_DIR=<node-api-headers>/include or build with cmake-js.")
    endif()
    set(_node_api_inc ${NODE_API_HEADERS_DIR})
  endif()

  add_library(${ARG_NAME} SHARED ${ARG_SOURCES} ${CMAKE_JS_SRC})
  set_target_properties(${ARG_NAME} PROPERTIES
    PREFIX ""
    SUFFIX ".node"
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON
    CXX_EXTENSIONS OFF
    CUDA_STANDARD 17
    CUDA_STANDARD_REQUIRED ON
    CUDA_EXTENSIONS OFF
    CUDA_ARCHITECTURES "${ARG_ARCHITECTURES}"
    CUDA_RUNTIME_LIBRARY Static
    CUDA_SEPARABLE_COMPILATION OFF
    POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden
    CUDA_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
   # C++ glue includes cuda_runtime.h too, so it needs the toolkit headers.
  target_include_directories(${ARG_NAME} PRIVATE ${_node_api_inc} ${NODE_ADDON_API_DIR} ${FLASHGRAPH_COMMON_DIR} ${ARG_INCLUDE_DIRS})
  target_include_directories(${ARG_NAME} SYSTEM PRIVATE ${CMAKE_CUDA_TOOLKIT_INCLUDE_DIRECTORIES})
  target_compile_definitions(${ARG_NAME} PRIVATE
    NAPI_VERSION=8 NODE_ADDON_API_DISABLE_DEPRECATED NAPI_CPP_EXCEPTIONS FLASHGRAPH_ADDON_NAME="${ARG_NAME}"
    ${ARG_DEFINITIONS})
  target_compile_options(${ARG_NAME} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -fexceptions>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-fexceptions>
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CONFIG:Release>>:-O3>
    $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<CONFIG:Release>>:-O3>
    ${ARG_CUDA_FLAGS})
  if(FLASHGRAPH_WERROR)
    target_compile_options(${ARG_NAME} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-Werror>
      $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings -Xcompiler=-Werror>)
  endif()
  if(FLASHGRAPH_PTXAS_VERBOSE)
    target_compile_options(${ARG_NAME} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xptxas=-v>)
  endif()
  # Keep cudart_static's symbols private to this addon: each addon carries its own runtime and
  # they meet only in the driver's primary context.
  target_link_options(${ARG_NAME} PRIVATE -Wl,--exclude-libs,ALL)
  target_link_libraries(${ARG_NAME} PRIVATE ${CMAKE_JS_LIB} ${ARG_LINK_LIBRARIES})
endfunction()
