"""Type stubs of the C extension npshm._native (_native.c, beside this file)."""

from builtins import list as _list
from typing import Any, Callable, Sequence, Union

import numpy as np

READONLY: int
REPLACE: int
EXCLUSIVE: int
ACCEPT_FOREIGN: int
FORTRAN: int
HAS_MODE: int
MS_ASYNC: int
MS_SYNC: int
MS_INVALIDATE: int
MAX_NDIM: int

class Mapping:
    """The memory of one attached npshm array; the base of the arrays npshm returns."""

    @property
    def name(self) -> str: ...
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
    def msync(self, flags: int = ...) -> None: ...
    def mlock(self) -> None: ...
    def munlock(self) -> None: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...

def create(
    name: Union[str, bytes],
    shape: Union[int, Sequence[int]],
    descr: str,
    flags: int,
    dtype: Union[np.dtype[Any], None],
    fill: Union[bytes, None] = ...,
    /,
) -> np.ndarray[Any, Any]: ...
def attach(name: Union[str, bytes], flags: int = ..., /) -> np.ndarray[Any, Any]: ...
def delete(name: Union[str, bytes], /) -> None: ...
def list() -> _list[
    tuple[bytes, str, tuple[int, ...], int, int, int, int, int, int, bool]
]: ...
def clean_temporaries(dir: Union[str, bytes, None], /) -> int: ...
def version() -> str: ...
def _setup(ndarray: type, dtype_from_descr: Callable[[str], np.dtype[Any]], /) -> None: ...
def read_file(
    path: Union[str, bytes],
    name: Union[str, bytes],
    flags: int,
    shape: Union[Sequence[int], None],
    descr: Union[str, None],
    offset: int,
    cancel_addr: int,
    timeout_ms: int,
    /,
) -> tuple[np.ndarray[Any, Any], bool, int]: ...
