"""Arrays from files straight into shared memory, and back: cdxcore's ``read_shared_array`` and
``npio`` (``to_file``, ``from_file``) on npshm.

Every byte of the file formats is libnpshm's: loads are ``npshm_read_file_ex`` (docs/FORMAT.md,
"Loading"), ``to_file`` is ``npshm_write_file_data`` (or ``npshm_encode_file_header`` for an open
file), ``from_file`` is ``npshm_read_file_data``. This module keeps no parser or writer of its own.

A load runs in a helper thread without the GIL, so that Ctrl+C in the calling thread cancels it
(through the C ABI's cancel flag) and raises KeyboardInterrupt with nothing left behind: of any
number of processes loading one name at once exactly one reads the file, nobody sees a partly
filled array, and a loader that dies leaves nothing.

A Ctrl+C that comes once the array is published is too late to stop anything, and the call returns
the array (read_shared_array's docstring).
"""

from __future__ import annotations

import _thread
import ctypes
import errno
import io
import math
import operator
import os
import time
from typing import TYPE_CHECKING, Any, Literal, Optional, Protocol, Union, overload

import numpy as np

from . import _native
from ._api import _READONLY
from ._compat import FormatError, apply_lifetime, check_flag
from ._dtypes import dtype_from_descr, resolve

if TYPE_CHECKING:  # for annotations only, which cost the import of npshm nothing there
    from numpy.typing import ArrayLike, DTypeLike, NDArray
    from typing_extensions import Buffer

    from ._api import Name, ShapeLike

__all__ = ["read_shared_array", "to_file", "from_file", "read_into"]

_EXCLUSIVE = _native.EXCLUSIVE
_FORTRAN = _native.FORTRAN
_NPY = _native.NPY
_NPIO = _native.NPIO
_ACCEPT_FOREIGN = _native.ACCEPT_FOREIGN


if TYPE_CHECKING:

    class _Readable(Protocol):
        """A file object the readers take: one with a file descriptor, read from its position."""

        def fileno(self) -> int: ...
        def tell(self) -> int: ...
        def seek(self, offset: int, /) -> object: ...

    class _Writable(Protocol):
        """A file object :func:`to_file` writes to."""

        def write(self, data: Buffer, /) -> object: ...

    Path = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
    """A file's path."""
    FileSource = Union[Path, int, _Readable]
    """What the file readers take: a path, a file descriptor, or a file object with ``fileno()``."""
    FileTarget = Union[Path, _Writable]
    """What :func:`to_file` takes: a path, or a binary file open for writing."""


def _source(file: FileSource) -> tuple[Union[str, bytes], int, Any]:
    """The path the C ABI opens, the record's offset in it, and the file object to advance (or None)."""
    if isinstance(file, (str, bytes, os.PathLike)):
        return os.fspath(file), 0, None
    if isinstance(file, int):
        return f"/proc/self/fd/{file}", os.lseek(file, 0, os.SEEK_CUR), None
    try:
        fd = file.fileno()
    except (AttributeError, io.UnsupportedOperation):  # a closed file's ValueError stays one
        raise TypeError(f"file must be a path, a file descriptor or a file object with a fileno(), not "
                        f"{type(file).__name__}") from None
    if hasattr(file, "flush") and getattr(file, "writable", lambda: False)():
        file.flush()
    return f"/proc/self/fd/{fd}", file.tell(), file


def _load(path: Union[str, bytes], name: Name, flags: int, shape: Optional[tuple[int, ...]],
          descr: Optional[str], offset: int, timeout_ms: int,
          published: list[tuple[NDArray[Any], bool, int]]) -> tuple[NDArray[Any], bool, int]:
    """_native.read_file in a helper thread; KeyboardInterrupt cancels it. The helper puts the result
    into published as soon as it has published an array of its own (attached False), before the
    caller's thread can be interrupted again: that array is there to stay."""
    cancel = ctypes.c_int(0)
    result: list[Any] = []
    running: list[bool] = []
    # Held until the helper ends. Not a threading.Event: before Python 3.12, a KeyboardInterrupt
    # raised inside Event.wait's Python code (Condition.wait re-taking its lock) breaks the
    # Condition ("RuntimeError: release unlocked lock" instead of KeyboardInterrupt, and a helper
    # that can no longer signal it). A lock's timed acquire is one C call: interrupted, it has
    # either taken the lock or not, and result (filled before the release) tells which.
    finished = _thread.allocate_lock()
    finished.acquire()

    def run() -> None:
        running.append(True)
        try:
            if cancel.value:  # started after the caller gave up on it (below): do nothing at all
                raise InterruptedError
            r = _native.read_file(path, name, flags, shape, descr, offset, ctypes.addressof(cancel), timeout_ms)
            if not r[1]:
                published.append(r)
            result.append(r)
        except BaseException as e:  # handed to the caller's thread
            result.append(e)
        finally:
            finished.release()

    # A bare thread (threading.Thread.start waits for it, and Ctrl+C could interrupt that wait).
    # On any interruption the load is cancelled and waited for, so that it never outlives the call:
    # a thread that is not running half a second after being asked for is not waited for, and
    # finds the cancel flag set when it does run (it sets running before it looks, and the caller
    # sets cancel before it looks at running), so it touches nothing.
    # The wait is timed: a SIGINT that the kernel hands to another thread (it does while this one has
    # signals blocked, as inside pthread_create) does not wake this one, and before Python 3.12 that
    # thread can even clear the flag that makes this one run the handler, until it next takes the
    # GIL. Waking every 0.1 s, it does, and Ctrl+C works within that (measured: 1 in 160 hung).
    try:
        _thread.start_new_thread(run, ())
        while not finished.acquire(timeout=0.1):
            pass
    except BaseException:
        cancel.value = 1
        deadline = time.monotonic() + 0.5
        while not result and (running or time.monotonic() < deadline):
            try:
                finished.acquire(timeout=0.05)
            except KeyboardInterrupt:
                pass
        raise
    r = result[0]
    if isinstance(r, BaseException):
        if isinstance(r, InterruptedError):
            raise KeyboardInterrupt from None
        raise r
    arr, attached, end = r
    return arr, bool(attached), int(end)


def _exists(name: Name) -> bool:
    """Whether an array of that name exists (and can be attached read-only)."""
    try:
        _native.attach(name, _READONLY)
    except (OSError, ValueError):
        return False
    return True


def _advance(file: Any, fobj: Any, end: int) -> None:
    """Leave an open file (or descriptor) just past the record that was read."""
    if fobj is not None and end:
        fobj.seek(end)
    elif isinstance(file, int) and end:
        os.lseek(file, end, os.SEEK_SET)


def _timeout_ms(timeout: Any) -> int:
    """read_shared_array's timeout as npshm_read_options.timeout_ms (0: no limit)."""
    if timeout is None:
        return 0
    t = float(timeout)
    if not t >= 0:
        raise ValueError(f"timeout must be None or a number of seconds >= 0, not {timeout!r}")
    if math.isinf(t):
        return 0
    return max(1, min(math.ceil(t * 1000), 1 << 62))


@overload
def read_shared_array(
    file: FileSource,
    name: Name,
    *,
    validate_shape: Optional[ShapeLike] = None,
    validate_dtype: Optional[DTypeLike] = None,
    raise_on_error: Literal[True] = True,
    read_only: bool = False,
    accept_existing: bool = True,
    buffering: int = -1,
    return_status: Literal[False] = False,
    accept_foreign: bool = False,
    timeout: Optional[float] = None,
    track: Optional[bool] = None,
    unlink: bool = False,
    verbose: object = None,
) -> NDArray[Any]: ...
@overload
def read_shared_array(
    file: FileSource,
    name: Name,
    *,
    validate_shape: Optional[ShapeLike] = None,
    validate_dtype: Optional[DTypeLike] = None,
    raise_on_error: Literal[True] = True,
    read_only: bool = False,
    accept_existing: bool = True,
    buffering: int = -1,
    return_status: Literal[True],
    accept_foreign: bool = False,
    timeout: Optional[float] = None,
    track: Optional[bool] = None,
    unlink: bool = False,
    verbose: object = None,
) -> tuple[NDArray[Any], bool]: ...
@overload
def read_shared_array(
    file: FileSource,
    name: Name,
    *,
    validate_shape: Optional[ShapeLike] = None,
    validate_dtype: Optional[DTypeLike] = None,
    raise_on_error: bool,
    read_only: bool = False,
    accept_existing: bool = True,
    buffering: int = -1,
    return_status: Literal[False] = False,
    accept_foreign: bool = False,
    timeout: Optional[float] = None,
    track: Optional[bool] = None,
    unlink: bool = False,
    verbose: object = None,
) -> Optional[NDArray[Any]]: ...
@overload
def read_shared_array(
    file: FileSource,
    name: Name,
    *,
    validate_shape: Optional[ShapeLike] = None,
    validate_dtype: Optional[DTypeLike] = None,
    raise_on_error: bool,
    read_only: bool = False,
    accept_existing: bool = True,
    buffering: int = -1,
    return_status: Literal[True],
    accept_foreign: bool = False,
    timeout: Optional[float] = None,
    track: Optional[bool] = None,
    unlink: bool = False,
    verbose: object = None,
) -> Optional[tuple[NDArray[Any], bool]]: ...
@overload
def read_shared_array(
    file: FileSource,
    name: Name,
    *,
    validate_shape: Optional[ShapeLike] = None,
    validate_dtype: Optional[DTypeLike] = None,
    raise_on_error: bool = True,
    read_only: bool = False,
    accept_existing: bool = True,
    buffering: int = -1,
    return_status: bool,
    accept_foreign: bool = False,
    timeout: Optional[float] = None,
    track: Optional[bool] = None,
    unlink: bool = False,
    verbose: object = None,
) -> Union[NDArray[Any], tuple[NDArray[Any], bool], None]: ...
def read_shared_array(
    file: FileSource,
    name: Name,
    *,
    validate_shape: Optional[ShapeLike] = None,
    validate_dtype: Optional[DTypeLike] = None,
    raise_on_error: bool = True,
    read_only: bool = False,
    accept_existing: bool = True,
    buffering: int = -1,
    return_status: bool = False,
    accept_foreign: bool = False,
    timeout: Optional[float] = None,
    track: Optional[bool] = None,
    unlink: bool = False,
    verbose: object = None,
) -> Union[NDArray[Any], tuple[NDArray[Any], bool], None]:
    """Read an array file into a new named shared array, or attach the existing one.

    A machine loads a file once and every process shares it: of any number of processes calling
    this for one ``name`` at the same moment, exactly one reads the file; the others wait for it
    and attach the complete array (with ``return_status=True`` exactly one reports
    ``attached=False``). Nobody sees a partly filled array, and a loader killed half-way leaves
    nothing behind and blocks nobody, nor does a child it forks meanwhile. The GIL is released
    while reading.

    Ctrl+C (KeyboardInterrupt) stops a load, or a wait for another process's load, and leaves
    nothing of the call behind: a KeyboardInterrupt raised from this function means that no array
    was published by it. A Ctrl+C that arrives once this call has published the array is too late
    to stop anything (the array is complete, and other processes may be using it already, so it is
    never deleted): the call returns the array, and the interrupt is dropped.

    Parameters
    ----------
    file : str, bytes, os.PathLike, int or binary file object
        A file written by :func:`to_file` or ``cdxcore.npio.to_file`` (npio), or by
        ``numpy.save`` (.npy, format versions 1 to 3, C or Fortran order); the format is recognised
        from the file's first bytes. An open file (or file descriptor) is read from its current
        position, and left after the array's record.
    name : str or bytes
        The shared array's name, as for :func:`create_shared_array`.
    validate_shape, validate_dtype : optional
        If given, the array must have this shape or dtype (else :class:`ValueError`). If either is
        None, the file's header is read first and an existing array must match the file; if both
        are given, an existing array is attached without opening the file.
    raise_on_error : bool, default True
        On an error (missing or damaged file, mismatch, existing name with
        ``accept_existing=False``), raise it (True), or return None (False).
    read_only : bool, default False
        Map the array read-only.
    accept_existing : bool, default True
        Attach an existing array of that name (True), or raise :class:`FileExistsError` (False).
    buffering : int, default -1
        Accepted for compatibility with cdxcore; npshm reads with large direct reads instead.
    return_status : bool, default False
        Return ``(array, attached)`` instead of the array: ``attached`` is True if an existing
        array was attached, False if this call loaded the file.
    accept_foreign : bool, default False
        Accept an existing array that belongs to another user. By default it is refused with
        :class:`PermissionError`: anyone can create files in ``/dev/shm``, and another user could
        have made one with the file's shape and dtype and a mode that lets them write into it.
    timeout : float, optional
        Seconds to wait at most for another process's load of the same name, then raise
        :class:`TimeoutError` (naming the lock file and the process holding it); 0 gives up at
        once. None (the default) waits as long as that load takes. The load itself is not limited.
    track, unlink, verbose : optional
        cdxcore's keywords, with the meanings of :func:`create_shared_array`'s, for the array
        returned (attached or loaded).

    Returns
    -------
    numpy.ndarray, (numpy.ndarray, bool) or None
        The array, or ``(array, attached)`` with ``return_status=True``; ``None`` on an error
        with ``raise_on_error=False`` (only then do type checkers see ``None`` as a result).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    EOFError
        If the file ends before the array its header describes.
    ValueError
        If the file's header is corrupt, or the array does not match ``validate_shape``,
        ``validate_dtype`` or the file: :class:`FormatError`, also an :class:`OSError`.
    FileExistsError
        If ``accept_existing`` is False and the name exists.
    PermissionError
        If the existing array (unless ``accept_foreign``) or the name's lock file belongs to another
        user, if the name is a symbolic link (errno ELOOP), or if access is refused.
    TimeoutError
        If another process's load of the name took longer than ``timeout``.
    KeyboardInterrupt
        On Ctrl+C before the array is published (the load is cancelled; nothing is left).
    OSError
        If the operating system fails (``errno.ENOSPC`` when /dev/shm is full).
    """
    _check_buffering(buffering)
    track = check_flag(track, "track", none_ok=True)
    unlink = bool(check_flag(unlink, "unlink"))
    path, offset, fobj = _source(file)
    shape = None if validate_shape is None else _native.shape(validate_shape)
    descr = None
    if validate_dtype is not None:
        dt, descr, sub = resolve(validate_dtype)
        if sub:
            raise ValueError(f"validate_dtype {dt} is a subarray dtype; give its shape in validate_shape")
    flags = ((_READONLY if read_only else 0) | (0 if accept_existing else _EXCLUSIVE)
             | (_ACCEPT_FOREIGN if accept_foreign else 0))
    timeout_ms = _timeout_ms(timeout)
    if track:
        # registered first, as create_shared_array does: no moment in which a kill would leave the
        # array behind (an array this call only attaches is not this process's to delete)
        from ._scratch import delete_on_exit

        delete_on_exit(name)
    published: list[Any] = []
    try:
        if accept_existing and _exists(name):
            # Attach first, in this thread: the loader thread (about 0.3 ms to start) is for a load,
            # which Ctrl+C must be able to cancel. Should the array go in between, this call loads
            # the file itself, uninterruptibly, but correctly.
            arr, attached, end = _native.read_file(path, name, flags, shape, descr, offset, 0, timeout_ms)
            if not attached:
                published.append((arr, attached, end))
        else:
            arr, attached, end = _load(path, name, flags, shape, descr, offset, timeout_ms, published)
        _advance(file, fobj, end)
    except KeyboardInterrupt:
        if not published:
            raise  # nothing of this call is left
        # Too late to stop: the array is published (and may be in use); return it. No statement
        # from here to the return checks for signals but the one call, which is guarded too.
        arr, attached, end = published[0]
        try:
            _advance(file, fobj, end)
        except KeyboardInterrupt:
            pass
    except (OSError, EOFError, ValueError):
        if raise_on_error:
            raise
        return None
    while True:  # the array is there: Ctrl+C is too late now (each step may run twice, harmlessly)
        try:
            apply_lifetime(arr, name, False, unlink, verbose, "read_shared_array")
            break
        except KeyboardInterrupt:
            pass
    return (arr, attached) if return_status else arr


# ---- files of this process's arrays ---------------------------------------------------------


def _flat_bytes(a: NDArray[Any], order: Literal["C", "F"]) -> NDArray[np.uint8]:
    """The bytes of a contiguous array as a flat uint8 array, in the array's own order."""
    flat: NDArray[np.uint8] = a.reshape(-1, order=order).view(np.uint8)
    return flat


def _check_buffering(buffering: object) -> int:
    """cdxcore's ``buffering`` (of ``open()``): an int, -1 or more. npshm reads and writes with
    large direct calls (of 1 GiB at most), so that it changes nothing."""
    if isinstance(buffering, bool) or not isinstance(buffering, (int, np.integer)):
        raise TypeError(f"buffering must be an int (-1, 0 or a buffer size), not {buffering!r}")
    if buffering < -1:
        raise ValueError(f"buffering must be -1 (the default), 0 or a buffer size, not {buffering}")
    return int(buffering)


def _block_items(cont_block_size_mb: object, itemsize: int) -> int:
    """Elements per piece in which a non-contiguous array is copied: cdxcore's
    ``cont_block_size_mb`` (None: 64 MiB), at least one element."""
    if cont_block_size_mb is None:
        mb = 64
    else:
        if isinstance(cont_block_size_mb, bool):
            raise TypeError(f"cont_block_size_mb must be None or a positive int, not {cont_block_size_mb!r}")
        try:
            mb = operator.index(cont_block_size_mb)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(f"cont_block_size_mb must be None or a positive int, not {cont_block_size_mb!r}") from None
        if mb <= 0:
            raise ValueError(f"cont_block_size_mb must be positive, not {mb}")
    return max(1, min(mb, 1 << 40) * (1 << 20) // max(1, itemsize))


def _write_stream(f: _Writable, a: NDArray[Any], block: int) -> None:
    """An npio record (libnpshm's header, then the data in C order) written with f.write; a
    non-contiguous array in copies of block elements."""
    f.write(_native.encode_file_header(a.shape, resolve(a.dtype)[1], _NPIO))
    if a.flags.c_contiguous:
        mv = _flat_bytes(a, "C").data
        step = 1 << 30
        for i in range(0, len(mv), step):
            f.write(mv[i : i + step])
        return
    flat = a.flat  # C order, without a copy of the whole
    for i in range(0, a.size, block):
        f.write(_flat_bytes(np.ascontiguousarray(flat[i : i + block]), "C").data)


def to_file(file: FileTarget, array: ArrayLike, *, buffering: int = -1,
            cont_block_size_mb: Optional[int] = None) -> None:
    """Write an array to a file that :func:`from_file`, :func:`read_shared_array`,
    ``cdxcore.npio.from_file`` (npio) or ``numpy.load`` (.npy) read.

    The format is chosen by libnpshm as for its C and Go writers: .npy (the bytes ``numpy.save``
    writes) if the path ends in ``.npy``, else npio (what ``cdxcore.npio.to_file`` writes). An open
    file gets an npio record, as ``cdxcore.npio.to_file`` writes to an open file.

    Parameters
    ----------
    file : str, bytes, os.PathLike or binary file object
        A path (the file appears complete or not at all: it is written unnamed, or under a
        temporary name that :func:`clean_temporaries` removes once its writer is dead, and renamed
        into place), or a file open for binary writing (written at its position, so that several
        arrays can follow each other).
    array : array_like
        For .npy any array of a dtype npshm can share. For npio a dtype npio holds: bool, int8 to
        int64, uint16 to uint64, float16 to float64, complex64, complex128, and
        datetime64/timedelta64 with the generic unit; little-endian. npio is in C order: other
        arrays are written in C order (copied in pieces for an open file, whole for a path).
        Unlike cdxcore's, any array is written, contiguous or not.
    buffering : int, default -1
        cdxcore's keyword (``open()``'s): -1, 0 or a buffer size. npshm writes with large direct
        writes, so that it changes nothing; other values raise.
    cont_block_size_mb : int, optional
        cdxcore's keyword: the size in MiB of the pieces in which a non-contiguous array is
        copied when written to an open file (default 64). cdxcore refuses such an array without
        it; npshm writes it either way. A path's writer copies it whole.

    Raises
    ------
    ValueError
        For a dtype the format cannot hold (npio has no uint8: write .npy instead), a shape
        numpy refuses, ``buffering`` below -1, or ``cont_block_size_mb`` not positive.
    TypeError
        For a dtype that holds Python objects, a file that is neither a path nor writable, or a
        ``buffering`` or ``cont_block_size_mb`` that is not an int.
    OSError
        If the file cannot be written (``FileNotFoundError`` for a missing directory).
    """
    _check_buffering(buffering)
    a = np.asarray(array)
    block = _block_items(cont_block_size_mb, a.itemsize)
    if not isinstance(file, (str, bytes, os.PathLike)):
        if not hasattr(file, "write"):
            raise TypeError(f"file must be a path or a binary file open for writing, not {type(file).__name__}")
        _write_stream(file, a, block)
        return
    path = os.fspath(file)
    descr = resolve(a.dtype)[1]
    fmt = _native.file_format(path)
    flags = fmt
    if a.flags.c_contiguous:
        data = _flat_bytes(a, "C")
    elif a.flags.f_contiguous and fmt == _NPY:
        data, flags = _flat_bytes(a, "F"), fmt | _FORTRAN
    else:
        data = _flat_bytes(np.ascontiguousarray(a), "C")
    _native.write_file_data(path, data, a.shape, descr, flags)


def _read(file: FileSource, alloc: Any) -> NDArray[Any]:
    """_native.read_file_data of file (path, descriptor or file object), leaving an open file
    after the record."""
    path, offset, fobj = _source(file)
    a: NDArray[Any]
    a, end = _native.read_file_data(path, offset, alloc)
    if fobj is not None:
        fobj.seek(end)
    elif isinstance(file, int):
        os.lseek(file, end, os.SEEK_SET)
    return a


def _mismatch(file: object, what: str) -> FormatError:
    name = file if isinstance(file, (str, bytes)) else os.fspath(file) if isinstance(file, os.PathLike) else None
    return FormatError(errno.EINVAL, what, name)


def from_file(file: FileSource, *, validate_dtype: Optional[DTypeLike] = None, validate_shape: Optional[ShapeLike] = None,
              read_only: bool = False, buffering: int = -1, cont_block_size_mb: Optional[int] = None) -> NDArray[Any]:
    """Read an npio file (or a .npy file) into an ordinary array of this process.

    The file's header is checked completely, and the file known to hold the whole array, before
    any memory is allocated: a damaged file is an error, never a huge allocation.

    Parameters
    ----------
    file : str, bytes, os.PathLike, int or binary file object
        Written by :func:`to_file`, ``cdxcore.npio.to_file`` or ``numpy.save``. An open file (or
        file descriptor) of a regular file is read from its position, and left after the array's
        record, so that several arrays can be read one after another.
    validate_dtype, validate_shape : optional
        If given, the file's array must have this dtype or shape (else :class:`FormatError`,
        before anything is allocated).
    read_only : bool, default False
        Clear the result's writeable flag.
    buffering : int, default -1
        cdxcore's keyword (``open()``'s): -1, 0 or a buffer size. npshm reads with large direct
        reads, so that it changes nothing; other values raise.
    cont_block_size_mb : int, optional
        cdxcore's keyword: None or a positive number of MiB. The new array is contiguous, so that
        no piecewise copy is needed: it changes nothing here.

    Returns
    -------
    numpy.ndarray
        In Fortran order if the .npy file is.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    EOFError
        If the file ends before the array its header describes.
    FormatError
        A :class:`ValueError` and an :class:`OSError` (cdxcore raises OSError for a failed
        validation): if the header is corrupt, or the array does not match ``validate_dtype``
        or ``validate_shape``.
    ValueError
        For ``buffering`` below -1 or a ``cont_block_size_mb`` that is not positive.
    TypeError
        If ``file`` is not a path, a file descriptor or a file object with a file descriptor
        (``io.BytesIO`` has none: ``numpy.load`` reads .npy from memory).
    """
    _check_buffering(buffering)
    _block_items(cont_block_size_mb, 1)
    want_dtype = None if validate_dtype is None else np.dtype(validate_dtype)
    want_shape = None if validate_shape is None else _native.shape(validate_shape)

    def alloc(shape: tuple[int, ...], descr: str, fortran: bool, fmt: int) -> tuple[NDArray[Any], NDArray[np.uint8]]:
        dtype = dtype_from_descr(descr)
        if want_dtype is not None and want_dtype != dtype:
            raise _mismatch(file, f"file holds dtype {dtype}, not {want_dtype}")
        if want_shape is not None and want_shape != shape:
            raise _mismatch(file, f"file holds shape {shape}, not {want_shape}")
        order: Literal["C", "F"] = "F" if fortran else "C"
        a = np.empty(shape, dtype=dtype, order=order)
        return a, _flat_bytes(a, order)

    a = _read(file, alloc)
    if read_only:
        a.flags.writeable = False
    return a


def read_into(file: FileSource, array: NDArray[Any], *, read_only: bool = False, buffering: int = -1,
              cont_block_size_mb: Optional[int] = None) -> NDArray[Any]:
    """Read an npio (or .npy) file into an existing array of the same shape and dtype
    (cdxcore.npio's ``read_into``).

    The file's header is checked against ``array`` before anything is read: on a mismatch
    ``array`` is unchanged.

    Parameters
    ----------
    file : str, bytes, os.PathLike, int or binary file object
        As for :func:`from_file`.
    array : numpy.ndarray
        A writeable array of the file's shape and dtype, in any memory layout (a view, a slice, an
        npshm array). A contiguous one of the file's order is read into directly; any other gets
        the data through a copy.
    read_only : bool, default False
        Clear ``array``'s writeable flag afterwards.
    buffering : int, default -1
        As for :func:`from_file`.
    cont_block_size_mb : int, optional
        cdxcore's keyword: None or a positive number of MiB. npshm reads into any array, so that
        it changes nothing here.

    Returns
    -------
    numpy.ndarray
        ``array``.

    Raises
    ------
    FormatError
        A :class:`ValueError` and an :class:`OSError` (cdxcore raises OSError): if the file's
        array has another shape or dtype, or its header is corrupt.
    EOFError
        If the file ends before the array its header describes.
    TypeError
        If ``array`` is not a numpy array.
    ValueError
        If ``array`` is not writeable.
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"array must be a numpy.ndarray, not {type(array).__name__}")
    if not array.flags.writeable:
        raise ValueError("array is read-only: read_into needs a writeable array")
    _check_buffering(buffering)
    _block_items(cont_block_size_mb, 1)
    copy: list[NDArray[Any]] = []

    def alloc(shape: tuple[int, ...], descr: str, fortran: bool, fmt: int) -> tuple[NDArray[Any], NDArray[np.uint8]]:
        dtype = dtype_from_descr(descr)
        if array.shape != shape or array.dtype != dtype:
            raise _mismatch(file, f"file holds shape {shape} and dtype {dtype}, not the array's "
                                  f"{array.shape} and {array.dtype}")
        order: Literal["C", "F"] = "F" if fortran else "C"
        direct = array.flags.f_contiguous if fortran else array.flags.c_contiguous
        target = array if direct else np.empty(shape, dtype=dtype, order=order)
        if not direct:
            copy.append(target)
        return target, _flat_bytes(target, order)

    _read(file, alloc)
    if copy:
        array[...] = copy[0]
    if read_only:
        array.flags.writeable = False
    return array
