"""Arrays from files straight into shared memory, and back: cdxcore's ``read_shared_array`` and
``npio`` (``to_file``, ``from_file``) on npshm.

The load itself is libnpshm's ``npshm_read_file_ex`` (docs/FORMAT.md, "Loading"): of any number of
processes loading one name at once exactly one reads the file, nobody sees a partly filled array,
and a loader that dies leaves nothing. It runs in a helper thread without the GIL, so that Ctrl+C
in the calling thread cancels it (through the C ABI's cancel flag) and raises KeyboardInterrupt
with nothing left behind; a Ctrl+C that comes once the array is published is too late to stop
anything, and the call returns the array (read_shared_array's docstring).
"""

from __future__ import annotations

import _thread
import ctypes
import math
import os
import tempfile
import threading
import time
from typing import Any, Optional, Union

import numpy as np

from . import _native
from ._api import _READONLY, _shape_tuple
from ._dtypes import resolve

__all__ = ["read_shared_array", "to_file", "from_file"]

_EXCLUSIVE = _native.EXCLUSIVE
_ACCEPT_FOREIGN = _native.ACCEPT_FOREIGN

# npio's dtype codes (cdxcore.npio): no uint8; datetime64/timedelta64 without a unit.
_NPIO_DESCR = ["|b1", "|i1", "<i2", "<i4", "<i8", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", "<c8", "<c16",
               "<M8", "<m8"]
_NPIO_CODE = {d: i for i, d in enumerate(_NPIO_DESCR)}
_NPY_MAGIC = b"\x93NUMPY"


def _source(file: Any) -> tuple[Union[str, bytes], int, Any]:
    """The path the C ABI opens, the record's offset in it, and the file object to advance (or None)."""
    if isinstance(file, (str, bytes, os.PathLike)):
        return os.fspath(file), 0, None
    if isinstance(file, int):
        return f"/proc/self/fd/{file}", os.lseek(file, 0, os.SEEK_CUR), None
    try:
        fd = file.fileno()
    except (AttributeError, OSError, ValueError):
        raise TypeError(f"file must be a path or an open binary file, not {type(file).__name__}") from None
    if hasattr(file, "flush") and getattr(file, "writable", lambda: False)():
        file.flush()
    return f"/proc/self/fd/{fd}", file.tell(), file


def _load(path: Union[str, bytes], name: Any, flags: int, shape: Any, descr: Optional[str],
          offset: int, timeout_ms: int, published: list[Any]) -> tuple[np.ndarray, bool, int]:
    """_native.read_file in a helper thread; KeyboardInterrupt cancels it. The helper puts the result
    into published as soon as it has published an array of its own (attached False), before the
    caller's thread can be interrupted again: that array is there to stay."""
    cancel = ctypes.c_int(0)
    result: list[Any] = []
    running = threading.Event()
    finished = threading.Event()

    def run() -> None:
        running.set()
        try:
            r = _native.read_file(path, name, flags, shape, descr, offset, ctypes.addressof(cancel), timeout_ms)
            if not r[1]:
                published.append(r)
            result.append(r)
        except BaseException as e:  # handed to the caller's thread
            result.append(e)
        finally:
            finished.set()

    # A bare thread (threading.Thread.start waits for it, and Ctrl+C could interrupt that wait), and
    # our own Event to wait on (an interrupted Thread.join can report a running thread as finished).
    # On any interruption the load is cancelled and waited for, so that it never outlives the call:
    # a thread that is not running half a second after being asked for never was.
    # The wait is timed: a SIGINT that the kernel hands to another thread (it does while this one has
    # signals blocked, as inside pthread_create) does not wake this one, and before Python 3.12 that
    # thread can even clear the flag that makes this one run the handler, until it next takes the
    # GIL. Waking every 0.1 s, it does, and Ctrl+C works within that (measured: 1 in 160 hung).
    try:
        _thread.start_new_thread(run, ())
        while not finished.wait(0.1):
            pass
    except BaseException:
        cancel.value = 1
        deadline = time.monotonic() + 0.5
        while not finished.is_set() and (running.is_set() or time.monotonic() < deadline):
            try:
                finished.wait(0.05)
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


def read_shared_array(
    file: Any,
    name: Any,
    *,
    validate_shape: Any = None,
    validate_dtype: Any = None,
    raise_on_error: bool = True,
    read_only: bool = False,
    accept_existing: bool = True,
    buffering: int = -1,
    return_status: bool = False,
    accept_foreign: bool = False,
    timeout: Optional[float] = None,
) -> Any:
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

    Returns
    -------
    numpy.ndarray, (numpy.ndarray, bool) or None

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    EOFError
        If the file ends before the array its header describes.
    ValueError
        If the file's header is corrupt, or the array does not match ``validate_shape``,
        ``validate_dtype`` or the file.
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
    del buffering
    path, offset, fobj = _source(file)
    shape = None if validate_shape is None else _shape_tuple(validate_shape)
    descr = None
    if validate_dtype is not None:
        dt, descr, sub = resolve(validate_dtype)
        if sub:
            raise ValueError(f"validate_dtype {dt} is a subarray dtype; give its shape in validate_shape")
    flags = ((_READONLY if read_only else 0) | (0 if accept_existing else _EXCLUSIVE)
             | (_ACCEPT_FOREIGN if accept_foreign else 0))
    timeout_ms = _timeout_ms(timeout)
    published: list[Any] = []
    try:
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
    return (arr, attached) if return_status else arr


# ---- npio in this process -------------------------------------------------------------------


def _npio_header(a: np.ndarray) -> bytes:
    descr = a.dtype.str if a.dtype.names is None and a.dtype.subdtype is None else "?"
    code = _NPIO_CODE.get(descr)
    if code is None:
        raise ValueError(
            f"npio cannot store dtype {a.dtype} (it stores bool, int8 to int64, uint16 to uint64, "
            "float16 to float64, complex64, complex128 and unit-less datetime64 and timedelta64, "
            "little-endian); write a .npy file (numpy.save) instead")
    if a.ndim > 64:
        raise ValueError(f"npio holds at most 64 dimensions, not {a.ndim}")
    total = 8 + 8 * a.ndim
    return (total.to_bytes(4, "big") + bytes([code]) + a.ndim.to_bytes(3, "big")
            + b"".join(int(d).to_bytes(8, "big") for d in a.shape))


def _write_npio(f: Any, a: np.ndarray, header: bytes) -> None:
    f.write(header)
    flat = a.reshape(-1, order="C")
    if flat.flags.c_contiguous:
        mv = flat.view(np.uint8).data
        step = 1 << 30
        for i in range(0, len(mv), step):
            f.write(mv[i : i + step])
    else:
        step = max(1, (64 << 20) // max(1, a.itemsize))
        for i in range(0, flat.size, step):
            f.write(np.ascontiguousarray(flat[i : i + step]).tobytes())


def to_file(file: Any, array: Any) -> None:
    """Write an array to a file in npio format, which ``cdxcore.npio.from_file``,
    :func:`from_file` and :func:`read_shared_array` read.

    Parameters
    ----------
    file : str, bytes, os.PathLike or binary file object
        A path (the file appears complete or not at all: it is written under a temporary name and
        renamed into place), or a file open for binary writing (written at its position).
    array : array_like
        Any array of a dtype npio holds: bool, int8 to int64, uint16 to uint64, float16 to float64,
        complex64, complex128, and datetime64/timedelta64 with the generic unit; native byte order.
        Fortran-ordered and non-contiguous arrays are written in C order.

    Raises
    ------
    ValueError
        For a dtype npio cannot hold (uint8 among them: cdxcore's format has no code for it).
    """
    a = np.asarray(array)
    header = _npio_header(a)
    if not isinstance(file, (str, bytes, os.PathLike)):
        _write_npio(file, a, header)
        return
    path = os.fsdecode(file)
    fd, tmp = tempfile.mkstemp(prefix=".npshm-tmp-", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npio(f, a, header)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _read_exact(f: Any, n: int, what: str) -> bytes:
    b: bytes = f.read(n)
    if len(b) != n:
        raise EOFError(f"file ends inside the array's {what}: {len(b)} of {n} bytes")
    return b


def from_file(file: Any, *, validate_dtype: Any = None, validate_shape: Any = None, read_only: bool = False,
              buffering: int = -1) -> np.ndarray:
    """Read an npio file (or a .npy file) into an ordinary array of this process.

    Parameters
    ----------
    file : str, bytes, os.PathLike or binary file object
        Written by :func:`to_file` or ``cdxcore.npio.to_file`` (or ``numpy.save``); an open file
        is read from its position.
    validate_dtype, validate_shape : optional
        If given, the file's array must have this dtype or shape (else :class:`ValueError`).
    read_only : bool, default False
        Clear the result's writeable flag.
    buffering : int, default -1
        As for ``open``, when file is a path.

    Raises
    ------
    FileNotFoundError, EOFError (a truncated file), ValueError (a corrupt header or a mismatch)
    """
    if isinstance(file, (str, bytes, os.PathLike)):
        with open(file, "rb", buffering=buffering) as f:
            return from_file(f, validate_dtype=validate_dtype, validate_shape=validate_shape,
                             read_only=read_only)
    f = file
    head = f.read(4)
    if len(head) < 4 and _NPY_MAGIC.startswith(head) or head == _NPY_MAGIC[:4]:
        rest = _read_exact(f, 6 - len(head), "header") if len(head) == 4 else b""
        if head + rest[:2] != _NPY_MAGIC:
            raise EOFError("file ends inside the array's header")
        major = _read_exact(f, 2, "header")[0]
        if major not in (1, 2, 3):
            raise ValueError(f"unsupported .npy format version {major}")
        hlen = int.from_bytes(_read_exact(f, 2 if major == 1 else 4, "header"), "little")
        text = _read_exact(f, hlen, "header").decode("utf8" if major == 3 else "latin1")
        try:
            import ast

            d = ast.literal_eval(text)
            dtype = np.lib.format.descr_to_dtype(d["descr"])
            shape, fortran = tuple(d["shape"]), bool(d["fortran_order"])
        except Exception as e:
            raise ValueError(f"corrupt .npy header: {e}") from None
        if dtype.hasobject:
            raise ValueError(".npy file holds Python objects")
    else:
        if len(head) < 4:
            raise EOFError("file ends inside the array's header")
        total = int.from_bytes(head, "big")
        if total < 8 or total % 8 or total > 8 + 8 * 64:
            raise ValueError(f"not an npio or .npy file: bad npio header length {total}")
        rest = _read_exact(f, total - 4, "header")
        code, ndim = rest[0], int.from_bytes(rest[1:4], "big")
        if total != 8 + 8 * ndim:
            raise ValueError("corrupt npio header: its length does not match its number of dimensions")
        if code >= len(_NPIO_DESCR):
            raise ValueError(f"corrupt npio header: unknown dtype code {code}")
        dtype = np.dtype(_NPIO_DESCR[code])
        shape = tuple(int.from_bytes(rest[4 + 8 * i : 12 + 8 * i], "big") for i in range(ndim))
        fortran = False
    if validate_dtype is not None and np.dtype(validate_dtype) != dtype:
        raise ValueError(f"file holds dtype {dtype}, not {np.dtype(validate_dtype)}")
    if validate_shape is not None and _shape_tuple(validate_shape) != shape:
        raise ValueError(f"file holds shape {shape}, not {_shape_tuple(validate_shape)}")
    a = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
    buf = (a.reshape(-1, order="A").view(np.uint8) if a.size else np.empty(0, np.uint8)).data
    got = 0
    while got < len(buf):
        n = f.readinto(buf[got:])
        if not n:
            raise EOFError(f"file ends inside the array's data: {got} of {len(buf)} bytes")
        got += n
    if read_only:
        a.flags.writeable = False
    return a
