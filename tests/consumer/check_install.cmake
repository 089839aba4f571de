# cmake -DBUILD_DIR=<build tree> -DPREFIX=<scratch prefix> -DLIBDIR=<lib dir name>
#       -DINCLUDEDIR=<include dir name> -DSONAME=<soname> -P check_install.cmake
#
# Installs the build tree into an empty scratch prefix and checks the layout:
# the library under its SONAME, the libnpshm.so symlink to it, the command line
# tool (which must run), the headers, the CMake package and the pkg-config file.
foreach(v BUILD_DIR PREFIX LIBDIR INCLUDEDIR BINDIR SONAME VERSION)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_install.cmake: -D${v}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()

set(errors "")
set(lib "${PREFIX}/${LIBDIR}")
if(NOT EXISTS "${lib}/${SONAME}" OR IS_SYMLINK "${lib}/${SONAME}")
  string(APPEND errors "\n  ${lib}/${SONAME} is not a regular file")
endif()
if(NOT IS_SYMLINK "${lib}/libnpshm.so")
  string(APPEND errors "\n  ${lib}/libnpshm.so is not a symlink")
else()
  file(READ_SYMLINK "${lib}/libnpshm.so" target)
  if(NOT target STREQUAL SONAME)
    string(APPEND errors "\n  ${lib}/libnpshm.so points to ${target}, not ${SONAME}")
  endif()
endif()
foreach(f
    "${INCLUDEDIR}/npshm.h"
    "${INCLUDEDIR}/npshm.hpp"
    "${LIBDIR}/cmake/npshm/npshmConfig.cmake"
    "${LIBDIR}/cmake/npshm/npshmConfigVersion.cmake"
    "${LIBDIR}/pkgconfig/npshm.pc")
  if(NOT EXISTS "${PREFIX}/${f}")
    string(APPEND errors "\n  missing ${PREFIX}/${f}")
  endif()
endforeach()
# The command line tool: installed, and it runs (statically linked: it needs no library path).
set(cli "${PREFIX}/${BINDIR}/npshm")
if(NOT EXISTS "${cli}" OR IS_DIRECTORY "${cli}")
  string(APPEND errors "\n  missing ${cli}")
else()
  execute_process(COMMAND "${cli}" --version OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT out STREQUAL "npshm ${VERSION}\n")
    string(APPEND errors "\n  ${cli} --version: exit ${rc}, '${out}${err}', not 'npshm ${VERSION}'")
  endif()
endif()
# The generated libnpshm.h of go build must not be installed.
file(GLOB_RECURSE stray "${PREFIX}/*libnpshm.h")
if(stray)
  string(APPEND errors "\n  stray generated header installed: ${stray}")
endif()
# The SONAME recorded in the library is the one ld will look for.
find_program(READELF readelf)
if(READELF AND EXISTS "${lib}/${SONAME}")
  execute_process(COMMAND "${READELF}" -d "${lib}/${SONAME}" OUTPUT_VARIABLE dyn RESULT_VARIABLE rc)
  if(NOT dyn MATCHES "Library soname: \\[${SONAME}\\]")
    string(APPEND errors "\n  ${lib}/${SONAME} does not carry SONAME ${SONAME}")
  endif()
endif()
# Only the public API is exported (export/libnpshm.map): no Go runtime or glue symbols.
find_program(NM nm)
if(NM AND EXISTS "${lib}/${SONAME}")
  execute_process(COMMAND "${NM}" -D --defined-only "${lib}/${SONAME}" OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
  string(REGEX MATCHALL "[^\n]+" lines "${syms}")
  set(n_public 0)
  foreach(line IN LISTS lines)
    if(NOT line MATCHES " ([^ ]+)$")
      continue()
    endif()
    set(sym "${CMAKE_MATCH_1}")
    if(sym MATCHES "^npshm_[a-z][a-z_]*$")
      math(EXPR n_public "${n_public} + 1")
    elseif(NOT sym MATCHES "^(NPSHM_|LIBNPSHM)") # version-node names
      string(APPEND errors "\n  ${SONAME} exports a symbol outside the API: ${sym}")
    endif()
  endforeach()
  if(n_public EQUAL 0)
    string(APPEND errors "\n  ${SONAME} exports no npshm_ function")
  endif()
endif()
file(READ "${PREFIX}/${LIBDIR}/pkgconfig/npshm.pc" pc)
string(FIND "${pc}" "prefix=${PREFIX}\n" pos)
if(pos EQUAL -1)
  string(APPEND errors "\n  npshm.pc does not name the prefix ${PREFIX}:\n${pc}")
endif()

if(errors)
  message(FATAL_ERROR "the installed tree is wrong:${errors}")
endif()
message(STATUS "installed into ${PREFIX}: layout ok")
