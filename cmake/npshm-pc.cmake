# Writes npshm.pc from npshm.pc.in; included by the install script (see the
# install(CODE) in the top-level CMakeLists.txt), where CMAKE_INSTALL_PREFIX is the
# prefix actually being installed to.
#
# In:  NPSHM_PC_TEMPLATE, NPSHM_PC_OUTPUT, NPSHM_LIBDIR, NPSHM_INCLUDEDIR (relative
#      to the prefix, or absolute), NPSHM_VERSION, NPSHM_DESCRIPTION, NPSHM_URL.
# Out: the file NPSHM_PC_OUTPUT, and NPSHM_PC_LIBDIR_ABS (where it belongs,
#      under <libdir>/pkgconfig).
set(NPSHM_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
cmake_path(NORMAL_PATH NPSHM_PC_PREFIX)
string(REGEX REPLACE "(.)/$" "\\1" NPSHM_PC_PREFIX "${NPSHM_PC_PREFIX}")

foreach(_kind LIBDIR INCLUDEDIR)
  set(_dir "${NPSHM_${_kind}}")
  if(IS_ABSOLUTE "${_dir}")
    set(NPSHM_PC_${_kind} "${_dir}")
    set(_abs "${_dir}")
  else()
    set(NPSHM_PC_${_kind} "\${prefix}/${_dir}")
    set(_abs "${NPSHM_PC_PREFIX}/${_dir}")
  endif()
  if(_kind STREQUAL "LIBDIR")
    set(NPSHM_PC_LIBDIR_ABS "${_abs}")
  endif()
endforeach()

configure_file("${NPSHM_PC_TEMPLATE}" "${NPSHM_PC_OUTPUT}" @ONLY)
