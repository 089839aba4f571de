"""The two public APIs of npshm: cdxcore.npshm's and SharedArray's."""

import operator
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Optional, SupportsIndex, TypeGuard, TypeVar, Union, overload

import numpy as np

from . import _native
from ._compat import FormatError, apply_lifetime, check_flag, report
from ._dtypes import dtype_from_descr, resolve

if TYPE_CHECKING:  # for annotations only: importing numpy.typing costs the import of npshm time
    from numpy.typing import ArrayLike, DTypeLike, NDArray


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
    "get_dir",
    "set_dir",
    "msync",
    "mlock",
    "munlock",
    "ArrayDesc",
    "FormatError",
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
_NO_RESERVE = _native.NO_RESERVE

_FORMAT_FLAGS: "dict[str, int]" = {
    "npshm": _native.FORMAT_NPSHM,
    "sharedarray": _native.FORMAT_SHAREDARRAY,
    "cdxcore": _native.FORMAT_CDXCORE,
}
_FORMAT_NAMES = {v: k for k, v in _FORMAT_FLAGS.items()}


def _format_flag(format: str) -> int:  # noqa: A002 - the keyword's name
    try:
        return _FORMAT_FLAGS[format]
    except (KeyError, TypeError):
        raise ValueError(f"format must be 'npshm', 'sharedarray' or 'cdxcore', not {format!r}") from None

# The type aliases exist for type checkers only: building them (typing's Literal, Union and
# TypeVar) at run time would add a quarter of a millisecond to `import npshm` (issue 13's bar is
# 2 ms), and the annotations that use them are strings, never evaluated.
if TYPE_CHECKING:
    Format = Literal["npshm", "sharedarray", "cdxcore"]
    """A segment format: npshm's own, or a peer library's (docs/FORMAT.md, "The peers' segments")."""
    Name = Union[str, bytes]
    """An array's name: ``"x"``, ``"/x"``, ``"shm://x"`` or ``"file://PATH"``, as str or bytes."""
    ShapeLike = Union[SupportsIndex, Sequence[SupportsIndex]]
    """A shape: an int or a sequence of ints (anything with ``__index__``), as numpy takes it."""
    _SCT = TypeVar("_SCT", bound=np.generic)
    _DTypeOf = Union[type[_SCT], np.dtype[_SCT]]
    """A dtype argument whose scalar type a type checker knows (``np.float64``,
    ``np.dtype(np.float64)``): the array's type is then ``NDArray[np.float64]``."""
    _DescBase = tuple[bytes, type[np.generic], tuple[int, ...]]
else:
    _DescBase = tuple

_native._setup(np.ndarray, dtype_from_descr, FormatError)


def _flags(mode: "Optional[int]", flags: int = 0) -> int:
    if mode is None:
        return flags
    from ._constants import MSG_BAD_MODE, PERM_BITS  # here: one module less for `import npshm`

    mode = operator.index(mode)
    if mode < 0 or mode & ~PERM_BITS:
        # setuid, setgid and sticky bits would make an array another user can fill and run
        raise ValueError(f"{MSG_BAD_MODE} {mode:#o}")
    return flags | _HAS_MODE | (mode << 16)


def _shape_with(shape: "ShapeLike", sub: "tuple[int, ...]") -> "ShapeLike":
    """The shape with a subarray dtype's dimensions added, as numpy adds them."""
    return _native.shape(shape) + sub if sub else shape


def _broadcasts(src: "tuple[int, ...]", shape: "tuple[int, ...]") -> bool:
    """Whether an array of shape src broadcasts to shape (numpy's rule, for any number of
    dimensions: numpy.broadcast_shapes stops at 32)."""
    if len(src) > len(shape):
        return False
    return all(s in (1, d) for s, d in zip(src[::-1], shape[::-1]))


def _prepare_fill(full: "ArrayLike", shape: "ShapeLike", dt: "np.dtype[Any]") -> "NDArray[Any]":
    """Convert a fill value before anything is created, so that a bad one leaves nothing behind."""
    try:
        src = np.asarray(full, dtype=dt)
    except (TypeError, ValueError, OverflowError) as e:
        msg = f"full={full!r} cannot fill an array of dtype {dt}: {e}"
        try:
            err = type(e)(msg)
        except Exception:  # a subclass that takes other arguments (UnicodeDecodeError): its base
            err = next(t for t in (OverflowError, ValueError, TypeError) if isinstance(e, t))(msg)
        raise err from None
    shp = _native.shape(shape)
    if not _broadcasts(src.shape, shp):
        raise ValueError(f"full has shape {src.shape}, which does not broadcast to shape {shp}")
    return src


def _is_zero(fill: "NDArray[Any]") -> bool:
    """Whether every byte of a (small) fill value is zero: what a new array holds already."""
    return fill.nbytes <= 1 << 16 and not fill.tobytes().strip(b"\0")


# ---- cdxcore.npshm -------------------------------------------------------------------------


@overload
def create_shared_array(
    name: "Name",
    shape: "ShapeLike",
    dtype: "_DTypeOf[_SCT]",
    *,
    raise_on_error: "Literal[True]" = True,
    force: bool = False,
    full: "ArrayLike | None" = None,
    mode: "Optional[int]" = None,
    reserve: bool = True,
    track: "Optional[bool]" = None,
    unlink: bool = False,
    verbose: object = None,
    format: "Format" = "npshm",  # noqa: A002 - the keyword's name
) -> "NDArray[_SCT]": ...
@overload
def create_shared_array(
    name: "Name",
    shape: "ShapeLike",
    dtype: "DTypeLike",
    *,
    raise_on_error: "Literal[True]" = True,
    force: bool = False,
    full: "ArrayLike | None" = None,
    mode: "Optional[int]" = None,
    reserve: bool = True,
    track: "Optional[bool]" = None,
    unlink: bool = False,
    verbose: object = None,
    format: "Format" = "npshm",  # noqa: A002 - the keyword's name
) -> "NDArray[Any]": ...
@overload
def create_shared_array(
    name: "Name",
    shape: "ShapeLike",
    dtype: "_DTypeOf[_SCT]",
    *,
    raise_on_error: bool,
    force: bool = False,
    full: "ArrayLike | None" = None,
    mode: "Optional[int]" = None,
    reserve: bool = True,
    track: "Optional[bool]" = None,
    unlink: bool = False,
    verbose: object = None,
    format: "Format" = "npshm",  # noqa: A002 - the keyword's name
) -> "Optional[NDArray[_SCT]]": ...
@overload
def create_shared_array(
    name: "Name",
    shape: "ShapeLike",
    dtype: "DTypeLike",
    *,
    raise_on_error: bool,
    force: bool = False,
    full: "ArrayLike | None" = None,
    mode: "Optional[int]" = None,
    reserve: bool = True,
    track: "Optional[bool]" = None,
    unlink: bool = False,
    verbose: object = None,
    format: "Format" = "npshm",  # noqa: A002 - the keyword's name
) -> "Optional[NDArray[Any]]": ...
def create_shared_array(
    name: "Name",
    shape: "ShapeLike",
    dtype: "DTypeLike",
    *,
    raise_on_error: bool = True,
    force: bool = False,
    full: "ArrayLike | None" = None,
    mode: "Optional[int]" = None,
    reserve: bool = True,
    track: "Optional[bool]" = None,
    unlink: bool = False,
    verbose: object = None,
    format: "Format" = "npshm",  # noqa: A002 - the keyword's name
) -> "Optional[NDArray[Any]]":
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
        Shape of the array: 0 to 64 dimensions (32 with numpy 1.x), each 0 or more; numpy's limit
        on the size applies (itemsize times the nonzero dimensions below 2**63).
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
    reserve : bool, default True
        Reserve the array's memory now, so that touching it can never raise SIGBUS when
        ``/dev/shm`` fills up (creation then takes time in proportion to the size). ``False``
        leaves the array sparse: created at once whatever its size, its pages allocated when first
        touched -- and a touch when ``/dev/shm`` is full raises SIGBUS, which kills the process.
        For arrays used sparsely, with room to spare (docs/RELIABILITY.md). Only in npshm's own
        format (``ValueError`` with another). A ``full`` other than zero writes every page, so
        its memory is reserved all the same: a fill cannot raise SIGBUS.
    format : {"npshm", "sharedarray", "cdxcore"}, default "npshm"
        The segment format: npshm's own, or that of SharedArray 3.x or cdxcore.npshm, so that
        processes still on those libraries attach the array (npshm attaches all three by itself).
        What the format cannot carry raises :class:`ValueError` before anything is created:
        SharedArray stores no byte order but the host's, no structured dtype, no datetime unit;
        cdxcore stores only npio's dtypes (no uint8, no strings).
    track : bool or None, default None
        cdxcore's keyword. True: delete the array when this process exits, however it exits
        (:func:`delete_on_exit`), if this process created it (in a peer's format, which records
        no creator: if the name still leads to the file this call made). None or False: the
        array lives until it is deleted, as every npshm array.
    unlink : bool, default False
        cdxcore's keyword. True: delete the name when the returned array (with every view of it)
        is garbage collected, if the name still leads to this array (an array made under the name
        meanwhile stays).
    verbose : object, optional
        cdxcore's keyword: report what is done. An object with a ``write`` method (such as
        ``cdxcore.verbose.Context``) gets each message; any other true value logs it to the
        ``npshm`` logger (:mod:`logging`) at INFO. None or False: silent.

    Returns
    -------
    numpy.ndarray or None
        The shared array, or ``None`` if the name is taken and ``raise_on_error`` is False. For
        type checkers: ``NDArray[np.float64]`` for ``dtype=np.float64`` (or ``np.dtype(...)`` of
        a scalar type), ``NDArray[Any]`` for other dtype arguments, and ``None`` is a possible
        result only with ``raise_on_error=False``.

    Raises
    ------
    FileExistsError
        If an array ``name`` already exists (and ``raise_on_error`` is True).
    ValueError
        For a bad name, shape or fill value, or one numpy refuses; nothing is created then, and an
        existing array of that name stays (also with ``force=True``).
    TypeError
        For a bad dtype, shape or fill value, a dtype that holds objects, or a ``track`` or
        ``unlink`` that is not a bool.
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
    track = check_flag(track, "track", none_ok=True)
    unlink = bool(check_flag(unlink, "unlink"))
    dt, descr, sub = resolve(dtype)
    shape = _shape_with(shape, sub)
    fill = None if full is None else _prepare_fill(full, shape, dt)
    if fill is not None and _is_zero(fill):
        fill = None  # a new array is zero already: no pass over it, and reserve=False stays sparse
    # A fill writes every page: unreserved, a write that finds /dev/shm full would raise SIGBUS.
    reserve = reserve or fill is not None
    peer = _format_flag(format)
    flags = _flags(mode, (_REPLACE if force else 0) | (0 if reserve else _NO_RESERVE) | peer)
    if track and not peer:
        # registered first: no moment in which a kill would leave the array behind
        from ._scratch import delete_on_exit

        delete_on_exit(name)
    try:
        # numpy makes the array, and fills it, before it gets its name: nobody sees it unfilled,
        # and whatever numpy refuses leaves nothing behind (and replaces nothing).
        arr = _native.create(name, shape, descr, flags, dt, fill)
    except FileExistsError:
        if raise_on_error:
            raise
        return None
    if track and peer:
        # A peer's segment records no creator: register the file just made (a kill between the
        # create and this line leaves it behind).
        from ._scratch import delete_made_on_exit

        m = _mapping_of(arr)
        assert m is not None
        delete_made_on_exit(name, m.identity[:2])
    apply_lifetime(arr, name, False, unlink, verbose, "create_shared_array")
    return arr


@overload
def attach_shared_array(
    name: "Name",
    *,
    validate_shape: "Optional[ShapeLike]" = None,
    validate_dtype: "Optional[DTypeLike]" = None,
    raise_on_error: "Literal[True]" = True,
    read_only: bool = False,
    track: "Optional[bool]" = None,
    unlink: bool = False,
    verbose: object = None,
) -> "NDArray[Any]": ...
@overload
def attach_shared_array(
    name: "Name",
    *,
    validate_shape: "Optional[ShapeLike]" = None,
    validate_dtype: "Optional[DTypeLike]" = None,
    raise_on_error: bool,
    read_only: bool = False,
    track: "Optional[bool]" = None,
    unlink: bool = False,
    verbose: object = None,
) -> "Optional[NDArray[Any]]": ...
def attach_shared_array(
    name: "Name",
    *,
    validate_shape: "Optional[ShapeLike]" = None,
    validate_dtype: "Optional[DTypeLike]" = None,
    raise_on_error: bool = True,
    read_only: bool = False,
    track: "Optional[bool]" = None,
    unlink: bool = False,
    verbose: object = None,
) -> "Optional[NDArray[Any]]":
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
    track : bool or None, default None
        cdxcore's keyword. True: delete the array when this process exits, however it exits
        (:func:`delete_on_exit`), if this process created it (an array in a peer's format,
        which records no creator, never is). None or False: the array lives until it is
        deleted, as every npshm array.
    unlink : bool, default False
        cdxcore's keyword. True: delete the name when the returned array (with every view of it)
        is garbage collected, if the name still leads to this array (an array made under the name
        meanwhile stays).
    verbose : object, optional
        cdxcore's keyword: report what is done. An object with a ``write`` method (such as
        ``cdxcore.verbose.Context``) gets each message; any other true value logs it to the
        ``npshm`` logger (:mod:`logging`) at INFO. None or False: silent.

    Returns
    -------
    numpy.ndarray or None
        The array, or ``None`` if it does not exist (or fails validation) and ``raise_on_error``
        is False (only then do type checkers see ``None`` as a possible result).

    Raises
    ------
    FileNotFoundError
        If no array ``name`` exists (and ``raise_on_error`` is True).
    FormatError
        A :class:`ValueError` and an :class:`OSError`: if ``validate_shape`` or
        ``validate_dtype`` do not match the array (and ``raise_on_error`` is True), or for a
        segment that is not an npshm array.
    ValueError
        For a bad name.
    TypeError
        If ``track`` or ``unlink`` is not a bool.
    PermissionError
        If the array's permissions do not allow this process to attach.
    """
    track = check_flag(track, "track", none_ok=True)
    unlink = bool(check_flag(unlink, "unlink"))
    try:
        arr = _native.attach(name, _READONLY if read_only else 0)
    except FileNotFoundError:
        if raise_on_error:
            raise
        return None
    problem = None
    if validate_shape is not None:
        want = _native.shape(validate_shape)
        if arr.shape != want:
            problem = f"shared array has shape {arr.shape}, not {want}"
    if problem is None and validate_dtype is not None:
        want_dt = np.dtype(validate_dtype)
        if arr.dtype != want_dt:
            problem = f"shared array has dtype {arr.dtype}, not {want_dt}"
    if problem is not None:
        del arr
        if raise_on_error:
            import errno  # here, not at the top: `import npshm` stays small (issue 13)

            raise FormatError(errno.EINVAL, problem, os.fsdecode(name))
        return None
    apply_lifetime(arr, name, track, unlink, verbose, "attach_shared_array")
    return arr


def delete_shared_array(name: "Name", raise_on_error: bool = True, *, verbose: object = None) -> bool:
    """Delete the shared array ``name``.

    The name is removed at once: nobody can attach to it any more, and a new array may take the
    name. Arrays attached to it keep working; the memory is freed when the last one is released.

    Parameters
    ----------
    name : str or bytes
        The array's name.
    raise_on_error : bool, default True
        If the array cannot be deleted, raise the error (True) or return False. An array that
        does not exist is not an error; a directory of shared arrays (:func:`set_dir`) removed
        since it was chosen is (:class:`FileNotFoundError` naming it).
    verbose : object, optional
        cdxcore's keyword: report the deletion (as for :func:`create_shared_array`).

    Returns
    -------
    bool
        Whether ``name`` can now be used for a new array.
    """
    try:
        _native.delete(name)
    except FileNotFoundError as e:
        from ._constants import MSG_DIR_REMOVED  # here: one module less for `import npshm`

        if MSG_DIR_REMOVED not in str(e):
            return True
        # The directory of shared arrays was removed since it was chosen: the name cannot be used.
        if raise_on_error:
            raise
        return False
    except (OSError, ValueError):
        if raise_on_error:
            raise
        return False
    report(verbose, f"delete_shared_array {os.fsdecode(name)!r}")
    return True


def _mapping_of(x: object) -> "Optional[Mapping]":
    b: object = x
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


def is_shared_array(x: object) -> "TypeGuard[NDArray[Any]]":
    """Whether ``x`` is a numpy array (or a view of one) whose memory is an npshm array.

    Parameters
    ----------
    x : object

    Returns
    -------
    bool
        True for arrays returned by npshm and for views and slices of them; False for copies,
        other arrays and any other object. For type checkers, True means ``x`` is an ndarray.
    """
    return isinstance(x, np.ndarray) and _mapping_of(x) is not None


# ---- SharedArray ---------------------------------------------------------------------------


@overload
def create(
    name: "Name", shape: "ShapeLike", *, mode: "Optional[int]" = None, reserve: bool = True,
    format: "Format" = "npshm",  # noqa: A002
) -> "NDArray[np.float64]": ...
@overload
def create(
    name: "Name", shape: "ShapeLike", dtype: "_DTypeOf[_SCT]", *, mode: "Optional[int]" = None, reserve: bool = True,
    format: "Format" = "npshm",  # noqa: A002
) -> "NDArray[_SCT]": ...
@overload
def create(
    name: "Name", shape: "ShapeLike", dtype: "DTypeLike" = float, *, mode: "Optional[int]" = None, reserve: bool = True,
    format: "Format" = "npshm",  # noqa: A002
) -> "NDArray[Any]": ...
def create(
    name: "Name", shape: "ShapeLike", dtype: "DTypeLike" = float, *, mode: "Optional[int]" = None, reserve: bool = True,
    format: "Format" = "npshm",  # noqa: A002 - the keyword's name
) -> "NDArray[Any]":
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
    reserve : bool, default True
        ``False`` leaves the memory unreserved, as SharedArray does: see
        :func:`create_shared_array` (SIGBUS on touch if ``/dev/shm`` is full then).
    format : {"npshm", "sharedarray", "cdxcore"}, default "npshm"
        The segment format, as for :func:`create_shared_array`: ``"sharedarray"`` lets processes
        still on SharedArray attach the array.

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
    flags = (0 if reserve else _NO_RESERVE) | _format_flag(format)
    return _native.create(name, _shape_with(shape, sub), descr, _flags(mode, flags), dt)


def attach(name: "Name", ro: bool = False) -> "NDArray[Any]":
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
    FormatError
        A :class:`ValueError` and an :class:`OSError` (SharedArray raises OSError): for a segment
        that is not an npshm array.
    ValueError
        For a bad name.
    """
    return _native.attach(name, _READONLY if ro else 0)


def delete(name: "Name") -> None:
    """Remove the array ``name`` (SharedArray's ``delete``).

    Attached arrays keep working; the memory is freed when the last one is released.

    Raises
    ------
    FileNotFoundError
        If there is no array of that name.
    """
    _native.delete(name)


class ArrayDesc(_DescBase):
    """One entry of :func:`list`: the tuple ``(name, dtype, dims)`` of SharedArray's ``ArrayDesc``,
    with more fields as attributes.

    It unpacks, indexes, compares and hashes as that tuple of three (``name, dtype, dims = d``),
    as SharedArray's does; the other fields are read-only attributes, and ``repr`` shows them all.

    Attributes
    ----------
    name : bytes
        The name in ``/dev/shm`` (bytes, as SharedArray gives it; :func:`attach` takes it as is).
    dtype : type
        The scalar type, as SharedArray gives it (``numpy.float32``); it compares equal to the
        dtype of the same type. ``full_dtype`` is the whole dtype.
    dims : tuple of int
        The shape.
    full_dtype : numpy.dtype
        The array's dtype with all its detail: byte order, size, fields (``numpy.void`` for a
        structured ``dtype``), subarray.
    itemsize, nbytes : int
        Bytes per element, and of the data.
    mode, uid : int
        Permission bits and owner.
    creator_pid : int
        Process id of the creator.
    creator_alive : bool
        Whether the creator still runs: a process of that pid that started after the array was
        created got the pid again, and does not count (see :func:`delete_orphans`).
    created_ns : int
        Creation time in nanoseconds since the Unix epoch.
    age : float
        Seconds since the creation, when :func:`list` ran.
    fortran : bool
        Whether the data is in Fortran order.
    format : str
        The segment format: ``"npshm"``, or a peer's (``"sharedarray"``, ``"cdxcore"``), which
        records no creator (``creator_pid`` and ``created_ns`` are 0).
    """

    full_dtype: "np.dtype[Any]"
    itemsize: int
    nbytes: int
    mode: int
    uid: int
    creator_pid: int
    creator_alive: bool
    created_ns: int
    age: float
    fortran: bool
    format: str

    _fields = ("name", "dtype", "dims")
    """The fields that make the tuple."""
    _extra_fields = ("full_dtype", "itemsize", "nbytes", "mode", "uid", "creator_pid", "creator_alive", "created_ns",
                     "age", "fortran", "format")
    """The fields that are attributes only."""
    __match_args__ = ("name", "dtype", "dims")

    def __new__(
        cls,
        name: bytes,
        dtype: "type[np.generic]",
        dims: "tuple[int, ...]",
        full_dtype: "np.dtype[Any]",
        itemsize: int,
        nbytes: int,
        mode: int,
        uid: int,
        creator_pid: int,
        creator_alive: bool,
        created_ns: int,
        age: float,
        fortran: bool,
        format: str = "npshm",  # noqa: A002 - the field's name
    ) -> "ArrayDesc":
        self = super().__new__(cls, (name, dtype, dims))
        self.__dict__.update(
            full_dtype=full_dtype, itemsize=itemsize, nbytes=nbytes, mode=mode, uid=uid, creator_pid=creator_pid,
            creator_alive=creator_alive, created_ns=created_ns, age=age, fortran=fortran,
            format=format,
        )
        return self

    @property
    def name(self) -> bytes:
        return self[0]

    @property
    def dtype(self) -> "type[np.generic]":
        return self[1]

    @property
    def dims(self) -> "tuple[int, ...]":
        return self[2]

    def _asdict(self) -> "dict[str, Any]":
        """All fields, by name, in the order of :attr:`_fields` and :attr:`_extra_fields`."""
        return {k: getattr(self, k) for k in self._fields + self._extra_fields}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={oct(v) if k == 'mode' else repr(v)}" for k, v in self._asdict().items())
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> "tuple[type[ArrayDesc], tuple[Any, ...]]":
        return type(self), tuple(self._asdict().values())

    def __setattr__(self, key: str, value: object) -> "NoReturn":
        raise AttributeError(f"ArrayDesc is read-only: cannot set {key!r}")

    def __delattr__(self, key: str) -> "NoReturn":
        raise AttributeError(f"ArrayDesc is read-only: cannot delete {key!r}")


def list() -> "_builtin_list[ArrayDesc]":  # noqa: A001 - SharedArray's name
    """List the arrays in ``/dev/shm`` that this process may read (SharedArray's ``list``): npshm's,
    and the peers' that :func:`attach` takes (``ArrayDesc.format`` tells them apart).

    Returns
    -------
    list of ArrayDesc
        In no particular order. Segments of other libraries are skipped.
    """
    from ._orphans import Creators

    # One pass over many entries: the tuple and its attributes are made directly (ArrayDesc's
    # __new__ with keywords costs more than the listing itself), and each descriptor is parsed once.
    out: _builtin_list[ArrayDesc] = []
    append = out.append
    new = tuple.__new__
    now = time.time_ns()
    creator_alive = Creators().alive  # one look at each creator, however many arrays it made
    dtypes: dict[str, Optional[np.dtype[Any]]] = {}
    for name, descr, dims, itemsize, nbytes, mode, uid, pid, created, fortran, fmt in _native.list():
        try:
            dt = dtypes[descr]
        except KeyError:
            try:
                dt = dtype_from_descr(descr)
            except Exception:  # a descriptor this numpy cannot read
                dt = None
            dtypes[descr] = dt
        if dt is None:
            continue
        d = new(ArrayDesc, (name, dt.type, dims))
        d.__dict__.update(full_dtype=dt, itemsize=itemsize, nbytes=nbytes, mode=mode, uid=uid, creator_pid=pid,
                          creator_alive=creator_alive(pid, created), created_ns=created, age=(now - created) / 1e9,
                          fortran=fortran, format=_FORMAT_NAMES.get(fmt, "npshm"))
        append(d)
    return out


def clean_temporaries(directory: "Union[str, bytes, os.PathLike[str], os.PathLike[bytes], None]" = None) -> int:
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


def _need_mapping(array: object) -> "Mapping":
    m = _mapping_of(array) if isinstance(array, np.ndarray) else None
    if m is None:
        raise TypeError(f"expected an npshm array, got {type(array).__name__}")
    return m


def msync(array: "NDArray[Any]", flags: int = MS_SYNC) -> None:
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


def mlock(array: "NDArray[Any]") -> None:
    """Lock an npshm array's whole mapping in memory (``mlock(2)``).

    Raises
    ------
    TypeError
        If ``array`` is not backed by npshm.
    OSError
        If the lock limit is exceeded (``errno.ENOMEM``) or not allowed (``errno.EPERM``).
    """
    _need_mapping(array).mlock()


def munlock(array: "NDArray[Any]") -> None:
    """Unlock an npshm array's mapping (``munlock(2)``).

    Raises
    ------
    TypeError
        If ``array`` is not backed by npshm.
    """
    _need_mapping(array).munlock()


# ---- the directory of shared-memory arrays ------------------------------------------------


def get_dir() -> str:
    """The directory of shared-memory arrays: names ``"x"`` and ``"shm://x"`` are files in it.

    ``/dev/shm``, or the directory the environment variable ``NPSHM_DIR`` names when npshm loads
    its library (at the first call that needs it), or the one :func:`set_dir` chose since.
    """
    return _native.dir()


def set_dir(path: "Union[str, bytes, os.PathLike[str], os.PathLike[bytes], None]") -> None:
    """Make ``path`` the directory of shared-memory arrays (``None``: ``/dev/shm``).

    A tmpfs mounted with ``huge=within_size`` (or ``always``, ``advise``) is the reason to choose
    another: data of 2 MiB or more is then aligned to 2 MiB and read through huge pages (first
    reads about 2.7x faster). Every process that shares arrays must use the same directory
    (``NPSHM_DIR`` in the environment passes it on to child processes). The directory checked is
    held open: if it is removed later, operations on shared-memory names raise
    :class:`FileNotFoundError` naming it, and a directory made again under the same path is not
    used until ``set_dir`` chooses it again.

    Raises
    ------
    ValueError
        If ``path`` is not an absolute path to a directory.
    FileNotFoundError
        If it does not exist.
    PermissionError
        If it, or a directory above it, is a symbolic link, owned by neither root nor this
        user, or writable by others and not sticky (docs/RELIABILITY.md). The directory in use
        stays.
    """
    _native.set_dir(None if path is None else os.fsdecode(path))
