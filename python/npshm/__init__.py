"""Named numpy arrays in POSIX shared memory.

npshm creates a numpy array under a name; any process on the machine attaches to it by that name
and sees the same memory, without copying. It serves two APIs, so that users of either library
switch by changing an import:

- cdxcore.npshm's: :func:`create_shared_array`, :func:`attach_shared_array`,
  :func:`delete_shared_array`, :func:`is_shared_array`;
- SharedArray's (``import npshm as sa``): :func:`create`, :func:`attach`, :func:`delete`,
  :func:`list`, :func:`msync`, :func:`mlock`, :func:`munlock` and the ``MS_*`` constants.

An array lives until it is deleted: garbage collection and the end of a process only unmap it.
Names are ``"x"`` (or ``"/x"``, ``"shm://x"``) for ``/dev/shm/x``, or ``"file://PATH"`` for a
memory-mapped file.

Examples
--------
>>> import os, numpy as np, npshm
>>> name = f"example-{os.getpid()}"
>>> a = npshm.create_shared_array(name, (10, 3), np.int32, force=True, full=0)
>>> b = npshm.attach_shared_array(name, validate_shape=(10, 3), validate_dtype=np.int32)
>>> b[:, 1] = 1
>>> int(a[:, 1].sum())
10
>>> npshm.delete_shared_array(name)
True"""

import importlib
from typing import TYPE_CHECKING, Any, List

from ._api import (
    MS_ASYNC,
    MS_INVALIDATE,
    MS_SYNC,
    ArrayDesc,
    Mapping,
    attach,
    attach_shared_array,
    clean_temporaries,
    create,
    create_shared_array,
    delete,
    delete_shared_array,
    get_dir,
    is_shared_array,
    list,
    mlock,
    msync,
    munlock,
    set_dir,
)
from ._compat import FormatError
from . import _hooks, _native

# The rest loads on first use (PEP 562's module __getattr__): `import npshm` stays within 2 ms of
# `import numpy` (issue 13), and threading, fnmatch, pickle and friends load only when needed, as
# libnpshm itself does (on the first call that needs it: _native.c's need_lib), and lib_version
# with it.
_LAZY = {
    "from_file": "_files",
    "read_into": "_files",
    "read_shared_array": "_files",
    "to_file": "_files",
    "delete_orphans": "_orphans",
    "delete_on_exit": "_scratch",
    "Reference": "_travel",
    "StaleReferenceError": "_travel",
    "from_reference": "_travel",
    "get_pickling": "_travel",
    "name_of": "_travel",
    "reference": "_travel",
    "set_pickling": "_travel",
}

if TYPE_CHECKING:
    lib_version: str
    from ._files import from_file, read_into, read_shared_array, to_file
    from ._orphans import delete_orphans
    from ._scratch import delete_on_exit
    from ._travel import (
        Reference,
        StaleReferenceError,
        from_reference,
        get_pickling,
        name_of,
        reference,
        set_pickling,
    )


def __getattr__(attr: str) -> Any:
    if attr == "lib_version":
        globals()[attr] = _native.version()
        return globals()[attr]
    module = _LAZY.get(attr)
    if module is None:
        raise AttributeError(f"module 'npshm' has no attribute {attr!r}")
    value = getattr(importlib.import_module("." + module, __name__), attr)
    globals()[attr] = value
    return value


def __dir__() -> "List[str]":
    return sorted(set(globals()) | set(_LAZY) | {"lib_version"})


def _register_multiprocessing(reduction: object) -> None:
    from . import _travel

    _travel._register_multiprocessing(reduction)


def _register_joblib(reduction: object) -> None:
    from . import _joblib

    _joblib.register(reduction)  # type: ignore[arg-type]


def _register_dask(protocol: object) -> None:
    from . import dask

    dask._register_serializer()


# How npshm arrays travel, registered with each library when (and only if) it is imported.
_hooks.when_imported("multiprocessing.reduction", _register_multiprocessing)
_hooks.when_imported("joblib.externals.loky.backend.reduction", _register_joblib)
_hooks.when_imported("distributed.protocol", _register_dask)

# lib_version (module __getattr__): the version of the libnpshm it runs on, which loads it.

__version__: str = _native.VERSION
"""The version of the Python package: that of the libnpshm it is built with."""

__all__ = [
    "create_shared_array",
    "attach_shared_array",
    "delete_shared_array",
    "is_shared_array",
    "read_shared_array",
    "to_file",
    "from_file",
    "read_into",
    "create",
    "attach",
    "delete",
    "list",
    "msync",
    "mlock",
    "munlock",
    "MS_ASYNC",
    "MS_SYNC",
    "MS_INVALIDATE",
    "clean_temporaries",
    "get_dir",
    "set_dir",
    "delete_orphans",
    "delete_on_exit",
    "name_of",
    "reference",
    "from_reference",
    "Reference",
    "StaleReferenceError",
    "set_pickling",
    "get_pickling",
    "ArrayDesc",
    "FormatError",
    "Mapping",
    "lib_version",
    "__version__",
]
