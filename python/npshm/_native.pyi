"""Type stubs of the C extension npshm._native (_native.c, beside this file).

python/tests/test_typing.py checks them against the built module (mypy's stubtest): every name,
every signature (all positional-only, as the extension parses them)."""

import sys
from builtins import list as _list
from collections.abc import Callable, Sequence
from typing import Any, SupportsIndex, final

import numpy as np
from numpy.typing import NDArray

_Name = str | bytes
_Shape = SupportsIndex | Sequence[SupportsIndex]

READONLY: int
REPLACE: int
EXCLUSIVE: int
ACCEPT_FOREIGN: int
FORTRAN: int
HAS_MODE: int
NO_RESERVE: int
VERSION: str
MS_ASYNC: int
MS_SYNC: int
MS_INVALIDATE: int
MAX_NDIM: int
NPY: int
NPIO: int
FORMAT_NPSHM: int
FORMAT_SHAREDARRAY: int
FORMAT_CDXCORE: int

@final
class Mapping:
    """The memory of one attached npshm array; the base of the arrays npshm returns. Only npshm
    makes them (instantiating raises TypeError)."""

    @property
    def name(self) -> str: ...
    @property
    def array_name(self) -> str: ...
    @property
    def descr(self) -> str: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def addr(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def itemsize(self) -> int: ...
    @property
    def readonly(self) -> bool: ...
    @property
    def fortran(self) -> bool: ...
    @property
    def identity(self) -> tuple[int, int, int, int]: ...
    def msync(self, /, flags: int = 4) -> None: ...
    def mlock(self, /) -> None: ...
    def munlock(self, /) -> None: ...
    if sys.version_info >= (3, 12):
        def __buffer__(self, flags: int, /) -> memoryview: ...
        def __release_buffer__(self, buffer: memoryview, /) -> None: ...

def create(
    name: _Name,
    shape: _Shape,
    descr: str,
    flags: int,
    dtype: np.dtype[Any] | None,
    fill: Any = None,
    /,
) -> NDArray[Any]: ...
def shape(obj: _Shape, /) -> tuple[int, ...]: ...
def attach(name: _Name, flags: int = 0, /) -> NDArray[Any]: ...
def delete(name: _Name, /) -> None: ...
def list() -> _list[tuple[bytes, str, tuple[int, ...], int, int, int, int, int, int, bool, int]]: ...
def clean_temporaries(dir: _Name | None, /) -> int: ...
def version() -> str: ...
def dir() -> str: ...
def set_dir(dir: _Name | None, /) -> None: ...
def _setup(ndarray: type, dtype_from_descr: Callable[[str], np.dtype[Any]], format_error: type[BaseException], /) -> None: ...
def read_file(
    path: _Name,
    name: _Name,
    flags: int,
    shape: _Shape | None,
    descr: str | None,
    offset: int,
    cancel_addr: int,
    timeout_ms: int,
    /,
) -> tuple[NDArray[Any], bool, int]: ...
def file_format(path: _Name, /) -> int: ...
def write_file_data(path: _Name, data: Any, shape: _Shape, descr: str, flags: int, /) -> None: ...
def encode_file_header(shape: _Shape, descr: str, flags: int, /) -> bytes: ...
def read_file_data(
    path: _Name,
    offset: int,
    alloc: Callable[[tuple[int, ...], str, bool, int], tuple[Any, Any]],
    /,
) -> tuple[Any, int]: ...
