"""The two public APIs of npshm: cdxcore.npshm's and SharedArray's."""

from __future__ import annotations

import operator
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Optional, Union

import numpy as np

from . import _native
from ._dtypes import MAX_NDIM, dtype_from_descr, resolve

if TYPE_CHECKING:
    from os import PathLike  # noqa: F401

__all__ = [
    "create_shared_array",
    "attach_shared_array",
    "delete_shared_array",
    "is_shared_array",
    "create",
    "attach",
    "delete",
    "list",
    "clean_temporaries",
    "msync",
    "mlock",
    "munlock",
    "ArrayDesc",
    "Mapping",
    "MS_ASYNC",
    "MS_SYNC",
    "MS_INVALIDATE",
]

_builtin_list = list

Mapping = _native.Mapping
"""The type of the object that owns the memory of an npshm array (the base of every array that
npshm returns)."""

MS_ASYNC: int = _native.MS_ASYNC
"""``msync`` flag: schedule the write-back and return."""
MS_SYNC: int = _native.MS_SYNC
"""``msync`` flag: write back and wait for it."""
MS_INVALIDATE: int = _native.MS_INVALIDATE
"""``msync`` flag: invalidate other mappings of the same file."""

_READONLY = _native.READONLY
_REPLACE = _native.REPLACE
_HAS_MODE = _native.HAS_MODE

Name = Union[str, bytes]
ShapeLike = Union[int, Sequence[int]]

_native._setup(np.ndarray, dtype_from_descr)


def _flags(mode: Optional[int], flags: int = 0) -> int:
    if mode is None:
        return flags
    mode = operator.index(mode)
    if not 0 <= mode <= 0o777:
        # setuid, setgid and sticky bits would make an array another user can fill and run
        raise ValueError(f"mode must hold permission bits only (0 to 0o777), not {mode:#o}")
    return flags | _HAS_MODE | (mode << 16)


def _shape_tuple(shape: ShapeLike) -> tuple[int, ...]:
    """The shape as a tuple of ints, checked like the C extension checks it."""
    if isinstance(shape, (str, bytes, bytearray)):
        raise TypeError(f"shape must be an int or a sequence of ints, not {type(shape).__name__}")
    try:
        dims = [shape] if not hasattr(shape, "__len__") else _builtin_list(shape)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"shape must be an int or a sequence of ints, not {type(shape).__name__}"
        ) from None
    out = []
    for i, d in enumerate(dims):
        try:
            v = operator.index(d)
        except TypeError:
            raise TypeError(f"shape[{i}] must be an int, not {type(d).__name__}") from None
        if v < 0:
            raise ValueError(f"shape holds an invalid dimension {v} (dimensions are 0 or more)")
        out.append(v)
    return tuple(out)


def _check_ndim(shape: ShapeLike, sub: tuple[int, ...]) -> ShapeLike:
    """Add a subarray dtype's dimensions, and refuse more dimensions than numpy allows."""
    if sub:
        shape = _shape_tuple(shape) + sub
    if MAX_NDIM < 64:
        try:
            n = len(shape)  # type: ignore[arg-type]
        except TypeError:  # one int; anything else fails in the C extension
            n = 1
        if n > MAX_NDIM:
            raise ValueError(
                f"shape has {n} dimensions; numpy {np.__version__} allows at most {MAX_NDIM}"
            )
    return shape


def _prepare_fill(full: Any, shape: ShapeLike, dt: np.dtype) -> np.ndarray:
    """Convert a fill value before anything is created, so that a bad one leaves nothing behind."""
    try:
        src = np.asarray(full, dtype=dt)
    except (TypeError, ValueError, OverflowError) as e:
        raise type(e)(f"full={full!r} cannot fill an array of dtype {dt}: {e}") from None
    shp = _shape_tuple(shape)
    try:
        ok = np.broadcast_shapes(src.shape, shp) == shp
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"full has shape {src.shape}, which does not broadcast to shape {shp}")
    return src


def _fill_bytes(src: np.ndarray, shape: ShapeLike) -> bytes:
    """The bytes the extension fills a new array with: one element to repeat, or all of them."""
    if src.size == 1:
        return src.tobytes()
    return np.ascontiguousarray(np.broadcast_to(src, _shape_tuple(shape))).tobytes()


# ---- cdxcore.npshm -------------------------------------------------------------------------


def create_shared_array(
    name: Name,
    shape: ShapeLike,
    dtype: Any,
    *,
    raise_on_error: bool = True,
    force: bool = False,
    full: Any = None,
    mode: Optional[int] = None,
) -> Optional[np.ndarray]:
    """Create a new named shared array.

    The array lives in ``/dev/shm`` (or in a file, for a ``file://`` name) until
    :func:`delete_shared_array` removes it: garbage collection of the returned array, and the end
    of the process, only unmap the memory.

    Parameters
    ----------
    name : str or bytes
        ``"x"``, ``"/x"`` or ``"shm://x"`` for the shared memory object ``/dev/shm/x``, or
        ``"file://PATH"`` for a memory-mapped file. A shared memory name may not be empty, ``.``,
        ``..``, or contain ``/``, and has at most 255 bytes.
    shape : int or tuple of int
        Shape of the array: 0 to 64 dimensions (32 with numpy 1.x), each 0 or more.
    dtype : numpy.dtype or anything ``numpy.dtype()`` accepts
        Any fixed-size dtype; dtypes holding Python objects raise :class:`TypeError`.
    raise_on_error : bool, default True
        If an array called ``name`` exists, raise :class:`FileExistsError` (True), or return
        ``None`` (False).
    force : bool, default False
        Replace an existing array of that name, atomically. Processes attached to the old array
        keep it until they release it.
    full : scalar or array_like, optional
        Value to fill the array with (broadcast to ``shape``). ``None`` leaves it zero-filled.
    mode : int, optional
        Permission bits of the new array, e.g. ``0o660`` to share it with the group. The default
        is ``0o600``: only the owner may attach.

    Returns
    -------
    numpy.ndarray or None
        The shared array, or ``None`` if the name is taken and ``raise_on_error`` is False.

    Raises
    ------
    FileExistsError
        If an array ``name`` already exists (and ``raise_on_error`` is True).
    ValueError
        For a bad name, shape or fill value.
    TypeError
        For a bad dtype, shape or fill value, or a dtype that holds objects.
    OSError
        If the operating system fails, with its errno (``errno.ENOSPC`` when ``/dev/shm`` is full).

    Examples
    --------
    >>> import os
    >>> name = f"example-{os.getpid()}"
    >>> a = create_shared_array(name, shape=(10, 3), dtype=np.int32, force=True, full=0)
    >>> a[:, 1] = 1
    >>> attach_shared_array(name, validate_shape=(10, 3))[:, 1].tolist() == [1] * 10
    True
    >>> delete_shared_array(name)
    True
    """
    dt, descr, sub = resolve(dtype)
    shape = _check_ndim(shape, sub)
    fill = None if full is None else _fill_bytes(_prepare_fill(full, shape, dt), shape)
    flags = _flags(mode, _REPLACE if force else 0)
    try:
        # The fill is written before the array gets its name: nobody sees it unfilled.
        return _native.create(name, shape, descr, flags, dt, fill)
    except FileExistsError:
        if raise_on_error:
            raise
        return None


def attach_shared_array(
    name: Name,
    *,
    validate_shape: Optional[ShapeLike] = None,
    validate_dtype: Any = None,
    raise_on_error: bool = True,
    read_only: bool = False,
) -> Optional[np.ndarray]:
    """Attach to an existing named shared array.

    Parameters
    ----------
    name : str or bytes
        The name given to :func:`create_shared_array` (any of its spellings).
    validate_shape : int or tuple of int, optional
        If given, the array must have this shape, or :class:`ValueError` is raised.
    validate_dtype : numpy.dtype or anything ``numpy.dtype()`` accepts, optional
        If given, the array must have this dtype, or :class:`ValueError` is raised.
    raise_on_error : bool, default True
        If the array does not exist, or fails validation, raise (True) or return ``None`` (False).
    read_only : bool, default False
        Map the memory read-only: the array is not writeable, and cannot be made writeable.

    Returns
    -------
    numpy.ndarray or None
        The array, or ``None`` if it does not exist (or fails validation) and ``raise_on_error``
        is False.

    Raises
    ------
    FileNotFoundError
        If no array ``name`` exists (and ``raise_on_error`` is True).
    ValueError
        If ``validate_shape`` or ``validate_dtype`` do not match the array (and ``raise_on_error``
        is True), for a bad name, or for a segment that is not an npshm array.
    PermissionError
        If the array's permissions do not allow this process to attach.
    """
    try:
        arr = _native.attach(name, _READONLY if read_only else 0)
    except FileNotFoundError:
        if raise_on_error:
            raise
        return None
    problem = None
    if validate_shape is not None:
        want = _shape_tuple(validate_shape)
        if arr.shape != want:
            problem = f"shared array {name!r} has shape {arr.shape}, not {want}"
    if problem is None and validate_dtype is not None:
        want_dt = np.dtype(validate_dtype)
        if arr.dtype != want_dt:
            problem = f"shared array {name!r} has dtype {arr.dtype}, not {want_dt}"
    if problem is not None:
        del arr
        if raise_on_error:
            raise ValueError(problem)
        return None
    return arr


def delete_shared_array(name: Name, raise_on_error: bool = True) -> bool:
    """Delete the shared array ``name``.

    The name is removed at once: nobody can attach to it any more, and a new array may take the
    name. Arrays attached to it keep working; the memory is freed when the last one is released.

    Parameters
    ----------
    name : str or bytes
        The array's name.
    raise_on_error : bool, default True
        If the array cannot be deleted, raise the error (True) or return False. An array that
        does not exist is not an error.

    Returns
    -------
    bool
        Whether ``name`` can now be used for a new array.
    """
    try:
        _native.delete(name)
    except FileNotFoundError:
        return True
    except (OSError, ValueError):
        if raise_on_error:
            raise
        return False
    return True


def _mapping_of(x: Any) -> Optional[Mapping]:
    b = x
    for _ in range(1000):
        if isinstance(b, np.ndarray):
            b = b.base
        elif isinstance(b, memoryview):
            b = b.obj
        elif isinstance(b, Mapping):
            return b
        else:
            return None
    return None


def is_shared_array(x: Any) -> bool:
    """Whether ``x`` is a numpy array (or a view of one) whose memory is an npshm array.

    Parameters
    ----------
    x : object

    Returns
    -------
    bool
        True for arrays returned by npshm and for views and slices of them; False for copies,
        other arrays and any other object.
    """
    return isinstance(x, np.ndarray) and _mapping_of(x) is not None


# ---- SharedArray ---------------------------------------------------------------------------


def create(name: Name, shape: ShapeLike, dtype: Any = float, *, mode: Optional[int] = None) -> np.ndarray:
    """Create a zero-filled array in shared memory (SharedArray's ``create``).

    Parameters
    ----------
    name : str or bytes
        ``"x"`` or ``"shm://x"`` for POSIX shared memory, ``"file://PATH"`` for a memory-mapped
        file.
    shape : int or tuple of int
        Shape, as for ``numpy.zeros``.
    dtype : dtype-like, default float
        Any fixed-size dtype, as for ``numpy.zeros``.
    mode : int, optional
        Permission bits (default ``0o600``).

    Returns
    -------
    numpy.ndarray
        The array. Deleting it only detaches this process; :func:`delete` removes the array.

    Raises
    ------
    FileExistsError
        If the name is taken.
    ValueError, TypeError
        For a bad name, shape or dtype.
    OSError
        If the operating system fails (``errno.ENOSPC`` when the memory is full).
    """
    dt, descr, sub = resolve(dtype)
    if sub or MAX_NDIM < 64:
        shape = _check_ndim(shape, sub)
    return _native.create(name, shape, descr, 0 if mode is None else _flags(mode), dt)


def attach(name: Name, ro: bool = False) -> np.ndarray:
    """Attach to an existing array (SharedArray's ``attach``).

    Parameters
    ----------
    name : str or bytes
        The array's name.
    ro : bool, default False
        Map it read-only: the array cannot be written.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    FileNotFoundError
        If there is no array of that name.
    ValueError
        For a bad name, or a segment that is not an npshm array.
    """
    return _native.attach(name, _READONLY if ro else 0)


def delete(name: Name) -> None:
    """Remove the array ``name`` (SharedArray's ``delete``).

    Attached arrays keep working; the memory is freed when the last one is released.

    Raises
    ------
    FileNotFoundError
        If there is no array of that name.
    """
    _native.delete(name)


class _ArrayDescFields(NamedTuple):
    name: bytes
    dtype: np.dtype
    dims: tuple[int, ...]


class ArrayDesc(_ArrayDescFields):
    """One entry of :func:`list`: a tuple ``(name, dtype, dims)`` like SharedArray's.

    Attributes
    ----------
    name : bytes
        The name in ``/dev/shm`` (bytes, as SharedArray gives it; :func:`attach` takes it as is).
    dtype : numpy.dtype
    dims : tuple of int
        The shape.
    itemsize, nbytes : int
        Bytes per element, and of the data.
    mode, uid : int
        Permission bits and owner.
    creator_pid : int
        Process id of the creator.
    created_ns : int
        Creation time in nanoseconds since the Unix epoch.
    fortran : bool
        Whether the data is in Fortran order.
    """

    itemsize: int
    nbytes: int
    mode: int
    uid: int
    creator_pid: int
    created_ns: int
    fortran: bool


def list() -> _builtin_list[ArrayDesc]:  # noqa: A001 - SharedArray's name
    """List the npshm arrays in ``/dev/shm`` that this process may read (SharedArray's ``list``).

    Returns
    -------
    list of ArrayDesc
        In no particular order. Segments of other libraries are skipped.
    """
    out = []
    for name, descr, dims, itemsize, nbytes, mode, uid, pid, created, fortran in _native.list():
        try:
            dt = dtype_from_descr(descr)
        except Exception:  # a descriptor this numpy cannot read
            continue
        d = ArrayDesc(name, dt, dims)
        d.__dict__.update(
            itemsize=itemsize,
            nbytes=nbytes,
            mode=mode,
            uid=uid,
            creator_pid=pid,
            created_ns=created,
            fortran=fortran,
        )
        out.append(d)
    return out


def clean_temporaries(directory: Union[str, bytes, "PathLike[str]", None] = None) -> int:
    """Remove the files that processes killed while creating or replacing an array left behind.

    Such a process can leave a complete but unreachable file ``.npshm-tmp-<pid>-<id>``
    (docs/FORMAT.md, "Creation"); this removes those whose process no longer exists and that are
    regular files of this user. Files of live processes and of other users stay (anyone can make a
    file of that name in ``/dev/shm``). :func:`list` never reports them.

    Parameters
    ----------
    directory : str, bytes or os.PathLike, optional
        The directory to clean: ``None`` for ``/dev/shm``, or the directory of ``file://`` arrays.

    Returns
    -------
    int
        How many files were removed.

    Raises
    ------
    FileNotFoundError
        If the directory does not exist.
    PermissionError, OSError
        If it cannot be read.
    """
    if directory is not None and not isinstance(directory, (str, bytes)):
        directory = os.fspath(directory)
    return _native.clean_temporaries(directory)


def _need_mapping(array: Any) -> Mapping:
    m = _mapping_of(array) if isinstance(array, np.ndarray) else None
    if m is None:
        raise TypeError(f"expected an npshm array, got {type(array).__name__}")
    return m


def msync(array: np.ndarray, flags: int = MS_SYNC) -> None:
    """Flush an npshm array's whole mapping to its backing object (``msync(2)``).

    Parameters
    ----------
    array : numpy.ndarray
        An npshm array, or a view of one.
    flags : int, default MS_SYNC
        ``MS_ASYNC`` or ``MS_SYNC``, optionally combined with ``MS_INVALIDATE``.

    Raises
    ------
    TypeError
        If ``array`` is not backed by npshm.
    ValueError
        For invalid flags.
    """
    _need_mapping(array).msync(flags)


def mlock(array: np.ndarray) -> None:
    """Lock an npshm array's whole mapping in memory (``mlock(2)``).

    Raises
    ------
    TypeError
        If ``array`` is not backed by npshm.
    OSError
        If the lock limit is exceeded (``errno.ENOMEM``) or not allowed (``errno.EPERM``).
    """
    _need_mapping(array).mlock()


def munlock(array: np.ndarray) -> None:
    """Unlock an npshm array's mapping (``munlock(2)``).

    Raises
    ------
    TypeError
        If ``array`` is not backed by npshm.
    """
    _need_mapping(array).munlock()
