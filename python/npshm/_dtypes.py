"""Conversions between numpy dtypes and the .npy descriptors that npshm stores."""

import ast
from typing import Any

import numpy as np

__all__ = ["resolve", "dtype_from_descr"]

_CACHE_LIMIT = 1024
# A user's dtype argument (float, "f8", numpy.dtype, ...) -> (dtype, descriptor, extra shape).
_resolved: "dict[Any, tuple[np.dtype, str, tuple[int, ...]]]" = {}
# A descriptor -> its dtype.
_from_descr: "dict[str, np.dtype]" = {}


def dtype_from_descr(descr: str) -> np.dtype:
    """Return the numpy dtype a .npy descriptor string stands for (cached).

    Parameters
    ----------
    descr : str
        A simple descriptor such as ``"<f8"`` or ``"<M8[ns]"``, or the ``repr`` of a structured
        descriptor list such as ``"[('x', '<f4'), ('y', '<i8', (3,))]"``.

    Returns
    -------
    numpy.dtype
    """
    dt = _from_descr.get(descr)
    if dt is None:
        if descr.startswith("["):
            from numpy.lib.format import descr_to_dtype

            dt = descr_to_dtype(ast.literal_eval(descr))
        else:
            dt = np.dtype(descr)
        if len(_from_descr) >= _CACHE_LIMIT:
            _from_descr.clear()
        _from_descr[descr] = dt
    return dt


def _convert(dtype: Any) -> "tuple[np.dtype, str, tuple[int, ...]]":
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"dtype {dtype!r} is not a numpy dtype: {e}") from None
    sub: tuple[int, ...] = ()
    # numpy turns a top-level subarray dtype such as ("f8", (3,)) into extra dimensions.
    while dt.names is None and dt.subdtype is not None:
        dt, more = dt.subdtype
        sub = sub + tuple(more)
    if dt.hasobject:
        raise TypeError(
            f"dtype {dt} holds Python objects, which cannot be shared between processes"
        )
    if dt.itemsize == 0:
        raise ValueError(f"dtype {dt} has no size; give one, e.g. 'S10' or 'U10'")
    if dt.names is None:
        descr = dt.str
    else:
        descr = repr(dt.descr)
    try:
        back = dtype_from_descr(descr)
    except Exception:  # pragma: no cover - numpy refused its own descriptor
        back = None
    if back != dt or (back is not None and back.itemsize != dt.itemsize):
        raise ValueError(f"dtype {dt} has a layout that a .npy descriptor cannot describe")
    return dt, descr, sub


def resolve(dtype: Any) -> "tuple[np.dtype, str, tuple[int, ...]]":
    """Check a dtype argument and return ``(dtype, descriptor, extra_shape)`` (cached).

    Raises
    ------
    TypeError
        If ``dtype`` is not a dtype, or holds Python objects.
    ValueError
        If the dtype has no size, or no .npy descriptor.
    """
    try:
        return _resolved[dtype]
    except (KeyError, TypeError):
        pass
    r = _convert(dtype)
    try:
        if len(_resolved) >= _CACHE_LIMIT:
            _resolved.clear()
        _resolved[dtype] = r
    except TypeError:  # unhashable, e.g. a list of fields
        pass
    return r
