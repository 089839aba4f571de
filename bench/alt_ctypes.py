"""The binding technique npshm did not choose: ctypes straight over libnpshm.so.

Kept only so that bench_python.py can measure it against the C extension (npshm._native) in the
same run. It covers what the benchmark needs (create, attach, delete of simple dtypes) and keeps
the mapping alive the same way: an owner object is the array's base and releases the handle
when it is collected.
"""

from __future__ import annotations

import ctypes
import os

import numpy as np

_c = ctypes


def load(path: str) -> "CtypesBinding":
    return CtypesBinding(path)


class CtypesBinding:
    def __init__(self, path: str) -> None:
        lib = _c.CDLL(path)  # CDLL releases the GIL around every call
        vp, pp = _c.c_void_p, _c.POINTER(_c.c_void_p)
        lib.npshm_create.argtypes = [_c.c_char_p, _c.c_int, _c.POINTER(_c.c_int64), _c.c_char_p, _c.c_uint, pp]
        lib.npshm_attach.argtypes = [_c.c_char_p, _c.c_uint, pp]
        lib.npshm_delete.argtypes = [_c.c_char_p]
        lib.npshm_release.argtypes = [vp]
        lib.npshm_data.argtypes = [vp]
        lib.npshm_data.restype = _c.c_size_t
        lib.npshm_nbytes.argtypes = [vp]
        lib.npshm_nbytes.restype = _c.c_size_t
        lib.npshm_ndim.argtypes = [vp]
        lib.npshm_shape.argtypes = [vp]
        lib.npshm_shape.restype = _c.POINTER(_c.c_int64)
        lib.npshm_dtype.argtypes = [vp]
        lib.npshm_dtype.restype = _c.c_char_p
        lib.npshm_is_readonly.argtypes = [vp]
        lib.npshm_is_fortran.argtypes = [vp]
        lib.npshm_last_error.restype = _c.c_char_p
        self.lib = lib
        release = lib.npshm_release

        class Owner:
            """Base of the arrays: exports the memory through __array_interface__, releases the
            handle when collected."""

            __slots__ = ("h", "__array_interface__")

            def __del__(self) -> None:
                release(self.h)

        self._Owner = Owner
        self._dtypes: dict[bytes, tuple[str, object]] = {}

    def _raise(self, rc: int) -> None:
        msg = self.lib.npshm_last_error().decode()
        if rc == -1:
            raise FileExistsError(17, msg)
        if rc == -2:
            raise FileNotFoundError(2, msg)
        if rc in (-3, -5, -6):
            raise ValueError(msg)
        raise OSError(self.lib.npshm_last_errno(), msg)

    def _wrap(self, h: int, ro: bool) -> np.ndarray:
        lib = self.lib
        ndim = lib.npshm_ndim(h)
        shape = tuple(lib.npshm_shape(h)[:ndim])
        descr = lib.npshm_dtype(h)
        o = self._Owner()
        o.h = h
        o.__array_interface__ = {
            "data": (lib.npshm_data(h), ro),
            "shape": shape,
            "typestr": descr.decode(),
            "strides": None,
            "version": 3,
        }
        return np.asarray(o, order="F" if lib.npshm_is_fortran(h) else "C")

    def attach(self, name: str, ro: bool = False) -> np.ndarray:
        h = _c.c_void_p()
        rc = self.lib.npshm_attach(os.fsencode(name), 1 if ro else 0, _c.byref(h))
        if rc < 0:
            self._raise(rc)
        return self._wrap(h.value, ro)

    def create(self, name: str, shape: tuple[int, ...], dtype: object = float) -> np.ndarray:
        dt = np.dtype(dtype)
        dims = (_c.c_int64 * len(shape))(*shape)
        h = _c.c_void_p()
        rc = self.lib.npshm_create(os.fsencode(name), len(shape), dims, dt.str.encode(), 0, _c.byref(h))
        if rc < 0:
            self._raise(rc)
        return self._wrap(h.value, False)

    def delete(self, name: str) -> None:
        rc = self.lib.npshm_delete(os.fsencode(name))
        if rc < 0:
            self._raise(rc)
